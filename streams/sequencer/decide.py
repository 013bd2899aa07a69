"""The sequencer's pure core: `decide(state, command)` and `evolve(state, event)`.

`decide` reads state and answers with one event, a duplicate's earlier seq, "unchanged",
or a rejection; it writes nothing. `evolve` folds an event into state; the live path and
the rebuild from the log both go through it, so they cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import models as m
from schemas.models import ConversationKind, RejectionCode, Role
from streams.sequencer.state import Conversation, MessageFacts, SequencerState

COMPLIANCE_PREFIX = "compliance:"


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024
    max_group_members: int = 100_000
    max_name_chars: int = 256
    max_attachments: int = 32
    max_mentions: int = 256
    max_emoji_bytes: int = 64
    max_id_chars: int = 128


@dataclass(frozen=True)
class Accepted:
    event: m.Event


@dataclass(frozen=True)
class Duplicate:
    seq: int


@dataclass(frozen=True)
class Unchanged:
    """Valid, but the state already says so (an ack that does not advance, say)."""


@dataclass(frozen=True)
class Rejected:
    code: RejectionCode
    reason: str


Decision = Accepted | Duplicate | Unchanged | Rejected

WRITERS = (Role.OWNER, Role.ADMIN)


class _Refusal(Exception):
    def __init__(self, code: RejectionCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _NoChange(Exception):
    pass


def decide(state: SequencerState, command: m.Command, now: datetime,
           limits: Limits = Limits()) -> Decision:
    meta = command.meta
    cid = meta.conversation_id
    earlier = state.seq_of_command(cid, meta.actor.device_id, meta.client_msg_id)
    if earlier is not None:
        return Duplicate(earlier)
    try:
        _check_ids(meta, limits)
        conversation = state.conversation(cid)
        if isinstance(command, m.CreateConversation):
            return _create(state, command, conversation, now, limits)
        if conversation is None:
            raise _Refusal(RejectionCode.NO_SUCH_CONVERSATION, "no such conversation")
        actor_role = state.role(cid, meta.actor.user_id)
        if actor_role is None and not _is_compliance(meta.actor):
            raise _Refusal(RejectionCode.NOT_A_MEMBER, "not a member of this conversation")
        fields = _payload(state, command, conversation, actor_role, limits)
    except _Refusal as r:
        return Rejected(r.code, r.reason)
    except _NoChange:
        return Unchanged()
    return Accepted(_event_for(command, conversation.last_seq + 1, now, fields))


def evolve(state: SequencerState, event: m.Event) -> bool:
    """Fold `event` into state; False when it was already applied (seq not above last)."""
    meta = event.meta
    cid = meta.conversation_id
    conversation = state.conversation(cid)
    last = 0 if conversation is None else conversation.last_seq
    if meta.seq <= last:
        return False
    if meta.seq != last + 1:
        raise ValueError(f"gap in {cid}: state at seq {last}, event at {meta.seq}")
    state.remember_command(cid, meta.actor.device_id, meta.client_msg_id, meta.seq)
    if isinstance(event, m.ConversationCreated):
        for member in event.members:
            state.put_role(cid, member.user_id, member.role)
        conversation = Conversation(event.kind, 0, len(event.members), event.name)
    if conversation is None:
        raise ValueError(f"{type(event).__name__} at seq 1 of {cid}: the log must open with creation")
    count = conversation.member_count
    if isinstance(event, m.MemberAdded):
        state.put_role(cid, event.user_id, event.role)
        count += 1
    elif isinstance(event, m.MemberRemoved):
        state.put_role(cid, event.user_id, None)
        count -= 1
    elif isinstance(event, m.MemberRoleChanged):
        state.put_role(cid, event.user_id, event.role)
    elif isinstance(event, m.MessageSent):
        state.put_message(cid, meta.seq, MessageFacts(sender=meta.actor.user_id))
    elif isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_EVERYONE:
        _update_message(state, cid, event.target_seq, deleted=True)
    elif isinstance(event, m.MessageRedacted):
        _update_message(state, cid, event.target_seq, redacted=True)
    elif isinstance(event, m.ReactionAdded | m.ReactionRemoved):
        present = isinstance(event, m.ReactionAdded)
        state.put_reaction(cid, event.target_seq, meta.actor.user_id, event.emoji, present)
    elif isinstance(event, m.DeliveredWatermarkAdvanced):
        state.put_watermark("delivered", cid, meta.actor.device_id, event.up_to_seq)
    elif isinstance(event, m.ReadWatermarkAdvanced):
        state.put_watermark("read", cid, meta.actor.user_id, event.up_to_seq)
    state.put_conversation(cid, Conversation(conversation.kind, meta.seq, count, conversation.name))
    return True


def _update_message(state: SequencerState, cid: str, seq: int, **changes: bool) -> None:
    facts = state.message(cid, seq)
    if facts is not None:
        state.put_message(cid, seq, MessageFacts(**{**facts.__dict__, **changes}))


def _is_compliance(actor: m.Actor) -> bool:
    return actor.user_id.startswith(COMPLIANCE_PREFIX)


def _check_ids(meta: m.CommandMeta, limits: Limits) -> None:
    for label, value in (("conversation_id", meta.conversation_id),
                         ("client_msg_id", meta.client_msg_id),
                         ("user_id", meta.actor.user_id), ("device_id", meta.actor.device_id)):
        if not value or len(value) > limits.max_id_chars:
            raise _Refusal(RejectionCode.INVALID,
                           f"{label} must be 1 to {limits.max_id_chars} characters")


def _create(state: SequencerState, command: m.CreateConversation,
            existing: Conversation | None, now: datetime, limits: Limits) -> Decision:
    creator = command.meta.actor.user_id
    others = [mem.user_id for mem in command.members if mem.user_id != creator]
    if len(set(others)) != len(others):
        raise _Refusal(RejectionCode.INVALID, "a member is listed twice")
    if existing is not None:
        same_pair = (existing.kind == ConversationKind.DIRECT == command.kind
                     and state.role(command.meta.conversation_id, creator) is not None
                     and all(state.role(command.meta.conversation_id, u) for u in others))
        if same_pair:
            return Duplicate(1)
        raise _Refusal(RejectionCode.CONFLICT, "a conversation with this id already exists")
    if command.name is not None and len(command.name) > limits.max_name_chars:
        raise _Refusal(RejectionCode.TOO_LARGE, f"name is over {limits.max_name_chars} characters")
    if command.kind == ConversationKind.DIRECT:
        if len(others) != 1:
            raise _Refusal(RejectionCode.INVALID, "a 1:1 conversation has exactly one other member")
        members = (m.Member(user_id=creator, role=Role.MEMBER),
                   m.Member(user_id=others[0], role=Role.MEMBER))
    else:
        if len(others) + 1 > limits.max_group_members:
            raise _Refusal(RejectionCode.TOO_LARGE,
                           f"a group has at most {limits.max_group_members} members")
        roles = {mem.user_id: mem.role for mem in command.members if mem.user_id != creator}
        members = (m.Member(user_id=creator, role=Role.OWNER),
                   *(m.Member(user_id=u, role=roles[u]) for u in others))
    fields = {"kind": command.kind, "name": command.name, "members": members,
              "home_region": command.home_region}
    return Accepted(_event_for(command, 1, now, fields))


def _payload(state: SequencerState, command: m.Command, conversation: Conversation,
             actor_role: Role | None, limits: Limits) -> dict[str, Any]:
    """Check the command against state; the fields of the event it becomes."""
    cid = command.meta.conversation_id
    actor = command.meta.actor
    group_only = (m.AddMember, m.RemoveMember, m.ChangeMemberRole)
    if isinstance(command, group_only) and conversation.kind != ConversationKind.GROUP:
        raise _Refusal(RejectionCode.FORBIDDEN, "membership of a 1:1 conversation is fixed")
    if isinstance(command, m.AddMember):
        _require(actor_role in WRITERS, "only owners and admins add members")
        _require(command.role != Role.OWNER or actor_role == Role.OWNER,
                 "only owners add owners")
        if state.role(cid, command.user_id) is not None:
            raise _NoChange
        if conversation.member_count + 1 > limits.max_group_members:
            raise _Refusal(RejectionCode.TOO_LARGE, "the group is full")
        return {"user_id": command.user_id, "role": command.role}
    if isinstance(command, m.RemoveMember):
        target_role = state.role(cid, command.user_id)
        if target_role is None:
            raise _NoChange
        leaving = command.user_id == actor.user_id
        _require(leaving or actor_role in WRITERS, "only owners and admins remove members")
        _require(leaving or target_role != Role.OWNER or actor_role == Role.OWNER,
                 "only owners remove owners")
        return {"user_id": command.user_id, "left": leaving}
    if isinstance(command, m.ChangeMemberRole):
        _require(actor_role == Role.OWNER, "only owners change roles")
        current = state.role(cid, command.user_id)
        if current is None:
            raise _Refusal(RejectionCode.INVALID, "not a member")
        if current == command.role:
            raise _NoChange
        return {"user_id": command.user_id, "role": command.role}
    if isinstance(command, m.SendMessage):
        _check_body(command.body, limits)
        if len(command.attachments) > limits.max_attachments:
            raise _Refusal(RejectionCode.TOO_LARGE, f"at most {limits.max_attachments} attachments")
        if len(command.mentions) > limits.max_mentions:
            raise _Refusal(RejectionCode.TOO_LARGE, f"at most {limits.max_mentions} mentions")
        if command.reply_to_seq is not None:
            _live_message(state, cid, command.reply_to_seq)
        return {"body": command.body, "reply_to_seq": command.reply_to_seq,
                "attachments": command.attachments, "mentions": command.mentions,
                "expires_after_ms": command.expires_after_ms}
    if isinstance(command, m.EditMessage):
        facts = _live_message(state, cid, command.target_seq)
        _require(facts.sender == actor.user_id, "only the sender edits a message")
        _check_body(command.body, limits)
        return {"target_seq": command.target_seq, "body": command.body}
    if isinstance(command, m.DeleteMessage):
        facts = _live_message(state, cid, command.target_seq)
        if command.scope == m.DeleteScope.FOR_EVERYONE:
            _require(facts.sender == actor.user_id or actor_role in WRITERS,
                     "only the sender or an admin deletes for everyone")
        return {"target_seq": command.target_seq, "scope": command.scope}
    if isinstance(command, m.ReactToMessage):
        _live_message(state, cid, command.target_seq)
        size = len(command.emoji.encode())
        if not 0 < size <= limits.max_emoji_bytes:
            raise _Refusal(RejectionCode.INVALID, "an emoji is 1 to 64 bytes")
        present = state.has_reaction(cid, command.target_seq, actor.user_id, command.emoji)
        if present != command.removed:
            raise _NoChange
        return {"target_seq": command.target_seq, "emoji": command.emoji}
    if isinstance(command, m.AcknowledgeDelivery | m.MarkRead):
        if not 0 < command.up_to_seq <= conversation.last_seq:
            raise _Refusal(RejectionCode.INVALID,
                           f"up_to_seq must be 1 to {conversation.last_seq}")
        kind, who = (("delivered", actor.device_id) if isinstance(command, m.AcknowledgeDelivery)
                     else ("read", actor.user_id))
        if command.up_to_seq <= state.watermark(kind, cid, who):
            raise _NoChange
        return {"up_to_seq": command.up_to_seq}
    if isinstance(command, m.RedactMessage):
        facts = _message(state, cid, command.target_seq)
        _require(_is_compliance(actor) or facts.sender == actor.user_id,
                 "only compliance or the sender redacts")
        if facts.redacted:
            raise _NoChange
        return {"target_seq": command.target_seq, "reason": command.reason}
    raise _Refusal(RejectionCode.INVALID, f"{type(command).__name__} is not handled here")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise _Refusal(RejectionCode.FORBIDDEN, reason)


def _message(state: SequencerState, cid: str, seq: int) -> MessageFacts:
    facts = state.message(cid, seq)
    if facts is None:
        raise _Refusal(RejectionCode.NO_SUCH_MESSAGE, f"no message at seq {seq}")
    return facts


def _live_message(state: SequencerState, cid: str, seq: int) -> MessageFacts:
    facts = _message(state, cid, seq)
    if facts.deleted or facts.redacted:
        raise _Refusal(RejectionCode.NO_SUCH_MESSAGE, f"message {seq} was deleted")
    return facts


def body_size(body: m.PlainBody | m.SealedBody | m.EncryptedBody) -> int:
    if isinstance(body, m.PlainBody):
        return len(body.text.encode())
    if isinstance(body, m.SealedBody):
        return len(body.ciphertext)
    return len(body.ciphertext) + sum(len(c) for c in body.device_ciphertexts.values())


def _check_body(body: m.PlainBody | m.SealedBody | m.EncryptedBody, limits: Limits) -> None:
    size = body_size(body)
    if size > limits.max_body_bytes:
        raise _Refusal(RejectionCode.TOO_LARGE,
                       f"body is {size} bytes; the limit is {limits.max_body_bytes}")
    if isinstance(body, m.PlainBody) and not body.text.strip():
        raise _Refusal(RejectionCode.INVALID, "a message needs text")


_EVENT_FOR: dict[type[m.AvroRecord], type[m.AvroRecord]] = {
    m.CreateConversation: m.ConversationCreated,
    m.AddMember: m.MemberAdded,
    m.ChangeMemberRole: m.MemberRoleChanged,
    m.SendMessage: m.MessageSent,
    m.EditMessage: m.MessageEdited,
    m.DeleteMessage: m.MessageDeleted,
    m.AcknowledgeDelivery: m.DeliveredWatermarkAdvanced,
    m.MarkRead: m.ReadWatermarkAdvanced,
    m.RedactMessage: m.MessageRedacted,
    m.RemoveMember: m.MemberRemoved,
}


def _event_for(command: m.Command, seq: int, now: datetime, fields: dict[str, Any]) -> m.Event:
    meta = command.meta
    event_meta = m.EventMeta(
        event_id=f"{meta.conversation_id}/{seq}",
        conversation_id=meta.conversation_id,
        seq=seq,
        actor=meta.actor,
        client_msg_id=meta.client_msg_id,
        command_id=meta.command_id,
        occurred_at=now,
    )
    if isinstance(command, m.ReactToMessage):
        cls: type[m.AvroRecord] = m.ReactionRemoved if command.removed else m.ReactionAdded
    else:
        cls = _EVENT_FOR[type(command)]
    event: m.Event = cls(meta=event_meta, **fields)  # type: ignore[assignment]
    return event
