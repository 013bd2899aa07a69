"""The media processor's own settings, from PARLEY_* environment variables; the broker,
topics and state directory are every process's (kafkalog/settings.py), and the limits and
processing knobs it shares with the edge are MediaSettings (media/settings.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field

from kafkalog.settings import LogSettings
from schemas.models import MediaKind


class Lane(StrEnum):
    """Which jobs a processor takes: a transcode runs for seconds to minutes, and in a lane
    of its own it never holds up the thumbnails queued behind it in the same partition."""

    ALL = "all"
    STILL = "still"
    AV = "av"


LANE_KINDS = {
    Lane.ALL: frozenset(MediaKind),
    Lane.STILL: frozenset({MediaKind.IMAGE, MediaKind.FILE, MediaKind.ENCRYPTED}),
    Lane.AV: frozenset({MediaKind.VIDEO, MediaKind.AUDIO}),
}


class ProcessorSettings(LogSettings):
    media_instance: str = Field(
        default="0", description="Stable per processor of a lane: its static group membership"
    )
    media_lane: Lane = Field(default=Lane.ALL, description="Which kinds of upload to process")
    media_sweep_every_s: float = Field(default=600.0, gt=0, description="Sweeper period")
    media_erasure_every_s: float = Field(
        default=5.0, gt=0, description="How often the sweeper looks for new erasures"
    )

    def group(self, role: str) -> str:
        """Per topic set and lane: each lane reads every job and keeps its own position."""
        suffix = "" if role == "sweeper" else f"-{self.media_lane.value}"
        return f"{self.topic_prefix}-media-{role}{suffix}"

    @property
    def instance_id(self) -> str:
        return f"{self.group('processor')}-{self.media_instance}"

    @property
    def work_dir(self) -> Path:
        """This processor's own: what a crash left in it is cleared at its next start,
        which must not touch another lane's or instance's job in progress."""
        name = f"{self.topic_prefix}-media-work-{self.media_lane.value}-{self.media_instance}"
        return self.state_dir / name
