"""The expiry processor's book: every message that will expire, by its time, folded from the
events topic into the processor's store with the position of each partition in the same
write (streams/state.py), so that a restart resumes where the last batch ended and loses
no message. A message leaves the book when the log says its content is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from schemas import models as m
from schemas.record import AvroRecord
from streams.expiry.due import Expiring
from streams.keys import INT_BYTES, INT_OFFSET, LENGTH_BYTES, key, str_after
from streams.state import LoggedState

BY_TIME = "d"
"""(expiry ms, conversation, seq) -> nothing: the book in the order messages expire."""
BY_MESSAGE = "e"
"""(conversation, seq) -> expiry ms: to find a message's entry when it goes."""


@dataclass
class ExpiryBook(LoggedState):
    def apply(self, event: AvroRecord) -> list[Expiring]:
        """Fold one event in. Returns the messages that left the book."""
        meta: m.EventMeta = event.meta  # type: ignore[attr-defined]
        cid = meta.conversation_id
        if isinstance(event, m.MessageSent) and event.expires_after_ms is not None:
            at_ms = int(meta.occurred_at.timestamp() * 1000) + event.expires_after_ms
            self._put(key(BY_TIME, at_ms, cid, meta.seq), b"")
            self._put(key(BY_MESSAGE, cid, meta.seq), str(at_ms).encode())
            return []
        gone: list[int] = []
        if isinstance(event, m.MessagesExpired):
            gone = list(event.seqs)
        elif isinstance(event, m.MessageRedacted) or (
            isinstance(event, m.MessageDeleted) and event.scope == m.DeleteScope.FOR_EVERYONE
        ):
            # The sequencer expires no deleted or redacted message: it would never leave.
            gone = [event.target_seq]
        return [item for item in (self._remove(cid, seq) for seq in gone) if item is not None]

    def due(self, now_ms: int, limit: int = 10_000) -> list[Expiring]:
        """The durable book's messages whose time is at or before `now_ms`, oldest first."""
        found: list[Expiring] = []
        for raw, _ in self.store.scan(key(BY_TIME)):
            item = _expiring(raw)
            if item.at_ms > now_ms or len(found) >= limit:
                break
            found.append(item)
        return found

    def entries(self) -> Iterator[Expiring]:
        """Every message of the durable book (operators, tests)."""
        for raw, _ in self.store.scan(key(BY_TIME)):
            yield _expiring(raw)

    def _remove(self, cid: str, seq: int) -> Expiring | None:
        where = key(BY_MESSAGE, cid, seq)
        raw = self._get(where)
        if raw is None:
            return None
        self._put(key(BY_TIME, int(raw), cid, seq), None)
        self._put(where, None)
        return Expiring(int(raw), cid, seq)


def _expiring(raw: bytes) -> Expiring:
    """A `BY_TIME` key read back: tag, time, conversation, seq."""
    at = 1 + INT_BYTES
    at_ms = int.from_bytes(raw[1:at], "big") - INT_OFFSET
    cid = str_after(raw[:at], raw)
    seq_at = at + LENGTH_BYTES + len(cid.encode())
    seq = int.from_bytes(raw[seq_at : seq_at + INT_BYTES], "big") - INT_OFFSET
    return Expiring(at_ms, cid, seq)
