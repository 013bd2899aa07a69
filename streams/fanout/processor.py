"""The fan-out loop: events in, one delivery record per edge node out.

At-least-once: a batch's deliveries are acknowledged before its position is stored, so a
crash can repeat a delivery, never lose one; devices drop repeats by (conversation, seq).
The position is the one stored with the memberships (memberships.py): on assignment the
fan-out starts from it, not from Kafka's committed offsets. Those are still committed,
after the store, as the delivery floor: where this group has already delivered. Records
below it (a partition whose store is behind, after a move between instances or a lost
store) are folded into membership without being delivered again.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from kafkalog.cold.reader import ArchiveReader
from kafkalog.decoding import decode_event
from kafkalog.follower import Decoded
from kafkalog.history import Resume, archived, log_starts, plan
from kafkalog.output import AckedOutput
from kafkalog.presets import IMMEDIATE, producer
from kafkalog.records import Headers, header_pairs, next_offsets
from schemas import codec
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import REPLAYED_HEADER, Topics
from streams import metrics
from streams.fanout.memberships import Memberships
from streams.fanout.routing import RecentEvents, SessionDirectory
from streams.fanout.sessions import SessionFeed
from streams.group import parked_member
from telemetry.tracing import Tracing, annotate, inject

log = logging.getLogger("parley.fanout")
RECIPIENTS_PER_RECORD = 5_000
"""Keeps a delivery record well under Kafka's 1 MB limit however large the group."""
REPLAYED: Headers = [(REPLAYED_HEADER, b"1")]
IDLE_S = 0.05
"""How long an idle loop waits for events before it reads the session directory again: a
session record waits at most this long at rest (a busy loop reads it between batches)."""
FLUSH_TIMEOUT_S = 30.0
COMMITTED_TIMEOUT_S = 60


@dataclass(frozen=True)
class FanOutConfig:
    bootstrap: str
    topics: Topics
    group_id: str = "parley-fanout"
    instance_id: str = "parley-fanout-0"
    """Its static membership in the group: a restart takes its partitions back at once."""
    max_batch: int = 500


