"""Photos, videos and files over the control plane (REST): declaring an upload, resuming it,
completing it, its state, and the short-lived links that download it.

Bytes never pass through the edge: a client PUTs them to the pre-signed URLs of an
`UploadTicket` and GETs them from those of a `MediaDownload`. docs/protocol.md ("Media") has
the whole flow; docs/media.md how the server checks and processes what is uploaded.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from edge.protocol.answers import ErrorDetail
from edge.protocol.control import RequestBody
from edge.protocol.events import MediaKind, ServerModel, Variant

MediaStatus = Literal["declared", "uploaded", "ready", "rejected", "deleted"]


class DeclareMedia(RequestBody):
    """What a file is before a byte of it is sent: the server refuses an upload it would
    refuse at the end (too large, over the daily quota, a type it does not take) at once.
    With `encrypted`, the bytes are ciphertext the server never inspects: `content_type` is
    ignored, and `size_bytes` and `sha256` are the ciphertext's."""

    size_bytes: int = Field(ge=0, le=2**53)
    sha256: Annotated[str, Field(max_length=128)]
    """Hexadecimal SHA-256 of the bytes to be sent; `complete` checks it."""
    content_type: Annotated[str, Field(max_length=255)]
    file_name: Annotated[str, Field(max_length=4096)]
    """A label only (cleaned: no path, no control characters); storage keys never use it."""
    encrypted: bool = False


class UploadPart(ServerModel):
    """PUT exactly `size_bytes` bytes to `url` (with the ticket's `headers`)."""

    number: int
    size_bytes: int
    url: str


class UploadTicket(ServerModel):
    """Where to send the bytes the server does not have yet: every part after `declare`,
    only the missing ones after a `resume`; empty once the store holds them all. The URLs
    stop working at `expires_at_ms`; a resume signs fresh ones."""

    media_id: str
    multipart: bool
    part_bytes: int
    parts: list[UploadPart]
    headers: dict[str, str]
    expires_at_ms: int


class MediaInfo(ServerModel):
    """An upload as its owner sees it. `declared`: bytes may be arriving; `uploaded`: checked
    and queued for scanning and processing; `ready`: it may be attached (`kind`, the layout
    and the renditions are known); `rejected`: refused for good, `error` says why;
    `deleted`: swept (never attached within a day) or erased."""

    media_id: str
    status: MediaStatus
    file_name: str
    size_bytes: int
    content_type: str
    kind: MediaKind | None = None
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    placeholder: str | None = None
    variants: list[Variant] = Field(default_factory=list)
    error: ErrorDetail | None = None


class DownloadLink(ServerModel):
    """A short-lived pre-signed GET of one rendition, on an immutable key (cached for a
    year by whatever sits in front of the store)."""

    name: Literal["ORIGINAL", "THUMBNAIL", "PREVIEW", "POSTER", "PLAYBACK"]
    url: str
    content_type: str
    size_bytes: int
    width: int | None = None
    height: int | None = None


class MediaDownload(ServerModel):
    """Links to every rendition of an attachment, for a member of a conversation in which a
    message (not deleted for everyone, not redacted) carries it; valid until
    `expires_at_ms`, after which the store refuses them: ask again."""

    media_id: str
    file_name: str
    kind: MediaKind
    expires_at_ms: int
    variants: list[DownloadLink]
