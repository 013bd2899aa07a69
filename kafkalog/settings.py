"""The settings every process that uses the log shares, from PARLEY_* environment variables:
one environment configures the sequencer, the registry, the fan-out, the views and the edge.
They include where the log's archive is (kafkalog/cold/settings.py): whoever rebuilds from
the log reads its oldest records there once the log no longer holds them."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kafkalog.cold.settings import ArchiveLocation
from schemas.topics import Topics, declare_topics

REPO_ROOT = Path(__file__).resolve().parents[1]


class LogSettings(ArchiveLocation):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    partitions: int = Field(default=8, ge=1, description="Of commands, events and accounts")
    state_dir: Path = Field(
        default=REPO_ROOT / ".parley" / "state", description="Processors' and views' RocksDBs"
    )

    def topics(self) -> Topics:
        return declare_topics(self.topic_prefix, partitions=self.partitions)
