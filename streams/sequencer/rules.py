"""What each command must satisfy against conversation state, and the event fields it yields.

One small function per command type; `event_fields` picks it by the command's type.
A rule raises `RejectedError` to refuse and `NoChangeError` when the command is already true.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from media.attachment import Unattachable, UnattachableError, attachment
from media.lifecycle import MediaRecord
from schemas import models as m
from schemas.models import ConversationKind, RejectionCode, Role
from schemas.record import AvroRecord
from sealing.lifetimes import DISAPPEARING_CHOICES_MS, choices_said
from streams.decisions import NoChangeError, RejectedError
from streams.sequencer.state import Conversation, MessageFacts, SequencerState

COMPLIANCE_PREFIX = "compliance:"
WRITERS = (Role.OWNER, Role.ADMIN)
MAX_RETENTION_DAYS = 36_500
SEAL_TAG_BYTES = 16
"""A sealed body is its text plus the cipher's tag: the size limit is the text's."""


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024
    max_group_members: int = 100_000
    max_name_chars: int = 256
    max_attachments: int = 32
    max_mentions: int = 256
    max_emoji_chars: int = 32
    """Characters (code points), as the protocol's `react` frame says: a family or a flag
    is several of them."""
    max_id_chars: int = 128
    attach_window_s: int = 24 * 3600
    """Media declared longer ago is not attached: the sweeper deletes what no message
    attached a grace period after this (PARLEY_MEDIA_UNATTACHED_TTL_S, media/settings.py)."""
    disappearing_choices_ms: tuple[int, ...] = DISAPPEARING_CHOICES_MS
    """What a member may set (or None: off); PARLEY_DISAPPEARING_CHOICES_MS,
    sealing/lifetimes.py, which the edge reads too."""


DEFAULT_LIMITS = Limits()


class MediaLookup(Protocol):
    """The media the sequencer knows (its book of the media topic): O(1) per media id."""

    def get(self, media_id: str) -> MediaRecord | None: ...


class NoMedia:
    """A lookup that knows no media: every attachment is refused."""

    def get(self, media_id: str) -> MediaRecord | None:
        return None


NO_MEDIA = NoMedia()
ATTACH_REFUSALS = {
    Unattachable.MISSING: RejectionCode.NO_SUCH_MEDIA,
    Unattachable.NOT_READY: RejectionCode.MEDIA_NOT_READY,
}


@dataclass(frozen=True)
class Check:
    """One command, the state it is checked against, who sent it, and when."""

    state: SequencerState
    command: Any
    conversation: Conversation
    actor_role: Role | None
    limits: Limits
    now: datetime
    media: MediaLookup = NO_MEDIA

    @property
    def now_ms(self) -> int:
        """The time the event will carry (milliseconds since the epoch)."""
        return int(self.now.timestamp() * 1000)

    @property
    def cid(self) -> str:
        return str(self.command.meta.conversation_id)

    @property
    def actor(self) -> m.Actor:
        actor: m.Actor = self.command.meta.actor
        return actor


def is_compliance(actor: m.Actor) -> bool:
    return actor.user_id.startswith(COMPLIANCE_PREFIX)


def require(condition: bool, reason: str) -> None:
    if not condition:
        raise RejectedError(RejectionCode.FORBIDDEN, reason)


def event_fields(check: Check) -> dict[str, Any]:
    rule = _RULES.get(type(check.command))
    if rule is None:
        raise RejectedError(RejectionCode.INVALID, f"{type(check.command).__name__} is not handled")
    return rule(check)


def _group_only(check: Check) -> None:
    if check.conversation.kind != ConversationKind.GROUP:
        raise RejectedError(RejectionCode.FORBIDDEN, "membership of a 1:1 conversation is fixed")


def _add_member(c: Check) -> dict[str, Any]:
    _group_only(c)
    require(c.actor_role in WRITERS, "only owners and admins add members")
    require(c.command.role != Role.OWNER or c.actor_role == Role.OWNER, "only owners add owners")
    if c.state.role(c.cid, c.command.user_id) is not None:
        raise NoChangeError
    if c.conversation.member_count + 1 > c.limits.max_group_members:
        raise RejectedError(RejectionCode.TOO_LARGE, "the group is full")
    return {"user_id": c.command.user_id, "role": c.command.role}


def _remove_member(c: Check) -> dict[str, Any]:
    _group_only(c)
    target_role = c.state.role(c.cid, c.command.user_id)
    if target_role is None:
        raise NoChangeError
    leaving = c.command.user_id == c.actor.user_id
    require(leaving or c.actor_role in WRITERS, "only owners and admins remove members")
    require(
        leaving or target_role != Role.OWNER or c.actor_role == Role.OWNER,
        "only owners remove owners",
    )
    return {"user_id": c.command.user_id, "left": leaving}


def _change_role(c: Check) -> dict[str, Any]:
    _group_only(c)
    require(c.actor_role == Role.OWNER, "only owners change roles")
    current = c.state.role(c.cid, c.command.user_id)
    if current is None:
        raise RejectedError(RejectionCode.INVALID, "not a member")
    if current == c.command.role:
        raise NoChangeError
    return {"user_id": c.command.user_id, "role": c.command.role}


def _send(c: Check) -> dict[str, Any]:
    command: m.SendMessage = c.command
    not_erased(c)
    check_body(command.body, c.limits, attaching=bool(command.media_ids))
    allowed = c.conversation.lifetime_ms
    wanted = command.expires_after_ms
    if wanted is not None and wanted <= 0:
        raise RejectedError(RejectionCode.INVALID, "expires_after_ms must be positive")
    if allowed is not None and (wanted is None or wanted > allowed):
        # The edge sealed this message for a lifetime the conversation no longer allows (a
        # setting changed meanwhile): its keys would outlive it. Sending again seals anew.
        raise RejectedError(
            RejectionCode.CONFLICT,
            f"messages here now live at most {allowed} ms; send again",
        )
    if len(command.mentions) > c.limits.max_mentions:
        raise RejectedError(RejectionCode.TOO_LARGE, f"at most {c.limits.max_mentions} mentions")
    if command.reply_to_seq is not None:
        live_message(c.state, c.cid, command.reply_to_seq)
    return {
        "body": command.body,
        "reply_to_seq": command.reply_to_seq,
        "attachments": _attachments(c),
        "mentions": command.mentions,
        "expires_after_ms": command.expires_after_ms,
    }


def _attachments(c: Check) -> tuple[m.Attachment, ...]:
    """What the message carries of each media it names, from the sequencer's media book:
    the sender's own, ready, declared within the attach window (media/attachment.py)."""
    command: m.SendMessage = c.command
    ids = command.media_ids
    if len(ids) > c.limits.max_attachments:
        raise RejectedError(RejectionCode.TOO_LARGE, f"at most {c.limits.max_attachments} files")
    if len(set(ids)) != len(ids):
        raise RejectedError(RejectionCode.INVALID, "a media is attached twice")
    window = timedelta(seconds=c.limits.attach_window_s)
    found = []
    for media_id in ids:
        try:
            attached = attachment(c.media.get(media_id), media_id, c.actor.user_id, c.now, window)
        except UnattachableError as e:
            raise RejectedError(ATTACH_REFUSALS[e.kind], e.reason) from e
        if attached.kind is m.MediaKind.ENCRYPTED and not isinstance(command.body, m.EncryptedBody):
            reason = "an end-to-end encrypted file goes with an encrypted body (its key is in it)"
            raise RejectedError(RejectionCode.INVALID, reason)
        found.append(attached)
    return tuple(found)


