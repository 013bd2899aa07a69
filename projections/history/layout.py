"""The history store's byte layout: keys that sort by seq, and the values under them.

Every id in a key is length-prefixed, so no conversation or user id, whatever characters
it holds, can make one key a prefix of another's range. Seqs are zero-padded decimals, so
byte order is seq order and a page is one range scan.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, ConfigDict, Field

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


def reactions_prefix(conversation_id: str, seq: int) -> bytes:
    """Under it, one key per (user, emoji) reacting to the message at `seq` now."""
    return REACTION + id_bytes(conversation_id) + seq_bytes(seq)


def reaction_key(conversation_id: str, seq: int, user_id: str, emoji: str) -> bytes:
    return reactions_prefix(conversation_id, seq) + id_bytes(user_id) + id_bytes(emoji)


def hidden_key(user_id: str, conversation_id: str, seq: int) -> bytes:
    """A message the user deleted for themselves."""
    return HIDDEN + id_bytes(user_id) + id_bytes(conversation_id) + seq_bytes(seq)


def tenures_prefix(user_id: str) -> bytes:
    return TENURE + id_bytes(user_id)


def tenure_key(user_id: str, conversation_id: str) -> bytes:
    """One key per conversation the user was ever in; see `Tenure`."""
    return tenures_prefix(user_id) + id_bytes(conversation_id)


class Tenure(BaseModel):
    """A user's time in a conversation: `left_at` is the seq of the event that removed
    them, None while they are a member. A removed member may read up to `left_at`, so
    they keep the history they saw, including their own removal, and nothing after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    left_at: int | None = Field(default=None, ge=1)

    def covers(self, seq: int) -> bool:
        """The holder may read the event at `seq`: the one rule of who reads what, used by
        fetch_history, sync and search alike."""
        return self.left_at is None or seq <= self.left_at
