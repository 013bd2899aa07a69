"""What each event changes in the history view: `apply`, pure, so it is tested without Kafka.

Idempotency is by `(conversation, seq)`: the caller passes the last seq applied for the
event's conversation, and an event at or below it changes nothing. Replays after a crash
or a rebuild therefore converge on the same store.
"""

from __future__ import annotations

from projections.history.layout import (
    Tenure,
    attached_key,
    edit_key,
    encode_int,
    event_key,
    hidden_key,
    last_seq_key,
    member_key,
    membership_key,
    reaction_key,
    tenure_key,
)
from projections.store import Change, Delete, Put
from schemas import models as m

__all__ = ["Change", "Delete", "Put", "apply"]


def apply(event: m.Event, encoded: bytes, last_seq: int) -> list[Change]:
    """The store changes of `event` (whose single-object encoding is `encoded`), in order.

    A message deleted for everyone or redacted loses its stored bytes (and its edits): the
    hot tier must not hand out content the log has tombstoned, and the later event is the
    tombstone a client renders. Each media a message attaches is indexed to it (media id ->
    conversation, seq): what the edge's download authorization reads; the index entry of a
    deleted message stays, and leads to no stored message. A message's latest edit, its
    reactions and who deleted it for themselves are kept beside it, so a page shows each
    message as it is now.
    """
    meta = event.meta
    cid, seq = meta.conversation_id, meta.seq
    if seq <= last_seq:
        return []
    changes: list[Change] = [
        Put(event_key(cid, seq), encoded),
        Put(last_seq_key(cid), encode_int(seq)),
    ]
    if isinstance(event, m.ConversationCreated):
        for member in event.members:
            changes += _join(cid, member.user_id, member.role)
    elif isinstance(event, m.MemberAdded):
        changes += _join(cid, event.user_id, event.role)
    elif isinstance(event, m.MemberRoleChanged):
        changes += _role(cid, event.user_id, event.role)
    elif isinstance(event, m.MessageSent):
        changes += [Put(attached_key(a.media_id, cid, seq), b"") for a in event.attachments]
    elif isinstance(event, m.MemberRemoved):
        changes += [
            Delete(member_key(cid, event.user_id)),
            Delete(membership_key(event.user_id, cid)),
            Put(tenure_key(event.user_id, cid), Tenure(left_at=seq).model_dump_json().encode()),
        ]
    elif isinstance(event, m.MessageRedacted) or (
        isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_EVERYONE
    ):
        changes += [
            Delete(event_key(cid, event.target_seq)),
            Delete(edit_key(cid, event.target_seq)),
        ]
    elif isinstance(event, m.MessageDeleted):
        changes.append(Put(hidden_key(meta.actor.user_id, cid, event.target_seq), b""))
    elif isinstance(event, m.MessageEdited):
        changes.append(Put(edit_key(cid, event.target_seq), encoded))
    elif isinstance(event, m.ReactionAdded):
        changes.append(
            Put(reaction_key(cid, event.target_seq, meta.actor.user_id, event.emoji), b"")
        )
    elif isinstance(event, m.ReactionRemoved):
        changes.append(Delete(reaction_key(cid, event.target_seq, meta.actor.user_id, event.emoji)))
    return changes


def _join(cid: str, user_id: str, role: m.Role) -> list[Change]:
    return [
        *_role(cid, user_id, role),
        Put(tenure_key(user_id, cid), Tenure().model_dump_json().encode()),
    ]


def _role(cid: str, user_id: str, role: m.Role) -> list[Change]:
    value = role.value.encode()
    return [Put(member_key(cid, user_id), value), Put(membership_key(user_id, cid), value)]
