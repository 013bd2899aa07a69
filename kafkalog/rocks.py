"""RocksDB (rocksdict) as every consumer's state store: where the sequencer, the registry,
the fan-out and each view keep what they built from the log together with their position.

Two operations make that safe and fast: an atomic batch of puts and deletes (state and
position change together or not at all) and a prefix scan in key order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from rocksdict import Options, Rdict, WriteBatch


def open_primary(path: Path) -> Rdict:
    """The one writing instance of the store at `path`, created if missing."""
    path.mkdir(parents=True, exist_ok=True)
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    return Rdict(str(path), options)


def write_atomically(db: Rdict, changes: dict[bytes, bytes | None]) -> None:
    """Puts, and deletes (as None), in one atomic write."""
    batch = WriteBatch(raw_mode=True)
    for key, value in changes.items():
        if value is None:
            batch.delete(key)
        else:
            batch.put(key, value)
    db.write(batch)


def scan(db: Rdict, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) whose key starts with `prefix`, in key order, from `start`."""
    it = db.iter()
    it.seek(start or prefix)
    while it.valid() and it.key().startswith(prefix):
        yield it.key(), it.value()
        it.next()
