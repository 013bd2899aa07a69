"""The archive process's Kafka loop: follows the archived topics and feeds one writer each.

Every record goes to its topic's `ArchiveWriter` (writer.py) as it was on the broker (key,
value, partition, offset, log timestamp), in offset order per partition; the writer cuts
and uploads the objects. On assignment each writer `open`s its partitions, which says where
the archive of each ends, and the consumer starts there (the beginning of the log when
nothing is archived yet): what S3 holds is the position, so nothing is committed to Kafka
and a kill -9 anywhere loses nothing and doubles nothing (docs/archive.md, "Exactly once").
`tick` runs after every poll, records or not, so an idle partition still reaches S3 within
the age cut; a revoked partition is `release`d (its open object dropped: the next owner
writes those records from the archive's end); a clean stop `flush`es every open object.

Error policy (kafkalog's, with the archive's own first line, docs/log.md):
- An unusable record (undecodable, unknown schema) is archived all the same, raw, with a
  row saying why in the analysts' family: the archive is the log's copy, and a hole in it
  would be a hole in every rebuild. Nothing is parked and nothing skipped.
- S3 throttling, errors and outages are retried inside the writer (objectstore/store.py)
  for `archive_retry_for_s`, which stays under the consumer's max.poll.interval.ms since
  uploads hold the loop; past it `ObjectStoreError` stops the process, and the supervisor
  starts it again from what S3 holds. Transient Kafka errors: as every worker.
- An archive that ends before the log starts (records lost from both) stops the process
  (`HistoryLostError`) rather than put up an object whose range would claim them.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, TopicPartition

from kafkalog.cold.record import ArchiveRecord
from kafkalog.follower import RecordReader
from kafkalog.history import HistoryLostError, log_starts
from kafkalog.presets import VIEW, group_consumer
from kafkalog.records import position
from projections.archive import metrics
from projections.archive.writer import ArchiveWriter
from telemetry.lag import LagSampler

log = logging.getLogger("parley.archive")
IDLE_S = 0.5


@dataclass(frozen=True)
class ArchiveConfig:
    bootstrap: str
    group_id: str
    member_id: str
    max_batch: int = 5000


class ArchiveFollower:
    def __init__(self, config: ArchiveConfig, writers: dict[str, ArchiveWriter]) -> None:
        """`writers`: one per archived topic, by the topic's name on the broker."""
        self.config = config
        self.writers = writers
        self.stopping = threading.Event()
        self.counted: dict[str, int] = {}
        self.consumer = Consumer(
            group_consumer(
                config.bootstrap, VIEW, group_id=config.group_id, instance_id=config.member_id
            )
        )
        self.reader = RecordReader(
            self.consumer,
            kafka_errors=metrics.kafka_errors,
            lag=LagSampler(metrics.consumer_lag, config.group_id),
        )

    def run(self) -> None:
        """Follow until `stop()`; flush what is open only on a clean stop (after an error
        nothing more is uploaded: the next start writes it again from the log)."""
        self.consumer.subscribe(
            sorted(self.writers),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        try:
            while not self.stopping.is_set():
                self._archive(self.reader.poll(self.config.max_batch, idle_s=IDLE_S))
            for writer in self.writers.values():
                writer.flush()
            self._count()
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()

    def _archive(self, records: list[Message]) -> None:
        """Every record to its topic's writer, then a tick of every writer."""
        for record in records:
            writer = self.writers[record.topic() or ""]
            partition, offset = position(record)
            writer.add(
                ArchiveRecord(
                    partition, offset, record.timestamp()[1], record.value() or b"", record.key()
                )
            )
            metrics.records.labels(writer.topic).inc()
        for writer in self.writers.values():
            writer.tick()
        self._count()

    def _count(self) -> None:
        for writer in self.writers.values():
            uploaded = writer.stats.objects - self.counted.get(writer.topic, 0)
            if uploaded:
                metrics.objects.labels(writer.topic).inc(uploaded)
                self.counted[writer.topic] = writer.stats.objects
            metrics.pending.labels(writer.topic).set(writer.waiting_s())

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Each partition starts where its archive ends (the log's beginning when nothing
        is archived), after the writer has cleaned up what a crash left there."""
        for topic, writer in self.writers.items():
            mine = [tp for tp in partitions if tp.topic == topic]
            if not mine:
                continue
            positions = writer.open(tp.partition for tp in mine)
            starts = log_starts(consumer, topic, sorted(positions))
            for tp in mine:
                at = positions[tp.partition]
                if at is not None and at < starts[tp.partition]:
                    raise HistoryLostError(
                        f"{topic}[{tp.partition}]: the archive ends at {at} and the log starts "
                        f"at {starts[tp.partition]}: the records between are in neither"
                    )
                if at is None and starts[tp.partition] > 0:
                    log.warning(
                        "%s[%d]: archiving from %d, where the log starts; older records "
                        "were never archived",
                        topic,
                        tp.partition,
                        starts[tp.partition],
                    )
                tp.offset = OFFSET_BEGINNING if at is None else at
        consumer.assign(partitions)
        log.info("assigned %s", {(tp.topic, tp.partition): tp.offset for tp in partitions})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """The open objects of these partitions are dropped: their next owner writes those
        records from the archive's end."""
        for topic, writer in self.writers.items():
            writer.release(tp.partition for tp in partitions if tp.topic == topic)
