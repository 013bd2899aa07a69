"""The media of the last day, folded from the media topic: read by uploads, quotas, the sweeper.

Every reader needs only recent media: an upload is completed and attached within 24 hours
of its declaration or deleted, and a person's quota counts the bytes declared in the last
24 hours. So a book keeps the records declared within its window and forgets older ones
(`prune`); rebuilt after a restart, it reads the media topic from the offsets at the
window's start (Kafka finds them by timestamp), not from the beginning of time. Whoever
hosts a book feeds it every record of the topic in order and keeps its positions.

A book may be read and written from several threads (the edge folds the topic on its
event loop while its upload service, in worker threads, folds its own events and reads the
quota), so every method holds the book's lock.
"""

from __future__ import annotations

import threading
from datetime import datetime

from media.lifecycle import MediaRecord, evolve
from schemas import models as m


class MediaBook:
    def __init__(self) -> None:
        self.records: dict[str, MediaRecord] = {}
        self.by_owner: dict[str, set[str]] = {}
        self.positions: dict[int, int] = {}
        """Next offset to read, per partition of the media topic."""
        self._lock = threading.RLock()

    def apply(self, event: m.MediaEvent, at: tuple[int, int] | None = None) -> MediaRecord | None:
        """Fold `event` (read at `(partition, offset)`, when it came from the topic)."""
        media_id = event.meta.media_id
        with self._lock:
            record = evolve(self.records.get(media_id), event)
            if record is not None:
                self.records[media_id] = record
                self.by_owner.setdefault(record.owner_id, set()).add(media_id)
            if at is not None:
                partition, offset = at
                self.positions[partition] = max(self.positions.get(partition, 0), offset + 1)
            return record

    def get(self, media_id: str) -> MediaRecord | None:
        return self.records.get(media_id)

    def position(self, partition: int) -> int:
        """The next offset of `partition` this book has not folded."""
        return self.positions.get(partition, 0)

    def declared_bytes_since(self, owner_id: str, since: datetime) -> int:
        """Bytes `owner_id` declared at or after `since`: what their daily quota counts."""
        with self._lock:
            records = [self.records[i] for i in self.by_owner.get(owner_id, ())]
        return sum(r.declared.size_bytes for r in records if r.declared_at >= since)

    def prune(self, before: datetime) -> int:
        """Forget media declared before `before`; returns how many were forgotten."""
        with self._lock:
            old = [r for r in self.records.values() if r.declared_at < before]
            for record in old:
                del self.records[record.media_id]
                owned = self.by_owner[record.owner_id]
                owned.discard(record.media_id)
                if not owned:
                    del self.by_owner[record.owner_id]
        return len(old)
