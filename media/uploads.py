"""The upload service the edge calls: declare an upload, resume it, complete it.

Bytes never pass through Parley's processes on the way in: `declare` checks the request and
the person's quota, opens the upload in the object store and answers with pre-signed URLs
(one PUT, or one per part); `resume` lists the parts the store already holds and signs only
the others; `complete` finishes a multipart upload, then streams the object once to check
its size, SHA-256 and real type (media/inspect.py) and queues it for the processor. Each
step is an event on the media topic (media/lifecycle.py); the book it reads is folded from
that topic, so an upload outlives the edge node that declared it.

Blocking (boto3, Kafka flushes, hashing): the edge calls it from a worker thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict

from media import keys, parts, sniff
from media.book import MediaBook
from media.errors import MediaError
from media.inspect import Declared, Inspector
from media.lifecycle import MediaRecord, MediaStatus, event_meta
from media.log import MediaLog
from media.names import clean_file_name
from media.settings import MediaSettings
from media.storage import ObjectStore
from schemas import models as m
from schemas.models import MediaErrorCode, MediaKind
from sealing.names import Names

QUOTA_WINDOW = timedelta(days=1)
_HEX = frozenset("0123456789abcdef")


class UploadRequest(BaseModel):
    """What a client declares before sending a byte."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size_bytes: int
    sha256: str
    content_type: str
    file_name: str
    encrypted: bool = False
    """End-to-end encrypted: the server stores and serves opaque bytes (docs/media.md)."""


class PartTarget(BaseModel):
    """Send exactly `size_bytes` to `url` with PUT (and the ticket's headers)."""

    model_config = ConfigDict(frozen=True)

    number: int
    size_bytes: int
    url: str


class UploadTicket(BaseModel):
    """Where to send the bytes still missing; `parts` is empty once the store has them all."""

    model_config = ConfigDict(frozen=True)

    media_id: str
    multipart: bool
    part_bytes: int
    parts: tuple[PartTarget, ...]
    headers: dict[str, str]
    expires_at: datetime
    """The URLs stop working then; `resume` signs fresh ones."""


class CompletedUpload(BaseModel):
    """The bytes are verified; `content_type` and `kind` are what they really are."""

    model_config = ConfigDict(frozen=True)

    media_id: str
    size_bytes: int
    sha256: str
    content_type: str
    kind: MediaKind


