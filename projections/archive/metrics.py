"""What the archive process counts (labelled by topic role), served with its probes on
PARLEY_METRICS_PORT when that is set. A registry of its own, like the views'."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, ProcessCollector

from telemetry import probes
from telemetry.lag import lag_gauge, sampling_assigned_partitions

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
records = Counter(
    "parley_archive_records", "Log records the archive writer took in", ["topic"], registry=REGISTRY
)
objects = Counter(
    "parley_archive_objects",
    "Objects (pairs of table and raw Parquet) the archive put up",
    ["topic"],
    registry=REGISTRY,
)
pending = Gauge(
    "parley_archive_pending_seconds",
    "How long the oldest record not yet in S3 has waited in the writer (0: none waits): the "
    "archive's lag behind what it has read, at most the age cut plus one upload",
    ["topic"],
    registry=REGISTRY,
)
kafka_errors = Counter(
    "parley_kafka_errors",
    "Kafka errors seen and survived, by librdkafka code",
    ["code"],
    registry=REGISTRY,
)
consumer_lag = lag_gauge(REGISTRY)


def start(topics: tuple[str, ...]) -> None:
    """Exported as 0 from the start, so that increase() sees the first record."""
    for topic in topics:
        records.labels(topic)
        objects.labels(topic)
        pending.labels(topic).set(0)
    port = os.environ.get("PARLEY_METRICS_PORT")
    if port:
        probes.serve(int(port), REGISTRY, ready=sampling_assigned_partitions)
