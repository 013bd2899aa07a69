"""Whether a person may attach a media to a message now, and what the message then carries.

One rule, asked twice: by the edge before it sends a command (a quick, clear refusal, no
round trip through the log) and by the sequencer when it decides (the word that counts,
against its own book). A media is attachable by its owner only, once it is READY (scanned
clean and published), and only within the attach window after its declaration: the
sweeper deletes unattached media a grace period after that window, so nothing attached can
be swept. What the message carries is built from the media's record, never from what the
sender says about it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from media.lifecycle import MediaRecord, MediaStatus
from schemas import models as m


class Unattachable(StrEnum):
    MISSING = "missing"
    """Unknown, someone else's, refused, deleted or too old: the same to the sender, so that
    a media id never tells a stranger that it exists."""
    NOT_READY = "not ready"
    """The sender's own upload, still being uploaded or processed: try again shortly."""


class UnattachableError(Exception):
    def __init__(self, kind: Unattachable, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def attachment(
    record: MediaRecord | None, media_id: str, sender_id: str, now: datetime, window: timedelta
) -> m.Attachment:
    """What a message from `sender_id` attaching `media_id` carries; raises
    `UnattachableError` when it may not attach it now."""
    missing = UnattachableError(Unattachable.MISSING, f"no media {media_id}")
    if record is None or record.owner_id != sender_id:
        raise missing
    if record.status is MediaStatus.REJECTED and record.rejected is not None:
        code = record.rejected.code.value
        raise UnattachableError(Unattachable.MISSING, f"media {media_id} was refused: {code}")
    if record.status is MediaStatus.DELETED:
        raise missing
    if now >= record.declared_at + window:
        reason = f"media {media_id} was declared over {window} ago; upload it again"
        raise UnattachableError(Unattachable.MISSING, reason)
    if record.status is not MediaStatus.READY or record.processed is None:
        raise UnattachableError(Unattachable.NOT_READY, f"media {media_id} is {record.status}")
    declared, processed = record.declared, record.processed
    return m.Attachment(
        media_id=media_id,
        content_type=processed.content_type,
        size_bytes=declared.size_bytes,
        sha256=declared.sha256,
        kind=processed.kind,
        file_name=declared.file_name,
        sealed_file_name=declared.sealed_file_name,
        width=processed.width,
        height=processed.height,
        duration_ms=processed.duration_ms,
        placeholder=processed.placeholder,
        variants=processed.variants,
    )
