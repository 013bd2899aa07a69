"""Byte keys shared by every view: ids that cannot collide, seqs that sort.

Every id in a key is length-prefixed, so no conversation or user id, whatever characters
it holds, can make one key a prefix of another's range. Seqs are zero-padded decimals, so
byte order is seq order and a page is one range scan.
"""

from __future__ import annotations

SEQ_DIGITS = 20
MAX_SEQ = 10**SEQ_DIGITS - 1
MAX_ID_BYTES = 0xFFFF


class UnkeyableError(ValueError):
    """An event names a seq or an id that no key can hold (a seq below 0, an id of 64 KiB):
    one the sequencer never writes, so the event breaks the log's invariants, and a view
    parks it rather than apply it (projections/follower.py)."""


def id_bytes(value: str) -> bytes:
    raw = value.encode()
    if len(raw) > MAX_ID_BYTES:
        raise UnkeyableError(f"id of {len(raw)} bytes is over {MAX_ID_BYTES}")
    return len(raw).to_bytes(2, "big") + raw


def _read_id(key: bytes, at: int) -> str:
    length = int.from_bytes(key[at : at + 2], "big")
    return key[at + 2 : at + 2 + length].decode()


def id_after(prefix: bytes, key: bytes) -> str:
    """The id that follows `prefix` in `key`: the member in a members key, and so on."""
    return _read_id(key, len(prefix))


def keyable_seq(seq: int) -> int:
    """`seq`, when a key can hold it (a view's key, or a tantivy index's unsigned field)."""
    if not 0 <= seq <= MAX_SEQ:
        raise UnkeyableError(f"seq {seq} is outside 0..{MAX_SEQ}")
    return seq


def seq_bytes(seq: int) -> bytes:
    return f"{keyable_seq(seq):0{SEQ_DIGITS}d}".encode()
