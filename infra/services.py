"""Parley's own long-running processes, started after the platform by `python -m infra up`."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from infra.processes import ManagedProcess
from infra.settings import PlatformSettings


@dataclass(frozen=True)
class Service:
    name: str
    module: str
    env: dict[str, str] = field(default_factory=dict)


def services(settings: PlatformSettings) -> tuple[Service, ...]:
    """In start order: writers of the log, then views, then the edge nodes."""
    edges = tuple(
        Service(
            f"edge-{node}",
            "edge",
            {"PARLEY_EDGE_NODE": str(node), "PARLEY_EDGE_PORT": str(settings.edge_port + node)},
        )
        for node in range(settings.edge_nodes_local)
    )
    base = settings.metrics_port
    return (
        Service("sequencer", "streams.sequencer", {"PARLEY_METRICS_PORT": str(base + 1)}),
        Service("accounts", "streams.accounts", {"PARLEY_METRICS_PORT": str(base + 2)}),
        Service("fanout", "streams.fanout", {"PARLEY_METRICS_PORT": str(base + 3)}),
        Service("history", "projections.history", {"PARLEY_METRICS_PORT": str(base + 4)}),
        Service("inbox", "projections.inbox", {"PARLEY_METRICS_PORT": str(base + 5)}),
        Service("search", "projections.search", {"PARLEY_METRICS_PORT": str(base + 6)}),
        *edges,
    )


def _process(settings: PlatformSettings, service: Service) -> ManagedProcess:
    return ManagedProcess(service.name, settings.data_dir / "run", settings.data_dir / "logs")


def start_services(settings: PlatformSettings) -> list[ManagedProcess]:
    env = {
        "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
        "PARLEY_S3_ENDPOINT": settings.s3_url,
        "PARLEY_TOPIC_PREFIX": settings.topic_prefix,
        "PARLEY_PARTITIONS": str(settings.partitions),
        "PARLEY_STATE_DIR": str(settings.data_dir / "state"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    started = []
    for service in services(settings):
        process = _process(settings, service)
        process.start(
            [sys.executable, "-m", service.module],
            ports=[],
            ready=_alive_for(1.0),
            timeout_s=30,
            env={**env, **service.env},
        )
        started.append(process)
    return started


def _alive_for(seconds: float) -> Callable[[], bool]:
    """Ready once the process has stayed up this long (start() notices an early exit)."""
    boot = time.monotonic()
    return lambda: time.monotonic() - boot > seconds


def stop_services(settings: PlatformSettings) -> list[str]:
    return [s.name for s in reversed(services(settings)) if _process(settings, s).stop()]


def service_processes(settings: PlatformSettings) -> list[ManagedProcess]:
    return [_process(settings, s) for s in services(settings)]
