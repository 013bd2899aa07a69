"""The history store's byte layout: keys that sort by seq, and the values under them.

Every id in a key is length-prefixed, so no conversation or user id, whatever characters
it holds, can make one key a prefix of another's range. Seqs are zero-padded decimals, so
byte order is seq order and a page is one range scan.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

SEQ_DIGITS = 20
MAX_SEQ = 10**SEQ_DIGITS - 1
MAX_ID_BYTES = 0xFFFF

EVENT = b"e"
LAST_SEQ = b"l"
MEMBER = b"m"
MEMBERSHIP = b"u"
TENURE = b"t"
POSITION = b"p"
READY_KEY = b"r"


def _id(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > MAX_ID_BYTES:
        raise ValueError(f"id of {len(raw)} bytes is over {MAX_ID_BYTES}")
    return len(raw).to_bytes(2, "big") + raw


def _read_id(key: bytes, at: int) -> str:
    length = int.from_bytes(key[at : at + 2], "big")
    return key[at + 2 : at + 2 + length].decode()


def event_prefix(conversation_id: str) -> bytes:
    return EVENT + _id(conversation_id)


def event_key(conversation_id: str, seq: int) -> bytes:
    if not 0 <= seq <= MAX_SEQ:
        raise ValueError(f"seq {seq} is outside 0..{MAX_SEQ}")
    return event_prefix(conversation_id) + f"{seq:0{SEQ_DIGITS}d}".encode()


def seq_of_event_key(key: bytes) -> int:
    return int(key[-SEQ_DIGITS:])


def last_seq_key(conversation_id: str) -> bytes:
    return LAST_SEQ + _id(conversation_id)


def members_prefix(conversation_id: str) -> bytes:
    """Under it, one key per current member of the conversation, valued by role."""
    return MEMBER + _id(conversation_id)


def member_key(conversation_id: str, user_id: str) -> bytes:
    return members_prefix(conversation_id) + _id(user_id)


def memberships_prefix(user_id: str) -> bytes:
    """Under it, one key per conversation the user is in now, valued by role."""
    return MEMBERSHIP + _id(user_id)


def membership_key(user_id: str, conversation_id: str) -> bytes:
    return memberships_prefix(user_id) + _id(conversation_id)


def tenure_key(user_id: str, conversation_id: str) -> bytes:
    """One key per conversation the user was ever in; see `Tenure`."""
    return TENURE + _id(user_id) + _id(conversation_id)


def position_key(partition: int) -> bytes:
    return POSITION + partition.to_bytes(4, "big")


def id_after(prefix: bytes, key: bytes) -> str:
    """The id that follows `prefix` in `key`: the member in a members key, and so on."""
    return _read_id(key, len(prefix))


def partition_of_position_key(key: bytes) -> int:
    return int.from_bytes(key[len(POSITION) :], "big")


def encode_int(value: int) -> bytes:
    return str(value).encode()


def decode_int(value: bytes) -> int:
    return int(value)


class Tenure(BaseModel):
    """A user's time in a conversation: `left_at` is the seq of the event that removed
    them, None while they are a member. A removed member may read up to `left_at`, so
    they keep the history they saw, including their own removal, and nothing after it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    left_at: int | None = Field(default=None, ge=1)


class Readiness(BaseModel):
    """The marker a view writes once it has caught up to what the log held at its start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    high_watermarks: dict[int, int]
