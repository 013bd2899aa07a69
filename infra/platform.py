"""Starts, stops and reports the whole local platform: Kafka, the S3 server, topics, bucket."""

from __future__ import annotations

from dataclasses import dataclass

from infra.kafka import LocalKafka
from infra.objectstore import LocalObjectStore, ensure_bucket
from infra.processes import port_answers
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
        self.kafka = LocalKafka(settings)
        self.object_store = LocalObjectStore(settings)

    def start(self) -> None:
        """Idempotent: starts what is local and not running, then creates topics and bucket."""
        s = self.settings
        if s.runs_local_kafka:
            self.kafka.start()
        if s.runs_local_s3:
            self.object_store.start()
        ensure_topics(
            s.bootstrap,
            declare_topics(
                s.topic_prefix,
                partitions=s.partitions,
                replication_factor=s.replication_factor,
                min_insync_replicas=s.min_insync_replicas,
            ),
        )
        ensure_bucket(s)

    def stop(self) -> list[str]:
        stopped = []
        if self.object_store.process.stop():
            stopped.append("s3proxy")
        if self.kafka.process.stop(timeout_s=60):
            stopped.append("kafka")
        return stopped

    def status(self) -> list[PartStatus]:
        s = self.settings
        kafka_up = not s.runs_local_kafka or (
            self.kafka.process.is_running() and port_answers(s.kafka_port)
        )
        s3_up = not s.runs_local_s3 or (
            self.object_store.process.is_running() and port_answers(s.s3_port)
        )
        return [
            PartStatus("kafka", s.bootstrap, s.runs_local_kafka, kafka_up),
            PartStatus("s3", s.s3_url, s.runs_local_s3, s3_up),
        ]
