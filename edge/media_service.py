"""Photos, videos and files as clients ask for them: declare, resume and complete an upload
(media/uploads.py, from worker threads: boto3, Kafka flushes and hashing block), its state,
the check before a message attaches media, and the download links.

The edge hands out URLs and never touches the bytes. A download is authorized through the
history view alone: a link is signed only for someone who may read a message, not deleted
for everyone nor redacted, that carries the media (edge/read_service.py), and only while the
media book does not know the media as deleted; anyone else gets `not_found`, whether the
media exists or not. The view may trail the push that told a member of the message by a few
milliseconds, so a refusal first waits for the view's next writes (edge/view_writes.py) up to
`wait_s`; a stranger waits as long, and learns nothing from the time either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar
from urllib.parse import quote

from edge.errors import NO_SUCH_MEDIA, ClientError, ErrorCode, media_code, media_error
from edge.media_watch import MediaWatch
from edge.protocol.answers import ErrorDetail
from edge.protocol.events import Variant
from edge.protocol.media import (
    DeclareMedia,
    DownloadLink,
    MediaDownload,
    MediaInfo,
    UploadPart,
    UploadTicket,
)
from edge.read_service import ReadService
from edge.view_writes import ViewWrites
from media import keys
from media.attachment import Unattachable, UnattachableError, attachment
from media.errors import MediaError
from media.lifecycle import MediaRecord, MediaStatus
from media.settings import MediaSettings
from media.storage import ObjectStore
from media.uploads import UploadRequest, UploadService
from media.uploads import UploadTicket as Ticket
from schemas import models as m
from sealing.names import Names

T = TypeVar("T")
SETTLED = frozenset({MediaStatus.READY, MediaStatus.REJECTED, MediaStatus.DELETED})
MAX_WAIT_S = 30.0
"""The longest `Prefer: wait=` a client may ask of `GET /v1/media/{media_id}`."""
INLINE = frozenset({m.MediaKind.IMAGE, m.MediaKind.VIDEO, m.MediaKind.AUDIO})


class MediaService:
    def __init__(
        self,
        *,
        uploads: UploadService,
        watch: MediaWatch,
        reads: ReadService,
        history_writes: ViewWrites,
        store: ObjectStore,
        settings: MediaSettings,
        wait_s: float = 2.0,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`wait_s`: how long a request waits for this edge's views of the log (the media
        book, the history view) to show what the log already holds."""
        self.uploads = uploads
        self.watch = watch
        self.reads = reads
        self.history_writes = history_writes
        self.store = store
        self.settings = settings
        self.wait_s = wait_s
        self.clock = clock

    async def declare(self, user_id: str, device_id: str, body: DeclareMedia) -> UploadTicket:
        owner = m.Actor(user_id=user_id, device_id=device_id)
        request = UploadRequest(
            size_bytes=body.size_bytes,
            sha256=body.sha256,
            content_type=body.content_type,
            file_name=body.file_name,
            encrypted=body.encrypted,
        )
        return _ticket(await self._blocking(lambda: self.uploads.declare(owner, request)))

    async def resume(self, user_id: str, media_id: str) -> UploadTicket:
        await self._owned(user_id, media_id)
        return _ticket(await self._blocking(lambda: self.uploads.resume(user_id, media_id)))

    async def complete(self, user_id: str, media_id: str) -> MediaInfo:
        await self._owned(user_id, media_id)
        await self._blocking(lambda: self.uploads.complete(user_id, media_id))
        return await self.info(user_id, media_id)

    async def info(self, user_id: str, media_id: str, wait_s: float = 0.0) -> MediaInfo:
        """The media's state; with `wait_s`, once it is settled (ready, rejected, deleted)
        or the wait is over, whichever comes first."""
        record = await self._owned(user_id, media_id)
        deadline = asyncio.get_running_loop().time() + min(wait_s, MAX_WAIT_S)
        while record.status not in SETTLED:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or not await self.watch.changed(media_id, left):
                break
            record = await self._owned(user_id, media_id)
        return _info(record, self.uploads.names)

    async def check_attachable(self, user_id: str, media_ids: list[str]) -> None:
        """Before a message attaching these media is sent: each is the sender's, ready and
        recent, as this edge's book knows it (the sequencer decides again, against its own).
        Refused here, a bad id costs no round trip through the log."""
        window = timedelta(seconds=self.settings.unattached_ttl_s)
        for media_id in media_ids:
            record = await self.watch.known(media_id, self.wait_s)
            if record is not None and record.status not in SETTLED:
                await self.watch.changed(media_id, self.wait_s)
                record = self.watch.book.get(media_id)
            try:
                attachment(record, media_id, user_id, self.clock(), window)
            except UnattachableError as e:
                if e.kind is Unattachable.NOT_READY:
                    raise ClientError(ErrorCode.MEDIA_NOT_READY, e.reason) from e
                raise NO_SUCH_MEDIA from e

    async def download(self, user_id: str, media_id: str) -> MediaDownload:
        if not keys.is_media_id(media_id) or self._deleted(media_id):
            raise NO_SUCH_MEDIA
        found = await self.reads.readable_attachment(user_id, media_id)
        if found is None:
            found = await self._readable_once_written(user_id, media_id)
        if found is None:
            raise NO_SUCH_MEDIA
        ttl = self.settings.download_url_ttl_s
        expires = self.clock() + timedelta(seconds=ttl)
        file_name = found.file_name
        disposition = content_disposition(found.kind in INLINE, file_name)

        def sign() -> list[DownloadLink]:
            return [
                DownloadLink(
                    name=v.name.value,
                    url=self.store.presign_get(v.object_key, ttl, disposition),
                    content_type=v.content_type,
                    size_bytes=v.size_bytes,
                    width=v.width,
                    height=v.height,
                )
                for v in found.variants
            ]

        return MediaDownload(
            media_id=media_id,
            file_name=file_name,
            kind=found.kind.value,
            expires_at_ms=_millis(expires),
            variants=await asyncio.to_thread(sign),
        )

    async def request_erasures(self, requests: list[m.MediaErasureRequested]) -> None:
        """Ask the media sweeper to delete these media's files (a step of an erasure)."""
        await self._blocking(lambda: self.uploads.log.append_all(requests))

    def _deleted(self, media_id: str) -> bool:
        """The book saw the media deleted (its owner erased, or never attached): its objects
        are gone, so no link is signed, even while the history view has yet to apply the
        erasure. Past the book's day, the view alone refuses: an erasure drops the person's
        messages, and with them every way to their attachments."""
        record = self.watch.book.get(media_id)
        return record is not None and record.status is MediaStatus.DELETED

    async def _readable_once_written(self, user_id: str, media_id: str) -> m.Attachment | None:
        """Read again after each write of the history view, until the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait_s
        with self.history_writes.watching():
            while True:
                noted = self.history_writes.generation
                found = await self.reads.readable_attachment(user_id, media_id, fresh=True)
                left = deadline - loop.time()
                if found is not None or left <= 0:
                    return found
                if not await self.history_writes.after(noted, left):
                    return None

    async def _owned(self, user_id: str, media_id: str) -> MediaRecord:
        """The user's own media, waiting for this edge's book if it was declared elsewhere;
        anyone else's is `not_found`, like media that does not exist."""
        if not keys.is_media_id(media_id):
            raise NO_SUCH_MEDIA
        record = await self.watch.known(media_id, self.wait_s)
        if record is None or record.owner_id != user_id:
            raise NO_SUCH_MEDIA
        return record

    async def _blocking(self, call: Callable[[], T]) -> T:
        try:
            return await asyncio.to_thread(call)
        except MediaError as e:
            raise media_error(e) from e


