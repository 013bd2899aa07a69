"""The local Kafka: one combined broker/controller node in KRaft mode from Maven jars, or a
cluster of such nodes (three for the chaos suite) with a quorum of all of them.

Node i of a cluster (0-based) listens on kafka_port + 2i and kafka_controller_port + 2i;
every node shares one cluster id, kept beside the nodes' data so a restart reformats none.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

from infra import jars
from infra.errors import PlatformError
from infra.processes import ManagedProcess, port_answers
from infra.settings import PlatformSettings

LOG4J = Path(__file__).resolve().parent / "log4j.properties"


def local_nodes(settings: PlatformSettings) -> list[LocalKafka]:
    """Every local Kafka node the settings ask for, in node order."""
    if settings.kafka_brokers > 1:
        ports = set(settings.broker_ports)
        if ports & set(settings.controller_ports):
            raise PlatformError(
                f"{settings.kafka_brokers} brokers need ports kafka_port + 2i and "
                f"kafka_controller_port + 2i that do not meet: {settings.kafka_port} and "
                f"{settings.kafka_controller_port} give {sorted(ports)} and "
                f"{settings.controller_ports}; set PARLEY_KAFKA_CONTROLLER_PORT to "
                "PARLEY_KAFKA_PORT + 1"
            )
    return [LocalKafka(settings, node) for node in range(settings.kafka_brokers)]


class LocalKafka:
    """Formats the KRaft storage once and runs one node; its log lives under the data dir."""

    def __init__(self, settings: PlatformSettings, node: int = 0) -> None:
        self.settings = settings
        self.node = node
        self.clustered = settings.kafka_brokers > 1
        name = f"kafka-{node + 1}" if self.clustered else "kafka"
        self.root = settings.data_dir / name
        self.port = settings.broker_ports[node]
        self.controller_port = settings.controller_ports[node]
        self.process = ManagedProcess(name, settings.data_dir / "run", settings.data_dir / "logs")

    @property
    def config_file(self) -> Path:
        return self.root / "server.properties"

    def start(self) -> None:
        """Start this node and wait until it answers (a cluster node: its controller port;
        the cluster answers once a quorum of nodes runs, see `wait_for_cluster`)."""
        if self.process.is_running():
            return
        self.process.start(
            self.argv(),
            ports=[self.port, self.controller_port],
            ready=self.ready,
            timeout_s=90,
        )

    def argv(self) -> list[str]:
        """The node's command line, its storage formatted and its configuration written."""
        classpath = self._classpath()
        self.root.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self._server_properties())
        if not (self.root / "log" / "meta.properties").exists():
            self._format(classpath)
        s = self.settings
        return [
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
        cluster_id = self._shared_cluster_id() if self.clustered else _cluster_id()
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

    def _shared_cluster_id(self) -> str:
        path = self.settings.data_dir / "kafka-cluster-id"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_cluster_id() + "\n")
        return path.read_text().strip()

    def ready(self) -> bool:
        """A lone node: it answers metadata. A cluster node: its controller port answers (its
        broker registers only once a quorum of nodes runs: `wait_for_cluster`)."""
        if self.clustered:
            return port_answers(self.controller_port)
        return port_answers(self.port) and brokers_answering(self.settings.bootstrap) >= 1

    def _server_properties(self) -> str:
        s = self.settings
        voters = ",".join(f"{n + 1}@127.0.0.1:{port}" for n, port in enumerate(s.controller_ports))
        replicas = min(s.kafka_brokers, 3)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={self.node + 1}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},"
                f"CONTROLLER://127.0.0.1:{self.controller_port}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.root / 'log'}",
                "num.partitions=1",
                "auto.create.topics.enable=false",
                f"offsets.topic.replication.factor={replicas}",
                "offsets.topic.num.partitions=8",
                f"transaction.state.log.replication.factor={replicas}",
                f"transaction.state.log.min.isr={2 if replicas >= 3 else 1}",
                "transaction.state.log.num.partitions=8",
                "group.initial.rebalance.delay.ms=0",
                # A broker that stops heartbeating is fenced (its partitions' leadership
                # moves) after 5 s, not Kafka's 9 s: losing one broker of three is to stall
                # sends for at most 10 s (docs/operations.md). Heartbeats every second.
                "broker.session.timeout.ms=5000",
                "broker.heartbeat.interval.ms=1000",
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


def brokers_answering(bootstrap: str) -> int:
    """How many brokers the cluster's metadata lists (0 when none answers)."""
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    try:
        return len(admin.list_topics(timeout=2).brokers)
    except Exception:
        return 0


def wait_for_cluster(settings: PlatformSettings, timeout_s: float = 90.0) -> None:
    """Until every local node is a registered broker."""
    deadline = time.monotonic() + timeout_s
    while brokers_answering(settings.bootstrap) < settings.kafka_brokers:
        if time.monotonic() > deadline:
            raise PlatformError(
                f"the {settings.kafka_brokers} local Kafka nodes did not form a cluster within "
                f"{timeout_s:.0f} s; see their logs under {settings.data_dir / 'logs'}"
            )
        time.sleep(0.5)


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
