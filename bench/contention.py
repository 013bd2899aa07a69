"""How much CPU other work took while a benchmark ran, so that a figure measured on a
shared machine says so. Processes are told apart by their working directory: everything
the suite starts (Kafka and S3 included) runs in this repository; other work does not."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

TICKS_PER_S = os.sysconf("SC_CLK_TCK")


def cpu_ticks(stat: str) -> int:
    """utime + stime from the text of /proc/<pid>/stat (the command name, in parentheses,
    may hold spaces, so fields are counted after its closing one)."""
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[11]) + int(fields[12])


def _processes() -> dict[int, tuple[int, str, str]]:
    """pid -> (CPU ticks so far, working directory, command line)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            ticks = cpu_ticks(Path(entry.path, "stat").read_text())
            cwd = os.readlink(Path(entry.path, "cwd"))
            argv = Path(entry.path, "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry.name)] = (ticks, cwd, argv.strip()[:100])
    return found


def split(
    first: dict[int, int], last: dict[int, tuple[int, str, str]], ours: str
) -> tuple[float, float, list[tuple[str, float]]]:
    """(our CPU seconds, others' CPU seconds, others' three busiest commands) between two
    samples; a process first seen after the start counts from zero."""
    mine = theirs = 0.0
    busiest: dict[str, float] = {}
    for pid, (ticks, cwd, argv) in last.items():
        seconds = (ticks - first.get(pid, 0)) / TICKS_PER_S
        if cwd == ours or cwd.startswith(ours + os.sep):
            mine += seconds
        else:
            theirs += seconds
            busiest[argv] = busiest.get(argv, 0.0) + seconds
    top = sorted(busiest.items(), key=lambda kv: -kv[1])[:3]
    return mine, theirs, [(argv, round(s, 1)) for argv, s in top if s >= 1.0]


class CpuSampler:
    """Samples every process once a second on a thread of its own, from `start` to
    `stop`; a process that lives less than a second between samples is missed."""

    def __init__(self, ours: Path, interval_s: float = 1.0) -> None:
        self.ours = str(ours)
        self.interval_s = interval_s
        self.first: dict[int, int] = {}
        self.last: dict[int, tuple[int, str, str]] = {}
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="cpu-sampler", daemon=True)
        self.began = 0.0

    def start(self) -> CpuSampler:
        self.began = time.monotonic()
        now = _processes()
        self.first = {pid: ticks for pid, (ticks, _, _) in now.items()}
        self.last = now
        self.thread.start()
        return self

    def _run(self) -> None:
        while not self.stopping.wait(self.interval_s):
            self.last.update(_processes())

    def stop(self) -> dict[str, Any]:
        self.stopping.set()
        self.thread.join(5)
        self.last.update(_processes())
        wall = time.monotonic() - self.began
        mine, theirs, top = split(self.first, self.last, self.ours)
        cores = os.cpu_count() or 1
        return {
            "seconds": round(wall, 1),
            "suite_cpu_seconds": round(mine, 1),
            "other_cpu_seconds": round(theirs, 1),
            "other_share_of_machine": round(theirs / (wall * cores), 3) if wall else 0.0,
            "other_busiest": top,
        }
