"""The media processor's own settings, from PARLEY_* environment variables; the limits and
processing knobs it shares with the edge are MediaSettings (media/settings.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.models import MediaKind

REPO_ROOT = Path(__file__).resolve().parents[2]


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


class ProcessorSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "parley"
    partitions: int = Field(default=8, ge=1)
    state_dir: Path = REPO_ROOT / ".parley" / "state"
    media_lane: Lane = Field(default=Lane.ALL, description="Which kinds of upload to process")
    media_sweep_every_s: float = Field(default=600.0, gt=0, description="Sweeper period")

    def group(self, role: str) -> str:
        """Per topic set and lane: each lane reads every job and keeps its own position."""
        suffix = "" if role == "sweeper" else f"-{self.media_lane.value}"
        return f"{self.topic_prefix}-media-{role}{suffix}"

    @property
    def work_dir(self) -> Path:
        return self.state_dir / f"{self.topic_prefix}-media-work"
