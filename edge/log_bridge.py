"""Between asyncio and Kafka: followers that feed records to the event loop, and the
gateway that turns client requests into commands and waits for their outcomes.

confluent-kafka blocks, so each follower polls in a thread of its own and hands records
to the loop with `call_soon_threadsafe`; the loop never waits on Kafka.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from collections.abc import Callable
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from projections.batches import next_batch
from schemas import codec
from schemas.partitioning import partition_for
from schemas.record import AvroRecord
from schemas.topics import REPLY_PARTITION_HEADER, TopicSpec
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing, inject

log = logging.getLogger("parley.edge")


class LogFollower:
    """Follows partitions of one topic from given offsets; `ready` is set once it has read
    up to the high watermarks it saw when it started."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        partitions: list[int],
        *,
        from_end: bool,
        on_record: Callable[[Message], None],
        loop: asyncio.AbstractEventLoop,
        committed_only: bool = True,
        lag: LagSampler | None = None,
    ) -> None:
        self.loop = loop
        self.topic = topic
        self.on_record = on_record
        self.lag = lag
        self.ready = asyncio.Event()
        self.stopping = threading.Event()
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"edge-follower-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed" if committed_only else "read_uncommitted",
                "fetch.wait.max.ms": 5,
                "enable.partition.eof": True,
            }
        )
        highs = {
            p: self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in partitions
        }
        starts = highs if from_end else dict.fromkeys(partitions, 0)
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

    def _run(self) -> None:
        """Transient errors are logged and retried; a fatal one ends the process, because an
        edge that silently stopped following would answer every request with a timeout."""
        try:
            while not self.stopping.is_set():
                try:
                    self._follow_once()
                except KafkaException as e:
                    if e.args[0].fatal():
                        log.critical("follower of %s failed for good: %s", self.topic, e)
                        os._exit(70)
                    log.warning("follower of %s: %s; retrying", self.topic, e)
                    self.stopping.wait(1.0)
        finally:
            self.consumer.close()

    def _follow_once(self) -> None:
        for record in next_batch(self.consumer, 500, idle_s=0.05):
            error = record.error()
            if error is None:
                self.loop.call_soon_threadsafe(self.on_record, record)
            elif error.code() == KafkaError._PARTITION_EOF:
                self._reached_end(record.partition())
            elif error.fatal():
                raise KafkaException(error)
            else:
                log.warning("follower of %s: %s", self.topic, error)
        if self.lag is not None:
            self.lag.maybe_sample(self.consumer)

    def _reached_end(self, partition: int | None) -> None:
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
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "enable.idempotence": True,
                "linger.ms": 0,
            }
        )
        self.follower = LogFollower(
            bootstrap,
            outcomes.name,
            [node],
            from_end=True,
            on_record=self._on_outcome,
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
            )
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self.waiting.pop(command_id, None)

    def _on_outcome(self, record: Message) -> None:
        try:
            outcome = codec.decode(record.value() or b"")
        except Exception:
            log.exception("undecodable outcome")
            return
        command_id = getattr(outcome, "command_id", None)
        future = self.waiting.get(command_id) if isinstance(command_id, str) else None
        if future is not None and not future.done():
            future.set_result(outcome)

    def _poll(self) -> None:
        while not self.stopping.is_set():
            self.producer.poll(0.1)
