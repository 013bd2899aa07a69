"""Test-side access to the real broker: per-test topics, command producer, log readers."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from infra.topics import ensure_topics
from kafkalog.records import header_pairs, position
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import REPLY_PARTITION_HEADER, Topics, declare_topics

BOOTSTRAP = os.environ.get("PARLEY_KAFKA_BOOTSTRAP", "127.0.0.1:19092")


def fresh_topics(partitions: int = 4) -> Topics:
    """Topics of their own for one test."""
    topics = declare_topics(f"t{uuid.uuid4().hex[:10]}", partitions=partitions)
    ensure_topics(BOOTSTRAP, topics)
    return topics


def command_meta(
    conversation_id: str, user: str, device: str | None = None, client_msg_id: str | None = None
) -> m.CommandMeta:
    return m.CommandMeta(
        command_id=str(uuid.uuid4()),
        conversation_id=conversation_id,
        actor=m.Actor(user_id=user, device_id=device or f"{user}-phone"),
        client_msg_id=client_msg_id or str(uuid.uuid4()),
        issued_at=datetime.now(UTC),
    )


def create_conversation(
    cid: str, owner: str, *members: str, kind: m.ConversationKind = m.ConversationKind.GROUP
) -> m.CreateConversation:
    return m.CreateConversation(
        meta=command_meta(cid, owner),
        kind=kind,
        name=cid if kind == m.ConversationKind.GROUP else None,
        members=tuple(m.Member(user_id=u, role=m.Role.MEMBER) for u in members),
    )


def event_meta(cid: str, seq: int, user: str = "u0") -> m.EventMeta:
    return m.EventMeta(
        event_id=f"{cid}/{seq}",
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-phone"),
        client_msg_id=f"{cid}-{seq}",
        command_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )


class EventWriter:
    """Writes events straight to the events topic, as the sequencer would (keyed and
    partitioned by conversation): for a reader of the log under test, without a sequencer."""

    def __init__(self, topics: Topics) -> None:
        self.topics = topics
        self.producer = Producer(
            {"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "linger.ms": 1}
        )

    def write(self, event: Any, raw: bytes | None = None) -> None:
        cid = event.meta.conversation_id
        self.producer.produce(
            self.topics.events.name,
            key=cid,
            value=raw if raw is not None else codec.encode(event),
            partition=partition_for(cid, self.topics.events.partitions),
        )
        self.producer.poll(0)

    def flush(self) -> None:
        if self.producer.flush(30) != 0:
            raise AssertionError("events were not all delivered within 30 s")


def send_paced(out: CommandProducer, first: Iterable[Any], steps: Iterable[Iterable[Any]]) -> None:
    """`first` (flushed before the rest), then each step's commands, flushed with a pause of
    0.1 s every ten steps: a stream of a few seconds, so that a kill -9 lands while a view
    applies its batches."""
    for command in first:
        out.send(command)
    out.flush()
    for i, commands in enumerate(steps):
        for command in commands:
            out.send(command)
        if i % 10 == 0:
            out.flush()
            time.sleep(0.1)
    out.flush()


class CommandProducer:
    """Produces commands as the edge will: keyed and partitioned by conversation."""

    def __init__(self, topics: Topics, reply_partition: int = 0) -> None:
        self.topics = topics
        self.reply_partition = reply_partition
        self.producer = Producer(
            {"bootstrap.servers": BOOTSTRAP, "enable.idempotence": True, "linger.ms": 1}
        )

    def send(
        self, command: Any, *, raw: bytes | None = None, conversation_id: str | None = None
    ) -> None:
        cid = conversation_id or command.meta.conversation_id
        self.producer.produce(
            self.topics.commands.name,
            key=cid,
            value=raw if raw is not None else codec.encode(command),
            partition=partition_for(cid, self.topics.commands.partitions),
            headers=[(REPLY_PARTITION_HEADER, str(self.reply_partition).encode())],
        )
        self.producer.poll(0)

    def send_raw(self, conversation_id: str, value: bytes) -> None:
        self.producer.produce(
            self.topics.commands.name,
            key=conversation_id,
            value=value,
            partition=partition_for(conversation_id, self.topics.commands.partitions),
            headers=[(REPLY_PARTITION_HEADER, str(self.reply_partition).encode())],
        )

    def flush(self) -> None:
        if self.producer.flush(30) != 0:
            raise AssertionError("commands were not all delivered within 30 s")


@dataclass
class LogRecord:
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: dict[str, bytes]


def read_committed(
    topic: str, *, expected: int, deadline_s: float = 60.0, partitions: Iterable[int] | None = None
) -> list[LogRecord]:
    """Read `topic` from the start with a fresh read_committed consumer until `expected`
    records arrived (and every partition reached its end), or the deadline passed."""
    consumer = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            "auto.offset.reset": "earliest",
        }
    )
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    chosen = sorted(partitions) if partitions is not None else sorted(metadata.partitions)
    consumer.assign([TopicPartition(topic, p, 0) for p in chosen])
    records: list[LogRecord] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + deadline_s
    try:
        while time.monotonic() < deadline:
            for msg in consumer.consume(num_messages=1000, timeout=0.2):
                error = msg.error()
                if error is not None:
                    if error.code() == KafkaError._PARTITION_EOF:
                        at_end.add(position(msg)[0])
                        continue
                    raise KafkaException(error)
                partition, offset = position(msg)
                at_end.discard(partition)
                records.append(
                    LogRecord(
                        partition,
                        offset,
                        msg.key(),
                        msg.value() or b"",
                        {k: v for k, v in header_pairs(msg) if isinstance(v, bytes)},
                    )
                )
            if len(records) >= expected and at_end >= set(chosen):
                break
    finally:
        consumer.close()
    return records


def decoded(records: list[LogRecord]) -> list[Any]:
    """Typed records; `Any` so that tests read `.meta` of events without casts."""
    return [codec.decode(r.value) for r in records]
