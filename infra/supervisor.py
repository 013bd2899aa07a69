"""The local supervisor: runs the local Kafka node(s), the S3 server and Parley's processes as
its children, restarts one that dies (infra/restarts.py: exponential backoff, reset after a
stable run, given up loudly after a crash loop), logs every exit and restart, and keeps
run/supervisor.json (infra/status.py) for `make status`.

A process of its own, detached, rather than a loop inside `make run`: `make run` returns to
the shell, and only a parent learns of a child's death at once and with its exit status
(waitpid). It does nothing else, so little can take it down: it runs in a session of its
own, ignores SIGHUP, and an error while handling one child is logged and counted as that
child's crash. If it dies anyway (kill -9), its children run on in their own sessions;
`make status` says the supervisor is down, and `make run` starts a new one that adopts
them by their pid files. SIGTERM (`make stop`) stops the children, last stage first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path

from infra import status
from infra.errors import PlatformError
from infra.plan import ChildSpec, Stage, stages
from infra.processes import ManagedProcess, port_is_free, started_at
from infra.restarts import GiveUp, RestartPolicy, after_exit
from infra.services import managed
from infra.settings import PlatformSettings

log = logging.getLogger("parley.supervisor")
TICK_S = 0.1
STATUS_EVERY_S = 2.0
FIRST_START_TIMEOUT_S = 120.0
SETTLE_S = 1.0
"""A child without a readiness check counts as started once alive this long."""


def describe_exit(wait_status: int) -> str:
    code = os.waitstatus_to_exitcode(wait_status)
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit {code}"


class Child:
    """One supervised process: its spec, and what the supervisor knows of its runs."""

    def __init__(self, spec: ChildSpec, process: ManagedProcess) -> None:
        self.spec = spec
        self.process = process
        self.pid: int | None = None
        self.adopted = False
        self.state: status.ChildState = "stopped"
        self.restarts = 0
        self.fast_crashes = 0
        self.last_exit: str | None = None
        self.started = 0.0
        self.started_wall: float | None = None
        self.next_start = 0.0

    def launch(self) -> None:
        self.pid = self.process.spawn(list(self.spec.argv), self.spec.env)
        self.adopted = False
        self.state = "running"
        self.started, self.started_wall = time.monotonic(), time.time()

    def adopt(self, pid: int) -> None:
        self.pid, self.adopted, self.state = pid, True, "running"
        self.started_wall = started_at(pid) or time.time()
        self.started = time.monotonic() - (time.time() - self.started_wall)

    def exited(self) -> str | None:
        """How the current run ended, or None while it runs."""
        if self.pid is None:
            return None
        if self.adopted:
            return None if self.process.pid() == self.pid else "exited (status unknown)"
        try:
            pid, wait_status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            return "exited (status unknown)"
        return describe_exit(wait_status) if pid else None

    def signal(self, signum: int) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.pid, signum)

    def snapshot(self) -> status.ChildStatus:
        return status.ChildStatus(
            name=self.spec.name,
            state=self.state,
            pid=self.pid if self.state == "running" else None,
            adopted=self.adopted,
            restarts=self.restarts,
            fast_crashes=self.fast_crashes,
            last_exit=self.last_exit,
            started_at=self.started_wall if self.state == "running" else None,
            next_start_at=time.time() + max(self.next_start - time.monotonic(), 0)
            if self.state == "backoff"
            else None,
            ready_url=self.spec.ready_url,
            ready_port=self.spec.ready_port,
            log=str(self.process.log_file),
        )


class Supervisor:
    def __init__(self, settings: PlatformSettings, plan: list[Stage], policy: RestartPolicy):
        self.run_dir = settings.data_dir / "run"
        self.policy = policy
        self.stages = [
            (stage, [Child(spec, managed(settings, spec.name)) for spec in stage.children])
            for stage in plan
        ]
        self.children = [child for _, members in self.stages for child in members]
        self.phase: status.Phase = "starting"
        self.started_wall = time.time()
        self.stopping = False
        self.written = 0.0

    def run(self) -> int:
        """Start every stage, then watch until `request_stop`; stops everything on the way
        out. 1 if the platform could not be started."""
        try:
            self._first_start()
            self.phase = "running"
            log.info("running %d processes", len(self.children))
            while not self.stopping:
                self._tick()
                time.sleep(TICK_S)
        except PlatformError as e:
            log.critical("could not start the platform: %s", e)
            return 1
        finally:
            self.phase = "stopping"
            self._write_status()
            self._stop_all()
            status.status_file(self.run_dir).unlink(missing_ok=True)
        return 0

    def request_stop(self) -> None:
        self.stopping = True

    def _first_start(self) -> None:
        for stage, members in self.stages:
            for child in members:
                if self.stopping:
                    return
                existing = child.process.pid()
                if existing is not None:
                    log.info(
                        "%s is already running (pid %d): adopting it", child.spec.name, existing
                    )
                    child.adopt(existing)
                    continue
                for port in child.spec.ports:
                    if not port_is_free(port):
                        raise PlatformError(
                            f"{child.spec.name}: port {port} on 127.0.0.1 is taken by another "
                            "process; stop it or set another port (see PARLEY_* settings)"
                        )
                try:
                    child.launch()
                except OSError as e:
                    raise PlatformError(f"cannot start {child.spec.name}: {e}") from e
                log.info("started %s (pid %s)", child.spec.name, child.pid)
            self._await_started(stage.name, members)
            if self.stopping:
                return
            stage.then()
            self._write_status()

    def _await_started(self, stage: str, members: list[Child]) -> None:
        deadline = time.monotonic() + FIRST_START_TIMEOUT_S
        waiting = list(members)
        while waiting and not self.stopping:
            for child in list(waiting):
                how = child.exited()
                if how is not None:
                    raise PlatformError(
                        f"{child.spec.name} {how} while starting; last lines of "
                        f"{child.process.log_file}:\n{child.process.tail()}"
                    )
                check = child.spec.ready
                settled = time.monotonic() - child.started > SETTLE_S
                if (check() if check is not None else settled) and settled:
                    waiting.remove(child)
            if time.monotonic() > deadline:
                names = ", ".join(c.spec.name for c in waiting)
                raise PlatformError(f"{stage}: {names} not ready after {FIRST_START_TIMEOUT_S} s")
            self._write_status(every_s=STATUS_EVERY_S)
            time.sleep(0.2)

    def _tick(self) -> None:
        changed = False
        for child in self.children:
            try:
                changed |= self._watch(child)
            except Exception as e:  # one child's trouble must not end the supervision
                log.exception("handling %s failed", child.spec.name)
                self._after_exit(child, f"could not start: {e}", uptime=0.0)
                changed = True
        self._write_status(every_s=0 if changed else STATUS_EVERY_S)

    def _watch(self, child: Child) -> bool:
        """Notice an exit, or restart when the backoff is over; True when the state changed."""
        if child.state == "running":
            how = child.exited()
            if how is None:
                return False
            self._after_exit(child, how, time.monotonic() - child.started)
            return True
        if child.state == "backoff" and time.monotonic() >= child.next_start:
            child.restarts += 1
            child.launch()
            log.warning(
                "restarted %s (pid %s, restart %d)", child.spec.name, child.pid, child.restarts
            )
            return True
        return False

    def _after_exit(self, child: Child, how: str, uptime: float) -> None:
        """Back off before a restart, or give up on a crash loop (infra/restarts.py)."""
        child.last_exit = how
        decision = after_exit(self.policy, uptime, child.fast_crashes)
        child.fast_crashes = decision.fast_crashes
        if isinstance(decision, GiveUp):
            child.state = "failed"
            log.critical(
                "%s %s after %.1f s: %d fast crashes in a row (each within %.0f s of "
                "starting); NOT restarting it. Its log: %s. Fix it, then `make run`.",
                child.spec.name,
                how,
                uptime,
                decision.fast_crashes,
                self.policy.stable_s,
                child.process.log_file,
            )
            return
        child.state = "backoff"
        child.next_start = time.monotonic() + decision.delay_s
        log.warning(
            "%s %s after %.1f s; restarting it in %.1f s (restart %d)",
            child.spec.name,
            how,
            uptime,
            decision.delay_s,
            child.restarts + 1,
        )

    def _stop_all(self) -> None:
        """Last stage first; within a stage all at once: SIGTERM, then SIGKILL at the
        stage's longest stop timeout."""
        for _, stage_children in reversed(self.stages):
            members = [c for c in stage_children if c.state == "running"]
            for child in members:
                child.signal(signal.SIGTERM)
            timeout = max((c.spec.stop_timeout_s for c in members), default=0)
            deadline = time.monotonic() + timeout
            while members and time.monotonic() < deadline:
                members = [c for c in members if c.exited() is None]
                time.sleep(0.1)
            for child in members:
                log.warning("%s did not stop within %.0f s: killing it", child.spec.name, timeout)
                child.signal(signal.SIGKILL)
                with contextlib.suppress(ChildProcessError):
                    if not child.adopted and child.pid is not None:
                        os.waitpid(child.pid, 0)
            for child in stage_children:
                child.state = "stopped"
                child.process.pid_file.unlink(missing_ok=True)

    def _write_status(self, every_s: float = 0.0) -> None:
        now = time.monotonic()
        if every_s and now - self.written < every_s:
            return
        self.written = now
        status.write(
            self.run_dir,
            status.SupervisorStatus(
                pid=os.getpid(),
                phase=self.phase,
                started_at=self.started_wall,
                updated_at=time.time(),
                children=[c.snapshot() for c in self.children],
            ),
        )


