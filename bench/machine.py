"""What a benchmark ran on: the machine, the software, and how busy the machine was."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import confluent_kafka

from infra.settings import REPO_ROOT

KAFKA_POM = REPO_ROOT / "infra" / "jars" / "kafka.pom.xml"


def cpu_model(cpuinfo: str) -> str:
    """The first "model name" of /proc/cpuinfo ("unknown" where there is none)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return "unknown"


def memory_gib(meminfo: str) -> float:
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024, 1)
    return float("nan")


def kafka_version(pom: str) -> str:
    """The broker's version: the one declared for `kafka_2.13` in infra/jars/kafka.pom.xml."""
    found = re.search(r"<artifactId>kafka_[\d.]+</artifactId>\s*<version>([^<]+)</version>", pom)
    return found.group(1) if found else "unknown"


def _command(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    out = (done.stdout or done.stderr).strip().splitlines()
    return out[0] if out else "unknown"


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu_model": cpu_model(Path("/proc/cpuinfo").read_text()),
        "memory_gib": memory_gib(Path("/proc/meminfo").read_text()),
        "kernel": platform.release(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "java": _command(["java", "-version"]),
        "kafka": kafka_version(KAFKA_POM.read_text()),
        "librdkafka": confluent_kafka.libversion()[0],
        "confluent_kafka": confluent_kafka.__version__,
        "git_commit": _command(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"]),
        "git_changes_uncommitted": _git_changes(),
    }


def _git_changes() -> int:
    """Files changed since the commit (the figures then belong to a working tree)."""
    done = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return len(done.stdout.splitlines())


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def busy_share(busy_then: int, total_then: int, busy_now: int, total_now: int) -> float:
    total = total_now - total_then
    return round((busy_now - busy_then) / total, 3) if total > 0 else float("nan")


def how_busy(seconds: float = 5.0) -> dict[str, Any]:
    """The load averages, and the share of all cores' time spent busy over `seconds` while
    this process waits: taken before and after a run, when the benchmark itself runs
    nothing, it is the other work on the machine."""
    then = _cpu_times()
    time.sleep(seconds)
    now = _cpu_times()
    one, five, fifteen = os.getloadavg()
    return {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "load_average_1_5_15": [round(one, 2), round(five, 2), round(fifteen, 2)],
        "cpu_busy_share": busy_share(*then, *now),
        "sampled_seconds": seconds,
    }


def other_work_running(samples: list[dict[str, Any]], threshold: float = 0.15) -> bool:
    """Whether the machine was busy with something else before or after the run: more than
    `threshold` of all cores busy while the benchmark ran nothing."""
    return any(s.get("cpu_busy_share", 0.0) > threshold for s in samples)
