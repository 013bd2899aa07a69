"""Parley's processes for one benchmark: its own topics, its own ports, stopped afterwards."""

from __future__ import annotations

import os
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from infra.services import start_services, stop_services
from infra.settings import PlatformSettings
from infra.topics import ensure_topics
from schemas.topics import declare_topics

METRICS_PORT = 19210
"""Processors serve metrics on +1..+3: ports of the bench's own, clear of `make run`'s."""


def cheap_password_hashing() -> None:
    """Registration is not on the message path; fast argon2 keeps set-up short. The edge
    processes started afterwards inherit it."""
    os.environ["PARLEY_ARGON2_TIME_COST"] = "1"
    os.environ["PARLEY_ARGON2_MEMORY_KIB"] = "8192"


@contextmanager
def parley_running(
    base: PlatformSettings, *, stem: str, edge_nodes: int, edge_port: int
) -> Iterator[tuple[PlatformSettings, list[str]]]:
    """Sequencer, accounts, fan-out, history and `edge_nodes` edges on fresh topics; yields
    the settings and the edges' base URLs once every edge answers."""
    settings = base.model_copy(
        update={
            "topic_prefix": f"{stem}{uuid.uuid4().hex[:6]}",
            "edge_nodes_local": edge_nodes,
            "edge_port": edge_port,
            "metrics_port": METRICS_PORT,
        }
    )
    ensure_topics(
        settings.bootstrap, declare_topics(settings.topic_prefix, partitions=settings.partitions)
    )
    cheap_password_hashing()
    start_services(settings)
    urls = [f"http://127.0.0.1:{edge_port + n}" for n in range(edge_nodes)]
    try:
        wait_listening(urls)
        yield settings, urls
    finally:
        stop_services(settings)


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
