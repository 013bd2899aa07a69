"""Between asyncio and Kafka: followers that feed records to the event loop, and the
gateway that turns client requests into commands and waits for their outcomes.

confluent-kafka blocks, so each follower polls and decodes in a thread of its own and
hands records to the loop with `call_soon_threadsafe`; the loop never waits on Kafka. The
reading, decoding and error policy are kafkalog's (see `LogFollower`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, get_args

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kafkalog.decoding import Decoder, avro_decoder
from kafkalog.follower import Decoded, Follower, Skip
from kafkalog.presets import FOLLOWER, IMMEDIATE, private_reader, producer
from kafkalog.records import is_fatal
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.record import AvroRecord
from schemas.topics import REPLY_PARTITION_HEADER, TopicSpec
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing, inject

log = logging.getLogger("parley.edge")
T = TypeVar("T")
BATCH = 500
IDLE_S = 0.05
RETRY_PAUSE_S = 1.0
EXIT_SOFTWARE = 70
"""sysexits' EX_SOFTWARE: the supervisor restarts the node."""
OUTCOME_TYPES: tuple[type[AvroRecord], ...] = tuple(
    t for t in m.RECORD_TYPES.values() if t.avro_name.startswith("parley.outcome.")
)
decode_outcome: Decoder[AvroRecord] = avro_decoder(OUTCOME_TYPES, "an outcome")
decode_account_event: Decoder[AvroRecord] = avro_decoder(
    get_args(m.AccountEvent), "an account event"
)
Skipped = Callable[[str], None]
"""Counts one unusable record of a topic that a follower passed over."""


def stop_node(what: str, error: BaseException) -> None:
    """The edge's end of kafkalog's policy for anything but an unusable record: an edge node
    that silently stopped following, or missed a record, would serve timeouts or wrong
    answers, so it exits and its clients reconnect to another node while it restarts."""
    log.critical("%s failed; stopping this edge node", what, exc_info=error)
    logging.shutdown()
    os._exit(EXIT_SOFTWARE)


