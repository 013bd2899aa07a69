"""How a worker process ends: the last line of the error policy (the package docstring).

A non-fatal Kafka error that escapes the loop (a metadata call timing out while the broker
is busy, a leader not yet elected, records not acknowledged in time) restarts the process
in place after a pause, as a supervisor would: every worker is safe to restart at any
point, since its position is stored only after what it covers. Anything else propagates
and ends the process with its traceback, nothing committed or stored for the batch.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Protocol

from confluent_kafka import KafkaException

from kafkalog.records import is_fatal
from telemetry.tracing import Tracing

log = logging.getLogger("parley.process")
RESTART_PAUSE_S = 2.0


class Worker(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


def restart_in_place() -> None:
    """A fresh process with the same pid and arguments: what a supervisor would start."""
    logging.shutdown()
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])


def run_until_signalled(
    worker: Worker, *, then: Callable[[], None] = lambda: None, tracing: Tracing | None = None
) -> int:
    """Run `worker` until SIGTERM or SIGINT asks it to stop; `then` runs whatever happened
    (closing the store), and the spans still buffered are exported last."""
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
        if is_fatal(e.args[0]) or stopping:
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
