"""The processors' durable state store: RocksDB (kafkalog/rocks.py), or a dict in unit tests.

One RocksDB per processor instance; every partition it has owned lives in it. Writes are
atomic batches, so state and the position written with it change together.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from kafkalog.rocks import open_primary, scan, write_atomically


class KeyValueStore(Protocol):
    def get(self, key: bytes) -> bytes | None: ...

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        """Every (key, value) whose key starts with `prefix`, in key order."""

    def write(self, changes: dict[bytes, bytes | None]) -> None:
        """Apply puts (and deletes, as None) atomically."""


class MemoryStore:
    """A dict-backed store for pure unit tests."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        for key in sorted(k for k in self.data if k.startswith(prefix)):
            yield key, self.data[key]

    def write(self, changes: dict[bytes, bytes | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value


class RocksStore:
    def __init__(self, path: Path) -> None:
        self._db = open_primary(path)

    def get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def scan(self, prefix: bytes) -> Iterator[tuple[bytes, bytes]]:
        return scan(self._db, prefix)

    def write(self, changes: dict[bytes, bytes | None]) -> None:
        write_atomically(self._db, changes)

    def close(self) -> None:
        self._db.close()
