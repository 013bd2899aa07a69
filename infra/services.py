"""Parley's own long-running processes: what each runs, where it answers its probes, and the
environment it gets. `python -m infra up` runs them under the supervisor (infra/supervisor.py);
the benchmarks start them directly with `start_services`."""

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
    probe_port: int
    """Processors: PARLEY_METRICS_PORT, with /livez and /readyz; edges: the HTTP port."""
    ready_path: str = "/readyz"
    env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()
    """After the module: the command of a module that runs more than one process."""

    @property
    def ready_url(self) -> str:
        return f"http://127.0.0.1:{self.probe_port}{self.ready_path}"


PROCESSORS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("sequencer", "streams.sequencer", ()),
    ("accounts", "streams.accounts", ()),
    ("fanout", "streams.fanout", ()),
    ("history", "projections.history", ()),
    ("inbox", "projections.inbox", ()),
    ("search", "projections.search", ()),
    ("archive", "projections.archive", ()),
    ("media-process", "streams.media", ("process",)),
    ("media-sweep", "streams.media", ("sweep",)),
    ("expiry", "streams.expiry", ()),
)
"""In start order: writers of the log, the fan-out, the views, the archive, the media
processor and sweeper, then the expiry processor (name, module, its arguments). Processor k
(from 1) serves metrics and probes on metrics_port + k."""


def services(settings: PlatformSettings) -> tuple[Service, ...]:
    """In start order: the processors, then the edge nodes."""
    processors = tuple(
        Service(
            name,
            module,
            settings.metrics_port + k,
            env={"PARLEY_METRICS_PORT": str(settings.metrics_port + k)},
            args=args,
        )
        for k, (name, module, args) in enumerate(PROCESSORS, start=1)
    )
    edges = tuple(
        Service(
            f"edge-{node}",
            "edge",
            settings.edge_port + node,
            env={"PARLEY_EDGE_NODE": str(node), "PARLEY_EDGE_PORT": str(settings.edge_port + node)},
        )
        for node in range(settings.edge_nodes_local)
    )
    return (*processors, *edges)


def service_env(settings: PlatformSettings, service: Service) -> dict[str, str]:
    """What a service needs beyond the caller's environment: where the platform is."""
    return {
        "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
        "PARLEY_S3_ENDPOINT": settings.s3_url,
        "PARLEY_TOPIC_PREFIX": settings.topic_prefix,
        "PARLEY_PARTITIONS": str(settings.partitions),
        "PARLEY_STATE_DIR": str(settings.data_dir / "state"),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        **service.env,
    }


def service_argv(service: Service) -> list[str]:
    return [sys.executable, "-m", service.module, *service.args]


def managed(settings: PlatformSettings, name: str) -> ManagedProcess:
    """The pid and log files of a platform part or service called `name`."""
    return ManagedProcess(name, settings.data_dir / "run", settings.data_dir / "logs")


def start_services(settings: PlatformSettings) -> list[ManagedProcess]:
    """Without a supervisor: each started once, in order, and left to itself."""
    started = []
    for service in services(settings):
        process = managed(settings, service.name)
        process.start(
            service_argv(service),
            ports=[],
            ready=_alive_for(1.0),
            timeout_s=30,
            env=service_env(settings, service),
        )
        started.append(process)
    return started


def _alive_for(seconds: float) -> Callable[[], bool]:
    """Ready once the process has stayed up this long (start() notices an early exit)."""
    boot = time.monotonic()
    return lambda: time.monotonic() - boot > seconds


def stop_services(settings: PlatformSettings) -> list[str]:
    return [s.name for s in reversed(services(settings)) if managed(settings, s.name).stop()]


def service_processes(settings: PlatformSettings) -> list[ManagedProcess]:
    return [managed(settings, s.name) for s in services(settings)]
