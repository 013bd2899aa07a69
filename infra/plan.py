"""What the local supervisor runs, in stages: the local Kafka node(s) and S3 server (when
the settings name no external ones), then Parley's processes (infra/services.py).

A stage's children start together; the next stage starts once each is ready and the
stage's `then` has run (the platform's: the cluster formed, topics and bucket created).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from infra.kafka import wait_for_cluster
from infra.platform import LocalPlatform
from infra.services import service_argv, service_env, services
from infra.settings import PlatformSettings


@dataclass(frozen=True)
class ChildSpec:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    ready: Callable[[], bool] | None = None
    """At the first start only: the next stage waits for this (None: for 1 s alive)."""
    ready_url: str | None = None
    ready_port: int | None = None
    ports: tuple[int, ...] = ()
    """Refused at the first start when another process holds one of them."""
    stop_timeout_s: float = 30.0


@dataclass(frozen=True)
class Stage:
    name: str
    children: tuple[ChildSpec, ...]
    then: Callable[[], None] = lambda: None


def stages(settings: PlatformSettings) -> list[Stage]:
    platform = LocalPlatform(settings)
    parts: list[ChildSpec] = []
    if settings.runs_local_kafka:
        parts += [
            ChildSpec(
                node.process.name,
                tuple(node.argv()),
                ready=node.ready,
                ready_port=node.port,
                ports=(node.port, node.controller_port),
                stop_timeout_s=60.0,
            )
            for node in platform.kafka_nodes
        ]
    if settings.runs_local_s3:
        store = platform.object_store
        parts.append(
            ChildSpec(
                store.process.name,
                tuple(store.argv()),
                ready=store.ready,
                ready_port=settings.s3_port,
                ports=(settings.s3_port,),
            )
        )

    def platform_ready() -> None:
        if settings.runs_local_kafka:
            wait_for_cluster(settings)
        platform.prepare_data()

    processes = tuple(
        ChildSpec(
            service.name,
            tuple(service_argv(service)),
            service_env(settings, service),
            ready_url=service.ready_url,
            ports=(service.probe_port,),
        )
        for service in services(settings)
    )
    return [Stage("platform", tuple(parts), platform_ready), Stage("parley", processes)]
