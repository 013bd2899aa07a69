"""CPU time of a benchmark's own processes, by role: the broker, each Parley process, the
load generator. Read from /proc at the start and end of a window, so a figure is the
operating system's own accounting (user + system) and costs the measured processes nothing.

A process is the benchmark's when its working directory is under the repository it runs
from (what bench/contention.py calls ours); its role comes from its command line, and an
edge node's number from its environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bench.contention import TICKS_PER_S, cpu_ticks

ROLES = (
    ("kafka.Kafka", "broker"),
    ("s3proxy", "s3"),
    ("-m streams.sequencer", "sequencer"),
    ("-m streams.accounts", "accounts"),
    ("-m streams.fanout", "fanout"),
    ("-m projections.history", "history"),
    ("-m projections.inbox", "inbox"),
    ("-m projections.search", "search"),
    ("-m projections.archive", "archive"),
    ("-m streams.media", "media"),
    ("-m edge", "edge"),
    ("multiprocessing", "load generator"),
    ("-m bench", "bench"),
)
"""(a part of the command line, the role): the first that matches names the process."""

PLATFORM = (
    "broker",
    "s3",
    "sequencer",
    "accounts",
    "fanout",
    "history",
    "inbox",
    "search",
    "archive",
    "media",
    "edge",
)
"""The roles that make up the platform (the rest is the benchmark driving it)."""


def role_of(argv: str, environ: bytes = b"") -> str | None:
    """The role of a process from its command line (NULs as spaces); an edge is `edge-<n>`
    with n from its PARLEY_EDGE_NODE. None: not one of the benchmark's roles."""
    for part, role in ROLES:
        if part in argv:
            if role == "edge":
                for entry in environ.split(b"\0"):
                    if entry.startswith(b"PARLEY_EDGE_NODE="):
                        return f"edge-{entry.split(b'=', 1)[1].decode()}"
            return role
    return None


@dataclass(frozen=True)
class Snapshot:
    """CPU ticks so far per pid, and each pid's role."""

    ticks: dict[int, int]
    roles: dict[int, str]


def snapshot(root: Path) -> Snapshot:
    ours = str(root)
    ticks: dict[int, int] = {}
    roles: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            cwd = os.readlink(Path(entry.path, "cwd"))
            if cwd != ours and not cwd.startswith(ours + os.sep):
                continue
            argv = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
            try:
                environ = Path(entry.path, "environ").read_bytes()
            except OSError:
                environ = b""
            role = role_of(argv, environ)
            if role is None:
                continue
            ticks[int(entry.name)] = cpu_ticks(Path(entry.path, "stat").read_text())
            roles[int(entry.name)] = role
        except (OSError, ValueError, IndexError):
            continue
    return Snapshot(ticks, roles)


def cpu_seconds(first: Snapshot, last: Snapshot) -> dict[str, float]:
    """CPU seconds per role between two snapshots; a process born in between counts from
    zero, one that died in between is missed (the benchmark's live for the whole window)."""
    found: dict[str, float] = {}
    for pid, ticks in last.ticks.items():
        role = last.roles[pid]
        found[role] = found.get(role, 0.0) + (ticks - first.ticks.get(pid, 0)) / TICKS_PER_S
    return {role: round(seconds, 2) for role, seconds in sorted(found.items())}


def platform_seconds(by_role: dict[str, float]) -> float:
    return round(sum(s for role, s in by_role.items() if role.split("-")[0] in PLATFORM), 2)
