"""Restarts the process in place when a Kafka call blocks past its own timeout.

librdkafka can block `send_offsets_to_transaction` indefinitely after its group
coordinator broker is decommissioned, e.g. across a broker restart (librdkafka issue
#5511, open with a fix pending as of 2.16). The call ignores its timeout, so the only way
out is a fresh client. Re-exec'ing the process gives one: the uncommitted transaction is
aborted by the next `init_transactions`, and state catches up from the log, as after a
crash. The same pid keeps running, so supervisors and tests see one process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kafkalog.worker import restart_in_place

log = logging.getLogger("parley.watchdog")


class StuckCallWatchdog:
    def __init__(self, limit_s: float, on_stuck: Callable[[], None] = restart_in_place) -> None:
        self.limit_s = limit_s
        self.on_stuck = on_stuck
        self._started: float | None = None
        self._what = ""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
        self._thread.start()

    @contextmanager
    def watch(self, what: str) -> Iterator[None]:
        with self._lock:
            self._started, self._what = time.monotonic(), what
        try:
            yield
        finally:
            with self._lock:
                self._started = None

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.limit_s / 4))
            with self._lock:
                started, what = self._started, self._what
            if started is not None and time.monotonic() - started > self.limit_s:
                log.error(
                    "%s blocked for over %.0f s; restarting the process in place",
                    what,
                    self.limit_s,
                )
                self.on_stuck()
                return
