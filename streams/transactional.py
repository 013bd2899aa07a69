"""The consume-transform-produce loop every log-writing processor runs.

A handler decides what each input record produces; the loop wraps a batch of records in
one Kafka transaction together with their input offsets, commits, and only then tells the
handler to make its state durable. An aborted batch is re-read from its first offset, and
the handler drops what it had pending. See docs/sequencer.md for why this is crash-safe.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from streams import metrics
from streams.watchdog import StuckCallWatchdog
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing, inject

log = logging.getLogger("parley.transactional")

API_TIMEOUT_S = 10
Headers = list[tuple[str, str | bytes | None]]


def position(record: Message) -> tuple[int, int]:
    """A consumed or delivered record's (partition, offset); both are always set there."""
    partition, offset = record.partition(), record.offset()
    if partition is None or offset is None:
        raise KafkaException(KafkaError(KafkaError._BAD_MSG, "record without a position"))
    return partition, offset


def header_pairs(record: Message) -> Headers:
    headers = record.headers() or []
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


class TransactionOutput:
    """What a handler writes during one transaction. With tracing on, every record carries
    the trace context of the span current when it is produced (the input record's)."""

    def __init__(self, producer: Producer, *, traced: bool = False) -> None:
        self.producer = producer
        self.traced = traced
        self.tracked_offsets: dict[str, dict[int, int]] = {}

    def produce(
        self,
        topic: str,
        partition: int,
        key: str | bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
        track: bool = False,
    ) -> None:
        """Produce in the open transaction; with `track`, remember the highest offset written
        per partition of `topic` (known once the transaction has committed)."""
        offsets = self.tracked_offsets.setdefault(topic, {}) if track else None
        if self.traced:
            headers = inject(headers)

        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is None and offsets is not None:
                p, o = position(msg)
                offsets[p] = max(offsets.get(p, -1), o)

        while True:
            try:
                self.producer.produce(
                    topic,
                    value=value,
                    key=key,
                    partition=partition,
                    headers=headers,
                    on_delivery=delivered,
                )
                return
            except BufferError:
                self.producer.poll(0.05)

    def dead_letter(self, topic: str, record: Message, reason: str) -> None:
        """Park an unusable input record with where it came from and why."""
        headers: Headers = [
            ("source-topic", (record.topic() or "").encode()),
            ("source-partition", str(record.partition()).encode()),
            ("source-offset", str(record.offset()).encode()),
            ("reason", reason.encode()),
        ]
        metrics.dead_letters.labels(record.topic() or "").inc()
        self.produce(topic, 0, record.key(), record.value() or b"", headers=headers)


class RecordHandler(Protocol):
    def assigned(self, partitions: list[int]) -> None:
        """Bring state up to date for these input partitions before their records arrive."""

    def handle(self, record: Message, out: TransactionOutput) -> None: ...

    def committed(self, out: TransactionOutput) -> None:
        """The transaction is durable: make pending state durable too."""

    def aborted(self) -> None:
        """The transaction is gone: drop pending state; the records will come again."""


@dataclass
class BatchStats:
    """Transactions per interval, logged so that an operator sees batch size and cost."""

    name: str
    interval_s: float = 10.0
    batches: int = 0
    records: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    since: float = field(default_factory=time.monotonic)

    def record(self, records: int, seconds: float) -> None:
        self.batches += 1
        self.records += records
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)
        if time.monotonic() - self.since >= self.interval_s:
            log.info(
                "%s: %d transactions, %d records, %.1f per transaction, %.1f ms mean, %.1f ms max",
                self.name,
                self.batches,
                self.records,
                self.records / self.batches,
                1000 * self.total_s / self.batches,
                1000 * self.max_s,
            )
            self.batches = self.records = 0
            self.total_s = self.max_s = 0.0
            self.since = time.monotonic()


@dataclass(frozen=True)
class LoopConfig:
    bootstrap: str
    input_topic: str
    group_id: str
    transactional_id: str
    max_batch: int = 1000
    kafka_debug: str = ""
    span_name: str = "process"
    """Name of the span around handling one input record, when tracing is on."""


def next_batch(consumer: Consumer, max_batch: int, *, idle_s: float) -> list[Message]:
    """What is already fetched, without waiting to fill a batch; blocks (up to `idle_s`)
    only when nothing is. `consume(n, timeout)` waits for all n or the whole timeout, which
    would add up to `timeout` to every record's latency at moderate rates."""
    records: list[Message] = consumer.consume(num_messages=max_batch, timeout=0)
    if records:
        return records
    first = consumer.poll(idle_s)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=max_batch - 1, timeout=0)]


