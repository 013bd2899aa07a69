"""Every record of an events partition up to a snapshot, from its first offset: the archive
for what the log no longer holds, then the log (kafkalog/history.py decides which, as it
does for a view's rebuild). What a replay of history reads (compliance's exports, through
edge/compliance/), so that history older than the log's retention is still there.

A snapshot is the high watermark of each partition at the moment it is taken: a replay
reads exactly the records below it, however much the log grows meanwhile, so an export
describes one moment of the log. Offsets below the snapshot that are neither in the
archive nor in the log any more raise `HistoryLostError`, never a silent gap: at the
snapshot (`kafkalog.history.plan`), and again when a partition is read, since retention
may delete more of the log while a long export runs.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from kafkalog.cold.reader import ArchiveReader
from kafkalog.history import HistoryLostError, Resume, archived, log_starts, plan
from kafkalog.presets import REPLAY, private_reader
from kafkalog.records import position

METADATA_TIMEOUT_S = 10.0
POLL_S = 0.2
BATCH = 1000
PREFETCH_KIB = 8192
"""librdkafka's prefetch of a replay's partition (its default, 64 MiB, let the first pass
of an export over 320,000 events take 47 MiB more than over 5,000)."""
STALLED_S = 180.0
"""How long a read may see no progress below its snapshot before it gives up: longer than
a transaction may stay open (60 s), after which the broker aborts it and reading goes on."""


@dataclass(frozen=True, slots=True)
class SourceRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes


class HistorySource:
    """One topic's history; `archive` None reads the log alone (no archive configured)."""

    def __init__(self, bootstrap: str, topic: str, archive: ArchiveReader | None) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.archive = archive
        self._resumes: dict[int, Resume] = {}

    def snapshot(self, partitions: list[int]) -> dict[int, int]:
        """The high watermark of each partition now; with it, where each is read from (the
        archive's chain is listed once, so a long replay reads the objects there were)."""
        reader = Consumer(private_reader(self.bootstrap, REPLAY, name="history-snapshot"))
        try:
            ends = {
                p: reader.get_watermark_offsets(
                    TopicPartition(self.topic, p), timeout=METADATA_TIMEOUT_S, cached=False
                )[1]
                for p in partitions
            }
            starts = log_starts(reader, self.topic, partitions)
        finally:
            reader.close()
        self._resumes = plan(self.topic, dict.fromkeys(partitions, 0), starts, self.archive)
        return ends

    def records(self, partition: int, end: int) -> Iterator[SourceRecord]:
        """The records of `partition` below `end`, in offset order: the archive's where the
        log no longer holds them, then the log's. Transactions' control records and aborted
        records are not records here, so offsets may skip."""
        resume = self._resumes.get(partition, Resume(partition, 0))
        if self.archive is not None:
            for batch in archived(self.archive, self.topic, resume):
                for record in batch:
                    offset = record.offset()
                    if offset is None or offset >= end:
                        return
                    yield SourceRecord(partition, offset, record.key(), record.value() or b"")
        if resume.log_from < end:
            yield from self._log(partition, resume.log_from, end)

    def _log(self, partition: int, start: int, end: int) -> Iterator[SourceRecord]:
        config = private_reader(self.bootstrap, REPLAY, name="history-source")
        reader = Consumer(config | {"queued.max.messages.kbytes": PREFETCH_KIB})
        try:
            low = log_starts(reader, self.topic, [partition])[partition]
            if start < low:
                raise HistoryLostError(
                    f"{self.topic}[{partition}]: offsets {start} to {low} left the log while "
                    "the replay ran, before it read them"
                )
            reader.assign([TopicPartition(self.topic, partition, start)])
            yield from self._read(reader, partition, start, end)
        finally:
            reader.close()

    def _read(
        self, reader: Consumer, partition: int, start: int, end: int
    ) -> Iterator[SourceRecord]:
        """Until the position passes `end`. A read-committed reader stops at the last stable
        offset: below `end` while a transaction is open, so the end of the partition is not
        the end of the read until the position has reached `end`."""
        progressed = time.monotonic()
        at = start
        while at < end:
            for record in reader.consume(num_messages=BATCH, timeout=POLL_S):
                error = record.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    continue
                _, offset = position(record)
                if offset >= end:
                    return
                at = offset + 1
                progressed = time.monotonic()
                yield SourceRecord(partition, offset, record.key(), record.value() or b"")
            found = reader.position([TopicPartition(self.topic, partition)])[0].offset
            if found >= end:
                return
            if found > at:
                at, progressed = found, time.monotonic()
            if time.monotonic() - progressed > STALLED_S:
                raise KafkaException(
                    KafkaError(
                        KafkaError._TIMED_OUT,
                        f"{self.topic}[{partition}] stayed at {at} below {end} for {STALLED_S} s",
                    )
                )
