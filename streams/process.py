"""What every processor's composition root starts before its loop: logging, metrics and
tracing. How it runs and ends is kafkalog/worker.py's (`run_until_signalled`)."""

from __future__ import annotations

from streams import metrics
from telemetry.logs import configure_logging
from telemetry.tracing import Tracing, start_tracing


def start_process(service: str) -> Tracing:
    """JSON logs, the metrics endpoint if configured, and the tracing the settings ask for."""
    configure_logging(service)
    metrics.serve_if_configured()
    return start_tracing(service)
