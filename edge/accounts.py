"""Accounts and devices as this edge sees them: folded from the accounts topic.

Passwords are argon2id hashes and device tokens are `<device_id>.<secret>` whose secret is
stored only as a SHA-256 hash, so nothing in the log or in memory can be replayed as a
credential. Each account's events carry its own seq; the directory says how far it has
applied each account (and which devices it knows) through `Progress`, on which the edge
waits for its own writes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
import uuid
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from edge.progress import Progress
from schemas import models as m
from schemas.record import AvroRecord
from sealing.names import Names

USER_NAME = re.compile(r"^[a-z0-9_.-]{3,32}$")
DEVICE_ID = re.compile(r"^d-[0-9a-f]{32}$")
"""The form of every device id `new_device_token` makes."""
_hasher = PasswordHasher(
    time_cost=int(os.environ.get("PARLEY_ARGON2_TIME_COST", "3")),
    memory_cost=int(os.environ.get("PARLEY_ARGON2_MEMORY_KIB", "65536")),
)
"""argon2id at the library's defaults; benchmarks lower the cost so that registering a
thousand devices does not dominate a two-minute run (it touches no message path)."""


def normalise_user_name(name: str) -> str:
    return name.strip().lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def new_device_token() -> tuple[str, str, str]:
    """(device_id, token, token_hash): the token goes to the client once, the hash to the log."""
    device_id = f"d-{uuid.uuid4().hex}"
    secret = secrets.token_urlsafe(32)
    return device_id, f"{device_id}.{secret}", token_hash(secret)


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None for any other scheme.
    The scheme's name is case-insensitive (RFC 7235 §2.1): `bearer` and `BEARER` too."""
    scheme, _, token = authorization.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def token_device(token: str) -> str:
    """The device a token names (whether or not its secret is right)."""
    return token.partition(".")[0]


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass
class Device:
    device_id: str
    name: str
    token_hash: str
    revoked: bool = False


@dataclass
class Account:
    user_id: str
    display_name: str
    password_hash: str
    devices: dict[str, Device] = field(default_factory=dict)


@dataclass(frozen=True)
class ErasedAccount:
    """An erasure as `AccountErased` states it: what its report starts from (ids only)."""

    erasure_id: str
    user_id: str
    officer: str
    case_ref: str
    account_seq: int
    erased_at_ms: int
    devices: int
    """The devices the account had, every one revoked by the erasure."""


@dataclass
class AccountDirectory:
    names: Names | None = None
    """Opens sealed display and device names (None: the log holds them plain)."""
    accounts: dict[str, Account] = field(default_factory=dict)
    device_owner: dict[str, str] = field(default_factory=dict)
    erased: set[str] = field(default_factory=set)
    """People erased: their user names stay taken, and nothing of them is kept here."""
    erasures: dict[str, ErasedAccount] = field(default_factory=dict)
    """Erasure id -> what its `AccountErased` said: an officer reads the report by it."""
    versions: Progress[str] = field(default_factory=Progress)
    """User id -> the seq of the last account event applied."""
    arrivals: Progress[str] = field(default_factory=Progress)
    """Device id -> 1 once its `DeviceAdded` is applied."""

    def apply(self, event: AvroRecord) -> list[str]:
        """Fold an account event in; returns the ids of the devices it revoked, if any."""
        meta: m.AccountEventMeta = event.meta  # type: ignore[attr-defined]
        revoked = self._fold(event, meta)
        self.versions.advance(meta.user_id, meta.seq)
        return revoked

    def _fold(self, event: AvroRecord, meta: m.AccountEventMeta) -> list[str]:
        user = meta.user_id
        if isinstance(event, m.AccountRegistered):
            name = self._display_name(user, event.display_name, event.sealed_display_name)
            if user not in self.erased:
                self.accounts.setdefault(user, Account(user, name, event.password_hash))
            return []
        account = self.accounts.get(user)
        if isinstance(event, m.AccountErased):
            self.erasures[event.erasure_id] = ErasedAccount(
                erasure_id=event.erasure_id,
                user_id=user,
                officer=event.officer,
                case_ref=event.case_ref,
                account_seq=meta.seq,
                erased_at_ms=int(meta.occurred_at.timestamp() * 1000),
                devices=0 if account is None else len(account.devices),
            )
        if account is None:
            return []
        if isinstance(event, m.DeviceAdded):
            name = event.device_name
            if self.names is not None:
                name = self.names.open_device_name(
                    user, meta.device_id, name, event.sealed_device_name
                )
            account.devices[meta.device_id] = Device(meta.device_id, name, event.token_hash)
            self.device_owner[meta.device_id] = user
            self.arrivals.advance(meta.device_id, 1)
        elif isinstance(event, m.DeviceRevoked):
            device = account.devices.get(event.target_device_id)
            if device is not None:
                device.revoked = True
                return [device.device_id]
        elif isinstance(event, m.ProfileChanged):
            account.display_name = self._display_name(
                user, event.display_name, event.sealed_display_name
            )
        elif isinstance(event, m.AccountErased):
            return self._erase(account)
        return []

    def _erase(self, account: Account) -> list[str]:
        """A tombstone: the account, its profile and its devices leave the directory (their
        tokens stop working at once), and the user name stays taken."""
        del self.accounts[account.user_id]
        self.erased.add(account.user_id)
        for device_id in account.devices:
            self.device_owner.pop(device_id, None)
        return list(account.devices)

    def _display_name(self, user: str, plain: str, sealed: m.SealedBody | None) -> str:
        if self.names is None:
            return plain
        return self.names.open_display_name(user, plain, sealed)

    def check_password(self, user_id: str, password: str) -> bool:
        account = self.accounts.get(user_id)
        if account is None:
            _hasher.hash(password)  # same cost whether or not the user exists
            return False
        try:
            return _hasher.verify(account.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def knows_device(self, token: str) -> bool:
        return token_device(token) in self.device_owner

    def authenticate(self, token: str) -> tuple[str, str] | None:
        """(user_id, device_id) for a live token, else None."""
        device_id, _, secret = token.partition(".")
        user = self.device_owner.get(device_id)
        if user is None or not secret:
            return None
        device = self.accounts[user].devices[device_id]
        if device.revoked or not hmac.compare_digest(device.token_hash, token_hash(secret)):
            return None
        return user, device_id
