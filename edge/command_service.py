"""Conversations and messages, as clients change them: each request becomes one command to
the sequencer, answered with the seq of the event it wrote once it is in the log."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import Awaitable, Callable

from edge.accounts import AccountDirectory, normalise_user_name
from edge.errors import ClientError, ErrorCode
from edge.lifetimes import MessageLifetimes
from edge.protocol import frames as f
from edge.protocol.answers import CreatedConversation, SendResult, Sequenced
from edge.send_attempts import SendAttempts
from edge.submission import Submitter
from schemas import models as m
from sealing.bodies import Body, MessageSealing, PlainMessages
from sealing.keystore import KeyDestroyedError


def direct_conversation_id(a: str, b: str) -> str:
    """One 1:1 conversation per pair, whoever creates it first."""
    pair = "\x1f".join(sorted((a, b)))
    return "dm-" + hashlib.sha256(pair.encode()).hexdigest()[:32]


AttachmentCheck = Callable[[str, list[str]], Awaitable[None]]
"""Raises the `ClientError` that refuses a user's attaching these media (edge/media_service.py)."""


def to_body(body: f.Body | None) -> m.PlainBody | m.EncryptedBody:
    if body is None:
        return m.PlainBody(text="")  # attachments only: the sequencer holds it to that
    if isinstance(body, f.PlainText):
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
        raise ClientError(ErrorCode.INVALID, f"ciphertext is not base64: {e}") from e


