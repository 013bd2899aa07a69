"""Where the platform lives and whether to start it: every knob is an environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from kafkalog.settings import REPO_ROOT
from objectstore.settings import S3Settings

__all__ = ["REPO_ROOT", "PlatformSettings"]


class PlatformSettings(S3Settings):
    """Local platform settings; giving an external address means nothing local is started for it.
    The S3 endpoint, credentials and bucket are everyone's (objectstore/settings.py)."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / ".parley", description="Broker log, S3 data, pids")
    jar_cache: Path = Field(default=Path.home() / ".cache" / "parley" / "jars")
    kafka_bootstrap: str | None = Field(default=None, description="Use this cluster, start none")
    kafka_port: int = Field(default=19092, description="Broker i of a cluster: this + 2i")
    kafka_controller_port: int = Field(default=19093, description="Node i of a cluster: this + 2i")
    kafka_heap: str = "768m"
    kafka_brokers: int = Field(
        default=1, ge=1, le=5, description="Local KRaft nodes (broker and controller each)"
    )
    kafka_jmx_port: int | None = Field(
        default=None, description="Serve the broker's JMX metrics here (127.0.0.1), to profile it"
    )
    topic_prefix: str = "parley"
    edge_port: int = Field(default=8080, description="Edge node i listens on edge_port + i")
    metrics_port: int = Field(default=9100, description="Processor k: metrics, probes on +k")
    edge_nodes_local: int = Field(default=1, ge=1, le=16, description="Edge nodes `up` starts")
    partitions: int = Field(default=8, ge=1)
    replication_factor: int | None = Field(
        default=None, ge=1, description="Of Parley's topics; unset: 3 on 3+ local brokers, else 1"
    )
    min_insync_replicas: int | None = Field(
        default=None, ge=1, description="Of Parley's topics; unset: 2 on 3+ local brokers, else 1"
    )
    restart_base_s: float = Field(default=0.5, gt=0, description="Supervisor: first restart delay")
    restart_max_s: float = Field(default=30.0, gt=0, description="Supervisor: longest delay")
    restart_stable_s: float = Field(
        default=30.0, gt=0, description="Supervisor: a run this long resets the backoff"
    )
    restart_give_up_after: int = Field(
        default=6, ge=1, description="Supervisor: fast crashes in a row before it gives up"
    )

    @property
    def bootstrap(self) -> str:
        if self.kafka_bootstrap:
            return self.kafka_bootstrap
        return ",".join(f"127.0.0.1:{port}" for port in self.broker_ports)

    @property
    def broker_ports(self) -> list[int]:
        return [self.kafka_port + 2 * i for i in range(self.kafka_brokers)]

    @property
    def controller_ports(self) -> list[int]:
        return [self.kafka_controller_port + 2 * i for i in range(self.kafka_brokers)]

    @property
    def topic_replicas(self) -> int:
        if self.replication_factor is not None:
            return self.replication_factor
        return 3 if self.runs_local_kafka and self.kafka_brokers >= 3 else 1

    @property
    def topic_min_isr(self) -> int:
        if self.min_insync_replicas is not None:
            return self.min_insync_replicas
        return 2 if self.topic_replicas >= 3 else 1

    @property
    def runs_local_kafka(self) -> bool:
        return self.kafka_bootstrap is None

    @property
    def runs_local_s3(self) -> bool:
        return self.s3_endpoint is None
