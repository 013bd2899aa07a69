"""Events of the media topic for pure tests: a media declared, uploaded, processed, refused or
deleted, as the upload service, the processor and the sweeper write them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from media.book import MediaBook
from schemas import models as m

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def meta(media_id: str, owner: str = "ana", at: datetime = T0) -> m.MediaEventMeta:
    return m.MediaEventMeta(
        event_id=str(uuid.uuid4()), media_id=media_id, owner_id=owner, occurred_at=at
    )


def declared(
    media_id: str,
    size: int = 100,
    owner: str = "ana",
    at: datetime = T0,
    *,
    encrypted: bool = False,
) -> m.MediaDeclared:
    return m.MediaDeclared(
        meta=meta(media_id, owner, at),
        device_id="phone",
        size_bytes=size,
        sha256="0" * 64,
        content_type="application/octet-stream" if encrypted else "image/jpeg",
        file_name="a.jpg",
        encrypted=encrypted,
        object_key=f"uploads/{media_id}",
        part_bytes=size,
    )


def uploaded(media_id: str, kind: m.MediaKind = m.MediaKind.IMAGE) -> m.MediaUploaded:
    return m.MediaUploaded(
        meta=meta(media_id),
        object_key=f"uploads/{media_id}",
        size_bytes=100,
        sha256="0" * 64,
        content_type="image/jpeg",
        kind=kind,
    )


def thumbnail(media_id: str) -> m.MediaVariant:
    return m.MediaVariant(
        name=m.MediaVariantName.THUMBNAIL,
        object_key=f"media/{media_id}/thumbnail-{'1' * 64}.webp",
        content_type="image/webp",
        size_bytes=10,
        sha256="1" * 64,
        width=32,
        height=24,
    )


def processed(
    media_id: str, placeholder: str = "LEHV6nWB2yk8", kind: m.MediaKind = m.MediaKind.IMAGE
) -> m.MediaProcessed:
    image = kind is m.MediaKind.IMAGE
    return m.MediaProcessed(
        meta=meta(media_id),
        kind=kind,
        content_type="image/jpeg" if image else "application/octet-stream",
        variants=(thumbnail(media_id),) if image else (),
        width=640 if image else None,
        height=480 if image else None,
        placeholder=placeholder if image else None,
    )


def rejected(media_id: str) -> m.MediaRejected:
    return m.MediaRejected(meta=meta(media_id), code=m.MediaErrorCode.MALWARE, reason="EICAR")


def deleted(media_id: str) -> m.MediaDeleted:
    return m.MediaDeleted(meta=meta(media_id), reason=m.MediaDeletionReason.UNATTACHED)


def book_of(*events: m.MediaEvent) -> MediaBook:
    book = MediaBook()
    for event in events:
        book.apply(event)
    return book


def ready(media_id: str, owner: str = "ana", at: datetime = T0) -> list[m.MediaEvent]:
    """A photo's events from declaration to READY."""
    return [declared(media_id, owner=owner, at=at), uploaded(media_id), processed(media_id)]


def account_erased(user: str, at: datetime = T0) -> m.AccountErased:
    """The accounts processor's `AccountErased` of `user`: what the media sweeper reacts to."""
    meta = m.AccountEventMeta(
        event_id=str(uuid.uuid4()),
        user_id=user,
        seq=9,
        device_id="compliance",
        command_id="erasure-1",
        client_msg_id="erasure-1",
        occurred_at=at,
    )
    return m.AccountErased(
        meta=meta, erasure_id="erasure-1", officer="compliance:op1", case_ref="C-7"
    )
