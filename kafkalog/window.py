"""Reading a topic from a point in time: how a reader that needs only a recent window of a
topic (the media book of the last day) builds its state.

Such a reader keeps no durable position: it starts where Kafka's time index says the window
began (`offsets_at`), rather than at offset 0 of a log kept for a week or forever, reads to
the end (`read_window`), and from then on reads on from the positions it reached. An
unusable record goes to the reader's policy (`Skip`: it has no position of its own to park
a dead letter behind, and rebuilds from the log at every start).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from kafkalog.decoding import Decoder, UnusableRecordError
from kafkalog.follower import Decoded, UnusablePolicy
from kafkalog.presets import REPLAY, private_reader
from kafkalog.records import position
from kafkalog.replay import replay
from schemas.topics import TopicSpec

log = logging.getLogger("parley.log")
T = TypeVar("T")
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
    """Per partition, the first offset whose record is no older than `since` (the end, for
    a partition with nothing that recent)."""
    consumer = Consumer(private_reader(bootstrap, REPLAY, name="window"))
    try:
        millis = int(since.timestamp() * 1000)
        wanted = [TopicPartition(topic.name, p, millis) for p in range(topic.partitions)]
        found = _retried(lambda: consumer.offsets_for_times(wanted, timeout=TIMEOUT_S))
        starts = {}
        for tp in found:
            if tp.offset < 0:
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


def read_window(
    bootstrap: str,
    topic: TopicSpec,
    *,
    positions: dict[int, int],
    since: datetime,
    decode: Decoder[T],
    apply: Callable[[Decoded[T]], None],
    unusable: UnusablePolicy,
) -> dict[int, int]:
    """Feed every record after `positions` (or, for a partition without one, since `since`)
    up to the end of the topic, decoded, to `apply`; returns the next positions."""
    starts = {**offsets_at(bootstrap, topic, since), **positions}

    def decoded(record: Message) -> None:
        try:
            value = decode(record)
        except UnusableRecordError as e:
            unusable.unusable(record, e)
            return
        partition, offset = position(record)
        apply(Decoded(record, value, partition, offset))

    return {**starts, **replay(bootstrap, topic.name, starts, decoded)}
