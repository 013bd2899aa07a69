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
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Protocol

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from kafkalog.follower import RecordReader
from kafkalog.output import produce_waiting
from kafkalog.presets import PROCESSOR, TRANSACTIONAL, group_consumer, producer
from kafkalog.records import Headers, header_pairs, next_offsets, position
from kafkalog.worker import restart_in_place
from streams import metrics
from streams.watchdog import StuckCallWatchdog
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing, inject

log = logging.getLogger("parley.transactional")

API_TIMEOUT_S = 10
IDLE_S = 0.1
"""How long an idle loop waits for a record before it looks at its stop flag again."""


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

        produce_waiting(
            self.producer, topic, partition, key, value, headers=headers, on_delivery=delivered
        )


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


class TransactionalLoop:
    """Runs `handler` over batches of the input, one transaction each, until `stop()`.

    When every broker is out of reach, the process restarts in place at once (`restart`,
    as the watchdog does, and as safe as a crash): after a broker comes back, librdkafka's
    transactional clients of before may block for good (streams/watchdog.py names the
    bug), while fresh ones wait in `init_transactions` and go on the moment it answers
    (issue 15: sends came back 73 s after a broker restart, the broker in 17 s). It restarts
    from the lane that notices, not by ending the loop, because the process's other lanes
    may be blocked in a commit meanwhile.

    The watchdog watches each Kafka call of a transaction, not the handling: a call blocked
    past its own timeout is the bug it guards against, while deciding a large batch on a
    busy machine can take seconds and is no hang.
    """

    def __init__(
        self,
        config: LoopConfig,
        handler: RecordHandler,
        watchdog: StuckCallWatchdog | None = None,
        tracing: Tracing | None = None,
        restart: Callable[[], None] = restart_in_place,
    ) -> None:
        self.config = config
        self.handler = handler
        self.watchdog = watchdog
        self.restart = restart
        self.tracing = tracing or Tracing.off()
        self.stopping = threading.Event()
        self.brokers_lost = threading.Event()
        self.stats = BatchStats(config.input_topic)
        self.producer = Producer(
            {
                **producer(
                    config.bootstrap,
                    TRANSACTIONAL,
                    transactional_id=config.transactional_id,
                    debug=config.kafka_debug,
                ),
                "error_cb": self._on_client_error,
            }
        )
        self.consumer = Consumer(
            {
                **group_consumer(
                    config.bootstrap,
                    PROCESSOR,
                    group_id=config.group_id,
                    instance_id=config.transactional_id,
                    debug=config.kafka_debug,
                ),
                "error_cb": self._on_client_error,
            }
        )
        # Records are decoded by the handler, inside the transaction, where an unusable one
        # is parked and answered (streams/log_writer.py): the loop only reads them.
        self.reader = RecordReader(
            self.consumer,
            kafka_errors=metrics.kafka_errors,
            lag=LagSampler(metrics.consumer_lag, config.group_id),
        )
        metrics.producer_queue.set_function(lambda: len(self.producer))

    def run(self) -> None:
        """Process until `stop()`; a fatal Kafka error ends the loop by raising."""
        self.producer.init_transactions(60)
        # Errors from before the broker answered (this process may have started while it
        # was down) are served now and forgotten: only a loss from here on restarts.
        self.consumer.poll(0)
        self.producer.poll(0)
        self.brokers_lost.clear()
        self.consumer.subscribe([self.config.input_topic], on_assign=self._on_assign)
        try:
            while not self.stopping.is_set():
                live = self.reader.poll(self.config.max_batch, idle_s=IDLE_S)
                if live:
                    self._process(live)
                self._restart_if_brokers_lost()
        finally:
            self.consumer.close()

    def stop(self) -> None:
        self.stopping.set()

    def _on_client_error(self, error: KafkaError) -> None:
        """librdkafka's error callback (either client's, in the loop's thread)."""
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            log.warning("every broker is out of reach: %s", error.str())
            self.brokers_lost.set()

    def _restart_if_brokers_lost(self) -> None:
        if self.brokers_lost.is_set() and not self.stopping.is_set():
            log.error("every broker was out of reach; restarting the process in place")
            self.restart()

    def _watched(self, what: str) -> AbstractContextManager[None]:
        return nullcontext() if self.watchdog is None else self.watchdog.watch(what)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Fetching committed offsets first waits (read_committed: stable offsets) until any
        transaction of the partitions' previous owner has completed."""
        consumer.committed(partitions, timeout=60)
        self.handler.assigned(sorted(tp.partition for tp in partitions))

    def _process(self, records: list[Message]) -> None:
        began = time.perf_counter()
        first_offsets: dict[int, int] = {}
        for record in records:  # all of them first: an abort must rewind every partition
            partition, offset = position(record)
            first_offsets.setdefault(partition, offset)
        out = TransactionOutput(self.producer, traced=self.tracing.enabled)
        self.producer.begin_transaction()
        try:
            for record in records:
                if out.traced:
                    self._handle_traced(record, out)
                else:
                    self.handler.handle(record, out)
            offsets = [
                TopicPartition(self.config.input_topic, p, o)
                for p, o in next_offsets(records).items()
            ]
            with self._watched("send_offsets_to_transaction"):
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
                with self._watched("commit_transaction"):
                    self.producer.commit_transaction(API_TIMEOUT_S)
                break
            except KafkaException as e:
                if not e.args[0].retriable():
                    raise
                log.warning("commit retry: %s", e)
                metrics.kafka_errors.labels(e.args[0].name()).inc()
                self._restart_if_brokers_lost()
        metrics.commits.labels(self.config.input_topic).observe(time.perf_counter() - began)

    def _abort(self, first_offsets: dict[int, int], error: KafkaException) -> None:
        if not error.args[0].txn_requires_abort():
            raise error
        log.warning("transaction aborted, batch will be retried: %s", error)
        metrics.aborts.labels(self.config.input_topic).inc()
        with self._watched("abort_transaction"):
            self.producer.abort_transaction(API_TIMEOUT_S)
        self.handler.aborted()
        assigned = {tp.partition for tp in self.consumer.assignment()}
        for partition, offset in first_offsets.items():
            if partition in assigned:
                self.consumer.seek(TopicPartition(self.config.input_topic, partition, offset))

