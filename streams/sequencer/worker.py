"""The Kafka loop around `decide`/`evolve`: consume commands, produce events, in transactions.

Per batch: decide each command against state (with the batch's own earlier events folded
in), produce events to the same partition number of the events topic, outcomes to the
requester's reply partition, undecodable records to the dead-letter topic, then commit the
input offsets in the same transaction. State reaches RocksDB only after the commit.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.models import RejectionCode
from schemas.partitioning import partition_for
from schemas.topics import Topics
from streams.sequencer.decide import (
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    Unchanged,
    decide,
    evolve,
)
from streams.sequencer.rules import DEFAULT_LIMITS, Limits
from streams.sequencer.state import SequencerState
from streams.sequencer.watchdog import StuckCallWatchdog

log = logging.getLogger("parley.sequencer")

REPLY_PARTITION_HEADER = "parley-reply-partition"
API_TIMEOUT_S = 10
COMMAND_TYPES = tuple(
    t for t in m.RECORD_TYPES.values() if t.avro_name.startswith("parley.command.")
)


@dataclass
class _Batch:
    """What one transaction will write, and where its input started."""

    first_offsets: dict[int, int] = field(default_factory=dict)
    next_offsets: dict[int, int] = field(default_factory=dict)
    event_offsets: dict[int, int] = field(default_factory=dict)


@dataclass
class BatchStats:
    """Transactions per interval, logged so that an operator sees batch size and cost."""

    interval_s: float = 5.0
    batches: int = 0
    commands: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    since: float = field(default_factory=time.monotonic)

    def record(self, commands: int, seconds: float) -> None:
        self.batches += 1
        self.commands += commands
        self.total_s += seconds
        self.max_s = max(self.max_s, seconds)
        if time.monotonic() - self.since >= self.interval_s:
            log.info(
                "%d transactions, %d commands, %.1f per transaction, %.1f ms mean, %.1f ms max",
                self.batches,
                self.commands,
                self.commands / self.batches,
                1000 * self.total_s / self.batches,
                1000 * self.max_s,
            )
            self.batches = self.commands = 0
            self.total_s = self.max_s = 0.0
            self.since = time.monotonic()


def position(record: Message) -> tuple[int, int]:
    """A consumed or delivered record's (partition, offset); both are always set there."""
    partition, offset = record.partition(), record.offset()
    if partition is None or offset is None:
        raise KafkaException(KafkaError(KafkaError._BAD_MSG, "record without a position"))
    return partition, offset


def header_pairs(record: Message) -> list[tuple[str, str | bytes | None]]:
    headers = record.headers() or []
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


