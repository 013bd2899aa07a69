"""What clients can ask of Parley, independent of REST or WebSocket framing.

Every change becomes a command produced to the log and answered by its outcome; reads go
to projections (accounts, history). Domain refusals come back as `ClientError`s from the
one table in edge/errors.py.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from edge.accounts import (
    USER_NAME,
    AccountDirectory,
    hash_password,
    new_device_token,
    normalise_user_name,
)
from edge.errors import (
    BAD_CREDENTIALS,
    TIMEOUT,
    ClientError,
    rejection_error,
)
from edge.frames import Body, DeleteMessage, EditMessage, MessageChange, PlainText
from edge.pages import HistoryPages, HistoryView, InboxView
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import Topics

REGISTRATION_DEVICE = "registration"
NEW_DEVICE_GRACE_S = 3.0
T = TypeVar("T")


class Gateway(Protocol):
    async def submit(
        self, topic: Any, key: str, command: Any, command_id: str, timeout_s: float
    ) -> AvroRecord: ...


class History(HistoryView, Protocol):
    def members(self, conversation_id: str) -> dict[str, str]: ...

    def conversations_of(self, user_id: str) -> list[str]: ...

    def is_member(self, user_id: str, conversation_id: str) -> bool: ...


def direct_conversation_id(a: str, b: str) -> str:
    """One 1:1 conversation per pair, whoever creates it first."""
    pair = "\x1f".join(sorted((a, b)))
    return "dm-" + hashlib.sha256(pair.encode()).hexdigest()[:32]


def to_body(body: Body) -> m.PlainBody | m.EncryptedBody:
    if isinstance(body, PlainText):
        return m.PlainBody(text=body.text)
    try:
        return m.EncryptedBody(
            scheme=m.E2EEScheme(body.scheme),
            sender_key=body.sender_key,
            session_id=body.session_id,
            ciphertext=base64.b64decode(body.ciphertext, validate=True),
            device_ciphertexts={
                d: base64.b64decode(c, validate=True) for d, c in body.device_ciphertexts.items()
            },
        )
    except ValueError as e:
        raise ClientError("invalid", f"ciphertext is not base64: {e}") from e


class EdgeService:
    def __init__(
        self,
        *,
        topics: Topics,
        gateway: Gateway,
        accounts: AccountDirectory,
        history: History,
        inbox: InboxView,
        timeout_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.topics = topics
        self.gateway = gateway
        self.accounts = accounts
        self.history = history
        self.inbox_view = inbox
        self.pages = HistoryPages(history, inbox)
        self.timeout_s = timeout_s
        self.clock = clock
        self.hash_slots = asyncio.Semaphore(2)
        self.history_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history")

    # accounts

    async def register(
        self, username: str, password: str, display_name: str, idempotency_key: str | None = None
    ) -> str:
        user_id = normalise_user_name(username)
        if not USER_NAME.match(user_id):
            raise ClientError("invalid", "a user name is 3 to 32 of a-z, 0-9, _ . -")
        if len(password) < 8:
            raise ClientError("invalid", "a password has at least 8 characters")
        command_id = str(uuid.uuid4())
        command = m.RegisterAccount(
            meta=self._account_meta(command_id, user_id, REGISTRATION_DEVICE, idempotency_key),
            display_name=display_name.strip() or user_id,
            password_hash=await self._hashing(hash_password, password),
        )
        await self._account_command(user_id, command, command_id)
        await self._until(lambda: user_id in self.accounts.accounts)
        return user_id

    async def login(self, username: str, password: str, device_name: str) -> dict[str, str]:
        user_id = normalise_user_name(username)
        if not await self._hashing(self.accounts.check_password, user_id, password):
            raise BAD_CREDENTIALS
        device_id, token, token_hash = new_device_token()
        command_id = str(uuid.uuid4())
        command = m.AddDevice(
            meta=self._account_meta(command_id, user_id, device_id, None),
            device_name=device_name[:64] or "device",
            token_hash=token_hash,
        )
        await self._account_command(user_id, command, command_id)
        await self._until(lambda: self.accounts.authenticate(token) is not None)
        return {"user_id": user_id, "device_id": device_id, "token": token}

    async def revoke_device(self, user_id: str, device_id: str, target: str) -> None:
        account = self.accounts.accounts[user_id]
        if target not in account.devices:  # it may have logged in on another edge just now
            with contextlib.suppress(ClientError):
                await self._until(lambda: target in account.devices, NEW_DEVICE_GRACE_S)
        if target not in account.devices:
            raise ClientError("not_found", "no such device", 404)
        command_id = str(uuid.uuid4())
        command = m.RevokeDevice(
            meta=self._account_meta(command_id, user_id, device_id, None), target_device_id=target
        )
        await self._account_command(user_id, command, command_id)
        await self._until(lambda: account.devices[target].revoked)

    async def authenticate(self, token: str) -> tuple[str, str] | None:
        """(user, device) for a live token. A device this edge has not heard of yet may have
        just logged in on another edge: wait a moment for the accounts log to bring it."""
        if not self.accounts.knows_device(token):
            with contextlib.suppress(ClientError):
                await self._until(lambda: self.accounts.knows_device(token), NEW_DEVICE_GRACE_S)
        return self.accounts.authenticate(token)

    def profile(self, user_id: str) -> dict[str, str]:
        account = self.accounts.accounts.get(user_id)
        if account is None:
            raise ClientError("not_found", "no such account", 404)
        return {"user_id": user_id, "display_name": account.display_name}

    async def change_profile(self, user_id: str, device_id: str, display_name: str) -> None:
        command_id = str(uuid.uuid4())
        command = m.ChangeProfile(
            meta=self._account_meta(command_id, user_id, device_id, None),
            display_name=display_name.strip(),
        )
        await self._account_command(user_id, command, command_id)
        account = self.accounts.accounts[user_id]
        await self._until(lambda: account.display_name == display_name.strip())

    def devices(self, user_id: str) -> list[dict[str, Any]]:
        account = self.accounts.accounts.get(user_id)
        if account is None:
            return []
        return [
            {"device_id": d.device_id, "device_name": d.name, "revoked": d.revoked}
            for d in account.devices.values()
        ]

    # conversations

    async def create_conversation(
        self,
        user_id: str,
        device_id: str,
        *,
        kind: str,
        members: list[str],
        name: str | None,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        others = sorted({normalise_user_name(u) for u in members} - {user_id})
        unknown = [u for u in others if u not in self.accounts.accounts]
        if unknown:
            raise ClientError("not_found", f"no such user: {', '.join(unknown)}", 404)
        if kind == "direct":
            if len(others) != 1:
                raise ClientError("invalid", "a 1:1 conversation has exactly one other person")
            cid = direct_conversation_id(user_id, others[0])
            conversation_kind = m.ConversationKind.DIRECT
        else:
            cid = f"g-{uuid.uuid4().hex}"
            conversation_kind = m.ConversationKind.GROUP
        command = m.CreateConversation(
            meta=self._meta(cid, user_id, device_id, idempotency_key),
            kind=conversation_kind,
            name=name,
            members=tuple(m.Member(user_id=u, role=m.Role.MEMBER) for u in others),
        )
        seq = await self._command(command)
        return {"conversation_id": cid, "seq": seq}

    async def change_members(
        self,
        user_id: str,
        device_id: str,
        cid: str,
        *,
        add: str | None,
        remove: str | None,
        role: str = "MEMBER",
    ) -> dict[str, Any]:
        meta = self._meta(cid, user_id, device_id, None)
        command: AvroRecord
        if add is not None:
            target = normalise_user_name(add)
            if target not in self.accounts.accounts:
                raise ClientError("not_found", f"no such user: {target}", 404)
            try:
                command = m.AddMember(meta=meta, user_id=target, role=m.Role(role.upper()))
            except ValueError as e:
                raise ClientError("invalid", "role is OWNER, ADMIN or MEMBER") from e
        else:
            command = m.RemoveMember(meta=meta, user_id=normalise_user_name(remove or ""))
        return {"seq": await self._command(command)}

    def conversations(self, user_id: str) -> list[dict[str, Any]]:
        return [
            {
                "conversation_id": cid,
                "members": sorted(self.history.members(cid)),
                "last_seq": self.history.last_seq(cid),
            }
            for cid in self.history.conversations_of(user_id)
        ]

    # messages

    async def send(
        self,
        user_id: str,
        device_id: str,
        *,
        cid: str,
        client_msg_id: str,
        body: Body,
        reply_to: int | None,
    ) -> dict[str, Any]:
        command = m.SendMessage(
            meta=self._meta(cid, user_id, device_id, client_msg_id),
            body=to_body(body),
            reply_to_seq=reply_to,
        )
        outcome = await self._outcome(command)
        if not isinstance(outcome, m.CommandAccepted):
            raise TypeError(f"a send was answered with {outcome!r}")
        return {"seq": outcome.seq, "duplicate": outcome.duplicate}

    async def ack(
        self, user_id: str, device_id: str, cid: str, kind: str, up_to: int
    ) -> dict[str, Any]:
        meta = self._meta(cid, user_id, device_id, None)
        command = (
            m.MarkRead(meta=meta, up_to_seq=up_to)
            if kind == "read"
            else m.AcknowledgeDelivery(meta=meta, up_to_seq=up_to)
        )
        return {"seq": await self._command(command)}

    async def fetch_history(
        self, user_id: str, cid: str, *, before: int | None, after: int | None, limit: int
    ) -> dict[str, Any]:
        """A page as clients see it (see edge/pages.py)."""
        return await self._on_history_thread(
            lambda: self.pages.page(user_id, cid, before=before, after=after, limit=limit)
        )

    async def sync(
        self, user_id: str, cursors: dict[str, int], limit: int, *, with_inbox: bool
    ) -> dict[str, Any]:
        return await self._on_history_thread(
            lambda: self.pages.sync(user_id, cursors, limit, with_inbox=with_inbox)
        )

    async def inbox(self, user_id: str) -> dict[str, Any]:
        return await self._on_history_thread(lambda: {"entries": self.inbox_view.entries(user_id)})

    async def sharing_a_conversation(self, user_id: str, others: list[str]) -> list[str]:
        """Those of `others` who share a conversation with the user: presence is theirs only."""

        def visible() -> list[str]:
            mine = set(self.history.conversations_of(user_id))
            return [u for u in others if mine & set(self.history.conversations_of(u))]

        return await self._on_history_thread(visible)

    async def inbox_entry(self, user_id: str, cid: str) -> dict[str, Any] | None:
        return await self._on_history_thread(lambda: self.inbox_view.entry(user_id, cid))

    async def change_message(
        self, user_id: str, device_id: str, change: MessageChange
    ) -> dict[str, Any]:
        """An edit, a deletion or a reaction: a command about the message at `change.seq`."""
        meta = self._meta(change.conversation_id, user_id, device_id, None)
        command: AvroRecord
        if isinstance(change, EditMessage):
            command = m.EditMessage(meta=meta, target_seq=change.seq, body=to_body(change.body))
        elif isinstance(change, DeleteMessage):
            scope = (
                m.DeleteScope.FOR_EVERYONE
                if change.scope == "for_everyone"
                else m.DeleteScope.FOR_ME
            )
            command = m.DeleteMessage(meta=meta, target_seq=change.seq, scope=scope)
        else:
            command = m.ReactToMessage(
                meta=meta, target_seq=change.seq, emoji=change.emoji, removed=not change.active
            )
        return {"seq": await self._command(command)}

    async def _on_history_thread(self, read: Callable[[], T]) -> T:
        """RocksDB reads and decoding run on one thread of their own, so a burst of history
        requests never stalls this node's sockets."""
        return await asyncio.get_running_loop().run_in_executor(self.history_thread, read)

    # plumbing

    async def _hashing(self, work: Callable[..., T], *args: Any) -> T:
        """argon2 costs ~50-100 ms of CPU: in a thread (it releases the GIL), a few at a time,
        so a burst of logins never stalls the sockets of this node."""
        async with self.hash_slots:
            return await asyncio.to_thread(work, *args)

    def _meta(
        self, cid: str, user_id: str, device_id: str, client_msg_id: str | None
    ) -> m.CommandMeta:
        return m.CommandMeta(
            command_id=str(uuid.uuid4()),
            conversation_id=cid,
            actor=m.Actor(user_id=user_id, device_id=device_id),
            client_msg_id=client_msg_id or str(uuid.uuid4()),
            issued_at=self.clock(),
        )

    def _account_meta(
        self, command_id: str, user_id: str, device_id: str, client_msg_id: str | None
    ) -> m.AccountCommandMeta:
        return m.AccountCommandMeta(
            command_id=command_id,
            user_id=user_id,
            device_id=device_id,
            client_msg_id=client_msg_id or str(uuid.uuid4()),
            issued_at=self.clock(),
        )

    async def _command(self, command: AvroRecord) -> int | None:
        outcome = await self._outcome(command)
        return outcome.seq if isinstance(outcome, m.CommandAccepted) else None

    async def _outcome(self, command: AvroRecord) -> AvroRecord:
        meta: m.CommandMeta = command.meta  # type: ignore[attr-defined]
        try:
            outcome = await self.gateway.submit(
                self.topics.commands, meta.conversation_id, command, meta.command_id, self.timeout_s
            )
        except TimeoutError as e:
            raise TIMEOUT from e
        if isinstance(outcome, m.CommandRejected):
            raise rejection_error(outcome.code, outcome.reason)
        return outcome

    async def _account_command(self, user_id: str, command: AvroRecord, command_id: str) -> None:
        try:
            outcome = await self.gateway.submit(
                self.topics.account_commands, user_id, command, command_id, self.timeout_s
            )
        except TimeoutError as e:
            raise TIMEOUT from e
        if isinstance(outcome, m.CommandRejected):
            raise rejection_error(outcome.code, outcome.reason)

    async def _until(self, condition: Callable[[], bool], timeout_s: float | None = None) -> None:
        """Wait until this edge's view has caught up with a change made through the log."""
        deadline = time.monotonic() + (timeout_s or self.timeout_s)
        while not condition():
            if time.monotonic() > deadline:
                raise TIMEOUT
            await asyncio.sleep(0.005)
