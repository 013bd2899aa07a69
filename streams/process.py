"""What every processor's composition root starts before its loop: logging, metrics and
tracing. How it runs and ends is kafkalog/worker.py's (`run_until_signalled`)."""

from __future__ import annotations

from streams import metrics
from telemetry.lag import sampling_assigned_partitions
from telemetry.logs import configure_logging
from telemetry.probes import Check
from telemetry.tracing import Tracing, start_tracing


def start_process(service: str, ready: Check = sampling_assigned_partitions) -> Tracing:
    """JSON logs, the metrics endpoint if configured (its /readyz asks `ready`: by default,
    whether the loop runs with partitions of its own), and the tracing the settings ask for."""
    configure_logging(service)
    metrics.serve_if_configured(ready)
    return start_tracing(service)
