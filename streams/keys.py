"""The one key codec of the processors' stores: typed parts that cannot run into each other.

A key is a one-letter tag (what the value is) and its parts. A string part is its UTF-8
length (4 bytes) and its bytes, so no id, whatever characters it holds, can make one key
a prefix of another's range; an int part is 8 bytes big-endian, offset by 2**63 so that
byte order is numeric order for every Avro long, negative ones included (a command may
name any seq). `key(tag, *parts)` with fewer parts is the prefix of every longer key of
that tag: a scan of `key("m", cid)` finds exactly the members of `cid`. Nothing a command
can hold makes `key` raise: ids are checked by the rules, after the idempotency lookup.
"""

from __future__ import annotations

LENGTH_BYTES = 4
INT_BYTES = 8
INT_OFFSET = 1 << (8 * INT_BYTES - 1)


def key(tag: str, *parts: str | int) -> bytes:
    out = bytearray(_tag(tag))
    for part in parts:
        if isinstance(part, int):
            out += (part + INT_OFFSET).to_bytes(INT_BYTES, "big")
        else:
            raw = part.encode()
            out += len(raw).to_bytes(LENGTH_BYTES, "big") + raw
    return bytes(out)


def str_after(prefix: bytes, found: bytes) -> str:
    """The string part that follows `prefix` in `found`: the member in a members key."""
    at = len(prefix) + LENGTH_BYTES
    length = int.from_bytes(found[len(prefix) : at], "big")
    return found[at : at + length].decode()


def _tag(tag: str) -> bytes:
    raw = tag.encode()
    if len(raw) != 1:
        raise ValueError(f"a key's tag is one ASCII letter, not {tag!r}")
    return raw