class CommandService:
    def __init__(
        self,
        *,
        submitter: Submitter,
        directory: AccountDirectory,
        check_attachments: AttachmentCheck | None = None,
        attempts: SendAttempts | None = None,
        sealing: MessageSealing | None = None,
        lifetimes: MessageLifetimes | None = None,
    ) -> None:
        """`check_attachments`: the edge's early word on a message's media, before the
        sequencer's (without it, the sequencer alone decides).
        `sealing` seals plain bodies before they become commands, so plaintext never
        enters the log (docs/compliance.md); None only in tests of the plain path.
        `lifetimes`: how long a new message lives (None: for ever, in tests of messages
        that never expire)."""
        self.submitter = submitter
        self.directory = directory
        self.check_attachments = check_attachments
        self.attempts = attempts or SendAttempts(horizon_s=submitter.timeout_s)
        self.sealing = sealing or PlainMessages()
        self.lifetimes = lifetimes

    def _sealed(
        self,
        body: f.Body | None,
        cid: str,
        user_id: str,
        *,
        may_be_blank: bool,
        expires_after_ms: int | None = None,
    ) -> Body:
        """The body as the log keeps it. A blank text is refused here unless it `may_be_blank`
        (a send with media; an edit, whose message only the sequencer knows): then it holds
        nothing to seal and goes as it is, so the sequencer can still tell it is blank."""
        plain = to_body(body)
        if isinstance(plain, m.PlainBody) and not plain.text.strip():
            if not may_be_blank:
                raise ClientError(ErrorCode.INVALID, "a message needs text")
            return plain
        try:
            return self.sealing.seal(plain, cid, user_id, expires_after_ms)
        except KeyDestroyedError as e:
            raise ClientError(ErrorCode.FORBIDDEN, "this person was erased") from e

    async def create_conversation(
        self,
        user_id: str,
        device_id: str,
        *,
        kind: str,
        members: list[str],
        name: str | None,
        idempotency_key: str | None,
    ) -> CreatedConversation:
        others = sorted({normalise_user_name(u) for u in members} - {user_id})
        unknown = [u for u in others if u not in self.directory.accounts]
        if unknown:
            raise ClientError(ErrorCode.NOT_FOUND, f"no such user: {', '.join(unknown)}")
        if kind == "direct":
            if len(others) != 1:
                raise ClientError(
                    ErrorCode.INVALID, "a 1:1 conversation has exactly one other person"
                )
            cid = direct_conversation_id(user_id, others[0])
            conversation_kind = m.ConversationKind.DIRECT
        else:
            cid = f"g-{uuid.uuid4().hex}"
            conversation_kind = m.ConversationKind.GROUP
        command = m.CreateConversation(
            meta=self.submitter.meta(cid, user_id, device_id, idempotency_key),
            kind=conversation_kind,
            name=name,
            members=tuple(m.Member(user_id=u, role=m.Role.MEMBER) for u in others),
        )
        accepted = await self.submitter.command(command)
        return CreatedConversation(conversation_id=cid, seq=accepted.seq)

    async def change_members(
        self,
        user_id: str,
        device_id: str,
        cid: str,
        *,
        add: str | None,
        remove: str | None,
        role: str = "MEMBER",
    ) -> Sequenced:
        meta = self.submitter.meta(cid, user_id, device_id, None)
        command: m.Command
        if add is not None:
            target = normalise_user_name(add)
            if target not in self.directory.accounts:
                raise ClientError(ErrorCode.NOT_FOUND, f"no such user: {target}")
            try:
                command = m.AddMember(meta=meta, user_id=target, role=m.Role(role.upper()))
            except ValueError as e:
                raise ClientError(ErrorCode.INVALID, "role is OWNER, ADMIN or MEMBER") from e
        else:
            command = m.RemoveMember(meta=meta, user_id=normalise_user_name(remove or ""))
        return await self._sequenced(command)

    async def set_disappearing(
        self, user_id: str, device_id: str, cid: str, after_ms: int | None
    ) -> Sequenced:
        """A member sets how long new messages live (None: off). Answered once this edge's
        history view holds the setting, so that the member's next send here obeys it."""
        if self.lifetimes is not None:
            self.lifetimes.check_choice(after_ms)
        meta = self.submitter.meta(cid, user_id, device_id, None)
        done = await self._sequenced(m.SetDisappearingMessages(meta=meta, after_ms=after_ms))
        if self.lifetimes is not None and done.seq is not None:
            await self.lifetimes.settled(cid, done.seq)
        return done

    async def send(
        self,
        user_id: str,
        device_id: str,
        *,
        cid: str,
        client_msg_id: str,
        body: f.Body | None,
        reply_to: int | None,
        attachments: list[str] | None = None,
    ) -> SendResult:
        media_ids = attachments or []
        if media_ids and self.check_attachments is not None:
            await self.check_attachments(user_id, media_ids)
        lifetime = None
        if self.lifetimes is not None:
            lifetime = await self.lifetimes.for_new_message(cid)
        command = m.SendMessage(
            meta=self.submitter.meta(cid, user_id, device_id, client_msg_id),
            body=self._sealed(
                body, cid, user_id, may_be_blank=bool(media_ids), expires_after_ms=lifetime
            ),
            reply_to_seq=reply_to,
            media_ids=tuple(media_ids),
            expires_after_ms=lifetime,
        )

        async def attempt(horizon_s: float) -> SendResult:
            accepted = await self.submitter.command(command, horizon_s)
            if accepted.seq is None:
                raise TypeError(f"a send was accepted without a seq: {accepted!r}")
            return SendResult(seq=accepted.seq, duplicate=accepted.duplicate)

        key = (device_id, cid, client_msg_id)
        return await self.attempts.send(key, attempt, self.submitter.timeout_s)

    async def ack(self, user_id: str, device_id: str, frame: f.Ack) -> Sequenced:
        meta = self.submitter.meta(frame.conversation_id, user_id, device_id, None)
        command = (
            m.MarkRead(meta=meta, up_to_seq=frame.up_to)
            if frame.kind == "read"
            else m.AcknowledgeDelivery(meta=meta, up_to_seq=frame.up_to)
        )
        return await self._sequenced(command)

    async def change_message(
        self, user_id: str, device_id: str, change: f.MessageChange
    ) -> Sequenced:
        """An edit, a deletion or a reaction: a command about the message at `change.seq`."""
        meta = self.submitter.meta(change.conversation_id, user_id, device_id, None)
        command: m.Command
        match change:
            case f.EditMessage():
                lifetime = None
                if self.lifetimes is not None:
                    lifetime = await self.lifetimes.for_edit(change.conversation_id, change.seq)
                command = m.EditMessage(
                    meta=meta,
                    target_seq=change.seq,
                    body=self._sealed(
                        change.body,
                        change.conversation_id,
                        user_id,
                        may_be_blank=True,
                        expires_after_ms=lifetime,
                    ),
                )
            case f.DeleteMessage():
                scope = (
                    m.DeleteScope.FOR_EVERYONE
                    if change.scope == "for_everyone"
                    else m.DeleteScope.FOR_ME
                )
                command = m.DeleteMessage(meta=meta, target_seq=change.seq, scope=scope)
            case f.React():
                command = m.ReactToMessage(
                    meta=meta, target_seq=change.seq, emoji=change.emoji, removed=not change.active
                )
        return await self._sequenced(command)

    def close(self) -> None:
        if self.lifetimes is not None:
            self.lifetimes.close()

    async def _sequenced(self, command: m.Command) -> Sequenced:
        return Sequenced(seq=(await self.submitter.command(command)).seq)
