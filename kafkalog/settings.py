"""The settings every process that uses the log shares, from PARLEY_* environment variables:
one environment configures the sequencer, the registry, the fan-out, the views and the edge."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import Topics, declare_topics

REPO_ROOT = Path(__file__).resolve().parents[1]


class LogSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = Field(default="parley", description="Topics are <prefix>.<role>")
    partitions: int = Field(default=8, ge=1, description="Of commands, events and accounts")
    state_dir: Path = Field(
        default=REPO_ROOT / ".parley" / "state", description="Processors' and views' RocksDBs"
    )

    def topics(self) -> Topics:
        return declare_topics(self.topic_prefix, partitions=self.partitions)
