"""What each event changes in the search view: `apply`, pure, so it is tested without Kafka
or tantivy.

One document per message holds its latest readable text. Idempotency is by `(conversation,
seq)`, as in the history view: the caller passes the last seq applied for the event's
conversation, an event at or below it changes nothing, and every applied event advances it
(`Advance`), so replays after a crash or a rebuild converge on the same index.

What the view never holds: end-to-end encrypted text (`EncryptedBody`: the server cannot
read it); server-sealed text (`SealedBody`) is opened with the key store to be indexed
(`text_of`), and a body whose key is gone (erased, expired) is not; a message deleted for
everyone, redacted or expired, and every message of an erased person (their documents are
removed, like their bytes in the history view, and the segments that held them purged:
store.py). What it does not decide: who may read a message. Membership, removals and
"deleted for me" are checked at query time against the history view (`access.py`), so a
removal takes effect at once and needs no rewrite of the index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from projections.keys import UnkeyableError, keyable_seq
from schemas import models as m


@dataclass(frozen=True)
class MessageDoc:
    conversation_id: str
    seq: int
    sender: str
    sent_at_us: int
    text: str
    text_seq: int
    """The seq of the event whose text this is: the message's own, or its latest edit's."""
    has_attachments: bool


@dataclass(frozen=True)
class Upsert:
    doc: MessageDoc


@dataclass(frozen=True)
class Remove:
    conversation_id: str
    seq: int


@dataclass(frozen=True)
class Advance:
    """The conversation's last applied seq is now `seq`."""

    conversation_id: str
    seq: int


@dataclass(frozen=True)
class RemoveSender:
    """Every document of `user_id` in the conversation goes (an erasure)."""

    conversation_id: str
    user_id: str


Change = Upsert | Remove | RemoveSender | Advance
Lookup = Callable[[str, int], MessageDoc | None]
"""The message document as the view holds it now (with the batch's own changes), or None."""
Body = m.PlainBody | m.SealedBody | m.EncryptedBody
TextOf = Callable[[Body, str, str], str | None]
"""A body's text given its conversation and sender, None when unreadable (sealing/bodies.py's
`BodyOpener.text` in the process)."""


def readable_text(body: Body, conversation_id: str = "", sender: str = "") -> str | None:
    """Plain text only: what the view reads without a key store (tests of the pure core)."""
    return body.text if isinstance(body, m.PlainBody) else None


def microseconds(event: m.Event) -> int:
    at = event.meta.occurred_at
    stamp = int(at.timestamp()) * 1_000_000 + at.microsecond
    if stamp < 0:
        raise UnkeyableError(f"time {at.isoformat()} is before 1970")
    return stamp


def apply(
    event: m.Event, last_seq: int, current: Lookup, text_of: TextOf = readable_text
) -> list[Change]:
    """The index changes of `event`, in order; [] when it was already applied. An event
    naming a seq below 0 or a time before 1970 raises UnkeyableError: the index keeps them
    in unsigned fields, tantivy refuses them, and the sequencer never writes them (the
    follower parks such an event, as the other views do). `text_of` opens sealed bodies."""
    meta = event.meta
    cid, seq = meta.conversation_id, keyable_seq(meta.seq)
    if isinstance(event, m.MessageEdited | m.MessageRedacted | m.MessageDeleted):
        keyable_seq(event.target_seq)
    elif isinstance(event, m.MessagesExpired):
        for target in event.seqs:
            keyable_seq(target)
    if seq <= last_seq:
        return []
    changes: list[Change] = []
    if isinstance(event, m.MessageSent):
        text = text_of(event.body, cid, meta.actor.user_id)
        if text is not None:
            doc = MessageDoc(
                conversation_id=cid,
                seq=seq,
                sender=meta.actor.user_id,
                sent_at_us=microseconds(event),
                text=text,
                text_seq=seq,
                has_attachments=bool(event.attachments),
            )
            changes.append(Upsert(doc))
    elif isinstance(event, m.MessageEdited):
        text = text_of(event.body, cid, meta.actor.user_id)
        changes += _edit(event, text, current(cid, event.target_seq))
    elif isinstance(event, m.MessageRedacted | m.MessageDeleted):
        changes += _removal(event, current(cid, event.target_seq))
    elif isinstance(event, m.MessagesExpired):
        for target in event.seqs:
            existing = current(cid, target)
            if existing is not None:
                changes.append(Remove(cid, target))
    elif isinstance(event, m.SenderContentErased):
        changes.append(RemoveSender(cid, event.user_id))
    changes.append(Advance(cid, seq))
    return changes


def _removal(
    event: m.MessageRedacted | m.MessageDeleted, existing: MessageDoc | None
) -> list[Change]:
    """A redaction or a deletion for everyone removes the message's document (as the history
    view drops its bytes); a deletion "for me" changes nothing here (`access.py`)."""
    if existing is None:
        return []
    if isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_ME:
        return []
    return [Remove(existing.conversation_id, existing.seq)]


def _edit(event: m.MessageEdited, text: str | None, existing: MessageDoc | None) -> list[Change]:
    """The edited text replaces the old; an edit to unreadable text removes the document, so
    the old text stops matching. A message the view does not hold (encrypted, deleted, or
    never seen) stays absent: an edit carries no sender, time or attachments to build one."""
    if existing is None:
        return []
    if text is None:
        return [Remove(existing.conversation_id, existing.seq)]
    return [Upsert(replace(existing, text=text, text_seq=event.meta.seq))]
