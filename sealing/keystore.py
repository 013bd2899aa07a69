"""The key store: a KMS-shaped interface (create, get, destroy, list by prefix) and the local
one, SQLite under the state directory, shared by every process of a host.

What makes a destroyed key gone from every file (tests/unit/test_keystore.py scans them):
`secure_delete` overwrites deleted cells and freed pages with zeros, and the rollback
journal, which holds a page as it was before a change, is deleted at each commit
(`journal_mode = DELETE`; WAL would keep old page images in its frames). A destroyed person
key keeps its row without its bytes, so the id can never be made again; a destroyed bucket
loses its row, since a past bucket is never made (docs/compliance.md, "The key store").
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from sealing.keyids import BUCKET, bucket_end

KEY_BYTES = 32
LOCK_WAIT_S = 10.0


class KeyDestroyedError(LookupError):
    """The key was destroyed: what it sealed stays sealed."""


class KeyStoreError(RuntimeError):
    """The key store failed (locked past the wait, unreadable): nothing was changed."""


class KeyStore(Protocol):
    def create(self, key_id: str) -> bytes:
        """The key's bytes, made on first use; every caller gets the same. Raises
        `KeyDestroyedError` for a destroyed key or a bucket whose end has passed."""
        ...

    def get(self, key_id: str) -> bytes | None:
        """The key's bytes; None if never made; `KeyDestroyedError` if destroyed."""
        ...

    def destroy(self, key_id: str) -> bool:
        """Destroy the key for good; True if it held bytes until now. Idempotent."""
        ...

    def ids(self, prefix: str) -> list[str]:
        """Live key ids under `prefix`, sorted."""
        ...

    def close(self) -> None: ...


class SqliteKeyStore:
    """One SQLite file; each process opens its own connection (SQLite locks across them)."""

    def __init__(self, path: Path, *, wall: Callable[[], float] = time.time) -> None:
        self.path = path
        self.wall = wall
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            path, timeout=LOCK_WAIT_S, isolation_level=None, check_same_thread=False
        )
        try:
            self._db.execute("PRAGMA secure_delete = ON")
            mode = self._db.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
            if mode != "delete":
                raise KeyStoreError(f"{path}: journal mode {mode}, not delete")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS keys ("
                " id TEXT PRIMARY KEY, material BLOB, created_ms INTEGER NOT NULL,"
                " destroyed_ms INTEGER)"
            )
        except sqlite3.Error as e:
            raise KeyStoreError(f"{path}: {e}") from e

    def create(self, key_id: str) -> bytes:
        if key_id.startswith(BUCKET) and bucket_end(key_id) <= self.wall():
            raise KeyDestroyedError(f"{key_id}: the bucket has ended")
        # A read first: a key that exists costs no write (the write's fsync took ~3 ms, paid
        # by every process once per person per cache period, on the edge's event loop).
        existing = self.get(key_id)
        if existing is not None:
            return existing
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO keys (id, material, created_ms) VALUES (?, ?, ?)",
                (key_id, secrets.token_bytes(KEY_BYTES), self._now_ms()),
            )
            made = self._read(db, key_id)
            if made is None:
                raise KeyStoreError(f"{self.path}: {key_id} was not stored")
            return made

    def get(self, key_id: str) -> bytes | None:
        with self._transaction(write=False) as db:
            return self._read(db, key_id)

    def destroy(self, key_id: str) -> bool:
        with self._transaction() as db:
            row = db.execute("SELECT material FROM keys WHERE id = ?", (key_id,)).fetchone()
            if key_id.startswith(BUCKET):
                db.execute("DELETE FROM keys WHERE id = ?", (key_id,))
            elif row is None:
                db.execute(
                    "INSERT INTO keys (id, material, created_ms, destroyed_ms) "
                    "VALUES (?, NULL, ?, ?)",
                    (key_id, self._now_ms(), self._now_ms()),
                )
            else:
                db.execute(
                    "UPDATE keys SET material = NULL, destroyed_ms = ? WHERE id = ?",
                    (self._now_ms(), key_id),
                )
            return row is not None and row[0] is not None

    def ids(self, prefix: str) -> list[str]:
        # A range on the primary key, not LIKE: ids may hold `_`, a LIKE wildcard.
        with self._transaction(write=False) as db:
            rows = db.execute(
                "SELECT id FROM keys WHERE id >= ? AND id < ? AND material IS NOT NULL ORDER BY id",
                (prefix, prefix + "\U0010ffff"),
            ).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _read(self, db: sqlite3.Connection, key_id: str) -> bytes | None:
        row = db.execute("SELECT material FROM keys WHERE id = ?", (key_id,)).fetchone()
        if row is None:
            return None
        if row[0] is None:
            raise KeyDestroyedError(f"{key_id} was destroyed")
        material: bytes = row[0]
        return material

    def _now_ms(self) -> int:
        return int(self.wall() * 1000)

    def _transaction(self, *, write: bool = True) -> _Transaction:
        return _Transaction(self._db, self._lock, write, self.path)


class _Transaction:
    """BEGIN IMMEDIATE (a writer takes the lock at once, so two processes creating one key
    cannot both insert), COMMIT on success, ROLLBACK on any error; SQLite errors become
    `KeyStoreError`."""

    def __init__(
        self, db: sqlite3.Connection, lock: threading.Lock, write: bool, path: Path
    ) -> None:
        self.db = db
        self.lock = lock
        self.write = write
        self.path = path

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE" if self.write else "BEGIN")
        except sqlite3.Error as e:
            self.lock.release()
            raise KeyStoreError(f"{self.path}: {e}") from e
        return self.db

    def __exit__(self, kind: type[BaseException] | None, error: object, trace: object) -> None:
        try:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")
        except sqlite3.Error as e:
            if kind is None:
                raise KeyStoreError(f"{self.path}: {e}") from e
        finally:
            self.lock.release()
        if isinstance(error, sqlite3.Error):
            raise KeyStoreError(f"{self.path}: {error}") from error