def content_disposition(inline: bool, file_name: str) -> str:
    """How a browser treats a download: shown in place or saved, under the file's name
    (RFC 6266: an ASCII fallback and the UTF-8 name, percent-encoded)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(file_name)}"


def _ticket(ticket: Ticket) -> UploadTicket:
    return UploadTicket(
        media_id=ticket.media_id,
        multipart=ticket.multipart,
        part_bytes=ticket.part_bytes,
        parts=[
            UploadPart(number=p.number, size_bytes=p.size_bytes, url=p.url) for p in ticket.parts
        ],
        headers=dict(ticket.headers),
        expires_at_ms=_millis(ticket.expires_at),
    )


def _info(record: MediaRecord, names: Names) -> MediaInfo:
    """What the owner is told of their media (its name opened)."""
    declared, processed, rejected = record.declared, record.processed, record.rejected
    file_name = names.open_file_name(
        record.owner_id, record.media_id, declared.file_name, declared.sealed_file_name
    )
    kind = processed.kind if processed else record.uploaded.kind if record.uploaded else None
    error = None
    if rejected is not None:
        error = ErrorDetail(code=media_code(rejected.code), message=rejected.reason)
    return MediaInfo(
        media_id=record.media_id,
        status=record.status.value,
        file_name=file_name,
        size_bytes=declared.size_bytes,
        content_type=processed.content_type if processed else declared.content_type,
        kind=kind.value if kind else None,
        width=processed.width if processed else None,
        height=processed.height if processed else None,
        duration_ms=processed.duration_ms if processed else None,
        placeholder=processed.placeholder if processed else None,
        variants=[_variant(v) for v in processed.variants] if processed else [],
        error=error,
    )


def _variant(variant: m.MediaVariant) -> Variant:
    return Variant(
        name=variant.name.value,
        content_type=variant.content_type,
        size_bytes=variant.size_bytes,
        sha256=variant.sha256,
        width=variant.width,
        height=variant.height,
    )


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)