class LogFollower(Generic[T]):
    """Follows partitions of one topic from their start, their end, or given offsets
    (`start_at`, a window's start: kafkalog/window.py); `ready` is set once it has read up
    to the high watermarks it saw when it started.

    Records are decoded once, in the follower's thread; `apply` runs on the event loop,
    one record at a time in log order. Error policy (kafkalog's, for a follower that keeps
    no position): an unusable record is skipped and counted (`skipped`); a transient Kafka
    error is retried after a pause; a fatal one, or an exception from `on_record` (a bug),
    goes to `on_failure`, which stops the node.
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: list[int],
        *,
        from_end: bool,
        decode: Decoder[T],
        on_record: Callable[[Decoded[T]], None],
        skipped: Skipped,
        loop: asyncio.AbstractEventLoop,
        committed_only: bool = True,
        lag: LagSampler | None = None,
        on_failure: Callable[[str, BaseException], None] = stop_node,
        start_at: dict[int, int] | None = None,
    ) -> None:
        self.loop = loop
        self.topic = topic
        self.on_record = on_record
        self.on_failure = on_failure
        self.ready = asyncio.Event()
        self.stopping = threading.Event()
        self.consumer = Consumer(
            private_reader(bootstrap, FOLLOWER, committed_only=committed_only, name="edge-follower")
        )
        self.follower = Follower(
            self.consumer, decode, Skip(skipped), on_end=self._reached_end, lag=lag
        )
        highs = {
            p: self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        starts = highs if from_end else dict.fromkeys(partitions, 0)
        if start_at is not None:
            starts = {p: min(start_at.get(p, 0), highs[p]) for p in partitions}
        self.pending = {p for p in partitions if starts[p] < highs[p]}
        self.consumer.assign([TopicPartition(topic, p, o) for p, o in starts.items()])
        if not self.pending:
            self.ready.set()
        self.thread = threading.Thread(target=self._run, name=f"follow-{topic}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(5)

    def apply(self, item: Decoded[T]) -> None:
        """One record, on the event loop: once this returns, the record at `item.offset` of
        `item.partition` has been applied."""
        try:
            self.on_record(item)
        except Exception as e:
            self.on_failure(f"applying {self.topic}[{item.partition}]@{item.offset}", e)

    def apply_batch(self, items: list[Decoded[T]]) -> None:
        """A batch of records, in log order, on the event loop."""
        for item in items:
            self.apply(item)

    def _run(self) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    items = self.follower.next(BATCH, idle_s=IDLE_S)
                    if items:
                        # one hand-off per batch: each call wakes the loop (a write to its
                        # self-pipe), and under load a batch holds tens of records
                        self.loop.call_soon_threadsafe(self.apply_batch, items)
                except KafkaException as e:
                    if is_fatal(e.args[0]):
                        raise
                    log.warning("follower of %s: %s; retrying", self.topic, e)
                    self.stopping.wait(RETRY_PAUSE_S)
        except Exception as e:
            self.on_failure(f"the follower of {self.topic}", e)
        finally:
            self.consumer.close()

    def _reached_end(self, partition: int) -> None:
        if partition in self.pending:
            self.pending.discard(partition)
            if not self.pending:
                self.loop.call_soon_threadsafe(self.ready.set)


class CommandGateway:
    """Produces commands keyed and partitioned as the processors expect, with this node's
    reply partition, and resolves each request when its outcome arrives."""

    def __init__(
        self,
        bootstrap: str,
        outcomes: TopicSpec,
        node: int,
        loop: asyncio.AbstractEventLoop,
        *,
        skipped: Skipped,
        tracing: Tracing | None = None,
        lag: LagSampler | None = None,
    ) -> None:
        self.loop = loop
        self.node = node
        self.tracing = tracing or Tracing.off()
        self.reply_to: list[tuple[str, str | bytes | None]] = [
            (REPLY_PARTITION_HEADER, str(node).encode())
        ]
        self.waiting: dict[str, asyncio.Future[AvroRecord]] = {}
        self.producer = Producer(producer(bootstrap, IMMEDIATE))
        self.follower = LogFollower(
            bootstrap,
            outcomes.name,
            [node],
            from_end=True,
            decode=decode_outcome,
            on_record=self._on_outcome,
            skipped=skipped,
            loop=loop,
            lag=lag,
        )
        self.stopping = threading.Event()
        self.poller = threading.Thread(target=self._poll, name="producer-poll", daemon=True)

    def start(self) -> None:
        self.follower.start()
        self.poller.start()

    def stop(self) -> None:
        self.follower.stop()
        self.stopping.set()
        self.producer.flush(5)

    async def submit(
        self, topic: TopicSpec, key: str, command: Any, command_id: str, timeout_s: float
    ) -> AvroRecord:
        """Produce `command`; the outcome (accepted or rejected) for `command_id`. With
        tracing on, the command carries the context of the current span (the request's)."""
        future: asyncio.Future[AvroRecord] = self.loop.create_future()
        self.waiting[command_id] = future
        try:
            self.producer.produce(
                topic.name,
                key=key,
                value=codec.encode(command),
                partition=partition_for(key, topic.partitions),
                headers=inject(self.reply_to) if self.tracing.enabled else self.reply_to,
                on_delivery=lambda error, _: self._undelivered(command_id, error),
            )
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self.waiting.pop(command_id, None)

    def _undelivered(self, command_id: str, error: KafkaError | None) -> None:
        """In the poller's thread: a command the log never took has no outcome to wait for,
        so its request ends now, as a timeout (the client retries with the same ids)."""
        if error is not None:
            self.loop.call_soon_threadsafe(self._fail, command_id, TimeoutError(str(error)))

    def _fail(self, command_id: str, error: BaseException) -> None:
        future = self.waiting.get(command_id)
        if future is not None and not future.done():
            future.set_exception(error)

    def _on_outcome(self, record: Decoded[AvroRecord]) -> None:
        outcome = record.value
        command_id = getattr(outcome, "command_id", None)
        future = self.waiting.get(command_id) if isinstance(command_id, str) else None
        if future is not None and not future.done():
            future.set_result(outcome)

    def _poll(self) -> None:
        while not self.stopping.is_set():
            self.producer.poll(0.1)
