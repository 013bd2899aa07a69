"""What every processor's composition root does around its loop: logging, metrics, and a
clean stop on SIGTERM or SIGINT."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Protocol

from streams import metrics


class Worker(Protocol):
    def run(self) -> None: ...

    def stop(self) -> None: ...


def start_process() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    metrics.serve_if_configured()


def run_until_signalled(worker: Worker, *, then: Callable[[], None] = lambda: None) -> int:
    """Run `worker` until a signal asks it to stop; `then` runs whatever happened."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop())
    try:
        worker.run()
    finally:
        then()
    return 0
