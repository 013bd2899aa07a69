"""Writes a benchmark's JSON and plot, and prints its one-line summary."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any


def machine() -> dict[str, Any]:
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "python": platform.python_version(),
        "machine": platform.machine(),
    }


def write(result: dict[str, Any], out_dir: Path, name: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    latencies = result.pop("latencies_ms", [])
    result = {**result, "machine": machine()}
    path = out_dir / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    if latencies:
        _plot(latencies, out_dir / f"{name}.png", result)
    return path


def _plot(latencies: list[float], path: Path, result: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    values = sorted(latencies)
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(values, [i / len(values) for i in range(len(values))])
    ax.set_xscale("log")
    ax.set_xlabel("latency (ms, log scale)")
    ax.set_ylabel("fraction of messages")
    ax.set_title(
        f"{result.get('benchmark')} latency at {result.get('latency_rate_per_s', '?')}/s: "
        f"p50 {result.get('p50_ms')} ms, p99 {result.get('p99_ms')} ms"
    )
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
