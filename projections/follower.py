"""The Kafka loop of every view: follows the events topic and writes the view in batches.

Not transactional: at-least-once, made exact by the store. Each batch's changes and the
next offset per partition go to RocksDB in one write, and on assignment the consumer
starts from those stored offsets (the store, not Kafka's committed offsets, is the
position), so a batch lost in a crash is read again and one already written is not.
The consumer group only shares out partitions; nothing is ever committed to Kafka.

Error policy: a record that does not decode, or is not an event, goes to the dead-letter
topic and the view moves on; a transient Kafka error is logged while librdkafka retries;
a fatal Kafka error or a store error stops the process before the batch is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast, get_args

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    TopicPartition,
)

from projections import metrics
from projections.batches import next_batch
from projections.dead_letters import DeadLetters
from projections.readiness import CatchUp
from projections.store import Readiness, ViewBatch, ViewStore
from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from telemetry.lag import LagSampler

log = logging.getLogger("parley.views")

EVENT_TYPES: tuple[type, ...] = get_args(m.Event)
METADATA_TIMEOUT_S = 10


@dataclass(frozen=True)
class FollowerConfig:
    bootstrap: str
    events_topic: str
    partitions: int
    group_id: str
    member_id: str
    max_batch: int = 1000
    view: str = "history"


class MisdeclaredTopicError(RuntimeError):
    """The events topic does not have the partition count the topic registry declares."""


class ViewFollower:
    def __init__(
        self,
        config: FollowerConfig,
        store: ViewStore,
        new_batch: Callable[[ViewStore], ViewBatch],
        dead_letters: DeadLetters,
    ) -> None:
        self.config = config
        self.store = store
        self.new_batch = new_batch
        self.dead_letters = dead_letters
        self.stopping = threading.Event()
        self.assigned: set[int] = set()
        self.ready = False
        self.catch_up = CatchUp({})
        self.lag = LagSampler(metrics.consumer_lag, config.group_id)
        self.consumer = Consumer(
            {
                "bootstrap.servers": config.bootstrap,
                "group.id": config.group_id,
                "group.instance.id": config.member_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
                "fetch.wait.max.ms": 10,
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000,
            }
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
                records = next_batch(self.consumer, self.config.max_batch, idle_s=0.1)
                if records:
                    self._process(records)
                self.lag.maybe_sample(self.consumer)
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
        """Start each partition where the store says it is, not where Kafka says."""
        stored = self.store.positions()
        for tp in partitions:
            tp.offset = stored.get(tp.partition, OFFSET_BEGINNING)
            if tp.partition in stored:
                self.catch_up.advanced(tp.partition, stored[tp.partition])
        consumer.assign(partitions)
        self.assigned |= {tp.partition for tp in partitions}
        log.info("assigned %s", {tp.partition: tp.offset for tp in partitions})

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned -= {tp.partition for tp in partitions}

    def _process(self, records: list[Message]) -> None:
        began = time.perf_counter()
        batch = self.new_batch(self.store)
        consumed = 0
        for record in records:
            error = record.error()
            if error is not None:
                self._transport_error(record, error)
                continue
            partition, offset = _position(record)
            self._add(batch, record)
            batch.advance(partition, offset + 1)
            consumed += 1
        self.dead_letters.flush()
        writing = time.perf_counter()
        batch.commit()
        done = time.perf_counter()
        for partition, offset in batch.positions.items():
            self.catch_up.advanced(partition, offset)
        if batch.gaps:
            metrics.gaps.labels(self.config.view).inc(batch.gaps)
        if consumed:
            metrics.records.labels(self.config.view).inc(consumed)
            metrics.writes.labels(self.config.view).observe(done - writing)
            metrics.batches.labels(self.config.view).observe(done - began)

    def _add(self, batch: ViewBatch, record: Message) -> None:
        value = record.value() or b""
        try:
            decoded = codec.decode(value)
        except (MalformedRecordError, UnknownSchemaError) as e:
            self._park(record, str(e))
            return
        if not isinstance(decoded, EVENT_TYPES):
            self._park(record, f"{decoded.avro_name} is not an event")
            return
        batch.add(cast(m.Event, decoded), value)

    def _park(self, record: Message, reason: str) -> None:
        log.error(
            "parking %s[%s]@%s: %s", record.topic(), record.partition(), record.offset(), reason
        )
        metrics.dead_letters.labels(record.topic() or "").inc()
        self.dead_letters.park(record, reason)

    def _transport_error(self, record: Message, error: KafkaError) -> None:
        if error.code() == KafkaError._PARTITION_EOF:
            partition = record.partition()
            if partition is not None:
                self.catch_up.reached_end(partition)
            return
        if error.fatal():
            raise KafkaException(error)
        log.warning("consumer: %s", error)
        metrics.kafka_errors.labels(error.name()).inc()


def _position(record: Message) -> tuple[int, int]:
    partition, offset = record.partition(), record.offset()
    if partition is None or offset is None:
        raise KafkaException(KafkaError(KafkaError._BAD_MSG, "record without a position"))
    return partition, offset