class FanOut:
    def __init__(
        self,
        config: FanOutConfig,
        memberships: Memberships,
        tracing: Tracing | None = None,
        archive: ArchiveReader | None = None,
    ) -> None:
        """`archive`: where the events are once the log's retention has dropped them."""
        self.config = config
        self.archive = archive
        self.tracing = tracing or Tracing.off()
        self.topics = config.topics
        self.memberships = memberships
        self.directory = SessionDirectory()
        self.recent = RecentEvents()
        self.floor: dict[int, int] = {}
        """Per partition: the committed offset, below which this group has delivered."""
        self.stopping = threading.Event()
        self.producer = Producer(producer(config.bootstrap, IMMEDIATE))
        self.output = AckedOutput(self.producer)
        self.events, self.follower = parked_member(
            config.bootstrap,
            group_id=config.group_id,
            instance_id=config.instance_id,
            dead_letters_topic=self.topics.dead_letters.name,
            parking=self.output,
            decode=decode_event,
        )
        self.sessions = SessionFeed(
            config.bootstrap, self.topics.sessions, self.directory, self._replay_recent
        )
        metrics.producer_queue.set_function(lambda: len(self.producer))

    def run(self) -> None:
        self.sessions.read_to_end()
        self.events.subscribe(
            [self.topics.events.name], on_assign=self._on_assign, on_revoke=self._on_revoke
        )
        try:
            while not self.stopping.is_set():
                self.sessions.read()
                records = self.follower.poll(self.config.max_batch, idle_s=IDLE_S)
                if records:
                    self._deliver(records)
        finally:
            self.producer.flush(10)
            self.events.close()
            self.sessions.close()

    def stop(self) -> None:
        self.stopping.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Start each partition where the store says, not where Kafka's group does."""
        self.memberships.forget()
        committed = consumer.committed(partitions, timeout=COMMITTED_TIMEOUT_S)
        self.floor.update({tp.partition: max(tp.offset, 0) for tp in committed})
        stored: dict[int, int] = {}
        for tp in partitions:
            position = self.memberships.position(tp.partition)
            tp.offset = OFFSET_BEGINNING if position is None else position
            if position is not None:
                stored[tp.partition] = position
        topic = self.topics.events.name
        behind = plan(
            topic,
            {tp.partition: max(tp.offset, 0) for tp in partitions},
            log_starts(consumer, topic, [tp.partition for tp in partitions]),
            self.archive,
        )
        for tp in partitions:
            resume = behind[tp.partition]
            if resume.archived_to is not None and self.archive is not None:
                tp.offset = self._fold_archived(self.archive, resume)
        consumer.assign(partitions)
        log.info(
            "assigned %s: from the stored positions %s (the others from the beginning); "
            "delivering from %s",
            sorted(tp.partition for tp in partitions),
            stored,
            {tp.partition: self.floor[tp.partition] for tp in partitions},
            extra={"resumed_from": stored},
        )

    def _fold_archived(self, archive: ArchiveReader, resume: Resume) -> int:
        """Memberships from the archive, where the log has dropped the events (a lost store
        after the retention passed); returns where the log takes over. Nothing is delivered:
        events older than the log are history, which devices fetch when they sync."""
        for records in archived(archive, self.topics.events.name, resume):
            for item in self.follower.decode(records):
                self.memberships.apply(item.value)
            self.output.flush(FLUSH_TIMEOUT_S)
            self.memberships.flush(next_offsets(records))
        self.memberships.flush({resume.partition: resume.log_from})
        log.info(
            "partition %d: memberships from the archive, %d to %d",
            resume.partition,
            resume.position,
            resume.log_from,
        )
        return resume.log_from

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        for tp in partitions:
            self.floor.pop(tp.partition, None)

    def _replay_recent(self, user: str, node: int, now_ms: int) -> None:
        cids = self.memberships.conversations_of(user)
        for cid, seq, raw in self.recent.since(cids, now_ms):
            delivery = m.EventDelivery(conversation_id=cid, seq=seq, event=raw, recipients=(user,))
            self._produce(node, codec.encode(delivery), REPLAYED)
        self.producer.poll(0)

    def _deliver(self, records: list[Message]) -> None:
        """One batch: route every event, wait until every delivery (and dead letter) is
        acknowledged, then store memberships and position in one write."""
        now_ms = int(time.time() * 1000)
        for item in self.follower.decode(records):
            if self.tracing.enabled:
                with self.tracing.consuming(
                    "fan-out",
                    header_pairs(item.record),
                    {"messaging.kafka.destination.partition": item.partition},
                ):
                    self._route(item, now_ms)
            else:
                self._route(item, now_ms)
        began = time.perf_counter()
        self.output.flush(FLUSH_TIMEOUT_S)
        metrics.fanout_flushes.observe(time.perf_counter() - began)
        positions = next_offsets(records)
        self.memberships.flush(positions)
        self.events.commit(
            offsets=[TopicPartition(self.topics.events.name, p, o) for p, o in positions.items()],
            asynchronous=True,
        )

    def _route(self, item: Decoded[AvroRecord], now_ms: int) -> None:
        """One event: fold membership, remember it, and write a delivery record per edge
        node where someone who must hear of it is online."""
        audience = self.memberships.apply(item.value)
        if item.offset < self.floor.get(item.partition, 0):
            return  # delivered already, before the store's position caught up
        raw = item.record.value() or b""
        meta: m.EventMeta = item.value.meta  # type: ignore[attr-defined]
        metrics.fanout_event_age.observe(max(now_ms / 1000 - meta.occurred_at.timestamp(), 0.0))
        self.recent.add(meta.conversation_id, meta.seq, raw, now_ms)
        headers: Headers | None = None
        if self.tracing.enabled:
            annotate({"parley.conversation": meta.conversation_id, "parley.seq": meta.seq})
            headers = inject()
        for node, recipients in self.directory.route(audience, now_ms).items():
            for start in range(0, len(recipients), RECIPIENTS_PER_RECORD):
                delivery = m.EventDelivery(
                    conversation_id=meta.conversation_id,
                    seq=meta.seq,
                    event=raw,
                    recipients=tuple(recipients[start : start + RECIPIENTS_PER_RECORD]),
                )
                self._produce(node, codec.encode(delivery), headers)

    def _produce(self, node: int, value: bytes, headers: Headers | None = None) -> None:
        metrics.deliveries.labels(str(node)).inc()
        if not 0 <= node < self.topics.deliveries.partitions:
            log.warning("edge node %d has no deliveries partition", node)
            return
        self.output.produce(self.topics.deliveries.name, node, None, value, headers=headers)
