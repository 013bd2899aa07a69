"""A view's store, written only in whole batches, and the RocksDB one most views use.

A batch holds the changes of a run of events and, in the same atomic write, the next offset
per partition it covers (the tracking record). After a crash the store is either before or
after the whole batch, so the position it reports is exactly what it holds.
`TrackedStore` and `TrackedBatch` are that contract, all the view follower
(projections/follower.py) knows of a view: history and inbox are RocksDB `ViewStore`s with
their own `ViewBatch.add`; search is a tantivy index (projections/search/store.py) whose
commit holds its positions.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict
from rocksdict import Options, Rdict

from kafkalog.rocks import open_primary, scan, write_atomically
from projections.changed_keys import ChangedKeys
from schemas import models as m

POSITION = b"p"
READY_KEY = b"r"


@dataclass(frozen=True)
class Put:
    key: bytes
    value: bytes


@dataclass(frozen=True)
class Delete:
    key: bytes


Change = Put | Delete


class Readiness(BaseModel):
    """The marker a view writes once it has caught up to what the log held at its start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    high_watermarks: dict[int, int]


class TrackedStore(Protocol):
    """A view's store as the follower drives it: where it stands, and whether it is ready."""

    def positions(self) -> dict[int, int]:
        """The next offset to read per partition, as of the last written batch."""
        ...

    def mark_ready(self, readiness: Readiness) -> None: ...

    def clear_ready(self) -> None: ...

    def close(self) -> None: ...


class TrackedBatch(Protocol):
    """The changes of consecutive events and the positions past them, written in one atomic
    write by `commit` (or not at all)."""

    positions: dict[int, int]
    applied: int
    skipped: int
    gaps: int

    def add(self, event: m.Event, encoded: bytes) -> None:
        """Apply one event (idempotently: a replayed event changes nothing)."""
        ...

    def advance(self, partition: int, next_offset: int) -> None: ...

    def commit(self) -> None: ...


StoreT = TypeVar("StoreT", bound=TrackedStore)


@dataclass(frozen=True)
class ViewKind(Generic[StoreT]):
    """How to run one view: open its store at a path, start a batch on it, delete it (for a
    rebuild), and how many records a batch takes at most."""

    open: Callable[[Path], StoreT]
    new_batch: Callable[[StoreT], TrackedBatch]
    destroy: Callable[[Path], None]
    max_batch: int = 1000


def position_key(partition: int) -> bytes:
    return POSITION + partition.to_bytes(4, "big")


def partition_of_position_key(key: bytes) -> int:
    return int.from_bytes(key[len(POSITION) :], "big")


def encode_int(value: int) -> bytes:
    return str(value).encode()


def decode_int(value: bytes) -> int:
    return int(value)


def positions_in(records: Iterable[tuple[bytes, bytes]]) -> dict[int, int]:
    """Partition -> next offset, from the position records (the keys under `POSITION`)."""
    return {partition_of_position_key(k): decode_int(v) for k, v in records}


class ViewStore:
    """The primary (only writing) instance of a view's RocksDB."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_primary(path)

    @staticmethod
    def destroy(path: Path) -> None:
        """Delete the store, so that the next start replays the log from offset 0."""
        if path.exists():
            Rdict.destroy(str(path), Options(raw_mode=True))

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def scan(self, prefix: bytes, start: bytes | None = None) -> Iterable[tuple[bytes, bytes]]:
        return scan(self._db, prefix, start)

    def positions(self) -> dict[int, int]:
        """The next offset to read per partition, as of the last written batch."""
        return positions_in(self.scan(POSITION))

    def write(self, changes: dict[bytes, bytes | None], positions: dict[int, int]) -> None:
        """Puts (deletes, as None) and the tracking record, atomically."""
        tracked = {position_key(p): encode_int(offset) for p, offset in positions.items()}
        write_atomically(self._db, {**changes, **tracked})

    def mark_ready(self, readiness: Readiness) -> None:
        self.write({READY_KEY: readiness.model_dump_json().encode()}, {})

    def clear_ready(self) -> None:
        """A restarted view is behind the log until it has caught up again."""
        self.write({READY_KEY: None}, {})

    def flush(self) -> None:
        """Write the memtable out to files now: a scratch view (compliance's replay) bounds
        its memory this way, whatever the history's size."""
        self._db.flush()

    def close(self) -> None:
        self._db.close()


class ViewBatch(ABC):
    """Changes of consecutive events, read through by `get`, so that two events of one
    conversation in one batch see each other; written with the positions in one write."""

    def __init__(self, store: ViewStore) -> None:
        self.store = store
        self.changes: dict[bytes, bytes | None] = {}
        self.changed = ChangedKeys()
        """The keys of `changes`, for `scan` (projections/changed_keys.py says why)."""
        self.positions: dict[int, int] = {}
        self.applied = 0
        self.skipped = 0
        self.gaps = 0

    @abstractmethod
    def add(self, event: m.Event, encoded: bytes) -> None:
        """Apply one event (idempotently: a replayed event changes nothing)."""

    def get(self, key: bytes) -> bytes | None:
        if key in self.changes:
            return self.changes[key]
        return self.store.get(key)

    def scan(self, prefix: bytes) -> list[tuple[bytes, bytes]]:
        """The keys under `prefix` as the batch leaves them: the store's, with the batch's
        own puts and deletes over them, in key order."""
        found = dict(self.store.scan(prefix))
        for key in self.changed.under(prefix):
            value = self.changes[key]
            if value is None:
                found.pop(key, None)
            else:
                found[key] = value
        return sorted(found.items())

    def extend(self, changes: Iterable[Change]) -> None:
        for change in changes:
            if isinstance(change, Put):
                self.changes[change.key] = change.value
            elif isinstance(change, Delete):
                self.changes[change.key] = None
            self.changed.add(change.key)

    def advance(self, partition: int, next_offset: int) -> None:
        self.positions[partition] = max(self.positions.get(partition, 0), next_offset)

    def commit(self) -> None:
        if self.changes or self.positions:
            self.store.write(self.changes, self.positions)