class TransactionalLoop:
    def __init__(
        self,
        config: LoopConfig,
        handler: RecordHandler,
        watchdog: StuckCallWatchdog | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.config = config
        self.handler = handler
        self.watchdog = watchdog
        self.tracing = tracing or Tracing.off()
        self.lag = LagSampler(metrics.consumer_lag, config.group_id)
        self.stopping = threading.Event()
        self.stats = BatchStats(config.input_topic)
        debug = {"debug": config.kafka_debug} if config.kafka_debug else {}
        self.producer = Producer(
            {
                "bootstrap.servers": config.bootstrap,
                "transactional.id": config.transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 0,
                "transaction.timeout.ms": 60_000,
                # CONCURRENT_TRANSACTIONS is answered right after a commit; the default 100 ms
                # backoff made every transaction 45 ms longer here (bench/results/README.md).
                "retry.backoff.ms": 2,
                "retry.backoff.max.ms": 20,
                **debug,
            }
        )
        self.consumer = Consumer(
            {
                "bootstrap.servers": config.bootstrap,
                "group.id": config.group_id,
                "group.instance.id": config.transactional_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 5,
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000,
                **debug,
            }
        )
        metrics.producer_queue.set_function(lambda: len(self.producer))

    def run(self) -> None:
        """Process until `stop()`; a fatal Kafka error ends the loop by raising."""
        self.producer.init_transactions(60)
        self.consumer.subscribe([self.config.input_topic], on_assign=self._on_assign)
        try:
            while not self.stopping.is_set():
                live = [r for r in self._next_batch() if not self._is_transport_error(r)]
                if live and self.watchdog is not None:
                    with self.watchdog.watch("a transaction"):
                        self._process(live)
                elif live:
                    self._process(live)
                self.lag.maybe_sample(self.consumer)
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()

    def _next_batch(self) -> list[Message]:
        return next_batch(self.consumer, self.config.max_batch, idle_s=0.1)

    def _is_transport_error(self, record: Message) -> bool:
        error = record.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        log.warning("consumer: %s", error)
        metrics.kafka_errors.labels(error.name()).inc()
        return True

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Fetching committed offsets first waits (read_committed: stable offsets) until any
        transaction of the partitions' previous owner has completed."""
        consumer.committed(partitions, timeout=60)
        self.handler.assigned(sorted(tp.partition for tp in partitions))

    def _process(self, records: list[Message]) -> None:
        began = time.perf_counter()
        first_offsets: dict[int, int] = {}
        next_offsets: dict[int, int] = {}
        for record in records:  # all of them first: an abort must rewind every partition
            partition, offset = position(record)
            first_offsets.setdefault(partition, offset)
            next_offsets[partition] = offset + 1
        out = TransactionOutput(self.producer, traced=self.tracing.enabled)
        self.producer.begin_transaction()
        try:
            for record in records:
                if out.traced:
                    self._handle_traced(record, out)
                else:
                    self.handler.handle(record, out)
            offsets = [
                TopicPartition(self.config.input_topic, p, o) for p, o in next_offsets.items()
            ]
            self.producer.send_offsets_to_transaction(
                offsets, self.consumer.consumer_group_metadata(), API_TIMEOUT_S
            )
            self._commit()
        except KafkaException as e:
            self._abort(first_offsets, e)
            return
        self.handler.committed(out)
        seconds = time.perf_counter() - began
        self.stats.record(len(records), seconds)
        metrics.transactions.labels(self.config.input_topic).observe(seconds)
        metrics.records.labels(self.config.input_topic).inc(len(records))

    def _handle_traced(self, record: Message, out: TransactionOutput) -> None:
        partition, offset = position(record)
        attributes: dict[str, str | int] = {
            "messaging.system": "kafka",
            "messaging.operation": "process",
            "messaging.destination.name": self.config.input_topic,
            "messaging.kafka.destination.partition": partition,
            "messaging.kafka.message.offset": offset,
        }
        with self.tracing.consuming(self.config.span_name, header_pairs(record), attributes):
            self.handler.handle(record, out)

    def _commit(self) -> None:
        began = time.perf_counter()
        while True:
            try:
                self.producer.commit_transaction(API_TIMEOUT_S)
                break
            except KafkaException as e:
                if not e.args[0].retriable():
                    raise
                log.warning("commit retry: %s", e)
                metrics.kafka_errors.labels(e.args[0].name()).inc()
        metrics.commits.labels(self.config.input_topic).observe(time.perf_counter() - began)

    def _abort(self, first_offsets: dict[int, int], error: KafkaException) -> None:
        if not error.args[0].txn_requires_abort():
            raise error
        log.warning("transaction aborted, batch will be retried: %s", error)
        metrics.aborts.labels(self.config.input_topic).inc()
        self.producer.abort_transaction(API_TIMEOUT_S)
        self.handler.aborted()
        assigned = {tp.partition for tp in self.consumer.assignment()}
        for partition, offset in first_offsets.items():
            if partition in assigned:
                self.consumer.seek(TopicPartition(self.config.input_topic, partition, offset))


def replay(
    bootstrap: str,
    topic: str,
    start_offsets: dict[int, int],
    apply: Callable[[Message], None],
    until: dict[int, int] | None = None,
) -> dict[int, int]:
    """Feed every committed record from `start_offsets` to the end of each partition (or to
    `until`, exclusive) to `apply`; returns the next offset per partition."""
    if until is not None:
        start_offsets = {p: o for p, o in start_offsets.items() if o < until.get(p, 0)}
    if not start_offsets:
        return {}
    reader = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"replay-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    positions = dict(start_offsets)
    reader.assign([TopicPartition(topic, p, o) for p, o in positions.items()])
    pending = set(positions)
    try:
        while pending:
            for record in reader.consume(num_messages=1000, timeout=0.05):
                error = record.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    pending.discard(position(record)[0])
                    continue
                partition, offset = position(record)
                if until is not None and offset >= until[partition]:
                    pending.discard(partition)
                    continue
                apply(record)
                positions[partition] = offset + 1
                if until is not None and offset + 1 >= until[partition]:
                    pending.discard(partition)
    finally:
        reader.close()
    return positions
