"""State a processor derives from a log, kept in a `KeyValueStore` with its position.

Reads see pending writes; `flush` writes them and the next offset per partition they
reflect (the position) in one atomic write, so after a crash the store is wholly before
or wholly after a batch; `discard` drops them (the batch's transaction aborted). A
processor's state classes add typed reads and writes over these.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from streams.keys import key
from streams.store import KeyValueStore

POSITION = "o"


@dataclass
class LoggedState:
    store: KeyValueStore
    pending: dict[bytes, bytes | None] = field(default_factory=dict)

    def _get(self, found: bytes) -> bytes | None:
        return self.pending[found] if found in self.pending else self.store.get(found)

    def _put(self, found: bytes, value: bytes | None) -> None:
        self.pending[found] = value

    def position(self, partition: int) -> int | None:
        """The next offset of `partition` the store does not reflect; None if it holds
        nothing of that partition."""
        raw = self.store.get(key(POSITION, partition))
        return None if raw is None else int(raw)

    def applied_offset(self, partition: int) -> int:
        """The log offset up to which the durable state reflects `partition`."""
        return self.position(partition) or 0

    def flush(self, applied_offsets: dict[int, int] | None = None) -> None:
        changes = self._changes()
        for partition, offset in (applied_offsets or {}).items():
            changes[key(POSITION, partition)] = str(offset).encode()
        if changes:
            self.store.write(changes)
        self.pending.clear()

    def discard(self) -> None:
        self.pending.clear()

    def forget(self) -> None:
        """Drop what is kept in memory of the store: partitions just assigned may have been
        written by another owner since (another lane of this process shares the store)."""

    def _changes(self) -> dict[bytes, bytes | None]:
        """What `flush` writes besides the positions; a subclass adds what it keeps aside."""
        return dict(self.pending)
