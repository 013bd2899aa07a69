"""The sequencer's pure core: `decide(state, command)` and `evolve(state, event)`.

`decide` reads state and answers with one event, a duplicate's earlier seq, "unchanged",
or a rejection; it writes nothing. `evolve` folds an event into state; the live path and
the rebuild from the log both go through it, so they cannot disagree. The answer types are
streams/decisions.py's, shared with the account registry.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, cast

from schemas import models as m
from schemas.models import ConversationKind, RejectionCode, Role
from schemas.record import AvroRecord
from streams import decisions
from streams.decisions import Accepted, Duplicate, NoChangeError, Rejected, RejectedError, Unchanged
from streams.sequencer.rules import (
    DEFAULT_LIMITS,
    NO_MEDIA,
    Check,
    Limits,
    MediaLookup,
    event_fields,
    is_compliance,
)
from streams.sequencer.state import Conversation, MessageFacts, SequencerState

__all__ = [
    "Accepted",
    "Decision",
    "Duplicate",
    "Rejected",
    "Unchanged",
    "decide",
    "evolve",
]


Decision = decisions.Decision[m.Event]


def decide(
    state: SequencerState,
    command: m.Command,
    now: datetime,
    limits: Limits = DEFAULT_LIMITS,
    media: MediaLookup = NO_MEDIA,
) -> Decision:
    """`media` is the sequencer's book of the media topic, which a message's attachments
    are checked against and filled from (docs/sequencer.md, "Attachments")."""
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
            raise RejectedError(RejectionCode.NO_SUCH_CONVERSATION, "no such conversation")
        actor_role = state.role(cid, meta.actor.user_id)
        if actor_role is None and not is_compliance(meta.actor):
            raise RejectedError(RejectionCode.NOT_A_MEMBER, "not a member of this conversation")
        fields = event_fields(Check(state, command, conversation, actor_role, limits, now, media))
    except RejectedError as r:
        return Rejected(r.code, r.reason)
    except NoChangeError:
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
        raise ValueError(
            f"{type(event).__name__} at seq 1 of {cid}: the log must open with creation"
        )
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
        expires_at = None
        if event.expires_after_ms is not None:
            expires_at = int(meta.occurred_at.timestamp() * 1000) + event.expires_after_ms
        facts = MessageFacts(
            sender=meta.actor.user_id,
            attached=bool(event.attachments),
            expires_at_ms=expires_at,
        )
        state.put_message(cid, meta.seq, facts)
    elif isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_EVERYONE:
        _update_message(state, cid, event.target_seq, deleted=True)
    elif isinstance(event, m.MessageRedacted):
        _update_message(state, cid, event.target_seq, redacted=True)
    elif isinstance(event, m.MessagesExpired):
        for seq in event.seqs:
            _update_message(state, cid, seq, deleted=True)
    elif isinstance(event, m.SenderContentErased):
        state.put_erased(cid, event.user_id)
    elif isinstance(event, m.DisappearingMessagesSet):
        conversation = replace(conversation, disappearing_ms=event.after_ms)
    elif isinstance(event, m.RetentionSet):
        conversation = replace(conversation, retention_days=event.keep_days)
    elif isinstance(event, m.ReactionAdded | m.ReactionRemoved):
        present = isinstance(event, m.ReactionAdded)
        state.put_reaction(cid, event.target_seq, meta.actor.user_id, event.emoji, present)
    elif isinstance(event, m.DeliveredWatermarkAdvanced):
        state.put_watermark("delivered", cid, meta.actor.device_id, event.up_to_seq)
    elif isinstance(event, m.ReadWatermarkAdvanced):
        state.put_watermark("read", cid, meta.actor.user_id, event.up_to_seq)
    state.put_conversation(cid, replace(conversation, last_seq=meta.seq, member_count=count))
    return True


def _update_message(
    state: SequencerState, cid: str, seq: int, *, deleted: bool = False, redacted: bool = False
) -> None:
    facts = state.message(cid, seq)
    if facts is not None:
        gone = replace(facts, deleted=facts.deleted or deleted, redacted=facts.redacted or redacted)
        state.put_message(cid, seq, gone)


def _check_ids(meta: m.CommandMeta, limits: Limits) -> None:
    for label, value in (
        ("conversation_id", meta.conversation_id),
        ("client_msg_id", meta.client_msg_id),
        ("user_id", meta.actor.user_id),
        ("device_id", meta.actor.device_id),
    ):
        if not value or len(value) > limits.max_id_chars:
            raise RejectedError(
                RejectionCode.INVALID, f"{label} must be 1 to {limits.max_id_chars} characters"
            )


def _create(
    state: SequencerState,
    command: m.CreateConversation,
    existing: Conversation | None,
    now: datetime,
    limits: Limits,
) -> Decision:
    creator = command.meta.actor.user_id
    others = [mem.user_id for mem in command.members if mem.user_id != creator]
    if len(set(others)) != len(others):
        raise RejectedError(RejectionCode.INVALID, "a member is listed twice")
    if existing is not None:
        same_pair = (
            existing.kind == ConversationKind.DIRECT == command.kind
            and state.role(command.meta.conversation_id, creator) is not None
            and all(state.role(command.meta.conversation_id, u) for u in others)
        )
        if same_pair:
            return Duplicate(1)
        raise RejectedError(RejectionCode.CONFLICT, "a conversation with this id already exists")
    if command.name is not None and len(command.name) > limits.max_name_chars:
        raise RejectedError(
            RejectionCode.TOO_LARGE, f"name is over {limits.max_name_chars} characters"
        )
    if command.kind == ConversationKind.DIRECT:
        if len(others) != 1:
            raise RejectedError(
                RejectionCode.INVALID, "a 1:1 conversation has exactly one other member"
            )
        members: tuple[m.Member, ...] = (
            m.Member(user_id=creator, role=Role.MEMBER),
            m.Member(user_id=others[0], role=Role.MEMBER),
        )
    else:
        if len(others) + 1 > limits.max_group_members:
            raise RejectedError(
                RejectionCode.TOO_LARGE, f"a group has at most {limits.max_group_members} members"
            )
        roles = {mem.user_id: mem.role for mem in command.members if mem.user_id != creator}
        members = (
            m.Member(user_id=creator, role=Role.OWNER),
            *(m.Member(user_id=u, role=roles[u]) for u in others),
        )
    fields = {
        "kind": command.kind,
        "name": command.name,
        "members": members,
        "home_region": command.home_region,
    }
    return Accepted(_event_for(command, 1, now, fields))


_EVENT_FOR: dict[type[AvroRecord], type[AvroRecord]] = {
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
    m.EraseSenderContent: m.SenderContentErased,
    m.SetDisappearingMessages: m.DisappearingMessagesSet,
    m.SetRetention: m.RetentionSet,
    m.ExpireMessages: m.MessagesExpired,
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
        cls: type[AvroRecord] = m.ReactionRemoved if command.removed else m.ReactionAdded
    else:
        cls = _EVENT_FOR[type(command)]
    return cast(m.Event, cls.model_validate({"meta": event_meta, **fields}))
