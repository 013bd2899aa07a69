"""Reads a topic from a point in time to its end: how a windowed reader (re)builds its state.

A reader that needs only the last day (the sweeper's book of media and its set of attached
media) starts where Kafka's time index says that day began, rather than at offset 0 of a log
kept for a week (or forever, for events), and from then on reads on from its positions.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from kafkalog.records import position
from kafkalog.replay import replay
from schemas import codec
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.record import AvroRecord
from schemas.topics import TopicSpec

log = logging.getLogger("parley.media")
TIMEOUT_S = 10.0
SETTLING = frozenset(
    {
        KafkaError.NOT_LEADER_FOR_PARTITION,
        KafkaError.LEADER_NOT_AVAILABLE,
        KafkaError.UNKNOWN_TOPIC_OR_PART,
        KafkaError.REQUEST_TIMED_OUT,
        KafkaError._TIMED_OUT,
        KafkaError._TRANSPORT,
    }
)
"""Errors of a partition whose leader is being elected or a broker not answering yet."""


def offsets_at(bootstrap: str, topic: TopicSpec, since: datetime) -> dict[int, int]:
    """Per partition, the first offset whose record is no older than `since`."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"window-{uuid.uuid4()}"})
    try:
        millis = int(since.timestamp() * 1000)
        wanted = [TopicPartition(topic.name, p, millis) for p in range(topic.partitions)]
        found = _retried(lambda: consumer.offsets_for_times(wanted, timeout=TIMEOUT_S))
        starts = {}
        for tp in found:
            if tp.offset < 0:  # nothing that recent: start at the end
                tp.offset = consumer.get_watermark_offsets(tp, timeout=TIMEOUT_S)[1]
            starts[tp.partition] = tp.offset
        return starts
    finally:
        consumer.close()


def _retried(call: Callable[[], list[TopicPartition]]) -> list[TopicPartition]:
    """`call`, again after a pause while Kafka says to retry (a leader being elected, as
    on a topic just created or a broker restarting), for at most TIMEOUT_S."""
    deadline = time.monotonic() + TIMEOUT_S
    pause = 0.1
    while True:
        try:
            return call()
        except KafkaException as e:
            error = e.args[0]
            settling = error.retriable() or error.code() in SETTLING
            if not settling or time.monotonic() + pause > deadline:
                raise
            log.info("offsets by time: %s; retrying", e)
            time.sleep(pause)
            pause = min(pause * 2, 2.0)


def read_on(
    bootstrap: str,
    topic: TopicSpec,
    positions: dict[int, int],
    since: datetime,
    apply: Callable[[AvroRecord, tuple[int, int]], None],
) -> dict[int, int]:
    """Feed every record after `positions` (or, for a partition without one, since `since`)
    up to the end of the topic to `apply`; returns the next positions. A record that does
    not decode is passed over (the media processor dead-letters it)."""
    starts = {**offsets_at(bootstrap, topic, since), **positions}

    def decoded(record: Message) -> None:
        try:
            event = codec.decode(record.value() or b"")
        except (MalformedRecordError, UnknownSchemaError) as e:
            log.warning("passed over %s %s: %s", topic.name, position(record), e)
            return
        apply(event, position(record))

    return {**starts, **replay(bootstrap, topic.name, starts, decoded)}
