"""A media's lifecycle as a fold of its events: declared, uploaded, ready, or rejected, deleted.

    MediaDeclared -> DECLARED --MediaUploaded--> UPLOADED --MediaProcessed--> READY
                         \\                          \\
                          +------ MediaRejected ------+--> REJECTED
    any state --MediaDeleted--> DELETED

`MediaErasureRequested` moves no record: it asks the sweeper to delete a media its book may
not hold (streams/media/erasure.py), and the `MediaDeleted` that follows is the change.

`evolve` is pure and idempotent: the media topic is read at least once by everyone who folds
it (a processor re-run after a crash writes its event twice, an upload service folds its own
event and then reads it back), so an event that does not move a record forward is ignored,
and the first MediaProcessed wins.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import get_args

from schemas import models as m

MEDIA_EVENTS: tuple[type[m.MediaEvent], ...] = get_args(m.MediaEvent)


class MediaStatus(StrEnum):
    DECLARED = "declared"
    """The upload is open: bytes may be arriving."""
    UPLOADED = "uploaded"
    """The bytes keep the declaration; the processor has the job."""
    READY = "ready"
    """Scanned clean and published: may be attached and served."""
    REJECTED = "rejected"
    DELETED = "deleted"


@dataclass(frozen=True)
class MediaRecord:
    """One media: its declaration and what has happened to it since."""

    declared: m.MediaDeclared
    status: MediaStatus = MediaStatus.DECLARED
    uploaded: m.MediaUploaded | None = None
    processed: m.MediaProcessed | None = None
    rejected: m.MediaRejected | None = None

    @property
    def media_id(self) -> str:
        return self.declared.meta.media_id

    @property
    def owner_id(self) -> str:
        return self.declared.meta.owner_id

    @property
    def declared_at(self) -> datetime:
        return self.declared.meta.occurred_at


def evolve(record: MediaRecord | None, event: m.MediaEvent) -> MediaRecord | None:
    """The record after `event`; None only while nothing was declared."""
    if isinstance(event, m.MediaDeclared):
        return record or MediaRecord(event)
    if record is None:
        return None  # declared before the window this reader folds: not its concern
    match event:
        case m.MediaUploaded() if record.status is MediaStatus.DECLARED:
            return replace(record, status=MediaStatus.UPLOADED, uploaded=event)
        case m.MediaProcessed() if record.status is MediaStatus.UPLOADED:
            return replace(record, status=MediaStatus.READY, processed=event)
        case m.MediaRejected() if record.status in (MediaStatus.DECLARED, MediaStatus.UPLOADED):
            return replace(record, status=MediaStatus.REJECTED, rejected=event)
        case m.MediaDeleted():
            return replace(record, status=MediaStatus.DELETED)
    return record


def event_meta(media_id: str, owner_id: str, at: datetime) -> m.MediaEventMeta:
    """The meta of a new event about `media_id`: a fresh event id, the media's owner."""
    return m.MediaEventMeta(
        event_id=str(uuid.uuid4()), media_id=media_id, owner_id=owner_id, occurred_at=at
    )
