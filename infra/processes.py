"""A platform part run as a plain background process: pid file, log file, readiness, stop."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from infra.errors import PlatformError


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_answers(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class ManagedProcess:
    """One long-running process owned by the platform, identified by its pid file."""

    name: str
    run_dir: Path
    log_dir: Path

    @property
    def pid_file(self) -> Path:
        return self.run_dir / f"{self.name}.pid"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        if _is_zombie(pid):
            return None
        return pid

    def is_running(self) -> bool:
        return self.pid() is not None

    def start(
        self,
        argv: list[str],
        *,
        ports: list[int],
        ready: Callable[[], bool],
        timeout_s: float,
        env: dict[str, str] | None = None,
    ) -> int:
        """Start unless running, then wait for `ready`; a taken port or a mute part is an error."""
        existing = self.pid()
        if existing is not None:
            return existing
        for port in ports:
            if not port_is_free(port):
                raise PlatformError(
                    f"{self.name}: port {port} on 127.0.0.1 is taken by another process; "
                    f"stop it or set another port (see PARLEY_* settings)."
                )
        pid = self.spawn(argv, env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            exited, status = os.waitpid(pid, os.WNOHANG)
            if exited:
                self.pid_file.unlink(missing_ok=True)
                raise PlatformError(
                    f"{self.name} exited with status {status} while starting; "
                    f"last lines of {self.log_file}:\n{self.tail()}"
                )
            if ready():
                return pid
            time.sleep(0.2)
        self.stop()
        raise PlatformError(
            f"{self.name} did not come up within {timeout_s:.0f} s; "
            f"last lines of {self.log_file}:\n{self.tail()}"
        )

    def spawn(self, argv: list[str], env: dict[str, str] | None = None) -> int:
        """Start the process in a session of its own, output appended to its log, its pid in
        its pid file; returns without waiting (`start` waits, a supervisor reaps)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        pid = _spawn_detached(argv, self.log_file, {**os.environ, **(env or {})})
        self.pid_file.write_text(f"{pid}\n")
        return pid

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop gracefully, then by force; True if something was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL, as a crash would: used by failure tests."""
        pid = self.pid()
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"


def started_at(pid: int) -> float | None:
    """When a process started (epoch seconds), from /proc; None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
    except (FileNotFoundError, StopIteration):
        return None
    ticks = int(stat.rsplit(")", 1)[-1].split()[19])
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def _spawn_detached(argv: list[str], log_file: Path, env: dict[str, str]) -> int:
    """Start a process in its own session that outlives this one, output to `log_file`."""
    file_actions = [
        (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, str(log_file), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
        (os.POSIX_SPAWN_DUP2, 1, 2),
    ]
    return os.posix_spawnp(argv[0], argv, env, file_actions=file_actions, setsid=True)


def _is_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"
