"""kafkalog's pure parts: the follower's sorting of records under the error policy, the one
dead-letter writer, the acknowledged output, the client presets, the session decoder."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Message
from prometheus_client import CollectorRegistry, Counter

from kafkalog import presets
from kafkalog.dead_letters import DeadLetters
from kafkalog.decoding import (
    SessionRecord,
    Unusable,
    UnusableRecordError,
    avro_decoder,
    decode_session,
)
from kafkalog.follower import Follower, Park, Skip
from kafkalog.output import AckedOutput
from kafkalog.records import is_fatal, next_offsets
from schemas import codec
from schemas import models as m
from schemas.topics import session_key

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def record(value: bytes | None, partition: int = 0, offset: int = 0, **kw: Any) -> Message:
    return Message(topic="t.events", partition=partition, offset=offset, value=value, **kw)


def error(code: int, partition: int = 0, *, fatal: bool = False) -> Message:
    return Message(
        topic="t.events", partition=partition, error=KafkaError(code, "test", fatal=fatal)
    )


def sent(seq: int, cid: str = "c1") -> bytes:
    meta = m.EventMeta(
        event_id=f"{cid}/{seq}",
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id="ann", device_id="d"),
        client_msg_id=f"k{seq}",
        command_id=f"c{seq}",
        occurred_at=NOW,
    )
    return codec.encode(m.MessageSent(meta=meta, body=m.PlainBody(text="hi")))


class FakeConsumer:
    """Hands out prepared batches, as `consume` does; a pure-logic fake (no Kafka here)."""

    def __init__(self, *batches: list[Message]) -> None:
        self.batches = list(batches)

    def consume(self, num_messages: int, timeout: float) -> list[Message]:
        return self.batches.pop(0) if self.batches else []

    def poll(self, timeout: float) -> Message | None:
        return None


class FakeProducer:
    def __init__(self, full_times: int = 0, fail: KafkaError | None = None, left: int = 0) -> None:
        self.full_times = full_times
        self.fail = fail
        self.left = left
        self.produced: list[dict[str, Any]] = []
        self.polled = 0

    def produce(self, topic: str, **kw: Any) -> None:
        if self.full_times:
            self.full_times -= 1
            raise BufferError("queue full")
        self.produced.append({"topic": topic, **kw})
        kw["on_delivery"](self.fail, Message(topic=topic, partition=0, offset=0))

    def poll(self, timeout: float) -> int:
        self.polled += 1
        return 0

    def flush(self, timeout: float) -> int:
        return self.left


def counter(name: str, label: str) -> Counter:
    return Counter(name, "test", [label], registry=CollectorRegistry())


def follower(consumer: FakeConsumer, producer: FakeProducer, **kw: Any) -> Follower[Any]:
    parked = DeadLetters("t.dead-letters", "t-history", counter("parked", "input"))
    decode = avro_decoder((m.MessageSent,), "an event")
    sink = AckedOutput(producer)  # type: ignore[arg-type]
    return Follower(consumer, decode, Park(parked, sink), **kw)  # type: ignore[arg-type]


def test_usable_records_decode_in_order_and_the_unusable_are_parked_with_their_source() -> None:
    producer = FakeProducer()
    outcome = codec.encode(m.CommandRejected(code=m.RejectionCode.INVALID, reason="no"))
    batch = [
        record(sent(1), offset=10, key=b"c1"),
        record(b"not avro", offset=11, key=b"c1"),
        record(outcome, offset=12),
        record(sent(2), offset=13),
    ]
    found = follower(FakeConsumer(batch), producer).next(100, idle_s=0)
    assert [(d.offset, d.value.meta.seq) for d in found] == [(10, 1), (13, 2)]
    parked = producer.produced
    assert [r["value"] for r in parked] == [b"not avro", batch[2].value()]
    assert (parked[0]["topic"], parked[0]["partition"], parked[0]["key"]) == (
        "t.dead-letters",
        0,
        b"c1",
    )
    named = dict(parked[0]["headers"])
    assert named["source-topic"] == b"t.events"
    assert named["source-partition"] == b"0"
    assert named["source-offset"] == b"11"
    assert named["consumer"] == b"t-history"
    assert b"is not an event" in dict(parked[1]["headers"])["reason"]
    assert next_offsets(batch) == {0: 14}, "the position passes the parked records too"


def test_a_follower_without_a_position_skips_and_counts_instead() -> None:
    skipped: list[str] = []
    decode = avro_decoder((m.MessageSent,), "an event")
    consumer = FakeConsumer([record(b"\x00bad"), record(sent(1), offset=1)])
    reader = Follower(consumer, decode, Skip(skipped.append))  # type: ignore[arg-type]
    assert [d.offset for d in reader.next(10, idle_s=0)] == [1]
    assert skipped == ["t.events"]


def test_transport_errors_are_sorted_out_ends_reported_and_a_fatal_one_raises() -> None:
    ends: list[int] = []
    errors = counter("kafka_errors", "code")
    consumer = FakeConsumer(
        [error(KafkaError._PARTITION_EOF, 3), error(KafkaError._TRANSPORT), record(sent(1))],
        [error(KafkaError._FATAL, fatal=True)],
    )
    reader = follower(consumer, FakeProducer(), on_end=ends.append, kafka_errors=errors)
    assert [d.value.meta.seq for d in reader.next(10, idle_s=0)] == [1]
    assert ends == [3]
    assert errors.labels("_TRANSPORT")._value.get() == 1
    with pytest.raises(KafkaException):
        reader.next(10, idle_s=0)


def test_a_fenced_static_member_raises_though_its_error_says_not_fatal() -> None:
    """Seen in `python -m bench chaos`: after a broker restart the fan-out's consumer got
    `_FATAL` ("static consumer fenced by other consumer with same group.instance.id") on a
    record, with `fatal()` False; logged and skipped, it left the fan-out alive and
    pushing nothing. It must stop the process, so that the supervisor restarts it."""
    fenced = KafkaError(KafkaError._FATAL, "static consumer fenced", fatal=False)
    assert is_fatal(fenced)
    assert not is_fatal(KafkaError(KafkaError._TRANSPORT, "broker down"))
    consumer = FakeConsumer([error(KafkaError._FATAL, fatal=False)])
    reader = follower(consumer, FakeProducer())
    with pytest.raises(KafkaException):
        reader.next(10, idle_s=0)


def test_a_bug_in_decoding_is_not_an_unusable_record() -> None:
    """Only UnusableRecordError is the policy's: anything else stops the worker."""

    def broken(record: Message) -> object:
        raise KeyError("a bug")

    producer = FakeProducer()
    reader = follower(FakeConsumer([record(sent(1))]), producer)
    reader.decode_record = broken
    with pytest.raises(KeyError):
        reader.next(10, idle_s=0)
    assert producer.produced == []


