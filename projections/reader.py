"""A view's read-only query side: a RocksDB secondary instance of the view's store.

A secondary instance reads the primary's files and replays its write-ahead log on
`try_catch_up_with_primary`, so it sees every batch the view has written, whole, at most
`max_staleness_s` late; it never writes and never blocks the view. Each reader needs a
directory of its own for its secondary files (its own info log); by default a temporary
one, removed on `close`. Imports no Kafka client: only kafkalog's RocksDB helpers.

A `rebuild` deletes and recreates the primary: readers must then be reopened.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Self

from rocksdict import AccessType, Options, Rdict

from kafkalog.rocks import scan
from projections.store import POSITION, READY_KEY, positions_in


class ViewUnavailableError(Exception):
    """The view's store does not exist (yet) or cannot be opened as a secondary."""


class ViewReader:
    def __init__(
        self,
        path: Path,
        *,
        secondary_path: Path | None = None,
        max_staleness_s: float = 0.005,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._own_secondary = secondary_path is None
        self._secondary_path = secondary_path or Path(
            tempfile.mkdtemp(prefix=f"parley-{path.name}-reader-")
        )
        options = Options(raw_mode=True)
        options.set_max_open_files(-1)
        try:
            self._db = Rdict(
                str(path), options, access_type=AccessType.secondary(str(self._secondary_path))
            )
        except Exception as e:
            self._remove_secondary()
            raise ViewUnavailableError(f"cannot open the view at {path}: {e}") from e
        self._closed = False
        self._max_staleness_s = max_staleness_s
        self._clock = clock
        self._caught_up_at = clock()

    def ready(self) -> bool:
        """The view has caught up to the log as it was when the view last started."""
        self._catch_up()
        return self._db.get(READY_KEY) is not None

    def refresh(self) -> None:
        """Catch up with the primary now, however recently the last read did: for a reader
        told that the view has just written (its readers wait on that, not on a timer)."""
        self._db.try_catch_up_with_primary()
        self._caught_up_at = self._clock()

    def dump(self) -> dict[bytes, bytes]:
        """Everything the view holds but its readiness marker: what two stores built from
        the same log must agree on (operators diff it; the rebuild test compares it)."""
        self._catch_up()
        return {k: v for k, v in self._scan(b"") if k != READY_KEY}

    def positions(self) -> dict[int, int]:
        """The next offset to read per partition, as the primary last wrote them."""
        self._catch_up()
        return positions_in(self._scan(POSITION))

    def close(self) -> None:
        """Idempotent, so that an owner may close in both its happy path and its cleanup."""
        if self._closed:
            return
        self._closed = True
        self._db.close()
        self._remove_secondary()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _catch_up(self) -> None:
        now = self._clock()
        if now - self._caught_up_at >= self._max_staleness_s:
            self._db.try_catch_up_with_primary()
            self._caught_up_at = now

    def _get(self, key: bytes) -> bytes | None:
        value: bytes | None = self._db.get(key)
        return value

    def _scan(self, prefix: bytes, start: bytes | None = None) -> Iterator[tuple[bytes, bytes]]:
        return scan(self._db, prefix, start)

    def _remove_secondary(self) -> None:
        if self._own_secondary:
            shutil.rmtree(self._secondary_path, ignore_errors=True)
