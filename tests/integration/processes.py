"""Parley's processes run for real in tests: started, SIGKILLed, stopped, their logs read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.integration.log import BOOTSTRAP


def wait_until(condition: Callable[[], bool], deadline_s: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` once `deadline_s` has passed."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")


class ParleyProcess:
    """`python -m <module>` with PARLEY_* settings for one test's topics and state."""

    def __init__(
        self, module: str, prefix: str, state_dir: Path, log_path: Path, env: dict[str, str]
    ) -> None:
        self.module = module
        self.state_dir = state_dir
        self.log_path = log_path
        self.env = {
            **os.environ,
            "PARLEY_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "PARLEY_TOPIC_PREFIX": prefix,
            "PARLEY_STATE_DIR": str(state_dir),
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *args: str) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module, *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

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