def test_a_full_queue_waits_and_a_record_not_acknowledged_fails_the_flush() -> None:
    waiting = FakeProducer(full_times=2)
    out = AckedOutput(waiting)  # type: ignore[arg-type]
    out.produce("t", 0, None, b"v")
    out.flush()
    assert [r["value"] for r in waiting.produced] == [b"v"] and waiting.polled == 2

    timed_out = FakeProducer(fail=KafkaError(KafkaError._MSG_TIMED_OUT))
    failing = AckedOutput(timed_out)  # type: ignore[arg-type]
    failing.produce("t", 0, None, b"v")
    with pytest.raises(KafkaException) as raised:
        failing.flush()
    assert not raised.value.args[0].fatal(), "retried by restarting the worker, not fatal"
    failing.flush()  # reported once

    with pytest.raises(KafkaException):
        AckedOutput(FakeProducer(left=1)).flush(0.01)  # type: ignore[arg-type]


def test_session_records_decode_to_a_user_node_and_entry_or_are_unusable() -> None:
    entry = m.UserOnNode(user_id="ann", node=2, devices=1, active_devices=1, expires_at=NOW)
    key = session_key("ann", 2)
    assert decode_session(record(codec.encode(entry), key=key)) == SessionRecord("ann", 2, entry)
    assert decode_session(record(None, key=key)) == SessionRecord("ann", 2, None)
    for bad in (record(None), record(None, key=b"no separator")):
        with pytest.raises(UnusableRecordError) as raised:
            decode_session(bad)
        assert raised.value.kind is Unusable.MALFORMED
    with pytest.raises(UnusableRecordError) as raised:
        decode_session(record(sent(1), key=key))
    assert raised.value.kind is Unusable.UNEXPECTED


def test_the_presets_are_the_measured_values() -> None:
    """Regression guard: a preset changes only on purpose, with a benchmark (the values
    below are those measured in docs/performance.md)."""
    processor = presets.group_consumer("b", presets.PROCESSOR, group_id="g", instance_id="g-0")
    assert processor == {
        "bootstrap.servers": "b",
        "group.id": "g",
        "group.instance.id": "g-0",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "isolation.level": "read_committed",
        "reconnect.backoff.max.ms": 1_000,
        "fetch.wait.max.ms": 500,
        "session.timeout.ms": 10_000,
        "heartbeat.interval.ms": 1_000,
    }
    view = presets.group_consumer("b", presets.VIEW, group_id="g", instance_id="g-0")
    assert view == {**processor, "enable.partition.eof": True}
    follower = presets.private_reader("b", presets.FOLLOWER, committed_only=False)
    assert follower["group.id"] != presets.private_reader("b", presets.FOLLOWER)["group.id"]
    assert {k: v for k, v in follower.items() if k != "group.id"} == {
        "bootstrap.servers": "b",
        "enable.auto.commit": False,
        "isolation.level": "read_uncommitted",
        "reconnect.backoff.max.ms": 1_000,
        "fetch.wait.max.ms": 500,
        "enable.partition.eof": True,
    }
    job = presets.group_consumer("b", presets.JOB, group_id="g", instance_id="g-0")
    assert (job["session.timeout.ms"], job["max.poll.interval.ms"]) == (30_000, 1_800_000)
    assert "fetch.wait.max.ms" not in job
    replay = presets.private_reader("b", presets.REPLAY)
    assert "fetch.wait.max.ms" not in replay and replay["enable.partition.eof"] is True
    assert presets.producer("b", presets.TRANSACTIONAL, transactional_id="t", debug="eos") == {
        "bootstrap.servers": "b",
        "transactional.id": "t",
        "reconnect.backoff.max.ms": 1_000,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 0,
        "transaction.timeout.ms": 60_000,
        "retry.backoff.ms": 2,
        "retry.backoff.max.ms": 20,
        "debug": "eos",
    }
    assert presets.producer("b", presets.IMMEDIATE) == {
        "bootstrap.servers": "b",
        "reconnect.backoff.max.ms": 1_000,
        "enable.idempotence": True,
        "linger.ms": 0,
    }
    assert presets.producer("b", presets.LINGERING)["linger.ms"] == 5
    assert presets.producer("b", presets.AUDITED) == {
        "bootstrap.servers": "b",
        "reconnect.backoff.max.ms": 1_000,
        "enable.idempotence": True,
        "delivery.timeout.ms": 10_000,
        "linger.ms": 0,
    }
    assert "linger.ms" not in presets.producer("b", presets.PARKING)
    with pytest.raises(ValueError, match="transactional id"):
        presets.producer("b", presets.TRANSACTIONAL)