class ConversationSequencer:
    """The only writer of the events topic."""

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Topics,
        state: SequencerState,
        group_id: str,
        transactional_id: str,
        limits: Limits = DEFAULT_LIMITS,
        max_batch: int = 1000,
        max_command_bytes: int = 256 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        kafka_debug: str = "",
        watchdog: StuckCallWatchdog | None = None,
    ) -> None:
        self.watchdog = watchdog
        self.topics = topics
        self.state = state
        self.limits = limits
        self.max_batch = max_batch
        self.max_command_bytes = max_command_bytes
        self.clock = clock
        self.bootstrap = bootstrap
        self.stopping = threading.Event()
        self.processed = 0
        self.stats = BatchStats()
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "transactional.id": transactional_id,
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 0,
                "transaction.timeout.ms": 60_000,
                "retry.backoff.ms": 2,
                "retry.backoff.max.ms": 20,
                **({"debug": kafka_debug} if kafka_debug else {}),
            }
        )
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group_id,
                "group.instance.id": transactional_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 5,
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 1_000,
                **({"debug": kafka_debug} if kafka_debug else {}),
            }
        )

    def run(self) -> None:
        """Process until `stop()`; a fatal Kafka error ends the loop by raising."""
        self.producer.init_transactions(60)
        self.consumer.subscribe([self.topics.commands.name], on_assign=self._on_assign)
        try:
            while not self.stopping.is_set():
                records = self._next_batch()
                live = [r for r in records if not self._is_transport_error(r)]
                if live and self.watchdog is not None:
                    with self.watchdog.watch("a transaction"):
                        self._process(live)
                elif live:
                    self._process(live)
        finally:
            self.consumer.close()

    def _next_batch(self) -> list[Message]:
        """What is already fetched, without waiting to fill a batch; blocks only when idle."""
        records: list[Message] = self.consumer.consume(num_messages=self.max_batch, timeout=0)
        if records:
            return records
        first = self.consumer.poll(0.1)
        if first is None:
            return []
        return [first, *self.consumer.consume(num_messages=self.max_batch - 1, timeout=0)]

    def stop(self) -> None:
        self.stopping.set()

    def _is_transport_error(self, record: Message) -> bool:
        error = record.error()
        if error is None:
            return False
        if error.fatal():
            raise KafkaException(error)
        log.warning("consumer: %s", error)
        return True

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Bring state up to the committed end of each assigned partition's events.

        Fetching committed offsets first waits (read_committed: stable offsets) until any
        transaction of the partition's previous owner has completed.
        """
        consumer.committed(partitions, timeout=60)
        applied = self._catch_up([tp.partition for tp in partitions])
        log.info(
            "assigned %s: state caught up, %d events applied",
            sorted(tp.partition for tp in partitions),
            applied,
        )

    def _catch_up(self, partitions: list[int]) -> int:
        if not partitions:
            return 0
        reader = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"catch-up-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "enable.partition.eof": True,
            }
        )
        positions = {p: self.state.applied_offset(p) for p in partitions}
        reader.assign([TopicPartition(self.topics.events.name, p, o) for p, o in positions.items()])
        applied = 0
        pending = set(partitions)
        try:
            while pending:
                for record in reader.consume(num_messages=1000, timeout=0.05):
                    error = record.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise KafkaException(error)
                        pending.discard(position(record)[0])
                        continue
                    event = cast(m.Event, codec.decode(record.value() or b""))
                    applied += evolve(self.state, event)
                    partition, offset = position(record)
                    positions[partition] = offset + 1
        finally:
            reader.close()
        self.state.flush(positions)
        return applied

    def _process(self, records: list[Message]) -> None:
        began = time.perf_counter()
        batch = _Batch()
        self.producer.begin_transaction()
        try:
            for record in records:
                partition, offset = position(record)
                batch.first_offsets.setdefault(partition, offset)
                batch.next_offsets[partition] = offset + 1
                self._handle(record, batch)
            offsets = [
                TopicPartition(self.topics.commands.name, p, o)
                for p, o in batch.next_offsets.items()
            ]
            self.producer.send_offsets_to_transaction(
                offsets, self.consumer.consumer_group_metadata(), API_TIMEOUT_S
            )
            self._commit()
        except KafkaException as e:
            self._abort(batch, e)
            return
        self.state.flush({p: o + 1 for p, o in batch.event_offsets.items()})
        self.processed += len(records)
        self.stats.record(len(records), time.perf_counter() - began)

    def _commit(self) -> None:
        while True:
            try:
                self.producer.commit_transaction(API_TIMEOUT_S)
                return
            except KafkaException as e:
                if not e.args[0].retriable():
                    raise
                log.warning("commit retry: %s", e)

    def _abort(self, batch: _Batch, error: KafkaException) -> None:
        kafka_error = error.args[0]
        if not kafka_error.txn_requires_abort():
            raise error
        log.warning("transaction aborted, batch will be retried: %s", error)
        self.producer.abort_transaction(API_TIMEOUT_S)
        self.state.discard()
        assigned = {tp.partition for tp in self.consumer.assignment()}
        for partition, offset in batch.first_offsets.items():
            if partition in assigned:
                self.consumer.seek(TopicPartition(self.topics.commands.name, partition, offset))

    def _handle(self, record: Message, batch: _Batch) -> None:
        value = record.value() or b""
        reply_partition = self._reply_partition(record)
        try:
            command = codec.decode(value)
        except UnknownSchemaError as e:
            self._dead_letter(record, str(e))
            self._reject(reply_partition, None, RejectionCode.UNKNOWN_SCHEMA, str(e))
            return
        except MalformedRecordError as e:
            self._dead_letter(record, str(e))
            self._reject(reply_partition, None, RejectionCode.MALFORMED, str(e))
            return
        if not isinstance(command, COMMAND_TYPES):
            reason = f"{command.avro_name} is not a command"
            self._dead_letter(record, reason)
            self._reject(reply_partition, None, RejectionCode.INVALID, reason)
            return
        meta: m.CommandMeta = command.meta  # type: ignore[attr-defined]
        if reply_partition is None:
            reply_partition = partition_for(meta.conversation_id, self.topics.outcomes.partitions)
        if len(value) > self.max_command_bytes:
            self._reject(
                reply_partition,
                meta,
                RejectionCode.TOO_LARGE,
                f"command is {len(value)} bytes; the limit is {self.max_command_bytes}",
            )
            return
        if (
            partition_for(meta.conversation_id, self.topics.commands.partitions)
            != position(record)[0]
        ):
            self._reject(
                reply_partition,
                meta,
                RejectionCode.INVALID,
                "command is in the wrong partition for its conversation",
            )
            return
        decision = decide(self.state, cast(m.Command, command), self.clock(), self.limits)
        self._answer(position(record)[0], reply_partition, meta, decision, batch)

    def _answer(
        self,
        partition: int,
        reply_partition: int,
        meta: m.CommandMeta,
        decision: Decision,
        batch: _Batch,
    ) -> None:
        if isinstance(decision, Rejected):
            self._reject(reply_partition, meta, decision.code, decision.reason)
            return
        seq: int | None = None
        if isinstance(decision, Accepted):
            evolve(self.state, decision.event)
            seq = decision.event.meta.seq
            self._produce(
                self.topics.events.name,
                partition,
                meta.conversation_id,
                codec.encode(decision.event),
                on_delivery=batch.event_offsets,
            )
        elif isinstance(decision, Duplicate):
            seq = decision.seq
        elif not isinstance(decision, Unchanged):
            raise TypeError(decision)
        accepted = m.CommandAccepted(
            command_id=meta.command_id,
            conversation_id=meta.conversation_id,
            actor=meta.actor,
            client_msg_id=meta.client_msg_id,
            seq=seq,
            duplicate=isinstance(decision, Duplicate),
        )
        self._produce(
            self.topics.outcomes.name, reply_partition, meta.conversation_id, codec.encode(accepted)
        )

    def _reject(
        self,
        reply_partition: int | None,
        meta: m.CommandMeta | None,
        code: RejectionCode,
        reason: str,
    ) -> None:
        if reply_partition is None:
            return
        rejected = m.CommandRejected(
            command_id=meta.command_id if meta else None,
            conversation_id=meta.conversation_id if meta else None,
            actor=meta.actor if meta else None,
            client_msg_id=meta.client_msg_id if meta else None,
            code=code,
            reason=reason,
        )
        key = meta.conversation_id if meta else None
        self._produce(self.topics.outcomes.name, reply_partition, key, codec.encode(rejected))

    def _dead_letter(self, record: Message, reason: str) -> None:
        headers: list[tuple[str, str | bytes | None]] = [
            ("source-topic", (record.topic() or "").encode()),
            ("source-partition", str(record.partition()).encode()),
            ("source-offset", str(record.offset()).encode()),
            ("reason", reason.encode()),
        ]
        self._produce(
            self.topics.dead_letters.name, 0, record.key(), record.value() or b"", headers=headers
        )

    def _reply_partition(self, record: Message) -> int | None:
        for name, value in header_pairs(record):
            if name == REPLY_PARTITION_HEADER and value is not None:
                try:
                    partition = int(value)
                except ValueError:
                    return None
                return partition if 0 <= partition < self.topics.outcomes.partitions else None
        return None

    def _produce(
        self,
        topic: str,
        partition: int,
        key: str | bytes | None,
        value: bytes,
        *,
        headers: list[tuple[str, str | bytes | None]] | None = None,
        on_delivery: dict[int, int] | None = None,
    ) -> None:
        def delivered(err: KafkaError | None, msg: Message) -> None:
            if err is None and on_delivery is not None:
                p, o = position(msg)
                on_delivery[p] = max(on_delivery.get(p, -1), o)

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