def _edit(c: Check) -> dict[str, Any]:
    not_erased(c)
    facts = live_message(c.state, c.cid, c.command.target_seq)
    require(facts.sender == c.actor.user_id, "only the sender edits a message")
    check_body(c.command.body, c.limits, attaching=facts.attached)
    return {"target_seq": c.command.target_seq, "body": c.command.body}


def _delete(c: Check) -> dict[str, Any]:
    facts = live_message(c.state, c.cid, c.command.target_seq)
    if c.command.scope == m.DeleteScope.FOR_EVERYONE:
        require(
            facts.sender == c.actor.user_id or c.actor_role in WRITERS,
            "only the sender or an admin deletes for everyone",
        )
    return {"target_seq": c.command.target_seq, "scope": c.command.scope}


def _react(c: Check) -> dict[str, Any]:
    command: m.ReactToMessage = c.command
    not_erased(c)
    live_message(c.state, c.cid, command.target_seq)
    if not 0 < len(command.emoji) <= c.limits.max_emoji_chars:
        limit = c.limits.max_emoji_chars
        raise RejectedError(RejectionCode.INVALID, f"an emoji is 1 to {limit} characters")
    present = c.state.has_reaction(c.cid, command.target_seq, c.actor.user_id, command.emoji)
    if present != command.removed:
        raise NoChangeError
    return {"target_seq": command.target_seq, "emoji": command.emoji}


def _watermark(kind: str, who: Callable[[m.Actor], str]) -> Callable[[Check], dict[str, Any]]:
    def rule(c: Check) -> dict[str, Any]:
        up_to: int = c.command.up_to_seq
        if not 0 < up_to <= c.conversation.last_seq:
            raise RejectedError(
                RejectionCode.INVALID, f"up_to_seq must be 1 to {c.conversation.last_seq}"
            )
        if up_to <= c.state.watermark(kind, c.cid, who(c.actor)):
            raise NoChangeError
        return {"up_to_seq": up_to}

    return rule


