"""What every processor's composition root does around its loop: logging, metrics, tracing,
and a clean stop on SIGTERM or SIGINT."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Protocol

from streams import metrics
from telemetry.logs import configure_logging
from telemetry.tracing import Tracing, start_tracing


class Worker(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


def start_process(service: str) -> Tracing:
    """JSON logs, the metrics endpoint if configured, and the tracing the settings ask for."""
    configure_logging(service)
    metrics.serve_if_configured()
    return start_tracing(service)


def run_until_signalled(
    worker: Worker, *, then: Callable[[], None] = lambda: None, tracing: Tracing | None = None
) -> int:
    """Run `worker` until a signal asks it to stop; `then` runs whatever happened, and the
    spans still buffered are exported last."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    try:
        worker.run()
    finally:
        try:
            then()
        finally:
            if tracing is not None:
                tracing.shutdown()
    return 0
