"""Where the platform lives and whether to start it: every knob is an environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kafkalog.settings import REPO_ROOT
from media.storage import StorageSettings

__all__ = ["REPO_ROOT", "PlatformSettings"]


class PlatformSettings(StorageSettings):
    """Local platform settings; giving an external address means nothing local is started for it.
    The S3 endpoint, credentials and bucket are the media's (media/storage.py)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / ".parley", description="Broker log, S3 data, pids")
    jar_cache: Path = Field(default=Path.home() / ".cache" / "parley" / "jars")
    kafka_bootstrap: str | None = Field(default=None, description="Use this cluster, start none")
    kafka_port: int = 19092
    kafka_controller_port: int = 19093
    kafka_heap: str = "768m"
    kafka_jmx_port: int | None = Field(
        default=None, description="Serve the broker's JMX metrics here (127.0.0.1), to profile it"
    )
    topic_prefix: str = "parley"
    edge_port: int = Field(default=8080, description="Edge node i listens on edge_port + i")
    metrics_port: int = Field(default=9100, description="Processors serve metrics on +1 to +4")
    edge_nodes_local: int = Field(default=1, ge=1, le=16, description="Edge nodes `up` starts")
    partitions: int = Field(default=8, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int = Field(default=1, ge=1)

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.kafka_port}"

    @property
    def runs_local_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def runs_local_s3(self) -> bool:
        return self.s3_endpoint is None
