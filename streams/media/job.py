"""One job of the media processor: a verified upload in, MediaProcessed or MediaRejected out.

The job downloads the upload into a private temporary directory and checks its digest and
type once more: the client's pre-signed PUT may still be valid after `complete`, so the
staging object could have been replaced since it was verified, and only the bytes checked
here are ever published. Then every scanner reads it, the image or audio/video path makes
the served renditions, and each is published under its own digest (media/keys.py).
A refusal deletes whatever was published; nothing of a refused upload is ever served.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from media import keys, sniff
from media.errors import MediaError
from media.inspect import Declared, Inspector
from media.lifecycle import event_meta
from media.storage import ObjectStore
from schemas import models as m
from schemas.models import MediaErrorCode, MediaKind, MediaVariantName
from streams.media.av import AvMaker
from streams.media.images import ImageMaker, Rendition
from streams.media.scan import Scanners

log = logging.getLogger("parley.media")


@dataclass(frozen=True)
class Layout:
    """What a client needs to lay the media out before downloading it."""

    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    placeholder: str | None = None


INLINE = frozenset({MediaKind.IMAGE, MediaKind.VIDEO, MediaKind.AUDIO})
"""Shown in the page; everything else is offered as a download (`attachment`)."""


class MediaJob:
    def __init__(
        self,
        *,
        store: ObjectStore,
        scanners: Scanners,
        images: ImageMaker,
        av: AvMaker | None,
        work_dir: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.scanners = scanners
        self.images = images
        self.av = av
        self.work_dir = work_dir
        self.clock = clock

    def clear_leftovers(self) -> int:
        """Delete what jobs killed midway left in the work directory (a process killed with
        -9 removes no temporary directory); returns how many there were. Only this
        processor uses its work directory, and it runs no job yet."""
        leftovers = list(self.work_dir.glob("job-*")) if self.work_dir.exists() else []
        for leftover in leftovers:
            shutil.rmtree(leftover, ignore_errors=True)
        return len(leftovers)

    def run(self, job: m.MediaUploaded) -> m.MediaProcessed | m.MediaRejected | None:
        """The event that ends the job; None when the upload is no longer there (the job
        ran before and cleaned up, or the sweeper came first). A transient MediaError or
        ScannerUnavailableError leaves the job to be retried."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir, prefix="job-") as tmp:
            try:
                return self._process(job, Path(tmp))
            except MediaError as e:
                if e.transient:
                    raise
                if e.code is MediaErrorCode.NOT_FOUND:
                    log.info("media %s: upload gone, nothing to do", job.meta.media_id)
                    return None
                log.info("media %s refused: %s", job.meta.media_id, e)
                self.store.delete_prefix(keys.media_prefix(job.meta.media_id))
                return m.MediaRejected(
                    meta=event_meta(job.meta.media_id, job.meta.owner_id, self.clock()),
                    code=e.code,
                    reason=e.reason,
                )

    def _process(self, job: m.MediaUploaded, tmp: Path) -> m.MediaProcessed:
        source = tmp / "upload"
        self._fetch(job, source)
        if job.kind is MediaKind.ENCRYPTED:
            renditions, layout = [_as_uploaded(source, job.content_type)], Layout()
        else:
            finding = self.scanners.scan(source)
            if finding is not None:
                raise MediaError(finding.code, finding.reason)
            renditions, layout = self._renditions(job, source, tmp)
        inline = job.kind in INLINE
        variants = tuple(self._publish(job.meta.media_id, r, inline) for r in renditions)
        return m.MediaProcessed(
            meta=event_meta(job.meta.media_id, job.meta.owner_id, self.clock()),
            kind=job.kind,
            content_type=job.content_type,
            variants=variants,
            width=layout.width,
            height=layout.height,
            duration_ms=layout.duration_ms,
            placeholder=layout.placeholder,
        )

    def _fetch(self, job: m.MediaUploaded, path: Path) -> None:
        inspector = Inspector()
        with path.open("wb") as out:
            for chunk in self.store.chunks(job.object_key):
                inspector.update(chunk)
                out.write(chunk)
        promise = Declared(job.size_bytes, job.sha256, job.content_type)
        if job.kind is MediaKind.ENCRYPTED:
            inspector.verify_integrity(promise)
        else:
            inspector.verdict(promise)

    def _renditions(
        self, job: m.MediaUploaded, source: Path, tmp: Path
    ) -> tuple[list[Rendition], Layout]:
        if job.kind is MediaKind.IMAGE:
            made = self.images.make(source, tmp)
            return list(made.renditions), Layout(made.width, made.height, None, made.placeholder)
        if job.kind in (MediaKind.VIDEO, MediaKind.AUDIO) and self.av is not None:
            return self._audio_video(self.av, source, tmp)
        return [_as_uploaded(source, job.content_type)], Layout()

    def _audio_video(self, av: AvMaker, source: Path, tmp: Path) -> tuple[list[Rendition], Layout]:
        probe = av.probe(source)
        if not probe.has_video:
            if not probe.has_audio:
                raise MediaError(MediaErrorCode.CORRUPT, "neither video nor audio in it")
            track = av.playable_audio(source, tmp / "playback.m4a")
            playback = Rendition(MediaVariantName.PLAYBACK, track, "audio/mp4", "m4a")
            return [playback], Layout(duration_ms=probe.duration_ms)
        frame = av.poster(source, probe, tmp / "poster.png")
        (tmp / "poster").mkdir()
        poster = self.images.make(frame, tmp / "poster", keep_original=False)
        renditions = [
            Rendition(
                MediaVariantName.POSTER, r.path, r.content_type, r.extension, r.width, r.height
            )
            if r.name is MediaVariantName.PREVIEW
            else r
            for r in poster.renditions
        ]
        playable = av.playable_video(source, probe, tmp / "playback.mp4")
        video = Rendition(
            MediaVariantName.PLAYBACK, playable, "video/mp4", "mp4", probe.width, probe.height
        )
        layout = Layout(probe.width, probe.height, probe.duration_ms, poster.placeholder)
        return [*renditions, video], layout

    def _publish(self, media_id: str, rendition: Rendition, inline: bool) -> m.MediaVariant:
        digest, size = _digest(rendition.path)
        key = keys.variant_key(media_id, rendition.name, digest, rendition.extension)
        self.store.publish(
            key, rendition.path, rendition.content_type, "inline" if inline else "attachment"
        )
        return m.MediaVariant(
            name=rendition.name,
            object_key=key,
            content_type=rendition.content_type,
            size_bytes=size,
            sha256=digest,
            width=rendition.width,
            height=rendition.height,
        )


def _as_uploaded(source: Path, content_type: str) -> Rendition:
    """The verified bytes themselves: files, ciphertext, and video without ffmpeg."""
    extension = sniff.EXTENSIONS.get(content_type, "bin")
    return Rendition(MediaVariantName.ORIGINAL, source, content_type, extension)


def _digest(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while block := file.read(1024 * 1024):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size
