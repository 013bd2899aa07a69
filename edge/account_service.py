"""Accounts and devices, as clients ask for them: registration, login, tokens, profiles.

Every change is a command to the accounts processor; the answer waits until this edge's
account directory has applied what the command wrote (by the account's seq, on the
directory's notification), so a client may use its new token or name at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from edge.accounts import (
    DEVICE_ID,
    USER_NAME,
    AccountDirectory,
    hash_password,
    new_device_token,
    normalise_user_name,
    token_device,
)
from edge.errors import BAD_CREDENTIALS, TIMEOUT, ClientError, ErrorCode
from edge.protocol.answers import Account, Device, DeviceList, Identity, Profile, Session
from edge.submission import Submitter
from schemas import models as m
from sealing.keystore import KeyDestroyedError
from sealing.names import Names

REGISTRATION_DEVICE = "registration"
NEW_DEVICE_GRACE_S = 3.0
"""How long a device this edge has not heard of may take to arrive from the accounts log
(it may have logged in on another edge a moment ago) before its token is refused."""
T = TypeVar("T")
MAX_NAME_CHARS = 64
"""The accounts processor's limit for display and device names (streams/accounts)."""


class AccountService:
    def __init__(
        self,
        *,
        submitter: Submitter,
        directory: AccountDirectory,
        timeout_s: float,
        names: Names | None = None,
    ) -> None:
        """`names` seals display and device names before they enter the log (None: they
        travel plain, in tests of the plain path)."""
        self.submitter = submitter
        self.directory = directory
        self.names = names
        self.timeout_s = timeout_s
        self.hash_slots = asyncio.Semaphore(2)

    async def register(
        self, username: str, password: str, display_name: str, idempotency_key: str | None = None
    ) -> Account:
        user_id = normalise_user_name(username)
        if not USER_NAME.match(user_id):
            raise ClientError(ErrorCode.INVALID, "a user name is 3 to 32 of a-z, 0-9, _ . -")
        if len(password) < 8:
            raise ClientError(ErrorCode.INVALID, "a password has at least 8 characters")
        # In a thread: the person's key is made here, a write with an fsync (milliseconds).
        plain, sealed = await asyncio.to_thread(
            self._display_name, user_id, display_name.strip() or user_id
        )
        command = m.RegisterAccount(
            meta=self.submitter.account_meta(user_id, REGISTRATION_DEVICE, idempotency_key),
            display_name=plain,
            sealed_display_name=sealed,
            password_hash=await self._hashing(hash_password, password),
        )
        await self._applied(await self.submitter.account_command(command))
        return Account(user_id=user_id)

    async def login(self, username: str, password: str, device_name: str) -> Session:
        user_id = normalise_user_name(username)
        if USER_NAME.match(user_id):
            # The account may have been registered on another edge a moment ago.
            await self.directory.versions.reach(user_id, 1, NEW_DEVICE_GRACE_S)
        if not await self._hashing(self.directory.check_password, user_id, password):
            raise BAD_CREDENTIALS
        device_id, token, token_hash = new_device_token()
        name = device_name[:MAX_NAME_CHARS] or "device"
        plain, sealed = name, None
        if self.names is not None:
            try:
                plain, sealed = self.names.device_name(user_id, device_id, name)
            except KeyDestroyedError as e:
                raise BAD_CREDENTIALS from e
        command = m.AddDevice(
            meta=self.submitter.account_meta(user_id, device_id, None),
            device_name=plain,
            sealed_device_name=sealed,
            token_hash=token_hash,
        )
        await self._applied(await self.submitter.account_command(command))
        return Session(user_id=user_id, device_id=device_id, token=token)

    async def revoke_device(self, user_id: str, device_id: str, target: str) -> None:
        # The target may have logged in on another edge a moment ago.
        await self.directory.arrivals.reach(target, 1, NEW_DEVICE_GRACE_S)
        if target not in self.directory.accounts[user_id].devices:
            raise ClientError(ErrorCode.NOT_FOUND, "no such device")
        command = m.RevokeDevice(
            meta=self.submitter.account_meta(user_id, device_id, None), target_device_id=target
        )
        await self._applied(await self.submitter.account_command(command))

    async def authenticate(self, token: str) -> Identity | None:
        """Whose live token this is. A device this edge has not heard of yet may have just
        logged in on another edge: wait a moment for the accounts log to bring it. A token
        naming no possible device is refused at once."""
        device = token_device(token)
        if not DEVICE_ID.match(device):
            return None
        await self.directory.arrivals.reach(device, 1, NEW_DEVICE_GRACE_S)
        identity = self.directory.authenticate(token)
        return None if identity is None else Identity(user_id=identity[0], device_id=identity[1])

    def profile(self, user_id: str) -> Profile:
        account = self.directory.accounts.get(user_id)
        if account is None:
            raise ClientError(ErrorCode.NOT_FOUND, "no such account")
        return Profile(user_id=user_id, display_name=account.display_name)

    async def change_profile(self, user_id: str, device_id: str, display_name: str) -> Profile:
        plain, sealed = self._display_name(user_id, display_name.strip())
        command = m.ChangeProfile(
            meta=self.submitter.account_meta(user_id, device_id, None),
            display_name=plain,
            sealed_display_name=sealed,
        )
        await self._applied(await self.submitter.account_command(command))
        return self.profile(user_id)

    def devices(self, user_id: str) -> DeviceList:
        account = self.directory.accounts.get(user_id)
        devices = [] if account is None else account.devices.values()
        return DeviceList(
            devices=[
                Device(device_id=d.device_id, device_name=d.name, revoked=d.revoked)
                for d in devices
            ]
        )

    def _display_name(self, user_id: str, name: str) -> tuple[str, m.SealedBody | None]:
        """The name as the log keeps it. Its length is checked here: once sealed, the
        accounts processor sees only its size."""
        if self.names is None:
            return name, None
        if not 0 < len(name) <= MAX_NAME_CHARS:
            raise ClientError(
                ErrorCode.INVALID, f"display_name must be 1 to {MAX_NAME_CHARS} characters"
            )
        try:
            return self.names.display_name(user_id, name)
        except KeyDestroyedError as e:
            # The person was erased: their user name stays taken for good.
            raise ClientError(ErrorCode.CONFLICT, "this user name is taken") from e

    async def _applied(self, accepted: m.AccountCommandAccepted) -> None:
        """Wait until this edge's directory holds what the command wrote. An unchanged
        answer (no seq) wrote nothing, so there is nothing to wait for."""
        if accepted.seq is None:
            return
        if not await self.directory.versions.reach(accepted.user_id, accepted.seq, self.timeout_s):
            raise TIMEOUT

    async def _hashing(self, work: Callable[..., T], *args: Any) -> T:
        """argon2 costs ~50-100 ms of CPU: in a thread (it releases the GIL), a few at a time,
        so a burst of logins never stalls the sockets of this node."""
        async with self.hash_slots:
            return await asyncio.to_thread(work, *args)
