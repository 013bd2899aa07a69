"""/livez and /readyz: the same paths and body on every processor's metrics port and on the
edge, 200 or 503 by the check each process supplies, metrics everywhere else."""

from __future__ import annotations

import gc
import io
import json
import threading
from collections.abc import Callable
from typing import Any, cast

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from confluent_kafka import Consumer
from prometheus_client import CollectorRegistry, Counter

from edge import probes as edge_probes
from projections import metrics as view_metrics
from telemetry.lag import LagSampler, lag_gauge, sampling_assigned_partitions
from telemetry.probes import ProbeAnswer, probe_app
from tests.unit.test_lag import FakeConsumer


def get(app: Callable[..., Any], path: str) -> tuple[str, bytes]:
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": "GET",
        "QUERY_STRING": "",
        "wsgi.input": io.BytesIO(),
    }
    body = b"".join(app(environ, start_response))
    return seen["status"], body


def registry_with_a_counter() -> CollectorRegistry:
    registry = CollectorRegistry()
    Counter("parley_probe_test", "a metric", registry=registry).inc()
    return registry


def test_readyz_follows_the_check_and_livez_the_main_thread() -> None:
    ready = threading.Event()
    app = probe_app(registry_with_a_counter(), ready=ready.is_set, live=lambda: True)
    status, body = get(app, "/readyz")
    assert status.startswith("503")
    assert ProbeAnswer.model_validate_json(body) == ProbeAnswer(probe="ready", ok=False)
    ready.set()
    status, body = get(app, "/readyz")
    assert status.startswith("200")
    assert json.loads(body) == {"probe": "ready", "ok": True}
    status, body = get(app, "/livez")
    assert (status[:3], json.loads(body)) == ("200", {"probe": "live", "ok": True})


def test_a_check_that_raises_answers_not_ok_instead_of_failing_the_probe() -> None:
    def broken() -> bool:
        raise RuntimeError("consumer closed")

    app = probe_app(registry_with_a_counter(), ready=broken, live=broken)
    for path in ("/readyz", "/livez"):
        status, body = get(app, path)
        assert status.startswith("503")
        assert json.loads(body)["ok"] is False


def test_every_other_path_still_serves_the_metrics() -> None:
    app = probe_app(registry_with_a_counter(), ready=lambda: True, live=lambda: True)
    for path in ("/metrics", "/"):
        status, body = get(app, path)
        assert status.startswith("200")
        assert b"parley_probe_test_total 1.0" in body


def test_a_stream_processor_is_ready_once_its_loop_has_sampled_an_assignment() -> None:
    gc.collect()
    consumer = FakeConsumer()
    sampler = LagSampler(lag_gauge(CollectorRegistry()), "g")
    sampler.sample(cast(Consumer, consumer))
    assert sampler.assigned == 0
    assert not sampling_assigned_partitions()
    consumer.positions = {0: -1001, 1: -1001}  # assigned, nothing fetched yet: still ready
    sampler.sample(cast(Consumer, consumer))
    assert sampler.assigned == 2
    assert sampling_assigned_partitions()
    consumer.positions = {}  # revoked in a rebalance
    sampler.sample(cast(Consumer, consumer))
    assert not sampling_assigned_partitions()


def test_a_view_is_ready_once_its_follower_has_set_the_ready_gauge() -> None:
    view_metrics.ready.labels("probe-test").set(0)
    assert not view_metrics.caught_up("probe-test")
    view_metrics.ready.labels("probe-test").set(1)
    assert view_metrics.caught_up("probe-test")
    assert not view_metrics.caught_up("never-started")


@pytest.mark.parametrize("is_ready", [True, False])
async def test_the_edge_answers_both_probes_with_the_same_body(is_ready: bool) -> None:
    app = web.Application()
    app.router.add_routes(edge_probes.routes(ready=lambda: is_ready))
    async with TestClient(TestServer(app)) as client:
        live = await client.get("/livez")
        assert live.status == 200
        assert ProbeAnswer.model_validate(await live.json()) == ProbeAnswer(probe="live", ok=True)
        readiness = await client.get("/readyz")
        assert readiness.status == (200 if is_ready else 503)
        answer = ProbeAnswer.model_validate(await readiness.json())
        assert answer == ProbeAnswer(probe="ready", ok=is_ready)
