"""The local Kafka broker: one combined broker/controller node in KRaft mode, from Maven jars."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

from infra import jars
from infra.errors import PlatformError
from infra.processes import ManagedProcess, port_answers
from infra.settings import PlatformSettings

LOG4J = Path(__file__).resolve().parent / "log4j.properties"


class LocalKafka:
    """Formats the KRaft storage once and runs the broker; its log lives under the data dir."""

    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "kafka"
        self.process = ManagedProcess(
            "kafka", settings.data_dir / "run", settings.data_dir / "logs"
        )

    @property
    def config_file(self) -> Path:
        return self.root / "server.properties"

    def start(self) -> None:
        if self.process.is_running():
            return
        classpath = self._classpath()
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._server_properties())
        if not (self.root / "log" / "meta.properties").exists():
            self._format(classpath)
        s = self.settings
        argv = [
            jars.require_tool("java", "run the Kafka broker"),
            f"-Xmx{s.kafka_heap}",
            f"-Xms{s.kafka_heap}",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            # C1 only: a fresh broker's C2 compiler took 37% of a core for its first minutes
            # (every benchmark and test starts a fresh one); C1's code is ready in seconds
            # and fast enough for one local node (docs/performance.md).
            "-XX:TieredStopAtLevel=1",
            f"-Dlog4j.configuration=file:{LOG4J}",
            *self._jmx(),
            "-cp",
            classpath,
            "kafka.Kafka",
            str(self.config_file),
        ]
        self.process.start(
            argv,
            ports=[s.kafka_port, s.kafka_controller_port],
            ready=self._ready,
            timeout_s=90,
        )

    def _jmx(self) -> list[str]:
        """JVM flags serving the broker's metrics over JMX on loopback, when asked for."""
        port = self.settings.kafka_jmx_port
        if port is None:
            return []
        return [
            "-Dcom.sun.management.jmxremote",
            f"-Dcom.sun.management.jmxremote.port={port}",
            f"-Dcom.sun.management.jmxremote.rmi.port={port}",
            "-Dcom.sun.management.jmxremote.host=127.0.0.1",
            "-Djava.rmi.server.hostname=127.0.0.1",
            "-Dcom.sun.management.jmxremote.authenticate=false",
            "-Dcom.sun.management.jmxremote.ssl=false",
        ]

    def _classpath(self) -> str:
        return str(jars.fetch("kafka", self.settings.jar_cache) / "*")

    def _format(self, classpath: str) -> None:
        cluster_id = _cluster_id()
        argv = [
            jars.require_tool("java", "format Kafka storage"),
            f"-Dlog4j.configuration=file:{LOG4J}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(self.config_file),
        ]
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise PlatformError(f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}")

    def _ready(self) -> bool:
        if not port_answers(self.settings.kafka_port):
            return False
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self.settings.bootstrap})
        try:
            return bool(admin.list_topics(timeout=2).brokers)
        except Exception:
            return False

    def _server_properties(self) -> str:
        s = self.settings
        return "\n".join(
            [
                "process.roles=broker,controller",
                "node.id=1",
                f"controller.quorum.voters=1@127.0.0.1:{s.kafka_controller_port}",
                f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},"
                f"CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.root / 'log'}",
                "num.partitions=1",
                "auto.create.topics.enable=false",
                "offsets.topic.replication.factor=1",
                "offsets.topic.num.partitions=8",
                "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1",
                "transaction.state.log.num.partitions=8",
                "group.initial.rebalance.delay.ms=0",
                "transaction.abort.timed.out.transaction.cleanup.interval.ms=5000",
                "log.retention.check.interval.ms=60000",
                # One node on a few cores: Kafka's defaults (3 network and 8 I/O threads) are
                # sized for a dedicated many-core broker; here more threads than cores only
                # add hand-offs between them (docs/performance.md).
                "num.network.threads=2",
                "num.io.threads=2",
                "",
            ]
        )


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes, URL-safe base64 without padding.

    Like Kafka's own `Uuid.randomUuid`, never one that starts with '-': the storage tool
    would read it as an option (seen here: "--cluster-id expected one argument").
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
