"""The Kafka loop of every view: follows the events topic and writes the view in batches.

Not transactional: at-least-once, made exact by the store. Each batch's changes and the
next offset per partition go to RocksDB in one write, and on assignment the consumer
starts from those stored offsets (the store, not Kafka's committed offsets, is the
position), so a batch lost in a crash is read again and one already written is not.
The consumer group only shares out partitions; nothing is ever committed to Kafka.

Where the log no longer holds a partition's stored position (a rebuild, or a view started
after the log's retention dropped its oldest events), the view first applies the archive's
records from that position to the archive's end, through the same batches, then follows the
log from there (kafkalog/history.py); if neither holds them, it stops (`HistoryLostError`).

Error policy (kafkalog's, stated in its package docstring and docs/log.md): a record that
does not decode, is not an event, or is an event no view could apply (it names seq -1: see
`add_event`), goes to the dead-letter topic, durably before the position that passes it is
written, and the view moves on; a transient Kafka error is
logged while librdkafka retries, or restarts the process in place (kafkalog/worker.py);
a fatal Kafka error, a store error or a bug in a batch's `add` stops the process before
the batch is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar, cast, get_args

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from kafkalog.cold.reader import ArchiveReader
from kafkalog.dead_letters import DeadLetters
from kafkalog.decoding import Decoder, Unusable, UnusableRecordError, avro_decoder
from kafkalog.follower import Follower, Park
from kafkalog.history import Resume, archived, log_starts, plan
from kafkalog.output import AckedOutput
from kafkalog.presets import PARKING, VIEW, group_consumer, producer
from kafkalog.records import next_offsets
from projections import metrics
from projections.keys import UnkeyableError
from projections.readiness import CatchUp
from projections.store import Readiness, TrackedBatch, TrackedStore
from schemas import models as m
from schemas.record import AvroRecord
from telemetry.lag import LagSampler

log = logging.getLogger("parley.views")
StoreT = TypeVar("StoreT", bound=TrackedStore)

EVENT_TYPES: tuple[type[AvroRecord], ...] = get_args(m.Event)
decode_event: Decoder[AvroRecord] = avro_decoder(EVENT_TYPES, "an event")
"""What a view reads off the events topic; anything else is parked."""
METADATA_TIMEOUT_S = 10
IDLE_S = 0.1


@dataclass(frozen=True)
class FollowerConfig:
    bootstrap: str
    events_topic: str
    partitions: int
    group_id: str
    member_id: str
    dead_letters_topic: str
    max_batch: int = 1000
    view: str = "history"


def add_event(batch: TrackedBatch, event: m.Event, encoded: bytes) -> UnusableRecordError | None:
    """Apply one event to the batch; or, when it names what no key of the view can hold
    (a seq below 0, an id of 64 KiB: nothing the sequencer writes), why it is unusable,
    for the dead letters. `add` computes an event's changes before taking any of them, so
    a refused event leaves the batch as it was."""
    try:
        batch.add(event, encoded)
    except UnkeyableError as e:
        return UnusableRecordError(Unusable.UNAPPLICABLE, f"{event.avro_name}: {e}")
    return None


class MisdeclaredTopicError(RuntimeError):
    """The events topic does not have the partition count the topic registry declares."""


class ViewFollower(Generic[StoreT]):
    """Drives any view through the `TrackedStore` and `TrackedBatch` contract."""

    def __init__(
        self,
        config: FollowerConfig,
        store: StoreT,
        new_batch: Callable[[StoreT], TrackedBatch],
        archive: ArchiveReader | None = None,
    ) -> None:
        """`archive`: where the events are once the log's retention has dropped them."""
        self.config = config
        self.archive = archive
        self.store = store
        self.new_batch = new_batch
        self.stopping = threading.Event()
        self.assigned: set[int] = set()
        self.ready = False
        self.catch_up = CatchUp({})
        self.consumer = Consumer(
            group_consumer(
                config.bootstrap, VIEW, group_id=config.group_id, instance_id=config.member_id
            )
        )
        self.parked = AckedOutput(Producer(producer(config.bootstrap, PARKING)))
        dead_letters = DeadLetters(config.dead_letters_topic, config.group_id, metrics.dead_letters)
        self.follower = Follower(
            self.consumer,
            decode_event,
            Park(dead_letters, self.parked),
            kafka_errors=metrics.kafka_errors,
            on_end=self._reached_end,
            lag=LagSampler(metrics.consumer_lag, config.group_id),
        )

    def run(self) -> None:
        """Follow the log until `stop()`; a fatal error ends the loop by raising."""
        try:
            targets = self._end_offsets()
            self.catch_up = CatchUp(targets)
            self.store.clear_ready()
            log.info(
                "following %s from %s to reach %s",
                self.config.events_topic,
                self.store.positions(),
                targets,
            )
            self.consumer.subscribe(
                [self.config.events_topic],
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_revoke,
            )
            while not self.stopping.is_set():
                records = self.follower.poll(self.config.max_batch, idle_s=IDLE_S)
                if records:
                    self._process(records)
                if not self.ready and self.catch_up.done(self.assigned):
                    self.store.mark_ready(Readiness(high_watermarks=targets))
                    self.ready = True
                    metrics.ready.labels(self.config.view).set(1)
                    log.info(
                        "ready: caught up to %s on partitions %s", targets, sorted(self.assigned)
                    )
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()

    def _end_offsets(self) -> dict[int, int]:
        topic = self.config.events_topic
        metadata = self.consumer.list_topics(topic, timeout=METADATA_TIMEOUT_S).topics[topic]
        if metadata.error is not None:
            raise KafkaException(metadata.error)
        if len(metadata.partitions) != self.config.partitions:
            raise MisdeclaredTopicError(
                f"{topic} has {len(metadata.partitions)} partitions, "
                f"{self.config.partitions} declared"
            )
        return {
            p: self.consumer.get_watermark_offsets(
                TopicPartition(topic, p), timeout=METADATA_TIMEOUT_S, cached=False
            )[1]
            for p in sorted(metadata.partitions)
        }

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition where the store says it is, not where Kafka says: after
        the archive's records, where the log no longer holds that position."""
        topic = self.config.events_topic
        stored = self.store.positions()
        resumes = plan(
            topic,
            {tp.partition: stored.get(tp.partition, 0) for tp in partitions},
            log_starts(consumer, topic, [tp.partition for tp in partitions]),
            self.archive,
        )
        for resume in resumes.values():
            if resume.archived_to is not None and self.archive is not None:
                self._apply_archived(self.archive, resume)
        stored = self.store.positions()
        for tp in partitions:
            tp.offset = stored.get(tp.partition, OFFSET_BEGINNING)
            if tp.partition in stored:
                self.catch_up.advanced(tp.partition, stored[tp.partition])
        consumer.assign(partitions)
        self.assigned |= {tp.partition for tp in partitions}
        log.info("assigned %s", {tp.partition: tp.offset for tp in partitions})

    def _apply_archived(self, archive: ArchiveReader, resume: Resume) -> None:
        """The archive's records of one partition, in the view's own batches; then the
        position where the log takes over (past the transaction markers that end the
        archive). A stop asked for meanwhile leaves the store where its last batch is."""
        log.info(
            "partition %d: the log starts past %d; applying the archive up to %d",
            resume.partition,
            resume.position,
            resume.log_from,
        )
        for records in archived(archive, self.config.events_topic, resume, self.config.max_batch):
            if self.stopping.is_set():
                return
            self._process(records)
        batch = self.new_batch(self.store)
        batch.advance(resume.partition, resume.log_from)
        batch.commit()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned -= {tp.partition for tp in partitions}

    def _reached_end(self, partition: int) -> None:
        self.catch_up.reached_end(partition)

    def _process(self, records: list[Message]) -> None:
        """Apply the batch, park what cannot be applied, then write the view and the
        position past every record in one write (after the dead letters are durable)."""
        began = time.perf_counter()
        batch = self.new_batch(self.store)
        for item in self.follower.decode(records):
            refused = add_event(batch, cast(m.Event, item.value), item.record.value() or b"")
            if refused is not None:
                self.follower.policy.unusable(item.record, refused)
        for partition, offset in next_offsets(records).items():
            batch.advance(partition, offset)
        self.parked.flush()
        writing = time.perf_counter()
        batch.commit()
        done = time.perf_counter()
        for partition, offset in batch.positions.items():
            self.catch_up.advanced(partition, offset)
        if batch.gaps:
            metrics.gaps.labels(self.config.view).inc(batch.gaps)
        metrics.records.labels(self.config.view).inc(len(records))
        metrics.writes.labels(self.config.view).observe(done - writing)
        metrics.batches.labels(self.config.view).observe(done - began)
