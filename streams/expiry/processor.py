"""The expiry loop: follows the events topic into the book, and about every second asks the
sequencer to expire what is due and destroys the bucket keys whose end has passed.

Restart-safe without a transaction: the book and its position are one write, so a message
is in the book from the batch that read it until the batch that reads its
`MessagesExpired`. An `ExpireMessages` is produced and acknowledged before anything
depends on it, and nothing leaves the book because it was sent: a command lost in a crash,
or refused as early by the sequencer's clock, is sent again (streams/expiry/due.py), and a
repeat changes nothing (the sequencer's rule expires a message once). A bucket key is
destroyed by its end alone, whatever the book holds: it dies on time even if this process
was down, at its first tick after.

Error policy (as the fan-out's): an undecodable record is parked in the dead letters,
acknowledged before the position that passes it is stored; a Kafka error that escapes the
loop restarts the process in place (kafkalog/worker.py); a key-store error is logged and
tried again at the next tick (the bucket stays unreadable to every process meanwhile: the
key ring refuses a bucket past its end, sealing/ring.py).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from confluent_kafka import OFFSET_BEGINNING, Consumer, Message, Producer, TopicPartition

from kafkalog.cold.reader import ArchiveReader
from kafkalog.decoding import decode_event
from kafkalog.history import Resume, archived, log_starts, plan
from kafkalog.output import AckedOutput
from kafkalog.presets import IMMEDIATE, producer
from kafkalog.records import next_offsets
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import Topics
from sealing.keyids import BUCKET
from sealing.keystore import KeyStore, KeyStoreError
from streams import metrics
from streams.expiry.book import ExpiryBook
from streams.expiry.due import Resends, batches, ended_buckets
from streams.group import parked_member

log = logging.getLogger("parley.expiry")
ACTOR = m.Actor(user_id="compliance:expiry", device_id="expiry")
"""Who asks: the sequencer lets only a compliance actor expire messages."""
IDLE_S = 0.1
FLUSH_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class ExpiryConfig:
    bootstrap: str
    topics: Topics
    group_id: str = "parley-expiry"
    instance_id: str = "parley-expiry-0"
    tick_s: float = 1.0
    retry_s: float = 5.0
    max_batch: int = 1000


class ExpiryProcessor:
    def __init__(
        self,
        config: ExpiryConfig,
        book: ExpiryBook,
        keys: KeyStore,
        *,
        archive: ArchiveReader | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """`archive`: where the events are once the log's retention has dropped them."""
        self.config = config
        self.archive = archive
        self.book = book
        self.keys = keys
        self.wall = wall
        self.resends = Resends(retry_ms=int(config.retry_s * 1000))
        self.stopping = threading.Event()
        self.output = AckedOutput(Producer(producer(config.bootstrap, IMMEDIATE)))
        self.events, self.follower = parked_member(
            config.bootstrap,
            group_id=config.group_id,
            instance_id=config.instance_id,
            dead_letters_topic=config.topics.dead_letters.name,
            parking=self.output,
            decode=decode_event,
        )
        self.next_tick = 0.0

    def run(self) -> None:
        self.events.subscribe([self.config.topics.events.name], on_assign=self._on_assign)
        try:
            while not self.stopping.is_set():
                records = self.follower.poll(self.config.max_batch, idle_s=IDLE_S)
                if records:
                    self._fold(records)
                if time.monotonic() >= self.next_tick:
                    self.next_tick = time.monotonic() + self.config.tick_s
                    self.tick()
        finally:
            self.output.flush(10)
            self.events.close()

    def stop(self) -> None:
        self.stopping.set()

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        """Each partition from the book's stored position (the beginning if it has none);
        where the log no longer holds it (a lost store, after the log's retention), the
        archive's records first, as every view does (kafkalog/history.py)."""
        topic = self.config.topics.events.name
        stored = {tp.partition: self.book.position(tp.partition) for tp in partitions}
        resumes = plan(
            topic,
            {p: at or 0 for p, at in stored.items()},
            log_starts(consumer, topic, sorted(stored)),
            self.archive,
        )
        for tp in partitions:
            resume = resumes[tp.partition]
            if resume.archived_to is not None and self.archive is not None:
                self._fold_archived(self.archive, resume)
                tp.offset = resume.log_from
            else:
                at = stored[tp.partition]
                tp.offset = OFFSET_BEGINNING if at is None else at
        consumer.assign(partitions)
        log.info("assigned %s", {tp.partition: tp.offset for tp in partitions})

    def _fold_archived(self, archive: ArchiveReader, resume: Resume) -> None:
        """The book from the archive, where the log has dropped the events."""
        for records in archived(archive, self.config.topics.events.name, resume):
            self._fold(records)
        self.book.flush({resume.partition: resume.log_from})
        log.info(
            "partition %d: the book from the archive, %d to %d",
            resume.partition,
            resume.position,
            resume.log_from,
        )

    def _fold(self, records: list[Message]) -> None:
        for item in self.follower.decode(records):
            gone = self.book.apply(item.value)
            self.resends.forget(gone)
            if isinstance(item.value, m.MessagesExpired):
                written_ms = int(item.value.meta.occurred_at.timestamp() * 1000)
                for expired in gone:
                    metrics.expiry_lag.observe(max(written_ms - expired.at_ms, 0) / 1000)
        self.output.flush(FLUSH_TIMEOUT_S)  # parked records, before the position passes them
        self.book.flush(next_offsets(records))

    def tick(self) -> None:
        """Ask for what is due, then destroy the buckets that have ended."""
        now_s = self.wall()
        now_ms = int(now_s * 1000)
        picked = self.resends.pick(self.book.due(now_ms), now_ms)
        for cid, seqs in picked.items():
            for chunk in batches(seqs):
                self._ask(cid, chunk)
        if picked:
            self.output.flush(FLUSH_TIMEOUT_S)
            log.info(
                "asked to expire %d messages in %d conversations",
                sum(len(s) for s in picked.values()),
                len(picked),
            )
        self._destroy_ended(now_s)

    def _ask(self, cid: str, seqs: tuple[int, ...]) -> None:
        command = m.ExpireMessages(
            meta=m.CommandMeta(
                command_id=str(uuid.uuid4()),
                conversation_id=cid,
                actor=ACTOR,
                client_msg_id=str(uuid.uuid4()),  # each ask anew: a repeat must be decided again
                issued_at=datetime.now(UTC),
            ),
            seqs=seqs,
        )
        commands = self.config.topics.commands
        self.output.produce(
            commands.name, partition_for(cid, commands.partitions), cid, codec.encode(command)
        )

    def _destroy_ended(self, now_s: float) -> None:
        try:
            for key_id in ended_buckets(self.keys.ids(BUCKET), now_s):
                self.keys.destroy(key_id)
                metrics.buckets_destroyed.inc()
                log.info("destroyed the bucket key %s", key_id)
        except KeyStoreError as e:
            log.warning("key store: %s; trying again at the next tick", e)
