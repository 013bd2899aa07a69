"""The sequencer's settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class SequencerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "parley"
    partitions: int = Field(default=8, ge=1)
    sequencer_instance: str = Field(
        default="0", description="Stable per instance: its transactional id fences its zombie"
    )
    sequencer_group: str = Field(default="", description="Default: <topic_prefix>-sequencer")
    state_dir: Path = REPO_ROOT / ".parley" / "state"
    max_batch: int = Field(default=1000, ge=1)
    kafka_debug: str = Field(default="", description="librdkafka debug contexts, e.g. eos,cgrp")
    stuck_after_s: float = Field(default=30.0, gt=0, description="See watchdog.py")
    max_command_bytes: int = Field(default=256 * 1024, ge=1024)

    @property
    def group(self) -> str:
        """Consumer group and transactional-id stem, per topic set: static membership and
        fencing must never span two deployments sharing a broker."""
        return self.sequencer_group or f"{self.topic_prefix}-sequencer"
