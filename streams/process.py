"""What every processor's composition root does around its loop: logging, metrics, tracing,
and a clean stop on SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import KafkaException

from streams import metrics
from streams.watchdog import restart_in_place
from telemetry.logs import configure_logging
from telemetry.tracing import Tracing, start_tracing

log = logging.getLogger("parley.process")
RESTART_PAUSE_S = 2.0


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
    spans still buffered are exported last.

    A Kafka error that is not fatal (a metadata call timing out while the broker is busy,
    a leader not yet elected) restarts the process in place after a pause, as a supervisor
    would: every processor is safe to restart at any point (see docs/sequencer.md)."""
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True
        worker.stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    try:
        worker.run()
    except KafkaException as e:
        if e.args[0].fatal() or stopping:
            raise
        log.error("transient Kafka error, restarting in %.0f s: %s", RESTART_PAUSE_S, e)
        _finish(then, tracing)
        time.sleep(RESTART_PAUSE_S)
        restart_in_place()
    finally:
        _finish(then, tracing)
    return 0


def _finish(then: Callable[[], None], tracing: Tracing | None) -> None:
    try:
        then()
    finally:
        if tracing is not None:
            tracing.shutdown()
