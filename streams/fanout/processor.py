"""The fan-out loop: events in, one delivery record per edge node out.

At-least-once: offsets are committed after the deliveries they caused are acknowledged,
so a crash can repeat a delivery, never lose one; devices drop repeats by (conversation,
seq). On assignment, membership is rebuilt by replaying the partition up to the committed
offset, without delivering again.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Message,
    Producer,
    TopicPartition,
)

from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.topics import REPLAYED_HEADER, Topics, parse_session_key
from streams import metrics
from streams.fanout.routing import Memberships, RecentEvents, SessionDirectory
from streams.transactional import Headers, header_pairs, next_batch, position, replay
from telemetry.lag import LagSampler
from telemetry.tracing import Tracing, annotate, inject

log = logging.getLogger("parley.fanout")
RECIPIENTS_PER_RECORD = 5_000
"""Keeps a delivery record well under Kafka's 1 MB limit however large the group."""
REPLAYED: Headers = [(REPLAYED_HEADER, b"1")]


@dataclass(frozen=True)
class FanOutConfig:
    bootstrap: str
    topics: Topics
    group_id: str = "parley-fanout"
    max_batch: int = 500


class FanOut:
    def __init__(self, config: FanOutConfig, tracing: Tracing | None = None) -> None:
        self.config = config
        self.tracing = tracing or Tracing.off()
        self.lag = LagSampler(metrics.consumer_lag, config.group_id)
        self.topics = config.topics
        self.memberships = Memberships()
        self.sessions = SessionDirectory()
        self.recent = RecentEvents()
        self.stopping = threading.Event()
        self.producer = Producer(
            {
                "bootstrap.servers": config.bootstrap,
                "enable.idempotence": True,
                "linger.ms": 0,
            }
        )
        self.events = Consumer(
            {
                "bootstrap.servers": config.bootstrap,
                "group.id": config.group_id,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "fetch.wait.max.ms": 5,
            }
        )
        self.session_feed = Consumer(
            {
                "bootstrap.servers": config.bootstrap,
                "group.id": f"fanout-sessions-{uuid.uuid4()}",
                "enable.auto.commit": False,
                "fetch.wait.max.ms": 5,
            }
        )
        metrics.producer_queue.set_function(lambda: len(self.producer))

    def run(self) -> None:
        sessions = self.topics.sessions
        self.session_feed.assign(
            [TopicPartition(sessions.name, p, OFFSET_BEGINNING) for p in range(sessions.partitions)]
        )
        self._read_sessions_to_end()
        self.events.subscribe([self.topics.events.name], on_assign=self._on_assign)
        try:
            while not self.stopping.is_set():
                self._read_sessions()
                records = next_batch(self.events, self.config.max_batch, idle_s=0.01)
                if records:
                    self._deliver(records)
                self.lag.maybe_sample(self.events)
        finally:
            self.producer.flush(10)
            self.events.close()
            self.session_feed.close()

    def stop(self) -> None:
        self.stopping.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        committed = consumer.committed(partitions, timeout=60)
        ends = {tp.partition: max(tp.offset, 0) for tp in committed}

        def rebuild(record: Message) -> None:
            self.memberships.apply(codec.decode(record.value() or b""))

        replay(
            self.config.bootstrap,
            self.topics.events.name,
            dict.fromkeys(ends, 0),
            rebuild,
            until=ends,
        )
        log.info("assigned %s: memberships rebuilt", sorted(ends))

    def _read_sessions_to_end(self) -> None:
        """Know where everyone is before routing anything: otherwise the first events after
        a restart would go to nobody."""
        sessions = self.topics.sessions
        ends = {
            p: self.session_feed.get_watermark_offsets(
                TopicPartition(sessions.name, p), timeout=10
            )[1]
            for p in range(sessions.partitions)
        }
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            positions = self.session_feed.position([TopicPartition(sessions.name, p) for p in ends])
            if all(tp.offset >= ends[tp.partition] or ends[tp.partition] == 0 for tp in positions):
                return
            self._read_sessions(timeout=0.1)
        log.warning("session directory not fully read after 60 s; routing with what is known")

    def _read_sessions(self, timeout: float = 0) -> None:
        for record in self.session_feed.consume(num_messages=1000, timeout=timeout):
            if record.error() is not None or record.key() is None:
                continue
            user, node = parse_session_key(record.key() or b"")
            value = record.value()
            if not value:
                self.sessions.update(user, node, None)
                continue
            entry = codec.decode(value)
            if isinstance(entry, m.UserOnNode):
                expires = int(entry.expires_at.timestamp() * 1000)
                now_ms = int(time.time() * 1000)
                arrived = self.sessions.update(
                    user, node, expires if entry.devices > 0 else None, now_ms
                )
                if arrived:
                    self._replay_recent(user, node, now_ms)

    def _replay_recent(self, user: str, node: int, now_ms: int) -> None:
        cids = self.memberships.of_user.get(user, set())
        for cid, seq, raw in self.recent.since(cids, now_ms):
            delivery = m.EventDelivery(conversation_id=cid, seq=seq, event=raw, recipients=(user,))
            self._produce(node, codec.encode(delivery), REPLAYED)
        self.producer.poll(0)

    def _deliver(self, records: list[Message]) -> None:
        now_ms = int(time.time() * 1000)
        last: dict[int, int] = {}
        for record in records:
            error = record.error()
            if error is not None:
                if error.fatal():
                    raise KafkaException(error)
                metrics.kafka_errors.labels(error.name()).inc()
                continue
            partition, offset = position(record)
            last[partition] = offset
            if self.tracing.enabled:
                with self.tracing.consuming(
                    "fan-out",
                    header_pairs(record),
                    {"messaging.kafka.destination.partition": partition},
                ):
                    self._route(record, partition, offset, now_ms)
            else:
                self._route(record, partition, offset, now_ms)
        began = time.perf_counter()
        if self.producer.flush(30) != 0:
            raise KafkaException(KafkaError(KafkaError._TIMED_OUT, "deliveries not acknowledged"))
        metrics.fanout_flushes.observe(time.perf_counter() - began)
        self.events.commit(
            offsets=[TopicPartition(self.topics.events.name, p, o + 1) for p, o in last.items()],
            asynchronous=True,
        )

    def _route(self, record: Message, partition: int, offset: int, now_ms: int) -> None:
        """One event: fold membership, remember it, and write a delivery record per edge
        node where someone who must hear of it is online."""
        raw = record.value() or b""
        try:
            event = codec.decode(raw)
        except (MalformedRecordError, UnknownSchemaError) as e:
            log.error("skipping undecodable event at %d/%d: %s", partition, offset, e)
            return
        audience = self.memberships.apply(event)
        meta: m.EventMeta = event.meta  # type: ignore[attr-defined]
        metrics.fanout_event_age.observe(max(now_ms / 1000 - meta.occurred_at.timestamp(), 0.0))
        self.recent.add(meta.conversation_id, meta.seq, raw, now_ms)
        headers: Headers | None = None
        if self.tracing.enabled:
            annotate({"parley.conversation": meta.conversation_id, "parley.seq": meta.seq})
            headers = inject()
        for node, recipients in self.sessions.route(audience, now_ms).items():
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
        while True:
            try:
                self.producer.produce(
                    self.topics.deliveries.name, value=value, partition=node, headers=headers
                )
                return
            except BufferError:
                self.producer.poll(0.05)
