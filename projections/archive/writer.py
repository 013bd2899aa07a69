"""The archive writer of one topic: records in, Parquet objects out, exactly once.

Driven by `add(record)` and `tick()` from whatever consumes the topic (the archive process,
follower.py; the tests and the benchmark: plain sequences), so the guarantees below hold for
any feeder that, per partition, starts at the position `open` returns and delivers records
in offset order, possibly repeating some (a record below the position is ignored).

Exactly once, after any crash: the position of a partition is the end of its chain in S3
(chain.py), never a consumer offset, so a writer that starts again resumes exactly after
the last object that went up whole, whatever died where. An object goes up `raw` first,
then `table`; a half-written pair or an interrupted multipart upload is cleaned up by the
next `open`, before anything is written. Cuts (cuts.py) by size and date are functions of
the records; the age cut uses the writer's clock, which is safe because no range is ever
written twice. docs/archive.md gives the whole argument.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from kafkalog.cold.chain import resolve
from kafkalog.cold.layout import (
    Family,
    ObjectKey,
    Span,
    day_of,
    day_start_ms,
    family_prefix,
)
from kafkalog.cold.record import ArchiveRecord
from objectstore.store import ObjectStore
from projections.archive import manifest, scrub
from projections.archive.columns import LAYOUTS
from projections.archive.compaction import compact_day
from projections.archive.cuts import CutLimits, Filling, aged, full, other_day
from projections.archive.parquet import ObjectBuilder

log = logging.getLogger("parley.archive")
UPLOAD_THREADS = 8
"""Objects of different partitions that close together (age cuts of partitions that opened
together, a flush) go up this many at a time: one after another, a busy S3 server's
seconds per upload added up to tens of seconds of lag for the last partition."""


class NotOpenedError(RuntimeError):
    """A record of a partition the writer was not opened for (or has released)."""


@dataclass
class _Open:
    start: int
    builder: ObjectBuilder
    filling: Filling
    first_ms: int
    last_ms: int
    removals: list[scrub.Removal] = field(default_factory=list)
    """Redactions and expiries in this object: each owes a scrub of earlier objects once it
    is up."""


@dataclass
class _Partition:
    position: int | None
    """Where the next record may start; None until the first record of an empty archive."""
    manifest: manifest.Manifest
    open: _Open | None = None


@dataclass
class WriterStats:
    records: int = 0
    avro_bytes: int = 0
    objects: int = 0
    table_bytes: int = 0
    raw_bytes: int = 0
    skipped: int = 0
    """Records below the position: already archived, or fed twice."""
    orphans_deleted: int = 0
    uploads_aborted: int = 0
    days_closed: list[tuple[int, str]] = field(default_factory=list)
    merged: int = 0
    """Small objects compaction replaced."""
    scrubbed: int = 0
    """Records whose body a redaction or an expiry emptied (scrub.py)."""


class ArchiveWriter:
    def __init__(
        self,
        store: ObjectStore,
        topic: str,
        *,
        root: str = "archive",
        limits: CutLimits | None = None,
        spool_dir: Path,
        clock: Callable[[], float] = time.monotonic,
        compact_bytes: int | None = 64 * 1024 * 1024,
        compact_objects: int = 60,
    ) -> None:
        """`topic` is the topic's role (`events`, `accounts`): its directory and layout.
        Once the first object of a later date is up, the partition's previous day is
        compacted into objects of up to `compact_bytes` (None: never); so is the current
        day once it holds `compact_objects` objects, so that queries of today do not read
        an object per minute (one merge an hour at the default age cut)."""
        self.store = store
        self.topic = topic
        self.root = root
        self.layout = LAYOUTS[topic]
        self.limits = limits or CutLimits()
        self.spool_dir = spool_dir
        self.clock = clock
        self.compact_bytes = compact_bytes
        self.compact_objects = compact_objects
        self.partitions: dict[int, _Partition] = {}
        self.stats = WriterStats()
        self._counting = threading.Lock()

    def open(self, partitions: Iterable[int]) -> dict[int, int | None]:
        """Takes the partitions over: cleans up what a crash left, and returns where each
        resumes (the end of its chain; None when nothing is archived: from the beginning)."""
        wanted = sorted(set(partitions))
        self.release(p for p in wanted if p in self.partitions)  # taken again: start afresh
        listed = [
            parsed
            for family in Family
            for found in self.store.list_keys(family_prefix(self.root, family, self.topic))
            if (parsed := ObjectKey.parse(found.key)) is not None
        ]
        for family in Family:
            self.stats.uploads_aborted += self.store.abort_uploads(
                family_prefix(self.root, family, self.topic),
                lambda key: (
                    (parsed := ObjectKey.parse(key)) is not None and parsed.partition in wanted
                ),
            )
        positions: dict[int, int | None] = {}
        for partition in wanted:
            chain = resolve(partition, listed)
            if chain.orphans:
                log.info(
                    "%s/%d: deleting %d orphans: %s",
                    self.topic,
                    partition,
                    len(chain.orphans),
                    [o.key() for o in chain.orphans],
                )
                self.store.delete([o.key() for o in chain.orphans])
                self.stats.orphans_deleted += len(chain.orphans)
            known = manifest.load(self.store, self.root, self.topic, partition)
            derived = manifest.from_chain(self.topic, chain, known)
            if derived != known:
                manifest.save(self.store, self.root, derived)
            self._discard(partition)
            self.partitions[partition] = _Partition(chain.end, derived)
            self._settle(partition)  # a scrub a dead writer owed
            positions[partition] = chain.end
        log.info("%s: archive resumes at %s", self.topic, positions)
        return positions

    def add(self, record: ArchiveRecord) -> None:
        """Adds one record; may close (upload) the partition's open object first."""
        part = self.partitions.get(record.partition)
        if part is None:
            raise NotOpenedError(f"{self.topic}/{record.partition} is not open in this writer")
        if part.position is not None and record.offset < part.position:
            self.stats.skipped += 1
            return
        current = part.open
        if current is not None and (
            full(current.filling, self.limits) or other_day(current.filling, record.timestamp_ms)
        ):
            self._close(record.partition, part)
            current = None
        if current is None:
            start = record.offset if part.position is None else part.position
            current = _Open(
                start=start,
                builder=ObjectBuilder(
                    self.spool_dir, f"{self.topic}-{record.partition}", self.layout
                ),
                filling=Filling(
                    day=day_of(record.timestamp_ms),
                    day_start_ms=day_start_ms(record.timestamp_ms),
                    records=0,
                    avro_bytes=0,
                    opened_at=self.clock(),
                ),
                first_ms=record.timestamp_ms,
                last_ms=record.timestamp_ms,
            )
            part.open = current
        _, event_type = current.builder.add(
            record.offset, record.timestamp_ms, record.key, record.value
        )
        current.removals += scrub.removals_in(record.offset, event_type, record.value)
        current.filling.records += 1
        current.filling.avro_bytes += len(record.value)
        current.last_ms = record.timestamp_ms
        part.position = record.offset + 1
        self.stats.records += 1
        self.stats.avro_bytes += len(record.value)

    def tick(self) -> None:
        """Closes every object open longer than the age limit: call it often (every poll of
        the feeder, records or not), so an idle partition reaches S3 too."""
        now = self.clock()
        self._close_all(
            [
                (partition, part)
                for partition, part in self.partitions.items()
                if part.open is not None and aged(part.open.filling, self.limits, now)
            ]
        )

    def flush(self) -> None:
        """Closes every open object (before a clean stop)."""
        self._close_all([(p, part) for p, part in self.partitions.items() if part.open])

    def _close_all(self, due: list[tuple[int, _Partition]]) -> None:
        """Closes the objects of several partitions at once: each partition's pair still
        goes up raw first, and partitions share no key, so the order between them does
        not matter to exactly once. The first failure raises, once all have finished."""
        if len(due) <= 1:
            for partition, part in due:
                self._close(partition, part)
            return
        with ThreadPoolExecutor(min(len(due), UPLOAD_THREADS), "archive-upload") as pool:
            for _ in pool.map(lambda item: self._close(*item), due):
                pass

    def release(self, partitions: Iterable[int]) -> None:
        """Gives partitions up (a rebalance took them): their open objects are dropped,
        not uploaded, because the next owner writes those records from the chain's end."""
        for partition in partitions:
            part = self.partitions.pop(partition, None)
            if part is not None and part.open is not None:
                part.open.builder.discard()

    def position(self, partition: int) -> int | None:
        return self.partitions[partition].position

    def waiting_s(self) -> float:
        """How long the oldest open object has been open by the writer's clock (0: none is):
        its first record reaches S3 at most `max_age_s` plus one upload after it came in."""
        opened = [p.open.filling.opened_at for p in self.partitions.values() if p.open]
        return self.clock() - min(opened) if opened else 0.0

    def _close(self, partition: int, part: _Partition) -> None:
        current = part.open
        if current is None or part.position is None:
            return
        files = current.builder.finish()
        table = ObjectKey(
            self.root,
            Family.TABLE,
            self.topic,
            current.filling.day,
            partition,
            Span(current.start, part.position),
        )
        raw = table.twin(Family.RAW)
        # The scrubs this object's removals owe are marked before it can be listed.
        for removal in current.removals:
            scrub.mark(self._place(partition), removal)
        # Raw first: a table object is only ever listed beside its raw twin (chain.py).
        raw_bytes = self.store.upload(raw.key(), files[Family.RAW])
        table_bytes = self.store.upload(table.key(), files[Family.TABLE])
        current.builder.discard()
        part.open = None
        previous = part.manifest.objects[-1] if part.manifest.objects else None
        part.manifest = part.manifest.appended(
            manifest.ManifestEntry(
                table_key=table.key(),
                raw_key=raw.key(),
                start=table.span.start,
                end=table.span.end,
                day=table.day,
                rows=current.filling.records,
                first_log_time=datetime.fromtimestamp(current.first_ms / 1000, UTC),
                last_log_time=datetime.fromtimestamp(current.last_ms / 1000, UTC),
                table_bytes=table_bytes,
                raw_bytes=raw_bytes,
            )
        )
        manifest.save(self.store, self.root, part.manifest)
        with self._counting:
            self.stats.objects += 1
            self.stats.table_bytes += table_bytes
            self.stats.raw_bytes += raw_bytes
        if previous is not None and previous.day < table.day:
            with self._counting:
                self.stats.days_closed.append((partition, previous.day.isoformat()))
            if self.compact_bytes is not None:
                self.compact(partition, previous.day)
        elif self.compact_bytes is not None and self.compact_objects <= sum(
            1 for entry in part.manifest.objects if entry.day == table.day
        ):
            self.compact(partition, table.day)
        if current.removals:
            self._settle(partition)

    def _settle(self, partition: int) -> None:
        """Does the scrubs owed in the partition (scrub.py) and notes the rewritten raw
        objects' sizes in the manifest."""
        done = scrub.settle(self._place(partition), spool_dir=self.spool_dir)
        sizes = dict(done.objects)
        if sizes:
            part = self.partitions[partition]
            part.manifest = part.manifest.model_copy(
                update={
                    "objects": tuple(
                        e.model_copy(update={"raw_bytes": sizes[e.raw_key]})
                        if e.raw_key in sizes
                        else e
                        for e in part.manifest.objects
                    )
                }
            )
            manifest.save(self.store, self.root, part.manifest)
        with self._counting:
            self.stats.scrubbed += len(done.records)

    def compact(self, partition: int, day: date) -> None:
        """Merges the small objects of one of this partition's days: a day it has left
        behind, or the current one between two objects (none is open then, and the next
        starts at the chain's end, after whatever is merged)."""
        part = self.partitions[partition]
        merged = compact_day(
            self.store,
            self.root,
            self.topic,
            partition,
            day,
            target_bytes=self.compact_bytes or self.limits.max_bytes,
            spool_dir=self.spool_dir,
        )
        for done in merged:
            covered = [
                e
                for e in part.manifest.objects
                if done.key.span.start <= e.start and e.end <= done.key.span.end
            ]
            firsts = [e.first_log_time for e in covered if e.first_log_time is not None]
            lasts = [e.last_log_time for e in covered if e.last_log_time is not None]
            part.manifest = part.manifest.merged(
                manifest.ManifestEntry(
                    table_key=done.key.key(),
                    raw_key=done.key.twin(Family.RAW).key(),
                    start=done.key.span.start,
                    end=done.key.span.end,
                    day=day,
                    rows=done.rows,
                    first_log_time=min(firsts, default=None),
                    last_log_time=max(lasts, default=None),
                    table_bytes=done.table_bytes,
                    raw_bytes=done.raw_bytes,
                )
            )
        if merged:
            manifest.save(self.store, self.root, part.manifest)
            with self._counting:
                self.stats.merged += sum(len(m.replaced) for m in merged)

    def _place(self, partition: int) -> scrub.Place:
        return scrub.Place(self.store, self.root, self.topic, partition)

    def _discard(self, partition: int) -> None:
        """Spool files of a partition a dead writer left behind."""
        for path in self.spool_dir.glob(f"{self.topic}-{partition}.*.parquet"):
            path.unlink(missing_ok=True)