class UploadService:
    def __init__(
        self,
        *,
        store: ObjectStore,
        book: MediaBook,
        log: MediaLog,
        settings: MediaSettings,
        names: Names,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`names` seals a file's name under its owner's key before it reaches the media
        topic, and from there every attachment of the events topic (docs/compliance.md)."""
        self.store = store
        self.book = book
        self.log = log
        self.settings = settings
        self.names = names
        self.clock = clock

    def declare(self, owner: m.Actor, request: UploadRequest) -> UploadTicket:
        s = self.settings
        if request.size_bytes <= 0:
            raise MediaError(MediaErrorCode.EMPTY_FILE, "an upload has at least one byte")
        if request.size_bytes > s.max_bytes:
            reason = f"{request.size_bytes} bytes; the limit is {s.max_bytes}"
            raise MediaError(MediaErrorCode.TOO_LARGE, reason)
        digest = request.sha256.lower()
        if len(digest) != 64 or not set(digest) <= _HEX:
            raise MediaError(MediaErrorCode.BAD_DIGEST, "sha256 is 64 hexadecimal digits")
        claimed = sniff.canonical(request.content_type)
        content_type = sniff.OCTET_STREAM if request.encrypted else claimed
        if content_type not in sniff.DECLARABLE:
            raise MediaError(MediaErrorCode.UNSUPPORTED_TYPE, f"{content_type} is not accepted")
        file_name = clean_file_name(request.file_name)
        now = self.clock()
        used = self.book.declared_bytes_since(owner.user_id, now - QUOTA_WINDOW)
        if used + request.size_bytes > s.quota_bytes_per_day:
            reason = f"{used} of {s.quota_bytes_per_day} bytes declared in the last 24 hours"
            raise MediaError(MediaErrorCode.OVER_QUOTA, reason)
        media_id = keys.new_media_id()
        plain_name, sealed_name = self.names.file_name(owner.user_id, media_id, file_name)
        key = keys.upload_key(media_id)
        plan = parts.plan(request.size_bytes, s.part_bytes)
        upload_id = self.store.create_multipart(key, content_type) if plan.multipart else None
        event = m.MediaDeclared(
            meta=event_meta(media_id, owner.user_id, now),
            device_id=owner.device_id,
            size_bytes=request.size_bytes,
            sha256=digest,
            content_type=content_type,
            file_name=plain_name,
            sealed_file_name=sealed_name,
            encrypted=request.encrypted,
            object_key=key,
            upload_id=upload_id,
            part_bytes=plan.part_bytes,
        )
        try:
            self._append(event)
        except MediaError:
            if upload_id is not None:  # never declared: nobody would ever sweep it
                self.store.abort_multipart(key, upload_id)
            raise
        return self._ticket(event, plan.parts, now)

    def resume(self, owner_id: str, media_id: str) -> UploadTicket:
        """A ticket for only the parts the store does not hold yet, with fresh URLs."""
        record = self._open(owner_id, media_id)
        declared = record.declared
        planned = _plan(declared).parts
        if declared.upload_id is None:
            held = self.store.size_of(declared.object_key) == declared.size_bytes
            missing = () if held else planned
        else:
            stored = self.store.list_parts(declared.object_key, declared.upload_id)
            sizes = {p.number: p.size for p in stored}
            missing = tuple(p for p in planned if sizes.get(p.number) != p.size)
            if not stored and self.store.size_of(declared.object_key) == declared.size_bytes:
                missing = ()  # an interrupted complete already put the parts together
        return self._ticket(declared, missing, self.clock())

    def complete(self, owner_id: str, media_id: str) -> CompletedUpload:
        """Verify the bytes against the declaration and hand them to the processor.

        Idempotent: completing again answers as the first time did. A refusal deletes the
        bytes and is final."""
        record = self._owned(owner_id, media_id)
        if record.uploaded is not None:
            return _completed(record.uploaded)
        record = self._open(owner_id, media_id)
        declared = record.declared
        size = self._assemble(declared)
        try:
            kind, content_type = self._inspect(declared, size)
        except MediaError as e:
            if not e.transient:
                self._reject(declared, e)
            raise
        uploaded = m.MediaUploaded(
            meta=event_meta(media_id, owner_id, self.clock()),
            object_key=declared.object_key,
            size_bytes=declared.size_bytes,
            sha256=declared.sha256,
            content_type=content_type,
            kind=kind,
        )
        self._append(uploaded)
        return _completed(uploaded)

    def _owned(self, owner_id: str, media_id: str) -> MediaRecord:
        """Someone else's media is NOT_FOUND, exactly as media that does not exist."""
        record = self.book.get(media_id) if keys.is_media_id(media_id) else None
        if record is None or record.owner_id != owner_id or record.status is MediaStatus.DELETED:
            raise MediaError(MediaErrorCode.NOT_FOUND, f"no media {media_id}")
        return record

    def _open(self, owner_id: str, media_id: str) -> MediaRecord:
        record = self._owned(owner_id, media_id)
        if record.rejected is not None:
            raise MediaError(record.rejected.code, record.rejected.reason)
        if record.status is not MediaStatus.DECLARED:
            raise MediaError(MediaErrorCode.ALREADY_COMPLETED, f"{media_id} is {record.status}")
        closes = record.declared_at + timedelta(seconds=self.settings.unattached_ttl_s)
        if self.clock() >= closes:
            raise MediaError(MediaErrorCode.EXPIRED, f"the upload closed at {closes.isoformat()}")
        return record

    def _assemble(self, declared: m.MediaDeclared) -> int:
        """Finish a multipart upload once every part is there, each of its planned size;
        returns the object's size. Missing bytes are INCOMPLETE, which the client can mend.

        A complete that finished the upload and then failed leaves no upload but an object:
        the retry goes on to verify that object."""
        key, upload_id = declared.object_key, declared.upload_id
        if upload_id is not None:
            self._finish_parts(declared, key, upload_id)
        size = self.store.size_of(key)
        if size is None:
            raise MediaError(MediaErrorCode.INCOMPLETE, "nothing was uploaded")
        return size

    def _finish_parts(self, declared: m.MediaDeclared, key: str, upload_id: str) -> None:
        try:
            stored = {p.number: p for p in self.store.list_parts(key, upload_id)}
        except MediaError as e:
            if e.code is not MediaErrorCode.NOT_FOUND:
                raise
            stored = {}
        if not stored and self.store.size_of(key) is not None:
            return  # an earlier complete finished the upload (s3proxy then lists no parts)
        planned = _plan(declared).parts
        sizes = {n: part.size for n, part in stored.items()}
        missing = [p.number for p in planned if sizes.get(p.number) != p.size]
        if missing:
            shown = ", ".join(map(str, missing[:20])) + (" ..." if len(missing) > 20 else "")
            raise MediaError(MediaErrorCode.INCOMPLETE, f"parts missing or cut short: {shown}")
        self.store.complete_multipart(key, upload_id, [stored[p.number] for p in planned])

    def _inspect(self, declared: m.MediaDeclared, size: int) -> tuple[MediaKind, str]:
        if size != declared.size_bytes:
            reason = f"{size} bytes arrived, {declared.size_bytes} were declared"
            raise MediaError(MediaErrorCode.SIZE_MISMATCH, reason)
        inspector = Inspector()
        for chunk in self.store.chunks(declared.object_key):
            inspector.update(chunk)
        promise = Declared(declared.size_bytes, declared.sha256, declared.content_type)
        if declared.encrypted:
            inspector.verify_integrity(promise)
            return MediaKind.ENCRYPTED, sniff.OCTET_STREAM
        found = inspector.verdict(promise)
        return found.kind, found.content_type

    def _reject(self, declared: m.MediaDeclared, error: MediaError) -> None:
        self.store.delete(declared.object_key)
        if declared.upload_id is not None:
            self.store.abort_multipart(declared.object_key, declared.upload_id)
        meta = event_meta(declared.meta.media_id, declared.meta.owner_id, self.clock())
        self._append(m.MediaRejected(meta=meta, code=error.code, reason=error.reason))

    def _append(self, event: m.MediaEvent) -> None:
        self.book.apply(event, self.log.append(event))

    def _ticket(
        self, declared: m.MediaDeclared, wanted: tuple[parts.Part, ...], now: datetime
    ) -> UploadTicket:
        ttl = self.settings.upload_url_ttl_s
        key, upload_id = declared.object_key, declared.upload_id

        def url(part: parts.Part) -> str:
            if upload_id is None:
                return self.store.presign_put(key, part.size, declared.content_type, ttl)
            return self.store.presign_part(key, upload_id, part.number, part.size, ttl)

        return UploadTicket(
            media_id=declared.meta.media_id,
            multipart=upload_id is not None,
            part_bytes=declared.part_bytes,
            parts=tuple(PartTarget(number=p.number, size_bytes=p.size, url=url(p)) for p in wanted),
            headers={} if upload_id is not None else {"Content-Type": declared.content_type},
            expires_at=now + timedelta(seconds=ttl),
        )


def _plan(declared: m.MediaDeclared) -> parts.UploadPlan:
    """The plan `declare` made: the same size and part size give the same parts."""
    return parts.plan(declared.size_bytes, declared.part_bytes)


def _completed(uploaded: m.MediaUploaded) -> CompletedUpload:
    return CompletedUpload(
        media_id=uploaded.meta.media_id,
        size_bytes=uploaded.size_bytes,
        sha256=uploaded.sha256,
        content_type=uploaded.content_type,
        kind=uploaded.kind,
    )
