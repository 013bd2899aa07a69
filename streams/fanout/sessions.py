"""The session directory as the fan-out reads it: where each user is online, by edge node.

Read from the beginning at every start (a compacted topic: one record per user and node),
and between batches of events after that. No position is kept, so an unusable record is
skipped and counted rather than parked (kafkalog's policy): it would be parked again at
every start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from kafkalog.decoding import SessionRecord, decode_session
from kafkalog.follower import Follower, Skip
from kafkalog.presets import SESSION_FEED, private_reader
from schemas.topics import TopicSpec
from streams import metrics
from streams.fanout.routing import SessionDirectory

log = logging.getLogger("parley.fanout")
READ_BATCH = 1000
CATCH_UP_S = 60.0
CATCH_UP_POLL_S = 0.1


class SessionFeed:
    def __init__(
        self,
        bootstrap: str,
        topic: TopicSpec,
        directory: SessionDirectory,
        on_arrival: Callable[[str, int, int], None],
    ) -> None:
        """`on_arrival(user, node, now_ms)`: the user is newly online on that node."""
        self.topic = topic
        self.directory = directory
        self.on_arrival = on_arrival
        self.consumer = Consumer(private_reader(bootstrap, SESSION_FEED, name="fanout-sessions"))
        self.follower = Follower(
            self.consumer,
            decode_session,
            Skip(lambda source: metrics.skipped.labels(source).inc()),
            kafka_errors=metrics.kafka_errors,
        )

    def read_to_end(self) -> None:
        """Know where everyone is before routing anything: otherwise the first events after
        a restart would go to nobody."""
        partitions = range(self.topic.partitions)
        self.consumer.assign(
            [TopicPartition(self.topic.name, p, OFFSET_BEGINNING) for p in partitions]
        )
        ends = {
            p: self.consumer.get_watermark_offsets(
                TopicPartition(self.topic.name, p), timeout=10
            )[1]
            for p in partitions
        }
        deadline = time.monotonic() + CATCH_UP_S
        while time.monotonic() < deadline:
            at = self.consumer.position([TopicPartition(self.topic.name, p) for p in ends])
            if all(tp.offset >= ends[tp.partition] or ends[tp.partition] == 0 for tp in at):
                return
            self.read(idle_s=CATCH_UP_POLL_S)
        log.warning("session directory not fully read after 60 s; routing with what is known")

    def read(self, idle_s: float = 0) -> None:
        for item in self.follower.next(READ_BATCH, idle_s=idle_s):
            self._apply(item.value)

    def close(self) -> None:
        self.consumer.close()

    def _apply(self, record: SessionRecord) -> None:
        entry = record.entry
        if entry is None:
            self.directory.update(record.user_id, record.node, None)
            return
        now_ms = int(time.time() * 1000)
        expires = int(entry.expires_at.timestamp() * 1000)
        arrived = self.directory.update(
            record.user_id, record.node, expires if entry.devices > 0 else None, now_ms
        )
        if arrived:
            self.on_arrival(record.user_id, record.node, now_ms)
