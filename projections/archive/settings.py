"""The archive process's settings, from PARLEY_* environment variables: the log's and the
archive's location (kafkalog/settings.py), and the writer's limits."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from kafkalog.settings import LogSettings
from objectstore.client import connect
from objectstore.store import ObjectStore
from projections.archive.cuts import CutLimits

ARCHIVED_TOPICS = ("events", "accounts")
"""The topic roles the archive keeps: every conversation event and every account event.
Not the media topic: its readers need its last day only, it is kept a week, and each
message carries its attachments' facts into the events topic (docs/archive.md)."""


class ArchiveSettings(LogSettings):
    archive_max_age_s: float = Field(default=60.0, gt=0)
    archive_max_bytes: int = Field(default=128 * 1024 * 1024, ge=1)
    archive_max_records: int = Field(default=1_000_000, ge=1)
    archive_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    archive_compact_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="A day's objects merge up to this"
    )
    archive_compact_objects: int = Field(
        default=60, ge=2, description="The current day's objects merge once this many are up"
    )
    archive_retry_for_s: float = Field(
        default=240.0,
        gt=0,
        description="How long an S3 call is retried before the process stops: under the "
        "consumer's max.poll.interval.ms (300 s), since uploads hold the loop",
    )
    archive_group: str | None = Field(default=None, description="Unset: <prefix>-archive")
    archive_instance: str = Field(default="0", description="Static member id in the group")

    @property
    def limits(self) -> CutLimits:
        return CutLimits(
            max_bytes=self.archive_max_bytes,
            max_records=self.archive_max_records,
            max_age_s=self.archive_max_age_s,
        )

    @property
    def group_id(self) -> str:
        return self.archive_group or f"{self.topic_prefix}-archive"

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / f"{self.topic_prefix}-archive-spool"

    def object_store(self) -> ObjectStore:
        return ObjectStore(
            connect(self),
            self.s3_bucket,
            part_bytes=self.archive_part_bytes,
            retry_for_s=self.archive_retry_for_s,
        )
