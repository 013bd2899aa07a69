"""The history view built again in a scratch directory, from events the caller feeds: what
a replay of history to an instant produces (compliance's exports, edge/compliance/).

The events go through the view's own projection (`HistoryBatch`, `apply`), so the scratch
view holds exactly what the live view held when it had applied the same events: a page
read from it is the page a device was shown then. With `every_version`, the scratch store
keeps every event instead, at the view's own key of its (conversation, seq): the log itself,
ordered by conversation, for a legal hold that must show each version of each message.
Writes go in batches of `batch_events`, and the store's memtable is flushed to its files
every `FLUSH_EVERY_BATCHES` batches and before reading, so memory holds one batch and a
small memtable, whatever the history's size; the data is on disk under `directory`, which
`close` removes.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from types import TracebackType
from typing import Self

from projections.history.layout import event_key
from projections.history.query import HistoryReader
from projections.history.store import HistoryBatch, HistoryStore
from projections.store import Put
from schemas import models as m

BATCH_EVENTS = 1000
FLUSH_EVERY_BATCHES = 16
"""Batches between two flushes of the scratch store's memtable to its files: RocksDB would
otherwise keep up to two 64 MiB memtables, and the reader replay the log of the unflushed
one into memory of its own."""


class ScratchHistory:
    def __init__(
        self, directory: Path, *, every_version: bool = False, batch_events: int = BATCH_EVENTS
    ) -> None:
        self.directory = directory
        self.every_version = every_version
        self.batch_events = batch_events
        directory.mkdir(parents=True, exist_ok=True)
        self.store = HistoryStore(directory / "view")
        self.batch = HistoryBatch(self.store)
        self.pending = 0
        self.batches = 0
        self._reader: HistoryReader | None = None

    def add(self, event: m.Event, encoded: bytes) -> None:
        if self.every_version:
            self.batch.extend([Put(event_key(event.meta.conversation_id, event.meta.seq), encoded)])
        else:
            self.batch.add(event, encoded)
        self.pending += 1
        if self.pending >= self.batch_events:
            self._commit()

    def reader(self) -> HistoryReader:
        """The scratch view's query side, once everything fed so far is written."""
        self._commit()
        self.store.flush()
        if self._reader is None:
            # Never stale by the clock: nothing is written while the reader reads, and this
            # method catches up explicitly. (A catch-up per read cost 2 ms an event: 90 % of
            # an export's time.)
            self._reader = HistoryReader(
                self.directory / "view",
                secondary_path=self.directory / "reader",
                max_staleness_s=math.inf,
            )
        self._reader.refresh()
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
        self.store.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _commit(self) -> None:
        self.batch.commit()
        self.batch = HistoryBatch(self.store)
        self.pending = 0
        self.batches += 1
        if self.batches % FLUSH_EVERY_BATCHES == 0:
            self.store.flush()
