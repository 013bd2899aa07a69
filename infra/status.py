"""What the supervisor says about itself and its children, in run/supervisor.json, and the
table `make status` prints from it: state, pid, uptime, restarts, last exit, readiness.

The supervisor rewrites the file (atomically) on every change and at least every few
seconds; `updated_at` going stale, or its pid gone, means the supervisor itself is down.
"""

from __future__ import annotations

import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

ChildState = Literal["starting", "running", "backoff", "failed", "stopped"]
Phase = Literal["starting", "running", "stopping"]


class ChildStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    state: ChildState
    pid: int | None
    adopted: bool
    """Found running at the supervisor's start (a previous supervisor's child): watched by
    its pid, its exit status unknown."""
    restarts: int
    fast_crashes: int
    last_exit: str | None
    started_at: float | None
    """Wall clock (epoch seconds) of the current run's start."""
    next_start_at: float | None
    ready_url: str | None
    ready_port: int | None
    log: str


class SupervisorStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    pid: int
    phase: Phase
    started_at: float
    updated_at: float
    children: list[ChildStatus]

    def child(self, name: str) -> ChildStatus | None:
        return next((c for c in self.children if c.name == name), None)


def status_file(run_dir: Path) -> Path:
    return run_dir / "supervisor.json"


def write(run_dir: Path, status: SupervisorStatus) -> None:
    path = status_file(run_dir)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(status.model_dump_json(indent=1))
    os.replace(temporary, path)


def read(run_dir: Path) -> SupervisorStatus | None:
    """The last status written, or None when there is none (or only half of one)."""
    try:
        return SupervisorStatus.model_validate_json(status_file(run_dir).read_text())
    except (FileNotFoundError, ValidationError):
        return None


def ready(child: ChildStatus) -> bool | None:
    """The child's readiness probe (HTTP 200) or, for a platform part, its port answering;
    None when it has neither or is not running."""
    from infra.processes import port_answers

    if child.state != "running":
        return None
    if child.ready_url is not None:
        try:
            with urllib.request.urlopen(child.ready_url, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False
    if child.ready_port is not None:
        return port_answers(child.ready_port)
    return None


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def table(status: SupervisorStatus, supervisor_alive: bool, now: float | None = None) -> str:
    now = time.time() if now is None else now
    head = (
        f"supervisor pid {status.pid}: {status.phase if supervisor_alive else 'DOWN'}, "
        f"up {duration(now - status.started_at)}, status written "
        f"{duration(now - status.updated_at)} ago"
    )
    if not supervisor_alive:
        head += " (the processes below are not restarted; `make run` adopts them)"
    rows = [("NAME", "STATE", "PID", "UPTIME", "RESTARTS", "LAST EXIT", "READY")]
    for child in status.children:
        is_ready = ready(child)
        state = child.state.upper() if child.state == "failed" else child.state
        if child.state == "backoff" and child.next_start_at is not None:
            state += f" ({max(child.next_start_at - now, 0):.1f}s)"
        rows.append(
            (
                child.name,
                state,
                str(child.pid or "-"),
                duration(now - child.started_at) if child.started_at else "-",
                str(child.restarts),
                child.last_exit or "-",
                "-" if is_ready is None else ("yes" if is_ready else "NO"),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    failed = [
        f"{c.name} FAILED: {c.fast_crashes} fast crashes in a row, not restarted; log: {c.log}"
        for c in status.children
        if c.state == "failed"
    ]
    return "\n".join([head, *(line.rstrip() for line in lines), *failed])


def healthy(status: SupervisorStatus, supervisor_alive: bool) -> bool:
    """Everything running and ready, under a live supervisor."""
    return supervisor_alive and all(
        c.state == "running" and ready(c) is not False for c in status.children
    )
