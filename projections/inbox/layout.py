"""The inbox store's byte layout.

Keyed by conversation, so that one event changes a handful of keys however many members
the conversation has: a message writes its summary and one index entry, a read writes one
watermark. A person's inbox is assembled at query time from their membership keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from projections.keys import id_bytes, seq_bytes

SUMMARY = b"s"
MESSAGE = b"n"
MEMBERSHIP = b"u"
MEMBER = b"m"
READ = b"r"
DELIVERED = b"d"
PREVIEW_CHARS = 120
UNIT_SEPARATOR = "\x1f"


class SealedPreview(BaseModel):
    """A sealed body as the preview keeps it (bytes as base64): the edge opens it when it
    answers, so the view holds no plaintext (docs/compliance.md, "Sealing")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key_id: str
    algorithm: str
    nonce: str
    ciphertext: str


class Preview(BaseModel):
    """The last message as an inbox shows it. `text` is None when the server cannot or
    must not show it: end-to-end ciphertext, a sealed body (kept in `sealed`, opened by the
    edge), or a deleted message."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    sender_id: str
    kind: str
    text: str | None = None
    edited: bool = False
    sealed: SealedPreview | None = None


class Summary(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    name: str | None = None
    last_seq: int = 0
    last_activity_ms: int = 0
    preview: Preview | None = None


@dataclass(frozen=True)
class IndexedMessage:
    """What unread and mention counts need of a message: who sent it, whom it mentions.
    Stored as plain bytes (ids joined by a separator no id holds), not JSON: an inbox read
    scans up to `UNREAD_CAP` of these, so their decoding is the inbox's hot path."""

    sender_id: str
    mentions: tuple[str, ...] = ()

    def encode(self) -> bytes:
        return UNIT_SEPARATOR.join((self.sender_id, *self.mentions)).encode()

    @staticmethod
    def decode(raw: bytes) -> IndexedMessage:
        sender, *mentions = raw.decode().split(UNIT_SEPARATOR)
        return IndexedMessage(sender, tuple(mentions))


class Membership(BaseModel):
    """`joined_at`: the seq that made the person a member (this time); they see the
    conversation from it, as the history view's tenures say. `left_at`: the seq that
    removed them; they see the conversation up to it, so the summary as it was then is
    kept with it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str
    joined_at: int = Field(default=1, ge=1)
    left_at: int | None = Field(default=None, ge=1)
    summary_then: Summary | None = None


def summary_key(cid: str) -> bytes:
    return SUMMARY + id_bytes(cid)


def messages_prefix(cid: str) -> bytes:
    return MESSAGE + id_bytes(cid)


def message_key(cid: str, seq: int) -> bytes:
    return messages_prefix(cid) + seq_bytes(seq)


def memberships_prefix(user_id: str) -> bytes:
    return MEMBERSHIP + id_bytes(user_id)


def membership_key(user_id: str, cid: str) -> bytes:
    return memberships_prefix(user_id) + id_bytes(cid)


def members_prefix(cid: str) -> bytes:
    return MEMBER + id_bytes(cid)


def member_key(cid: str, user_id: str) -> bytes:
    return members_prefix(cid) + id_bytes(user_id)


def read_prefix(cid: str) -> bytes:
    return READ + id_bytes(cid)


def read_key(cid: str, user_id: str) -> bytes:
    return read_prefix(cid) + id_bytes(user_id)


def delivered_prefix(cid: str) -> bytes:
    return DELIVERED + id_bytes(cid)


def delivered_key(cid: str, user_id: str) -> bytes:
    return delivered_prefix(cid) + id_bytes(user_id)
