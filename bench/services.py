"""Parley's processes for one benchmark: its own topics, its own ports, stopped afterwards."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from confluent_kafka import Consumer, KafkaException, TopicPartition

from infra.services import service_processes, start_services, stop_services
from infra.settings import PlatformSettings
from infra.topics import ensure_topics
from schemas.topics import Topics, declare_topics

METRICS_PORT = 19210
"""Processors serve metrics on +1..+5: ports of the bench's own, clear of `make run`'s;
PARLEY_BENCH_METRICS_PORT moves them (not PARLEY_METRICS_PORT: every process a benchmark
starts by hand would inherit that one and bind the same port)."""
EDGE_PORT = 18080
"""The first edge node of the first benchmark; PARLEY_BENCH_EDGE_PORT moves them all."""


def edge_port(slot: int) -> int:
    """The first edge port of benchmark `slot` (0 end to end, 1 idle, 2 backfill): 100
    apart by default, 4 apart (two nodes each, room to spare) in a block given by
    PARLEY_BENCH_EDGE_PORT."""
    given = os.environ.get("PARLEY_BENCH_EDGE_PORT")
    return int(given) + 4 * slot if given else EDGE_PORT + 100 * slot


def metrics_port() -> int:
    return int(os.environ.get("PARLEY_BENCH_METRICS_PORT", METRICS_PORT))


def cheap_password_hashing() -> None:
    """Registration is not on the message path; fast argon2 keeps set-up short. The edge
    processes started afterwards inherit it."""
    os.environ["PARLEY_ARGON2_TIME_COST"] = "1"
    os.environ["PARLEY_ARGON2_MEMORY_KIB"] = "8192"


@contextmanager
def parley_running(
    base: PlatformSettings,
    *,
    stem: str,
    edge_nodes: int,
    edge_port: int,
) -> Iterator[tuple[PlatformSettings, list[str]]]:
    """Sequencer, accounts, fan-out, history and `edge_nodes` edges on fresh topics; yields
    the settings and the edges' base URLs once every edge answers."""
    settings = base.model_copy(
        update={
            "topic_prefix": f"{stem}{uuid.uuid4().hex[:6]}",
            "edge_nodes_local": edge_nodes,
            "edge_port": edge_port,
            "metrics_port": metrics_port(),
        }
    )
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    ensure_topics(settings.bootstrap, topics)
    wait_for_leaders(settings.bootstrap, topics)
    cheap_password_hashing()
    start_services(settings)
    urls = [f"http://127.0.0.1:{edge_port + n}" for n in range(edge_nodes)]
    try:
        wait_listening(urls)
        require_alive(settings)
        yield settings, urls
        require_alive(settings)
    finally:
        stop_services(settings)


def wait_for_leaders(bootstrap: str, topics: Topics, deadline_s: float = 30.0) -> None:
    """Until every partition of fresh topics has a leader that answers for its offsets:
    Parley's processors take a partition without one at start for a fatal error."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-leaders"})
    deadline = time.monotonic() + deadline_s
    try:
        for spec in topics.all():
            for partition in range(spec.partitions):
                while True:
                    try:
                        consumer.get_watermark_offsets(
                            TopicPartition(spec.name, partition), timeout=5, cached=False
                        )
                        break
                    except KafkaException:
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(0.2)
    finally:
        consumer.close()


def require_alive(settings: PlatformSettings) -> None:
    """A processor that died makes every figure after it wrong: fail with its log's end."""
    for process in service_processes(settings):
        if process.pid() is None:
            tail = process.log_file.read_text(errors="replace").splitlines()[-15:]
            raise RuntimeError(f"{process.name} is not running; its log ends:\n" + "\n".join(tail))


def wait_listening(urls: list[str], deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    for url in urls:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
