"""What each event changes in the inbox view: `apply`, pure given a key lookup, so it is
tested without Kafka. Idempotent by (conversation, seq): an event at or below the
summary's `last_seq` changes nothing, so replays converge on the same store."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable

from projections.inbox.layout import (
    PREVIEW_CHARS,
    IndexedMessage,
    Membership,
    Preview,
    SealedPreview,
    Summary,
    delivered_key,
    member_key,
    membership_key,
    message_key,
    messages_prefix,
    read_key,
    summary_key,
)
from projections.store import Change, Delete, Put, decode_int, encode_int
from schemas import models as m
from schemas.record import AvroRecord

Lookup = Callable[[bytes], bytes | None]
Scan = Callable[[bytes], Iterable[tuple[bytes, bytes]]]


def apply(event: m.Event, get: Lookup, *, scan: Scan | None = None) -> list[Change]:
    """The store changes of `event`; `get` and `scan` read the store as the batch leaves it
    (`scan` for an erasure, which finds the erased person's messages by prefix)."""
    meta = event.meta
    cid, seq = meta.conversation_id, meta.seq
    raw = get(summary_key(cid))
    summary = Summary(kind="direct") if raw is None else Summary.model_validate_json(raw)
    if seq <= summary.last_seq:
        return []
    activity_ms = int(meta.occurred_at.timestamp() * 1000)
    changes: list[Change] = []
    active = False
    if isinstance(event, m.ConversationCreated):
        summary = summary.model_copy(update={"kind": event.kind.value, "name": event.name})
        for member in event.members:
            changes += _join(get, cid, seq, member.user_id, member.role.value)
        active = True
    elif isinstance(event, m.MemberAdded):
        changes += _join(get, cid, seq, event.user_id, event.role.value)
        active = True
    elif isinstance(event, m.MemberRoleChanged):
        changes += _join(get, cid, seq, event.user_id, event.role.value)
    elif isinstance(event, m.MemberRemoved):
        then = summary.model_copy(update={"last_seq": seq, "last_activity_ms": activity_ms})
        changes += _leave(get, cid, seq, event.user_id, then)
        active = True
    elif isinstance(event, m.MessageSent):
        indexed = IndexedMessage(sender_id=meta.actor.user_id, mentions=tuple(event.mentions))
        changes.append(Put(message_key(cid, seq), indexed.encode()))
        summary = summary.model_copy(
            update={"preview": _preview(seq, meta.actor.user_id, event.body)}
        )
        active = True
    elif isinstance(event, m.MessageEdited):
        last = summary.preview
        if last is not None and last.seq == event.target_seq:
            edited = _preview(last.seq, last.sender_id, event.body, edited=True)
            summary = summary.model_copy(update={"preview": edited})
    elif isinstance(event, m.MessageRedacted | m.MessageDeleted | m.MessagesExpired):
        gone, summary = _removal(event, cid, summary)
        changes += gone
    elif isinstance(event, m.SenderContentErased):
        gone, summary = _erasure(event.user_id, cid, summary, scan)
        changes += gone
    elif isinstance(event, m.ReadWatermarkAdvanced):
        changes += _advance(get, read_key(cid, meta.actor.user_id), event.up_to_seq)
    elif isinstance(event, m.DeliveredWatermarkAdvanced):
        changes += _advance(get, delivered_key(cid, meta.actor.user_id), event.up_to_seq)
    update: dict[str, object] = {"last_seq": seq}
    if active:
        update["last_activity_ms"] = activity_ms
    summary = summary.model_copy(update=update)
    changes.append(Put(summary_key(cid), summary.model_dump_json().encode()))
    return changes


def _join(get: Lookup, cid: str, seq: int, user_id: str, role: str) -> list[Change]:
    """A member with this role from `seq` on, or since they joined if they are one (a role
    change, a repeated add)."""
    raw = get(membership_key(user_id, cid))
    held = None if raw is None else Membership.model_validate_json(raw)
    joined_at = held.joined_at if held is not None and held.left_at is None else seq
    member = Membership(role=role, joined_at=joined_at)
    return [
        Put(member_key(cid, user_id), role.encode()),
        Put(membership_key(user_id, cid), member.model_dump_json().encode()),
    ]


def _advance(get: Lookup, key: bytes, seq: int) -> list[Change]:
    """Watermarks only move forward: the highest over a person's devices."""
    current = get(key)
    if current is not None and decode_int(current) >= seq:
        return []
    return [Put(key, encode_int(seq))]


def _removal(
    event: m.MessageRedacted | m.MessageDeleted | m.MessagesExpired, cid: str, summary: Summary
) -> tuple[list[Change], Summary]:
    """Messages whose content went leave the unread index, and a preview of one says so; a
    deletion "for me" changes nothing here."""
    if isinstance(event, m.MessageDeleted) and event.scope != m.DeleteScope.FOR_EVERYONE:
        return [], summary
    targets = set(event.seqs) if isinstance(event, m.MessagesExpired) else {event.target_seq}
    changes: list[Change] = [Delete(message_key(cid, seq)) for seq in sorted(targets)]
    return changes, _without_preview(summary, lambda p: p.seq in targets)


def _leave(get: Lookup, cid: str, seq: int, user_id: str, then: Summary) -> list[Change]:
    """A member removed at `seq`: they keep the conversation as it was then."""
    role = get(member_key(cid, user_id))
    raw = get(membership_key(user_id, cid))
    joined_at = 1 if raw is None else Membership.model_validate_json(raw).joined_at
    left = Membership(
        role=(role or b"member").decode(), joined_at=joined_at, left_at=seq, summary_then=then
    )
    return [
        Delete(member_key(cid, user_id)),
        Put(membership_key(user_id, cid), left.model_dump_json().encode()),
    ]


def _erasure(
    erased: str, cid: str, summary: Summary, scan: Scan | None
) -> tuple[list[Change], Summary]:
    """The erased person's messages leave the unread index, and their preview goes."""
    if scan is None:
        raise TypeError("an erasure needs the store's scan")
    changes: list[Change] = [
        Delete(key)
        for key, value in list(scan(messages_prefix(cid)))
        if IndexedMessage.decode(value).sender_id == erased
    ]
    return changes, _without_preview(summary, lambda p: p.sender_id == erased)


def _without_preview(summary: Summary, gone: Callable[[Preview], bool]) -> Summary:
    """The preview of a message whose content went (deleted, redacted, expired, erased)
    says so, and keeps nothing of it."""
    last = summary.preview
    if last is None or not gone(last):
        return summary
    emptied = Preview(seq=last.seq, sender_id=last.sender_id, kind="deleted")
    return summary.model_copy(update={"preview": emptied})


def _preview(seq: int, sender_id: str, body: AvroRecord, edited: bool = False) -> Preview:
    if isinstance(body, m.PlainBody):
        text = body.text if len(body.text) <= PREVIEW_CHARS else body.text[:PREVIEW_CHARS] + "…"
        return Preview(seq=seq, sender_id=sender_id, kind="plain", text=text, edited=edited)
    if isinstance(body, m.SealedBody):
        sealed = SealedPreview(
            key_id=body.key_id,
            algorithm=body.algorithm,
            nonce=base64.b64encode(body.nonce).decode(),
            ciphertext=base64.b64encode(body.ciphertext).decode(),
        )
        return Preview(seq=seq, sender_id=sender_id, kind="sealed", edited=edited, sealed=sealed)
    return Preview(seq=seq, sender_id=sender_id, kind="e2ee", edited=edited)
