"""Runs the real sequencer as a separate process, so tests can SIGKILL it mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from schemas.topics import Topics
from tests.integration.log import BOOTSTRAP


class SequencerProcess:
    def __init__(
        self,
        topics: Topics,
        state_dir: Path,
        instance: str = "0",
        log_path: Path | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.extra_env = extra_env or {}
        self.topics = topics
        self.state_dir = state_dir
        self.instance = instance
        self.log_path = log_path or state_dir / f"sequencer-{instance}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        prefix = self.topics.commands.name.rsplit(".", 1)[0]
        env = {
            **os.environ,
            "PARLEY_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "PARLEY_TOPIC_PREFIX": prefix,
            "PARLEY_PARTITIONS": str(self.topics.commands.partitions),
            "PARLEY_SEQUENCER_INSTANCE": self.instance,
            "PARLEY_SEQUENCER_GROUP": f"{prefix}-sequencer",
            "PARLEY_STATE_DIR": str(self.state_dir),
            **self.extra_env,
        }
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "streams.sequencer"],
                env=env,
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
