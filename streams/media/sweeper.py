"""Deletes uploads that no message attached within a day of their declaration.

An upload is attached by a MessageSent event naming its media id; one that no message names
by `declared_at + unattached_ttl + grace` is deleted: its staging object, an unfinished
multipart upload, and everything published for it, then MediaDeleted(UNATTACHED) is written.
The sequencer (phase 2) refuses to attach media older than `unattached_ttl`; the grace hour
covers clocks that disagree and a sweeper that is behind on the events topic, and before
deciding, the sweeper reads both topics up to their ends. It also deletes the staging object
of processed media once its pre-signed PUTs have expired (`stale_staging`).

Its state (the media of the window and which of them are attached) is rebuilt on start from
the window's start (kafkalog/window.py), so a sweeper may be restarted at any time. It keeps
no position, so a record it cannot decode is skipped and counted (kafkalog's policy).

It also deletes the files of erased people (streams/media/erasure.py): between sweeps it
reads the accounts topic and the media topic (an erasure's requests) on every
`erasure_every_s`, so an erasure's files go within seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import get_args

from kafkalog.decoding import Decoder, avro_decoder
from kafkalog.follower import Decoded, Skip
from kafkalog.window import read_window
from media import keys
from media.book import MediaBook
from media.lifecycle import MediaRecord, MediaStatus, event_meta
from media.log import MediaLog, decode_media_event
from media.settings import MediaSettings
from media.storage import ObjectStore
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import Topics
from streams import metrics as stream_metrics
from streams.media import metrics
from streams.media.erasure import ErasedPeople, ErasureRequests, to_erase

log = logging.getLogger("parley.media.sweeper")
decode_event: Decoder[AvroRecord] = avro_decoder(get_args(m.Event), "an event")


def due(
    book: MediaBook, attached: set[str], now: datetime, settings: MediaSettings
) -> list[MediaRecord]:
    """The media to delete now: declared long enough ago, never attached, not yet deleted."""
    cutoff = now - timedelta(seconds=settings.unattached_ttl_s + settings.sweep_grace_s)
    return [
        r
        for r in book.records.values()
        if r.declared_at <= cutoff
        and r.media_id not in attached
        and r.status is not MediaStatus.DELETED
    ]


def stale_staging(book: MediaBook, now: datetime, settings: MediaSettings) -> list[MediaRecord]:
    """Media whose pre-signed PUTs have expired and whose staging object is no longer needed
    (processed or refused): a client may have PUT it again after `complete` while its URL was
    still valid, and nobody else would ever delete that copy."""
    cutoff = now - timedelta(seconds=settings.upload_url_ttl_s + settings.sweep_grace_s)
    done = (MediaStatus.READY, MediaStatus.REJECTED)
    return [r for r in book.records.values() if r.declared_at <= cutoff and r.status in done]


def attached_media(event: AvroRecord) -> list[str]:
    """The media ids a message event attaches."""
    if isinstance(event, m.MessageSent):
        return [a.media_id for a in event.attachments]
    return []


class Sweeper:
    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Topics,
        store: ObjectStore,
        log_out: MediaLog,
        settings: MediaSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        every_s: float = 600.0,
        erasure_every_s: float = 5.0,
    ) -> None:
        self.bootstrap = bootstrap
        self.every_s = every_s
        self.erasure_every_s = erasure_every_s
        self.topics = topics
        self.store = store
        self.out = log_out
        self.settings = settings
        self.clock = clock
        self.book = MediaBook()
        self.attached: set[str] = set()
        self.event_positions: dict[int, int] = {}
        self.staging_cleared: set[str] = set()
        self.stopping = threading.Event()
        self.swept = threading.Event()
        """Set after the first sweep: the sweeper has read both topics over its window and the
        accounts topic whole, and deleted what was due (its readiness)."""
        self.skip = Skip(lambda topic: stream_metrics.skipped.labels(topic).inc())
        self.erasures = ErasedPeople(bootstrap, topics, self.skip)
        self.requests = ErasureRequests()

    @property
    def window(self) -> timedelta:
        """What the sweeper must remember: the attach window, the grace, and an hour more."""
        s = self.settings
        return timedelta(seconds=s.unattached_ttl_s + s.sweep_grace_s) + timedelta(hours=1)

    def catch_up(self) -> None:
        self.catch_up_media()

        def fold_events(item: Decoded[AvroRecord]) -> None:
            self.attached.update(attached_media(item.value))

        self.event_positions = read_window(
            self.bootstrap,
            self.topics.events,
            positions=self.event_positions,
            since=self.clock() - self.window,
            decode=decode_event,
            apply=fold_events,
            unusable=self.skip,
        )

    def catch_up_media(self) -> None:
        def fold_media(item: Decoded[m.MediaEvent]) -> None:
            self.book.apply(item.value, (item.partition, item.offset))
            self.requests.apply(item.value)

        self.book.positions = read_window(
            self.bootstrap,
            self.topics.media,
            positions=self.book.positions,
            since=self.clock() - self.window,
            decode=decode_media_event,
            apply=fold_media,
            unusable=self.skip,
        )

    def sweep(self) -> list[str]:
        """Catch up, delete what is due (erased people's media, then unattached uploads);
        returns the media ids deleted."""
        self.catch_up()
        now = self.clock()
        erased = self.erase()
        deleted = []
        for record in due(self.book, self.attached, now, self.settings):
            self._delete(record, m.MediaDeletionReason.UNATTACHED)
            metrics.swept.labels(record.status.value).inc()
            deleted.append(record.media_id)
        for record in stale_staging(self.book, now, self.settings):
            if record.media_id not in self.staging_cleared:
                self.store.delete(record.declared.object_key)
                self.staging_cleared.add(record.media_id)
        self.book.prune(now - self.window)
        self.attached &= set(self.book.records)
        self.staging_cleared &= set(self.book.records)
        if deleted:
            log.info("swept %d unattached uploads", len(deleted))
        return erased + deleted

    def erase(self) -> list[str]:
        """Delete the media of people erased since the last look (the whole media topic is
        searched for theirs), any media of an erased person in the book (declared in a race
        with the erasure), and every media an erasure asked for by id (attached before the
        media topic's retention); returns the media ids deleted."""
        new = self.erasures.catch_up()
        self.catch_up_media()
        found = {r.media_id: r for r in self.erasures.media_of(new)} if new else {}
        found |= {r.media_id: r for r in to_erase(self.book.records.values(), self.erasures.erased)}
        asked = [a for a in self.requests.pending.values() if a.media_id not in found]
        for record in found.values():
            self._delete(record, m.MediaDeletionReason.ERASED)
        for request in asked:
            self._delete_asked(request)
        self.erasures.looked_for(new)
        if found or asked:
            log.info(
                "deleted %d media of %d newly erased people, %d asked for by an erasure",
                len(found),
                len(new),
                len(asked),
            )
        return [*found, *(a.media_id for a in asked)]

    def _delete_asked(self, asked: m.MediaEventMeta) -> None:
        """A media an erasure asked for: its record if the book holds one, else what its id
        names (a media past the book's window has no open multipart upload left)."""
        record = self.book.get(asked.media_id)
        if record is None:
            staging = keys.upload_key(asked.media_id)
            self._delete_media(
                asked.media_id, asked.owner_id, m.MediaDeletionReason.ERASED, staging
            )
        elif record.status is MediaStatus.DELETED:
            self.requests.pending.pop(asked.media_id, None)
        else:
            self._delete(record, m.MediaDeletionReason.ERASED)

    def _delete(self, record: MediaRecord, reason: m.MediaDeletionReason) -> None:
        declared = record.declared
        self._delete_media(
            record.media_id, record.owner_id, reason, declared.object_key, declared.upload_id
        )

    def _delete_media(
        self,
        media_id: str,
        owner_id: str,
        reason: m.MediaDeletionReason,
        staging_key: str,
        upload_id: str | None = None,
    ) -> None:
        """Every object of the media, then its event: a crash in between leaves the media
        to be deleted again (each delete finds nothing), never an event without the deletion.
        The event is folded at once, without moving the book's read positions past records
        others appended meanwhile (read back later, it changes nothing)."""
        if upload_id is not None:
            self.store.abort_multipart(staging_key, upload_id)
        self.store.delete(staging_key)
        self.store.delete_prefix(keys.media_prefix(media_id))
        event = m.MediaDeleted(meta=event_meta(media_id, owner_id, self.clock()), reason=reason)
        self.out.append(event)
        self.book.apply(event)
        self.requests.apply(event)
        if reason is m.MediaDeletionReason.ERASED:
            metrics.erased.inc()

    def run(self) -> None:
        log.info(
            "sweeper: every %.0f s, deleting what no message attached %s after its declaration;"
            " erased people's media looked for every %.0f s",
            self.every_s,
            timedelta(seconds=self.settings.unattached_ttl_s + self.settings.sweep_grace_s),
            self.erasure_every_s,
        )
        sweep_at = 0.0
        while not self.stopping.is_set():
            if time.monotonic() >= sweep_at:
                self.sweep()
                self.swept.set()
                sweep_at = time.monotonic() + self.every_s
            else:
                self.erase()
            self.stopping.wait(min(self.erasure_every_s, max(0.0, sweep_at - time.monotonic())))

    def stop(self) -> None:
        self.stopping.set()
