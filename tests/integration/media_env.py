"""An upload service and a media processor job on the real broker and S3 server, per test."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafkalog.follower import Decoded, Skip
from kafkalog.window import read_window
from media.book import MediaBook
from media.lifecycle import MediaRecord
from media.log import KafkaMediaLog, decode_media_event
from media.settings import MIB, MediaSettings
from media.storage import ObjectStore
from media.uploads import UploadRequest, UploadService, UploadTicket
from objectstore.client import connect
from objectstore.settings import S3Settings
from schemas import models as m
from schemas.topics import Topics
from sealing.envelope import Sealer
from sealing.keystore import SqliteKeyStore
from sealing.names import Names
from sealing.ring import KeyRing
from streams.media.av import AvMaker
from streams.media.images import ImageMaker
from streams.media.job import MediaJob
from streams.media.scan import BuiltinScanner, Scanners
from tests.integration.log import BOOTSTRAP, decoded, fresh_topics, read_committed
from tests.integration.uploader import send
from tests.media_files import digest


def scratch_names() -> Names:
    """Names sealed under the keys of a key store of their own, in a temporary directory."""
    store = SqliteKeyStore(Path(tempfile.mkdtemp(prefix="parley-names-")) / "keys.sqlite")
    return Names(Sealer(KeyRing(store)))


ANA = m.Actor(user_id="ana", device_id="ana-phone")
BO = m.Actor(user_id="bo", device_id="bo-laptop")
SMALL_PARTS = MediaSettings(part_bytes=5 * MIB)
"""S3's smallest parts, so that multipart tests move little data."""


@dataclass
class MediaEnv:
    topics: Topics
    store: ObjectStore

    def service(
        self,
        settings: MediaSettings = SMALL_PARTS,
        *,
        book: MediaBook | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> UploadService:
        return UploadService(
            store=self.store,
            book=book or MediaBook(),
            log=KafkaMediaLog(BOOTSTRAP, self.topics.media),
            settings=settings,
            names=scratch_names(),
            clock=clock,
        )

    def upload(
        self,
        data: bytes,
        content_type: str,
        *,
        complete: bool = True,
        encrypted: bool = False,
        owner: m.Actor = ANA,
    ) -> tuple[UploadTicket, MediaRecord]:
        """Declared and sent by `owner` as a client would (and completed, unless not): the
        ticket and the media's record afterwards."""
        service = self.service()
        request = UploadRequest(
            size_bytes=len(data),
            sha256=digest(data),
            content_type=content_type,
            file_name="upload",
            encrypted=encrypted,
        )
        ticket = service.declare(owner, request)
        assert set(send(ticket, data)) == {200}
        if complete:
            service.complete(owner.user_id, ticket.media_id)
        record = service.book.get(ticket.media_id)
        assert record is not None
        return ticket, record

    def rebuilt_book(self, since: datetime) -> MediaBook:
        """What a restarted node knows: the media topic read from `since`, nothing in memory."""
        book = MediaBook()

        def fold(item: Decoded[m.MediaEvent]) -> None:
            book.apply(item.value, (item.partition, item.offset))

        skip = Skip(lambda topic: None)
        book.positions = read_window(
            BOOTSTRAP,
            self.topics.media,
            positions={},
            since=since,
            decode=decode_media_event,
            apply=fold,
            unusable=skip,
        )
        return book

    def job(self, work_dir: Path, settings: MediaSettings = SMALL_PARTS) -> MediaJob:
        return MediaJob(
            store=self.store,
            scanners=Scanners([BuiltinScanner()]),
            images=ImageMaker(settings),
            av=AvMaker.find(settings),
            work_dir=work_dir,
        )

    def events(self, expected: int) -> list[Any]:
        return decoded(read_committed(self.topics.media.name, expected=expected, deadline_s=30))


def media_env() -> MediaEnv:
    storage = S3Settings()
    return MediaEnv(fresh_topics(partitions=2), ObjectStore(connect(storage), storage.s3_bucket))
