"""A benchmark's results on disk: its JSON (without the raw latencies) and its plots."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from bench import plots, ramp
from bench.machine import machine


def finite(value: Any) -> Any:
    """NaN (a percentile of nothing) as null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def write(result: dict[str, Any], out_dir: Path, name: str) -> list[Path]:
    """`<name>.json`, and `<name>.png` where the benchmark measured latencies (one
    distribution, steps of a ramp, or several kinds: `latencies_by_kind_ms`)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    result = dict(result)
    latencies = result.pop("latencies_ms", [])
    by_kind = result.pop("latencies_by_kind_ms", {})
    title = result.pop("plot_title", f"{result.get('benchmark')} latency by kind")
    steps = [dict(s) for s in result.get("steps", [])]
    step_latencies = [s.pop("latencies_ms", []) for s in steps]
    if steps:
        result["steps"] = steps
    result.setdefault("machine", machine())
    written = [out_dir / f"{name}.json"]
    written[0].write_text(json.dumps(finite(result), indent=2, allow_nan=False) + "\n")
    if any("hops" in s for s in steps):
        budget = out_dir / f"{name}-budget.png"
        plots.hops(budget, [s for s in steps if "hops" in s])
        written.append(budget)
    plot = out_dir / f"{name}.png"
    if by_kind:
        plots.latency_cdfs(plot, title, by_kind)
        written.append(plot)
    elif steps and len(steps) > 1:
        limit = result.get("p99_limit_ms") or ramp.P99_LIMIT_MS
        plots.ramp(plot, steps, step_latencies, limit, result.get("knee_rate_per_s"))
        written.append(plot)
    elif steps or latencies:
        only = steps[0] if steps else result
        plots.latency_cdf(
            plot,
            f"{result.get('benchmark')} latency at {only.get('latency_rate_per_s', '?')}/s: "
            f"p50 {only.get('p50_ms')} ms, p99 {only.get('p99_ms')} ms",
            step_latencies[0] if steps else latencies,
        )
        written.append(plot)
    return written


def load(out_dir: Path, name: str) -> dict[str, Any] | None:
    path = out_dir / f"{name}.json"
    if not path.exists():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded
