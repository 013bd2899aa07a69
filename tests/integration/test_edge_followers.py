"""An edge node's followers under kafkalog's policy, on the real broker: an unusable record
is skipped and counted (a node keeps no position and many nodes read the same records, so
none parks it), and a handler that raises stops the node instead of being logged past."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from confluent_kafka import Producer

from edge.log_bridge import LogFollower, decode_account_event
from kafkalog.follower import Decoded
from schemas import codec
from schemas import models as m
from schemas.record import AvroRecord
from tests.integration.log import BOOTSTRAP, fresh_topics, read_committed


def account_event(seq: int, event_type: type, **fields: object) -> bytes:
    meta = m.AccountEventMeta(
        event_id=f"ann/{seq}",
        user_id="ann",
        seq=seq,
        device_id="d-1",
        command_id=f"c{seq}",
        client_msg_id=f"k{seq}",
        occurred_at=datetime.now(UTC),
    )
    return codec.encode(event_type(meta=meta, **fields))


def write(topic: str, values: list[bytes]) -> None:
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    for value in values:
        producer.produce(topic, key=b"ann", value=value, partition=0)
    if producer.flush(30) != 0:
        raise AssertionError("records not delivered")


async def follow(
    topic: str, on_record: object, failures: list[tuple[str, BaseException]]
) -> tuple[LogFollower[AvroRecord], list[str]]:
    skipped: list[str] = []
    follower = LogFollower(
        BOOTSTRAP,
        topic,
        [0],
        from_end=False,
        decode=decode_account_event,
        on_record=on_record,  # type: ignore[arg-type]
        skipped=skipped.append,
        loop=asyncio.get_running_loop(),
        on_failure=lambda what, error: failures.append((what, error)),
    )
    follower.start()
    await asyncio.wait_for(follower.ready.wait(), 30)
    return follower, skipped


async def test_an_unusable_record_is_skipped_and_counted_not_parked(kafka_bootstrap: str) -> None:
    topics = fresh_topics(partitions=1)
    registered = account_event(
        1, m.AccountRegistered, display_name="Ann", password_hash="$argon2id$x"
    )
    changed = account_event(2, m.ProfileChanged, display_name="Ann B")
    write(topics.accounts.name, [registered, b"not avro", changed])
    applied: list[Decoded[AvroRecord]] = []
    failures: list[tuple[str, BaseException]] = []
    follower, skipped = await follow(topics.accounts.name, applied.append, failures)
    try:
        async with asyncio.timeout(30):
            while len(applied) < 2:
                await asyncio.sleep(0.01)
    finally:
        follower.stop()
    assert [(r.offset, type(r.value)) for r in applied] == [
        (0, m.AccountRegistered),
        (2, m.ProfileChanged),
    ]
    assert skipped == [topics.accounts.name]
    assert failures == []
    assert read_committed(topics.dead_letters.name, expected=0, deadline_s=5) == []


async def test_a_handler_that_raises_stops_the_node(kafka_bootstrap: str) -> None:
    """Regression: the edge's record callbacks caught every exception and logged it, so a
    bug in one left the node serving from state that had missed a record."""
    topics = fresh_topics(partitions=1)
    write(topics.accounts.name, [account_event(1, m.ProfileChanged, display_name="Ann")])
    failures: list[tuple[str, BaseException]] = []

    def broken(record: Decoded[AvroRecord]) -> None:
        raise RuntimeError("a bug in a handler")

    follower, _ = await follow(topics.accounts.name, broken, failures)
    try:
        async with asyncio.timeout(30):
            while not failures:
                await asyncio.sleep(0.01)
    finally:
        follower.stop()
    what, error = failures[0]
    assert what == f"applying {topics.accounts.name}[0]@0"
    assert isinstance(error, RuntimeError)