def settings_file(run_dir: Path) -> Path:
    return run_dir / "supervisor-settings.json"


def supervisor_process(settings: PlatformSettings) -> ManagedProcess:
    return managed(settings, "supervisor")


def launch(settings: PlatformSettings, timeout_s: float = 300.0) -> None:
    """Start the supervisor (unless one runs) with these settings; returns once every
    child has started, or raises with the end of the supervisor's log."""
    process = supervisor_process(settings)
    if process.is_running():
        return
    run_dir = settings.data_dir / "run"
    run_dir.mkdir(parents=True, exist_ok=True)
    status.status_file(run_dir).unlink(missing_ok=True)
    settings_file(run_dir).write_text(settings.model_dump_json())

    def running() -> bool:
        current = status.read(run_dir)
        return current is not None and current.phase == "running"

    process.start(
        [sys.executable, "-m", "infra.supervisor", str(settings_file(run_dir))],
        ports=[],
        ready=running,
        timeout_s=timeout_s,
    )


def shut_down(settings: PlatformSettings, timeout_s: float = 180.0) -> bool:
    """Ask the supervisor to stop everything and wait for it; True if one was running."""
    return supervisor_process(settings).stop(timeout_s=timeout_s)


def main(argv: list[str]) -> int:
    from telemetry.logs import configure_logging

    configure_logging("parley-supervisor", stream=sys.stdout)
    settings = PlatformSettings.model_validate_json(Path(argv[1]).read_text())
    policy = RestartPolicy(
        base_s=settings.restart_base_s,
        max_s=settings.restart_max_s,
        stable_s=settings.restart_stable_s,
        give_up_after=settings.restart_give_up_after,
    )
    try:
        plan = stages(settings)
    except PlatformError as e:
        log.critical("cannot plan the platform: %s", e)
        return 1
    supervisor = Supervisor(settings, plan, policy)

    def stop(signum: int, frame: object) -> None:
        log.info("%s: stopping everything", signal.Signals(signum).name)
        supervisor.request_stop()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
