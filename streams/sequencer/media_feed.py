"""The sequencer's book of the media topic: which media exist, whose they are, whether they are
ready, and what a message attaching them carries (media/attachment.py).

The sequencer checks every attachment of a `SendMessage` against this book, in memory, O(1)
per media id. The book is not the sequencer's state: nothing of it is written with the
transaction, and `evolve` never reads it, since a `MessageSent` carries the attachments as
they were filled. It is rebuilt at every start from the media topic, from where Kafka's time
index says the attach window began (kafkalog/window.py), in a thread of its own: messages
without attachments are sequenced at once after a restart, however long a day of media
takes to read, and one with attachments waits for the book (up to `catch_up_s`, then it is
refused `MEDIA_NOT_READY`, which the client retries). From then on the book is read on
between decisions.

The book may be behind the media topic. Media facts only move forward (declared, uploaded,
ready; READY is final but for deletion), so a book behind can only lack a media or show it
not ready yet: the sequencer would refuse a good attachment, never accept a bad one. To make
even that rare, a message whose media the book does not show settled catches the book up
first: it reads those media's partitions up to their high watermarks as of that moment (the
media were ready on the edge before it sent the command, so they are below them), within a
deadline, and only then decides. Deletion is the one fact that undoes readiness; the sweeper
deletes only media declared longer ago than the attach window plus a grace period, which
the sequencer refuses by their age whatever its book says (docs/sequencer.md, "Attachments").
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from confluent_kafka import Consumer, Message, TopicPartition

from kafkalog.follower import Follower, Skip
from kafkalog.presets import FOLLOWER, private_reader
from kafkalog.records import next_offsets
from kafkalog.window import offsets_at
from media.book import MediaBook
from media.lifecycle import MediaRecord, MediaStatus
from media.log import decode_media_event
from schemas.partitioning import partition_for
from schemas.topics import TopicSpec
from streams import metrics

log = logging.getLogger("parley.sequencer")
BATCH = 1000
WATERMARK_TIMEOUT_S = 5.0
PRUNE_EVERY_S = 600.0
SETTLED = frozenset({MediaStatus.READY, MediaStatus.REJECTED, MediaStatus.DELETED})
"""States a later event does not turn into READY: the book need not look further."""


class MediaFeed:
    """A private reader of every partition of the media topic (each sequencer instance needs
    all of them: media are keyed by media id, not by conversation) and the book it folds."""

    def __init__(
        self,
        bootstrap: str,
        topic: TopicSpec,
        *,
        window: timedelta,
        catch_up_s: float = 5.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`window`: how far back media may be attached from (and a margin); `catch_up_s`:
        the longest a decision waits for the book to reach the topic's end."""
        self.bootstrap = bootstrap
        self.topic = topic
        self.window = window
        self.catch_up_s = catch_up_s
        self.clock = clock
        self.book = MediaBook()
        self.positions: dict[int, int] = {}
        self.consumer = Consumer(private_reader(bootstrap, FOLLOWER, name="sequencer-media"))
        self.reader = Follower(
            self.consumer,
            decode_media_event,
            Skip(lambda source: metrics.skipped.labels(source).inc()),
            kafka_errors=metrics.kafka_errors,
        )
        self.pruned_at = time.monotonic()
        self.warmed = threading.Event()
        self.closing = threading.Event()
        self.failure: BaseException | None = None
        self.lock = threading.Lock()
        """The consumer is read by the warm-up thread, then by the sequencer's loop."""

    def start(self) -> None:
        """Read the window of the media topic to its end, in a thread of its own."""
        threading.Thread(target=self._warm_up, name="media-book", daemon=True).start()

    def _warm_up(self) -> None:
        try:
            with self.lock:
                began = time.perf_counter()
                starts = offsets_at(self.bootstrap, self.topic, self.clock() - self.window)
                self.positions = dict(starts)
                self.consumer.assign(
                    [TopicPartition(self.topic.name, p, o) for p, o in starts.items()]
                )
                self._read_to(self._ends(starts), deadline=math.inf)
            log.info(
                "media book: %d media of the last %s read in %.1f s",
                len(self.book.records),
                self.window,
                time.perf_counter() - began,
            )
        except BaseException as e:
            # Raised in the sequencer's loop at its next message with attachments: a
            # transient Kafka error restarts the process, anything else stops it.
            log.exception("media book: reading the window failed")
            self.failure = e
        finally:
            self.warmed.set()

    def get(self, media_id: str) -> MediaRecord | None:
        return self.book.get(media_id)

    def fresh(self, media_ids: Iterable[str]) -> MediaBook:
        """The book, with what has been fetched folded in and, if one of `media_ids` is not
        settled in it, caught up to the end of its partition (or as far as the deadline
        let it). Until the window has been read, an empty book after `catch_up_s`."""
        if not self.warmed.wait(self.catch_up_s):
            metrics.media_catch_ups.labels("warming").inc()
            return MediaBook()
        if self.failure is not None:
            raise self.failure
        with self.lock:
            return self._fresh(media_ids)

    def _fresh(self, media_ids: Iterable[str]) -> MediaBook:
        self._fold(self.reader.poll(BATCH, idle_s=0))
        partitions = {
            partition_for(i, self.topic.partitions)
            for i in media_ids
            if (record := self.book.get(i)) is None or record.status not in SETTLED
        }
        if partitions:
            reached = self._read_to(
                self._ends(partitions), deadline=time.monotonic() + self.catch_up_s
            )
            metrics.media_catch_ups.labels("reached" if reached else "deadline").inc()
        self._prune()
        return self.book

    def close(self) -> None:
        self.closing.set()
        with self.lock:
            self.consumer.close()

    def _ends(self, partitions: Iterable[int]) -> dict[int, int]:
        """Each partition's high watermark now: what the book must reach to know of every
        media event written so far."""
        return {
            p: self.consumer.get_watermark_offsets(
                TopicPartition(self.topic.name, p), timeout=WATERMARK_TIMEOUT_S
            )[1]
            for p in partitions
        }

    def _read_to(self, ends: dict[int, int], *, deadline: float) -> bool:
        """Fold records until every partition in `ends` is read up to its end; False if
        the deadline came first."""
        while any(self.positions.get(p, 0) < end for p, end in ends.items()):
            left = deadline - time.monotonic()
            if left <= 0 or self.closing.is_set():
                return False
            self._fold(self.reader.poll(BATCH, idle_s=min(left, 0.1)))
        return True

    def _fold(self, records: list[Message]) -> None:
        if not records:
            return
        for item in self.reader.decode(records):
            self.book.apply(item.value, (item.partition, item.offset))
        self.positions.update(next_offsets(records))

    def _prune(self) -> None:
        if time.monotonic() - self.pruned_at < PRUNE_EVERY_S:
            return
        self.pruned_at = time.monotonic()
        forgotten = self.book.prune(self.clock() - self.window)
        if forgotten:
            log.info("media book: forgot %d media older than %s", forgotten, self.window)

