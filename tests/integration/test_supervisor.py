"""The local supervisor with real child processes: a killed child comes back with a new pid
and its exit in the status, a crash loop is given up on loudly, a child already running is
adopted, and a stop ends every child and the status file."""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra import status
from infra.plan import ChildSpec, Stage
from infra.restarts import RestartPolicy
from infra.services import managed
from infra.settings import PlatformSettings
from infra.supervisor import Supervisor

SLEEPER = (sys.executable, "-c", "import time; time.sleep(600)")
CRASHER = (sys.executable, "-c", "import sys, time; time.sleep(1.5); sys.exit(3)")
"""Up long enough to count as started (infra/supervisor.py SETTLE_S), down long before
POLICY.stable_s: every run a fast crash."""
POLICY = RestartPolicy(base_s=0.05, max_s=0.2, stable_s=3.0, give_up_after=3)


def wait_for(condition: Callable[[], bool], what: str, deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {deadline_s:.0f} s: {what}")
        time.sleep(0.05)


class Running:
    def __init__(self, settings: PlatformSettings, children: list[ChildSpec]) -> None:
        self.settings = settings
        self.run_dir = settings.data_dir / "run"
        self.supervisor = Supervisor(settings, [Stage("test", tuple(children))], POLICY)
        self.result: list[int] = []
        self.thread = threading.Thread(target=lambda: self.result.append(self.supervisor.run()))

    def current(self) -> status.SupervisorStatus:
        current = status.read(self.run_dir)
        assert current is not None
        return current

    def child(self, name: str) -> status.ChildStatus:
        found = self.current().child(name)
        assert found is not None
        return found

    def running(self) -> bool:
        current = status.read(self.run_dir)
        return current is not None and current.phase == "running"


@pytest.fixture
def supervise(tmp_path: Path) -> Iterator[Callable[[list[ChildSpec]], Running]]:
    started: list[Running] = []

    def start(children: list[ChildSpec]) -> Running:
        running = Running(PlatformSettings(data_dir=tmp_path), children)
        running.thread.start()
        started.append(running)
        wait_for(running.running, "the supervisor has started its children")
        return running

    yield start
    for running in started:
        running.supervisor.request_stop()
        running.thread.join(60)


def test_a_killed_child_is_restarted_and_its_exit_reported(
    supervise: Callable[[list[ChildSpec]], Running],
) -> None:
    running = supervise([ChildSpec("sleeper", SLEEPER)])
    first = running.child("sleeper")
    assert first.state == "running" and first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    wait_for(lambda: running.child("sleeper").restarts == 1, "a restart")
    wait_for(lambda: running.child("sleeper").state == "running", "running again")
    again = running.child("sleeper")
    assert again.pid not in (None, first.pid)
    assert again.last_exit == "killed by SIGKILL"
    assert managed(running.settings, "sleeper").pid() == again.pid


def test_a_crash_loop_is_given_up_on_loudly_while_the_others_run_on(
    supervise: Callable[[list[ChildSpec]], Running], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="parley.supervisor")
    running = supervise([ChildSpec("sleeper", SLEEPER), ChildSpec("crasher", CRASHER)])
    wait_for(lambda: running.child("crasher").state == "failed", "the crash loop given up on")
    failed = running.child("crasher")
    assert (failed.restarts, failed.fast_crashes, failed.last_exit) == (2, 3, "exit 3")
    assert running.child("sleeper").state == "running"
    given_up = [r for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(given_up) == 1 and "NOT restarting" in given_up[0].getMessage()
    assert "FAILED" in status.table(running.current(), supervisor_alive=True)
    assert not status.healthy(running.current(), supervisor_alive=True)


def test_a_child_already_running_is_adopted_and_restarted_when_it_dies(
    supervise: Callable[[list[ChildSpec]], Running], tmp_path: Path
) -> None:
    orphan = managed(PlatformSettings(data_dir=tmp_path), "sleeper")
    pid = orphan.spawn(list(SLEEPER))
    try:
        running = supervise([ChildSpec("sleeper", SLEEPER)])
        adopted = running.child("sleeper")
        assert (adopted.pid, adopted.adopted, adopted.restarts) == (pid, True, 0)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)  # this test's child: reaped here, as init would reap an orphan
        wait_for(lambda: running.child("sleeper").restarts == 1, "the adopted child restarted")
        wait_for(lambda: running.child("sleeper").state == "running", "running again")
        assert running.child("sleeper").last_exit == "exited (status unknown)"
        assert not running.child("sleeper").adopted
    finally:
        orphan.kill()


def test_a_stop_ends_every_child_and_removes_the_status(
    supervise: Callable[[list[ChildSpec]], Running],
) -> None:
    running = supervise([ChildSpec("one", SLEEPER), ChildSpec("two", SLEEPER)])
    pids = [running.child(name).pid for name in ("one", "two")]
    running.supervisor.request_stop()
    running.thread.join(60)
    assert running.result == [0]
    for pid in pids:
        assert pid is not None
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped by the supervisor: nothing left to reap
    assert status.read(running.run_dir) is None
    assert not list(running.run_dir.glob("*.pid"))