def _redact(c: Check) -> dict[str, Any]:
    facts = message(c.state, c.cid, c.command.target_seq)
    require(
        is_compliance(c.actor) or facts.sender == c.actor.user_id,
        "only compliance or the sender redacts",
    )
    if facts.redacted:
        raise NoChangeError
    return {"target_seq": c.command.target_seq, "reason": c.command.reason}


def _erase_sender(c: Check) -> dict[str, Any]:
    """An erasure reaches this conversation: the person's content goes from every view."""
    require(is_compliance(c.actor), "only compliance erases a person")
    command: m.EraseSenderContent = c.command
    if c.state.erased(c.cid, command.user_id):
        raise NoChangeError
    return {"user_id": command.user_id, "erasure_id": command.erasure_id}


def _set_disappearing(c: Check) -> dict[str, Any]:
    after: int | None = c.command.after_ms
    require(c.actor_role is not None, "only members set disappearing messages")
    choices = c.limits.disappearing_choices_ms
    if after is not None and after not in choices:
        raise RejectedError(RejectionCode.INVALID, choices_said(choices))
    if after == c.conversation.disappearing_ms:
        raise NoChangeError
    return {"after_ms": after}


def _set_retention(c: Check) -> dict[str, Any]:
    require(is_compliance(c.actor), "only an operator or an officer sets retention")
    days: int | None = c.command.keep_days
    if days is not None and not 0 < days <= MAX_RETENTION_DAYS:
        raise RejectedError(RejectionCode.INVALID, f"keep_days is 1 to {MAX_RETENTION_DAYS}")
    if days == c.conversation.retention_days:
        raise NoChangeError
    return {"keep_days": days}


def _expire(c: Check) -> dict[str, Any]:
    """Only messages whose time has come by this clock, not yet gone: a late or repeated
    command expires nothing twice, an early one nothing before its time."""
    require(is_compliance(c.actor), "only the expiry processor expires messages")
    due = []
    for seq in sorted(set(c.command.seqs)):
        facts = c.state.message(c.cid, seq)
        if facts is None or facts.deleted or facts.redacted or facts.expires_at_ms is None:
            continue
        if facts.expires_at_ms <= c.now_ms:
            due.append(seq)
    if not due:
        raise NoChangeError
    return {"seqs": due}


_RULES: dict[type[AvroRecord], Callable[[Check], dict[str, Any]]] = {
    m.AddMember: _add_member,
    m.RemoveMember: _remove_member,
    m.ChangeMemberRole: _change_role,
    m.SendMessage: _send,
    m.EditMessage: _edit,
    m.DeleteMessage: _delete,
    m.ReactToMessage: _react,
    m.AcknowledgeDelivery: _watermark("delivered", lambda actor: actor.device_id),
    m.MarkRead: _watermark("read", lambda actor: actor.user_id),
    m.RedactMessage: _redact,
    m.EraseSenderContent: _erase_sender,
    m.SetDisappearingMessages: _set_disappearing,
    m.SetRetention: _set_retention,
    m.ExpireMessages: _expire,
}


def not_erased(c: Check) -> None:
    if c.state.erased(c.cid, c.actor.user_id):
        raise RejectedError(RejectionCode.FORBIDDEN, "this person was erased")


def message(state: SequencerState, cid: str, seq: int) -> MessageFacts:
    facts = state.message(cid, seq)
    if facts is None:
        raise RejectedError(RejectionCode.NO_SUCH_MESSAGE, f"no message at seq {seq}")
    return facts


def live_message(state: SequencerState, cid: str, seq: int) -> MessageFacts:
    facts = message(state, cid, seq)
    if facts.deleted or facts.redacted:
        raise RejectedError(RejectionCode.NO_SUCH_MESSAGE, f"message {seq} was deleted")
    return facts


def body_size(body: m.PlainBody | m.SealedBody | m.EncryptedBody) -> int:
    if isinstance(body, m.PlainBody):
        return len(body.text.encode())
    if isinstance(body, m.SealedBody):
        return max(len(body.ciphertext) - SEAL_TAG_BYTES, 0)
    return len(body.ciphertext) + sum(len(c) for c in body.device_ciphertexts.values())


def check_body(
    body: m.PlainBody | m.SealedBody | m.EncryptedBody, limits: Limits, *, attaching: bool = False
) -> None:
    """A body within the size limit; a plain one has text unless the message attaches media
    (a photo needs no caption)."""
    size = body_size(body)
    if size > limits.max_body_bytes:
        raise RejectedError(
            RejectionCode.TOO_LARGE, f"body is {size} bytes; the limit is {limits.max_body_bytes}"
        )
    if isinstance(body, m.PlainBody) and not body.text.strip() and not attaching:
        raise RejectedError(RejectionCode.INVALID, "a message needs text or an attachment")
