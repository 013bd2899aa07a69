"""What each event changes in the history view: `apply`, pure given a key lookup, so it is
tested without Kafka.

Idempotency is by `(conversation, seq)`: the caller passes the last seq applied for the
event's conversation, and an event at or below it changes nothing. Replays after a crash
or a rebuild therefore converge on the same store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from projections.history.layout import (
    Lifetime,
    Tenures,
    attached_key,
    decode_tenures,
    edit_key,
    edits_key,
    edits_prefix,
    encode_int,
    event_key,
    hidden_key,
    last_seq_key,
    lifetime_key,
    member_key,
    membership_key,
    reaction_key,
    sent_by_key,
    sent_by_prefix,
    sent_media_key,
    seq_of_event_key,
    tenure_key,
)
from projections.store import Change, Delete, Put
from schemas import codec
from schemas import models as m

__all__ = ["Change", "Delete", "Put", "apply"]

Lookup = Callable[[bytes], bytes | None]
Scan = Callable[[bytes], Iterable[tuple[bytes, bytes]]]


def apply(
    event: m.Event, encoded: bytes, last_seq: int, get: Lookup, *, scan: Scan | None = None
) -> list[Change]:
    """The store changes of `event` (whose single-object encoding is `encoded`), in order;
    `get` reads the store as it is before them (a person's tenures), `scan` its keys under a
    prefix (an erasure's messages: the batch gives both).

    A message deleted for everyone, redacted or expired loses its stored bytes (and its
    edits): the hot tier must not hand out content the log has tombstoned, and the later
    event is the tombstone a client renders. An erasure does the same to every message of
    the erased person in the conversation. Each media a message attaches is indexed to it
    (media id -> conversation, seq): what the edge's download authorization reads; the index
    entry of a deleted message stays, and leads to no stored message. Each is also indexed to
    its sender, and stays (random ids, no content): the files an erasure of that sender
    deletes, and its report checks. A message's latest
    edit, its reactions and who deleted it for themselves are kept beside it, so a page shows
    each message as it is now.
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
            changes += _join(cid, seq, member.user_id, member.role, get)
    elif isinstance(event, m.MemberAdded):
        changes += _join(cid, seq, event.user_id, event.role, get)
    elif isinstance(event, m.MemberRoleChanged):
        changes += _role(cid, event.user_id, event.role)
    elif isinstance(event, m.MessageSent):
        sender = meta.actor.user_id
        for a in event.attachments:
            changes.append(Put(attached_key(a.media_id, cid, seq), b""))
            changes.append(Put(sent_media_key(cid, sender, a.media_id), b""))
        changes.append(Put(sent_by_key(cid, sender, seq), b""))
    elif isinstance(event, m.MemberRemoved):
        tenures = _tenures(get, event.user_id, cid)
        changes += [
            Delete(member_key(cid, event.user_id)),
            Delete(membership_key(event.user_id, cid)),
        ]
        if tenures is not None:
            changes.append(_put_tenures(event.user_id, cid, tenures.left(seq)))
    elif isinstance(event, m.MessageRedacted) or (
        isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_EVERYONE
    ):
        changes += _drop(cid, event.target_seq, get, scan)
    elif isinstance(event, m.MessagesExpired):
        for target in event.seqs:
            changes += _drop(cid, target, get, scan)
    elif isinstance(event, m.SenderContentErased):
        if scan is None:
            raise TypeError("an erasure needs the store's scan")
        for key, _ in list(scan(sent_by_prefix(cid, event.user_id))):
            changes += _drop(cid, seq_of_event_key(key), get, scan)
    elif isinstance(event, m.DisappearingMessagesSet | m.RetentionSet):
        changes.append(_lifetime(cid, event, get))
    elif isinstance(event, m.MessageDeleted):
        changes.append(Put(hidden_key(meta.actor.user_id, cid, event.target_seq), b""))
    elif isinstance(event, m.MessageEdited):
        changes.append(Put(edit_key(cid, event.target_seq), encoded))
        changes.append(Put(edits_key(cid, event.target_seq, seq), b""))
    elif isinstance(event, m.ReactionAdded):
        changes.append(
            Put(reaction_key(cid, event.target_seq, meta.actor.user_id, event.emoji), b"")
        )
    elif isinstance(event, m.ReactionRemoved):
        changes.append(Delete(reaction_key(cid, event.target_seq, meta.actor.user_id, event.emoji)))
    return changes


def _drop(cid: str, seq: int, get: Lookup, scan: Scan | None) -> list[Change]:
    """The message at `seq` loses its bytes, its latest edit, its edits' own events (`scan`:
    they are indexed under the message) and its place in its sender's index; its seq stays
    (the view's last seq, the tombstone event after it)."""
    changes: list[Change] = [Delete(event_key(cid, seq)), Delete(edit_key(cid, seq))]
    for key, _ in list(scan(edits_prefix(cid, seq))) if scan is not None else []:
        changes += [Delete(event_key(cid, seq_of_event_key(key))), Delete(key)]
    raw = get(event_key(cid, seq))
    if raw is not None:
        sent = codec.decode(raw)
        if isinstance(sent, m.MessageSent):
            changes.append(Delete(sent_by_key(cid, sent.meta.actor.user_id, seq)))
    return changes


def _lifetime(cid: str, event: m.DisappearingMessagesSet | m.RetentionSet, get: Lookup) -> Change:
    raw = get(lifetime_key(cid))
    held = Lifetime() if raw is None else Lifetime.model_validate_json(raw)
    if isinstance(event, m.DisappearingMessagesSet):
        now = held.model_copy(update={"disappearing_ms": event.after_ms})
    else:
        now = held.model_copy(update={"retention_days": event.keep_days})
    return Put(lifetime_key(cid), now.model_dump_json().encode())


def _join(cid: str, seq: int, user_id: str, role: m.Role, get: Lookup) -> list[Change]:
    """A member from `seq` on: a first tenure, or another after a removal."""
    tenures = _tenures(get, user_id, cid)
    joined = Tenures.first(seq) if tenures is None else tenures.joined(seq)
    return [*_role(cid, user_id, role), _put_tenures(user_id, cid, joined)]


def _tenures(get: Lookup, user_id: str, cid: str) -> Tenures | None:
    value = get(tenure_key(user_id, cid))
    return None if value is None else decode_tenures(value)


def _put_tenures(user_id: str, cid: str, tenures: Tenures) -> Put:
    return Put(tenure_key(user_id, cid), tenures.model_dump_json().encode())


def _role(cid: str, user_id: str, role: m.Role) -> list[Change]:
    value = role.value.encode()
    return [Put(member_key(cid, user_id), value), Put(membership_key(user_id, cid), value)]
