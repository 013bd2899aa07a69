"""The write side of the history view: one RocksDB, written only in whole batches.

A batch holds the changes of a run of events and, in the same RocksDB write, the next
offset per partition it covers (the tracking record). After a crash the store is either
before or after the whole batch, so the position it reports is exactly what it holds.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from rocksdict import Options, Rdict, WriteBatch

from projections.history.layout import (
    POSITION,
    READY_KEY,
    Readiness,
    decode_int,
    encode_int,
    last_seq_key,
    partition_of_position_key,
    position_key,
)
from projections.history.projection import Change, Delete, Put, apply
from schemas import models as m

log = logging.getLogger("parley.history")


class HistoryStore:
    """The primary (only writing) instance of the view's RocksDB."""

    def __init__(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        options = Options(raw_mode=True)
        options.create_if_missing(True)
        self.path = path
        self._db = Rdict(str(path), options)

    @staticmethod
    def destroy(path: Path) -> None:
        """Delete the store, so that the next start replays the log from offset 0."""
        if path.exists():
            Rdict.destroy(str(path), Options(raw_mode=True))

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def last_seq(self, conversation_id: str) -> int:
        value = self.get(last_seq_key(conversation_id))
        return 0 if value is None else decode_int(value)

    def positions(self) -> dict[int, int]:
        """The next offset to read per partition, as of the last written batch."""
        found: dict[int, int] = {}
        it = self._db.iter()
        it.seek(POSITION)
        while it.valid() and it.key().startswith(POSITION):
            found[partition_of_position_key(it.key())] = decode_int(it.value())
            it.next()
        return found

    def write(self, changes: dict[bytes, bytes | None], positions: dict[int, int]) -> None:
        """Puts (deletes, as None) and the tracking record, atomically."""
        batch = WriteBatch(raw_mode=True)
        for key, value in changes.items():
            if value is None:
                batch.delete(key)
            else:
                batch.put(key, value)
        for partition, offset in positions.items():
            batch.put(position_key(partition), encode_int(offset))
        self._db.write(batch)

    def mark_ready(self, readiness: Readiness) -> None:
        self.write({READY_KEY: readiness.model_dump_json().encode()}, {})

    def clear_ready(self) -> None:
        """A restarted view is behind the log until it has caught up again."""
        self.write({READY_KEY: None}, {})

    def close(self) -> None:
        self._db.close()


class HistoryBatch:
    """Changes of consecutive events, with each conversation's last seq read through them,
    so that two events of one conversation in one batch see each other."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store
        self.changes: dict[bytes, bytes | None] = {}
        self.positions: dict[int, int] = {}
        self.applied = 0
        self.skipped = 0
        self.gaps = 0

    def last_seq(self, conversation_id: str) -> int:
        key = last_seq_key(conversation_id)
        if key in self.changes:
            value = self.changes[key]
            return 0 if value is None else decode_int(value)
        return self.store.last_seq(conversation_id)

    def add(self, event: m.Event, encoded: bytes) -> None:
        cid, seq = event.meta.conversation_id, event.meta.seq
        last = self.last_seq(cid)
        changes = apply(event, encoded, last)
        if not changes:
            self.skipped += 1
            return
        if seq != last + 1:
            log.warning("gap in %s: view at seq %d, event at seq %d", cid, last, seq)
            self.gaps += 1
        self.applied += 1
        self.extend(changes)

    def extend(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if isinstance(change, Put):
                self.changes[change.key] = change.value
            elif isinstance(change, Delete):
                self.changes[change.key] = None

    def advance(self, partition: int, next_offset: int) -> None:
        self.positions[partition] = max(self.positions.get(partition, 0), next_offset)

    def commit(self) -> None:
        if self.changes or self.positions:
            self.store.write(self.changes, self.positions)
