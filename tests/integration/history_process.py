"""Runs the real history view as a separate process, so tests can SIGKILL and rebuild it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from projections.history.query import HistoryReader
from schemas.topics import Topics
from tests.integration.log import BOOTSTRAP


def wait_until(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` once `deadline_s` has passed."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")


class HistoryProcess:
    def __init__(
        self,
        topics: Topics,
        state_dir: Path,
        *,
        group: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.topics = topics
        self.prefix = topics.events.name.rsplit(".", 1)[0]
        self.state_dir = state_dir
        self.group = group or f"{self.prefix}-history"
        self.log_path = log_path or state_dir / "history.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def store_path(self) -> Path:
        return self.state_dir / f"{self.prefix}-history"

    def start(self, *, rebuild: bool = False) -> None:
        env = {
            **os.environ,
            "PARLEY_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "PARLEY_TOPIC_PREFIX": self.prefix,
            "PARLEY_PARTITIONS": str(self.topics.events.partitions),
            "PARLEY_STATE_DIR": str(self.state_dir),
            "PARLEY_HISTORY_GROUP": self.group,
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "projections.history"]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*command, "rebuild"] if rebuild else command,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def reader(self, secondary_path: Path, deadline_s: float = 30.0) -> HistoryReader:
        """A reader, once the process has created its store."""
        current = self.store_path / "CURRENT"
        wait_until(current.exists, deadline_s, "the history store")
        return HistoryReader(self.store_path, secondary_path=secondary_path, max_staleness_s=0)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return self.proc.returncode

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
