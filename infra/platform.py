"""Starts, stops and reports the whole local platform: Kafka, the S3 server, topics, bucket."""

from __future__ import annotations

from dataclasses import dataclass

from infra.kafka import local_nodes, wait_for_cluster
from infra.objectstore import LocalObjectStore, ensure_bucket
from infra.processes import ManagedProcess, port_answers
from infra.settings import PlatformSettings
from infra.topics import ensure_topics
from schemas.topics import declare_topics


@dataclass
class PartStatus:
    name: str
    address: str
    managed: bool
    running: bool

    def line(self) -> str:
        who = "local" if self.managed else "external"
        state = "up" if self.running else "down"
        return f"{self.name:8} {state:5} {who:8} {self.address}"


class LocalPlatform:
    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.kafka_nodes = local_nodes(settings)
        self.object_store = LocalObjectStore(settings)

    def start(self) -> None:
        """Idempotent: starts what is local and not running, then creates topics and bucket."""
        s = self.settings
        if s.runs_local_kafka:
            for node in self.kafka_nodes:
                node.start()
            wait_for_cluster(s)
        if s.runs_local_s3:
            self.object_store.start()
        self.prepare_data()

    def prepare_data(self) -> None:
        """Parley's topics (replicated as the settings say) and its bucket."""
        s = self.settings
        ensure_topics(
            s.bootstrap,
            declare_topics(
                s.topic_prefix,
                partitions=s.partitions,
                replication_factor=s.topic_replicas,
                min_insync_replicas=s.topic_min_isr,
            ),
        )
        ensure_bucket(s)

    def stop(self) -> list[str]:
        """Stops the S3 server and every local Kafka node with a pid file, whatever broker
        count started them."""
        stopped = []
        if self.object_store.process.stop():
            stopped.append("s3proxy")
        run_dir = self.settings.data_dir / "run"
        for pid_file in sorted(run_dir.glob("kafka*.pid"), reverse=True):
            node = ManagedProcess(pid_file.stem, run_dir, self.settings.data_dir / "logs")
            if node.stop(timeout_s=60):
                stopped.append(node.name)
        return stopped

    def status(self) -> list[PartStatus]:
        s = self.settings
        parts = [
            PartStatus(
                node.process.name,
                f"127.0.0.1:{node.port}",
                True,
                node.process.is_running() and port_answers(node.port),
            )
            for node in (self.kafka_nodes if s.runs_local_kafka else [])
        ]
        if not s.runs_local_kafka:
            parts.append(PartStatus("kafka", s.bootstrap, False, True))
        s3_up = not s.runs_local_s3 or (
            self.object_store.process.is_running() and port_answers(s.s3_port)
        )
        return [*parts, PartStatus("s3", s.s3_url, s.runs_local_s3, s3_up)]
