"""What a view process counts (labelled by view), served in the Prometheus text format on
PARLEY_METRICS_PORT (127.0.0.1) when that is set.

A registry of its own rather than the process-global one: the names it shares with the log
writers (`parley_consumer_lag`, `parley_dead_letters`, `parley_kafka_errors`) mean the same
thing here, and a test process that imports both must not see them collide.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
)

from telemetry import probes
from telemetry.lag import lag_gauge

BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
records = Counter(
    "parley_projection_records", "Log records a view has consumed", ["view"], registry=REGISTRY
)
batches = Histogram(
    "parley_projection_batch_seconds",
    "One batch: decode, apply, and write the view with its positions",
    ["view"],
    buckets=BATCH_BUCKETS,
    registry=REGISTRY,
)
writes = Histogram(
    "parley_projection_write_seconds",
    "The store write alone: the view's commit of a batch with its positions",
    ["view"],
    buckets=BATCH_BUCKETS,
    registry=REGISTRY,
)
gaps = Counter(
    "parley_projection_gaps",
    "Events whose seq was not the view's last + 1: a hole in a conversation's log",
    ["view"],
    registry=REGISTRY,
)
ready = Gauge(
    "parley_projection_ready",
    "1 once the view has caught up to the log as it was at start",
    ["view"],
    registry=REGISTRY,
)
dead_letters = Counter(
    "parley_dead_letters",
    "Input records parked on the dead-letter topic",
    ["input"],
    registry=REGISTRY,
)
kafka_errors = Counter(
    "parley_kafka_errors",
    "Kafka errors seen and survived, by librdkafka code",
    ["code"],
    registry=REGISTRY,
)
consumer_lag = lag_gauge(REGISTRY)


def start(view: str) -> None:
    """Exported as 0 from the start, so that increase() sees the first event."""
    ready.labels(view).set(0)
    for family in (records, gaps):
        family.labels(view)
    serve_if_configured(lambda: caught_up(view))


def caught_up(view: str) -> bool:
    """Readiness of a view: the follower has set its ready gauge (caught up to the log as
    it was at start; projections/readiness.py)."""
    return REGISTRY.get_sample_value("parley_projection_ready", {"view": view}) == 1


def serve_if_configured(ready: probes.Check) -> int | None:
    """Metrics, /livez and /readyz (telemetry/probes.py) on PARLEY_METRICS_PORT."""
    port = os.environ.get("PARLEY_METRICS_PORT")
    if not port:
        return None
    probes.serve(int(port), REGISTRY, ready=ready)
    return int(port)
