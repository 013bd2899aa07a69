"""The history store's byte layout: keys that sort by seq, and the values under them.

Every id in a key is length-prefixed, so no conversation or user id, whatever characters
it holds, can make one key a prefix of another's range. Seqs are zero-padded decimals, so
byte order is seq order and a page is one range scan.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from projections.keys import MAX_ID_BYTES, MAX_SEQ, SEQ_DIGITS, id_after, id_bytes, seq_bytes
from projections.store import READY_KEY, decode_int, encode_int

__all__ = [
    "MAX_ID_BYTES",
    "MAX_SEQ",
    "READY_KEY",
    "SEQ_DIGITS",
    "decode_int",
    "encode_int",
    "id_after",
    "id_bytes",
]

EVENT = b"e"
LAST_SEQ = b"l"
MEMBER = b"m"
MEMBERSHIP = b"u"
TENURE = b"t"
EDIT = b"x"
REACTION = b"a"
HIDDEN = b"h"
ATTACHED = b"f"
SENT_BY = b"w"
LIFETIME = b"d"
EDITS = b"y"
SENT_MEDIA = b"g"


def event_prefix(conversation_id: str) -> bytes:
    return EVENT + id_bytes(conversation_id)


def event_key(conversation_id: str, seq: int) -> bytes:
    return event_prefix(conversation_id) + seq_bytes(seq)


def seq_of_event_key(key: bytes) -> int:
    return int(key[-SEQ_DIGITS:])


def last_seq_key(conversation_id: str) -> bytes:
    return LAST_SEQ + id_bytes(conversation_id)


def last_seq_in(get: Callable[[bytes], bytes | None], conversation_id: str) -> int:
    """The conversation's last seq as `get` finds it (store, batch or reader); 0 for one
    the view has not seen."""
    value = get(last_seq_key(conversation_id))
    return 0 if value is None else decode_int(value)


def members_prefix(conversation_id: str) -> bytes:
    """Under it, one key per current member of the conversation, valued by role."""
    return MEMBER + id_bytes(conversation_id)


def member_key(conversation_id: str, user_id: str) -> bytes:
    return members_prefix(conversation_id) + id_bytes(user_id)


def memberships_prefix(user_id: str) -> bytes:
    """Under it, one key per conversation the user is in now, valued by role."""
    return MEMBERSHIP + id_bytes(user_id)


def membership_key(user_id: str, conversation_id: str) -> bytes:
    return memberships_prefix(user_id) + id_bytes(conversation_id)


def edit_key(conversation_id: str, seq: int) -> bytes:
    """The latest edit of the message at `seq`: its MessageEdited event."""
    return EDIT + id_bytes(conversation_id) + seq_bytes(seq)


def edits_prefix(conversation_id: str, seq: int) -> bytes:
    """Under it, one key per edit of the message at `seq` (the edit's own seq): the edits'
    own events that go with the message when it is deleted, redacted, expired or erased."""
    return EDITS + id_bytes(conversation_id) + seq_bytes(seq)


def edits_key(conversation_id: str, seq: int, edit_seq: int) -> bytes:
    return edits_prefix(conversation_id, seq) + seq_bytes(edit_seq)


def reactions_prefix(conversation_id: str, seq: int) -> bytes:
    """Under it, one key per (user, emoji) reacting to the message at `seq` now."""
    return REACTION + id_bytes(conversation_id) + seq_bytes(seq)


def reaction_key(conversation_id: str, seq: int, user_id: str, emoji: str) -> bytes:
    return reactions_prefix(conversation_id, seq) + id_bytes(user_id) + id_bytes(emoji)


def hidden_key(user_id: str, conversation_id: str, seq: int) -> bytes:
    """A message the user deleted for themselves."""
    return HIDDEN + id_bytes(user_id) + id_bytes(conversation_id) + seq_bytes(seq)


def attached_prefix(media_id: str) -> bytes:
    """Under it, one key per message that attaches the media: the conversation and seq."""
    return ATTACHED + id_bytes(media_id)


def attached_key(media_id: str, conversation_id: str, seq: int) -> bytes:
    return attached_prefix(media_id) + id_bytes(conversation_id) + seq_bytes(seq)


def sent_by_prefix(conversation_id: str, user_id: str) -> bytes:
    """Under it, one key per message the user sent in the conversation that still has its
    content: what an erasure of that person deletes (docs/compliance.md)."""
    return SENT_BY + id_bytes(conversation_id) + id_bytes(user_id)


def sent_by_key(conversation_id: str, user_id: str, seq: int) -> bytes:
    return sent_by_prefix(conversation_id, user_id) + seq_bytes(seq)


def sent_media_prefix(conversation_id: str, user_id: str) -> bytes:
    """Under it, one key per media the user attached in the conversation, kept when the
    message is deleted, redacted or expires, and after the person's erasure: the files that
    erasure deletes and its report checks (docs/compliance.md, "Erasure of a person")."""
    return SENT_MEDIA + id_bytes(conversation_id) + id_bytes(user_id)


def sent_media_key(conversation_id: str, user_id: str, media_id: str) -> bytes:
    return sent_media_prefix(conversation_id, user_id) + id_bytes(media_id)


def lifetime_key(conversation_id: str) -> bytes:
    """The conversation's lifetime settings (`Lifetime`), once one was set."""
    return LIFETIME + id_bytes(conversation_id)


class Lifetime(BaseModel):
    """How long new messages of a conversation live: the disappearing-messages setting and
    the retention, each None when unset (docs/compliance.md, "Retention")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disappearing_ms: int | None = None
    retention_days: int | None = None

    def limit_ms(self, default_days: int | None = None) -> int | None:
        """The longest a message sent now may live; None: for ever."""
        limits = [self.disappearing_ms]
        for days in (self.retention_days, default_days):
            if days is not None:
                limits.append(days * 86_400_000)
        found = [limit for limit in limits if limit is not None]
        return min(found) if found else None


def tenures_prefix(user_id: str) -> bytes:
    return TENURE + id_bytes(user_id)


def tenure_key(user_id: str, conversation_id: str) -> bytes:
    """One key per conversation the user was ever in, valued by their `Tenures` there."""
    return tenures_prefix(user_id) + id_bytes(conversation_id)


class Tenure(BaseModel):
    """One stretch of a person's membership of a conversation: from `joined_at`, the seq of
    the event that made them a member (`ConversationCreated` or `MemberAdded`), to
    `left_at`, the seq of the `MemberRemoved` that ended it (None while it lasts). Both ends
    are inside it: a member reads their own joining and their own removal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    joined_at: int = Field(ge=1)
    left_at: int | None = Field(default=None, ge=1)

    def covers(self, seq: int) -> bool:
        return self.joined_at <= seq and (self.left_at is None or seq <= self.left_at)


class Tenures(BaseModel):
    """Every tenure of one person in one conversation, oldest first; rejoining after a
    removal starts another, and the seqs between two tenures are not theirs.

    `covers` is the one rule of who reads what, used by fetch_history, sync and search
    alike: a person reads a conversation's event only if it was sent during one of their
    tenures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tenures: tuple[Tenure, ...] = Field(min_length=1)

    @staticmethod
    def first(seq: int) -> Tenures:
        return Tenures(tenures=(Tenure(joined_at=seq),))

    @property
    def current(self) -> bool:
        """A member now."""
        return self.tenures[-1].left_at is None

    def covers(self, seq: int) -> bool:
        return any(tenure.covers(seq) for tenure in self.tenures)

    def spans(self, lower: int, upper: int) -> list[tuple[int, int]]:
        """The stretches of seqs in [lower, upper] that the holder may read, oldest first,
        each as (first, last): where a page of history may look."""
        found = []
        for tenure in self.tenures:
            first = max(lower, tenure.joined_at)
            last = upper if tenure.left_at is None else min(upper, tenure.left_at)
            if first <= last:
                found.append((first, last))
        return found

    def joined(self, seq: int) -> Tenures:
        """After a join at `seq`: unchanged for a member (a join does not restart a tenure)."""
        if self.current:
            return self
        return Tenures(tenures=(*self.tenures, Tenure(joined_at=seq)))

    def left(self, seq: int) -> Tenures:
        """After a removal at `seq`: the current tenure ends there."""
        if not self.current:
            return self
        last = self.tenures[-1]
        return Tenures(tenures=(*self.tenures[:-1], Tenure(joined_at=last.joined_at, left_at=seq)))


class OutdatedStoreError(RuntimeError):
    """The store was written with an older layout than this code reads: rebuild the view."""


def decode_tenures(value: bytes) -> Tenures:
    """A stored `Tenures`. A store written before tenures had a start holds `{"left_at": n}`
    (or `{}`), which cannot say when its holder joined: refused loudly, never read as "no
    access" or "all access"."""
    try:
        return Tenures.model_validate_json(value)
    except ValidationError as e:
        raise OutdatedStoreError(
            "the history store predates tenure starts (docs/views.md): "
            "run `python -m projections history rebuild`"
        ) from e
