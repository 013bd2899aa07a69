"""Files to and from Parley: an upload straight to object storage through pre-signed URLs,
resumed after a drop or a restart with only the parts the store lacks, and a download of a
rendition through the short-lived links the server hands to members.

The bytes never pass through the edge (docs/protocol.md, "Media"). A file is read a part at
a time, never whole: its SHA-256 is streamed once before declaring, and each part is read
when it is sent, a few in parallel.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import mimetypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import aiohttp
from yarl import URL

from client.errors import ApiError, ParleyError, ServerUnavailableError
from client.rest import RestApi
from edge.protocol.media import DeclareMedia, MediaInfo, UploadPart, UploadTicket

READ_BYTES = 1024 * 1024
RETRYABLE = frozenset({"unavailable", "timeout"})
"""Refusals that mean "try again shortly" (the store still settling a part cut off)."""
SETTLED = frozenset({"ready", "rejected", "deleted"})
T = TypeVar("T")
Progress = Callable[[int, int], None]
"""Called with (bytes the store has, bytes in all) as parts arrive."""


class UploadFailedError(ParleyError):
    """The upload stopped before the server had every byte: `media_id` resumes it (pass it
    back as `resume`), for a day after it was declared."""

    def __init__(self, message: str, *, media_id: str) -> None:
        super().__init__(message)
        self.media_id = media_id


class Source:
    """What is uploaded: a file on disk (read a part at a time) or bytes in memory."""

    def __init__(self, data: Path | bytes, file_name: str | None = None) -> None:
        self.data = data
        self.name = file_name or (data.name if isinstance(data, Path) else "file")
        self.size = data.stat().st_size if isinstance(data, Path) else len(data)

    def read(self, offset: int, size: int) -> bytes:
        if isinstance(self.data, bytes):
            return self.data[offset : offset + size]
        with self.data.open("rb") as f:
            f.seek(offset)
            return f.read(size)

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for offset in range(0, self.size, READ_BYTES):
            digest.update(self.read(offset, READ_BYTES))
        return digest.hexdigest()

    def content_type(self) -> str:
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


@dataclass
class Uploader:
    rest: RestApi
    http: Callable[[], aiohttp.ClientSession]
    parallel: int = 4
    part_attempts: int = 3
    call_attempts: int = 8
    complete_timeout_s: float = 120.0

    async def upload(
        self,
        source: Source,
        *,
        content_type: str | None = None,
        encrypted: bool = False,
        resume: str | None = None,
        on_declared: Callable[[str], None] | None = None,
        on_progress: Progress | None = None,
    ) -> MediaInfo:
        """Send `source` and complete it; answers the media as the server then holds it
        (`uploaded`: being processed). `resume`: a media id of an earlier, unfinished
        upload of the same bytes; `on_declared(media_id)` is told a new upload's id before
        any byte is sent, so that a caller can keep it and resume after a crash."""
        ticket = await self._ticket(source, content_type, encrypted, resume)
        if resume != ticket.media_id and on_declared is not None:
            on_declared(ticket.media_id)
        media_id = ticket.media_id
        done = source.size - sum(p.size_bytes for p in ticket.parts)
        for _ in range(2):
            done = await self._send(source, ticket, done, on_progress)
            try:
                return await self._retrying(
                    lambda: self.rest.complete_upload(media_id, self.complete_timeout_s)
                )
            except ApiError as e:
                if e.code != "incomplete":
                    raise
            # A part the store did not keep (cut off as it arrived): send what it lacks.
            ticket = await self._retrying(lambda: self.rest.resume_upload(media_id))
            done = source.size - sum(p.size_bytes for p in ticket.parts)
        raise UploadFailedError(f"the store still lacks parts of {media_id}", media_id=media_id)

    async def ready(self, media_id: str, *, deadline_s: float = 120.0) -> MediaInfo:
        """The media once processed: `ready`, or an `ApiError` naming why it was refused."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + deadline_s
        info = await self.rest.media_info(media_id)
        while info.status not in SETTLED and (left := deadline - loop.time()) > 0:
            info = await self.rest.media_info(media_id, wait_s=min(left, 20.0))
        if info.status == "ready":
            return info
        if info.error is not None:
            raise ApiError(info.error.code, info.error.message)
        raise ApiError("media_not_ready", f"{media_id} is still {info.status}")

    async def _ticket(
        self, source: Source, content_type: str | None, encrypted: bool, resume: str | None
    ) -> UploadTicket:
        if resume is not None:
            try:
                return await self._retrying(lambda: self.rest.resume_upload(resume))
            except ApiError as e:
                if e.code not in ("not_found", "expired"):
                    raise
        digest = await asyncio.to_thread(source.sha256)
        declaration = DeclareMedia(
            size_bytes=source.size,
            sha256=digest,
            content_type=content_type or source.content_type(),
            file_name=source.name,
            encrypted=encrypted,
        )
        return await self.rest.declare_media(declaration)

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        """`call`, again after a growing pause while the server says to try again."""
        for attempt in range(self.call_attempts):
            try:
                return await call()
            except ApiError as e:
                if e.code not in RETRYABLE or attempt == self.call_attempts - 1:
                    raise
            await asyncio.sleep(min(0.1 * 2**attempt, 5.0))
        raise AssertionError("unreachable")

    async def _send(
        self, source: Source, ticket: UploadTicket, done: int, on_progress: Progress | None
    ) -> int:
        slots = asyncio.Semaphore(self.parallel)
        sent = done

        async def one(part: UploadPart) -> None:
            nonlocal sent
            async with slots:
                offset = (part.number - 1) * ticket.part_bytes
                data = await asyncio.to_thread(source.read, offset, part.size_bytes)
                await self._put(ticket, part, data)
                sent += part.size_bytes
                if on_progress is not None:
                    on_progress(sent, source.size)

        try:
            await asyncio.gather(*(one(p) for p in ticket.parts))
        except ServerUnavailableError as e:
            raise UploadFailedError(str(e), media_id=ticket.media_id) from e
        return sent

    async def _put(self, ticket: UploadTicket, part: UploadPart, data: bytes) -> None:
        last: Exception | None = None
        for attempt in range(self.part_attempts):
            try:
                async with self.http().put(
                    URL(part.url, encoded=True), data=io.BytesIO(data), headers=ticket.headers
                ) as answer:
                    if answer.status == 200:
                        return
                    last = ParleyError(f"part {part.number}: the store answered {answer.status}")
                    if answer.status < 500:
                        raise last
            except (aiohttp.ClientError, TimeoutError) as e:
                last = e
            await asyncio.sleep(0.2 * 2**attempt)
        raise ServerUnavailableError(f"part {part.number} of {ticket.media_id}: {last}") from last


async def fetch(http: aiohttp.ClientSession, url: str, to: Path | None) -> bytes:
    """One rendition's bytes from its pre-signed URL (written to `to`, a chunk at a time,
    when given; the bytes returned are then empty)."""
    try:
        async with http.get(URL(url, encoded=True)) as answer:
            if answer.status != 200:
                code = "expired" if answer.status == 403 else f"http_{answer.status}"
                raise ApiError(code, f"the store answered {answer.status} for the download")
            if to is None:
                return await answer.read()
            with to.open("wb") as out:
                async for chunk in answer.content.iter_chunked(READ_BYTES):
                    out.write(chunk)
            return b""
    except aiohttp.ClientError as e:
        raise ServerUnavailableError(f"cannot download: {e}") from e
