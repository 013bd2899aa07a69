"""Two versions of Parley side by side: `make bench-quick` of each checkout in turn
(A B A B ...), with the CPU of every process by role and the other work on the machine
during each measured step, so that a change is judged against its predecessor in one
session of a shared, noisy machine.

    python -m bench.compare base=/work/wt/perf-base new=/work/wt/perf --runs 3 [--rest 20]
    python -m bench.compare sealed=. plain=. --env plain:PARLEY_SEALING=off --runs 2

A label may name the same checkout as another under a different environment (`--env
LABEL:KEY=VALUE`, repeatable): the cost of a setting (sealing, tracing) side by side on one
code base, in one session.

Each checkout runs its own `python -m bench quick` (its own .venv, its own code), one after
the other on the same ports (PARLEY_KAFKA_PORT and the rest, from this environment). The
window measured is the step: from the quick bench's "step" line to its result line
(warm-up, measured seconds and drain). With `--rest`, each checkout's platform is also
started with `python -m infra up` and its CPU at rest is measured for that many seconds.
Writes bench/out/compare.json and prints a table; the figures are the median over runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.contention import _processes, split
from bench.processes import cpu_seconds, platform_seconds, snapshot
from infra.settings import REPO_ROOT

OUT = REPO_ROOT / "bench" / "out"
REST_SETTLE_S = 15.0
"""After `infra up`: processes load, catch up and join their groups before rest is timed."""


@dataclass(frozen=True)
class Checkout:
    label: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    """Set for this label's runs over the caller's environment."""

    @property
    def python(self) -> str:
        return str(self.root / ".venv" / "bin" / "python")


class Window:
    """CPU by role of one checkout's processes, and of everything else, over a window."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.began = time.monotonic()
        self.ours = snapshot(root)
        self.all = _processes()
        self.load_before = os.getloadavg()[0]

    def close(self) -> dict[str, Any]:
        wall = time.monotonic() - self.began
        roles = cpu_seconds(self.ours, snapshot(self.root))
        _, theirs, busiest = split(
            {p: t for p, (t, _, _) in self.all.items()}, _processes(), str(self.root)
        )
        cores = os.cpu_count() or 1
        return {
            "seconds": round(wall, 1),
            "cpu_s": roles,
            "platform_cpu_s": platform_seconds(roles),
            "other_cpu_s": round(theirs, 1),
            "other_share_of_machine": round(theirs / (wall * cores), 3),
            "other_busiest": busiest,
            "load_average_1m": [round(self.load_before, 2), round(os.getloadavg()[0], 2)],
        }


def quick(checkout: Checkout, rate: int) -> dict[str, Any]:
    """One `python -m bench quick` of the checkout; its summary and the step's CPU."""
    env = {**os.environ, **checkout.env, "PARLEY_BENCH_RATE": str(rate)}
    process = subprocess.Popen(
        [checkout.python, "-m", "bench", "quick"],
        cwd=checkout.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    window: Window | None = None
    step: dict[str, Any] | None = None
    summary: dict[str, Any] | None = None
    assert process.stdout is not None
    for line in process.stdout:
        print(f"  {checkout.label}| {line.rstrip()}", flush=True)
        if line.startswith("[edge] step "):
            window = Window(checkout.root)
        elif line.startswith(f"[edge] {rate}/s:") and window is not None:
            step = window.close()
        elif line.startswith("{"):
            summary = json.loads(line)
    if process.wait() != 0 or summary is None or step is None:
        print(f"[compare] {checkout.label}: bench quick failed (exit {process.returncode})")
        return {"label": checkout.label, "failed": process.returncode}
    messages = summary["sent"] * (13 / 10)  # warm-up (3 s) and measured (10 s) were sent
    step["us_per_message"] = {
        role: round(1e6 * s / messages, 1) for role, s in step["cpu_s"].items()
    }
    step["platform_us_per_message"] = round(1e6 * step["platform_cpu_s"] / messages, 1)
    return {"label": checkout.label, "summary": summary, "step": step}


def rest(checkout: Checkout, seconds: float) -> dict[str, Any]:
    """The platform of the checkout up (`python -m infra up`, two edge nodes), nobody
    connected: CPU by role over `seconds`, as a share of one core. Its edges and metrics
    listen on PARLEY_BENCH_EDGE_PORT and PARLEY_BENCH_METRICS_PORT (both required)."""
    env = {
        **os.environ,
        **checkout.env,
        "PARLEY_DATA_DIR": str(checkout.root / ".parley" / "compare"),
        "PARLEY_EDGE_NODES_LOCAL": "2",
        "PARLEY_EDGE_PORT": os.environ["PARLEY_BENCH_EDGE_PORT"],
        "PARLEY_METRICS_PORT": os.environ["PARLEY_BENCH_METRICS_PORT"],
    }

    def infra(command: str) -> None:
        subprocess.run(
            [checkout.python, "-m", "infra", command],
            cwd=checkout.root,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    infra("up")
    try:
        time.sleep(REST_SETTLE_S)
        window = Window(checkout.root)
        time.sleep(seconds)
        measured = window.close()
    finally:
        infra("down")
    measured["share_of_core"] = {
        role: round(s / measured["seconds"], 3) for role, s in measured["cpu_s"].items()
    }
    measured["platform_share_of_core"] = round(measured["platform_cpu_s"] / measured["seconds"], 3)
    return {"label": checkout.label, "rest": measured}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else float("nan")


def _by_role(
    groups: dict[str, list[dict[str, Any]]],
    part: str,
    figure: str,
    whole: str,
    show: Callable[[list[float]], str],
) -> list[str]:
    """One row per role (and the platform's whole) of the figure `part`.`figure` per run,
    a cell per label, shown by `show` over that label's runs."""
    roles = sorted({role for runs in groups.values() for r in runs for role in r[part][figure]})
    rows = []
    for role in [*roles, "platform"]:
        cells = []
        for runs in groups.values():
            values = [
                r[part][whole] if role == "platform" else r[part][figure].get(role, 0.0)
                for r in runs
            ]
            cells.append(show(values) if values else "-")
        rows.append(f"| {part}: {figure}, {role} | " + " | ".join(cells) + " |")
    return rows


def table(runs: list[dict[str, Any]], labels: list[str]) -> str:
    rows = ["| figure | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
    steps = {label: [r for r in runs if r["label"] == label and "step" in r] for label in labels}
    for key in ("p50_ms", "p99_ms", "max_ms", "lost", "duplicated", "deliveries_per_s"):
        cells = []
        for label in labels:
            values = [r["summary"][key] for r in steps[label]]
            cells.append(f"{_median(values)} ({', '.join(str(round(v)) for v in values)})")
        rows.append(f"| {key} | " + " | ".join(cells) + " |")
    rows += _by_role(
        steps, "step", "us_per_message", "platform_us_per_message", lambda v: f"{_median(v)}"
    )
    cells = [
        ", ".join(f"{100 * r['step']['other_share_of_machine']:.0f}%" for r in steps[label])
        for label in labels
    ]
    rows.append("| other work, share of machine | " + " | ".join(cells) + " |")
    rested = {label: [r for r in runs if r["label"] == label and "rest" in r] for label in labels}
    if any(rested.values()):
        rows += _by_role(
            rested,
            "rest",
            "share_of_core",
            "platform_share_of_core",
            lambda v: f"{100 * statistics.median(v):.1f}%",
        )
    return "\n".join(rows)


def label_env(specs: list[str], labels: list[str]) -> dict[str, dict[str, str]]:
    """`LABEL:KEY=VALUE` specs as each label's environment; a label not among `labels` or a
    spec without both separators is refused (a typo would otherwise compare a setting with
    itself)."""
    found: dict[str, dict[str, str]] = {label: {} for label in labels}
    for spec in specs:
        label, colon, assignment = spec.partition(":")
        key, equals, value = assignment.partition("=")
        if not colon or not equals or not key:
            raise ValueError(f"--env {spec!r}: expected LABEL:KEY=VALUE")
        if label not in found:
            raise ValueError(f"--env {spec!r}: no checkout is labelled {label!r}")
        found[label][key] = value
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare")
    parser.add_argument("checkouts", nargs="+", help="LABEL=DIR, in the order they run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--rest", type=float, default=0.0, help="seconds of rest to measure")
    parser.add_argument("--out", type=Path, default=OUT / "compare.json")
    parser.add_argument(
        "--env", action="append", default=[], help="LABEL:KEY=VALUE for that label's runs"
    )
    args = parser.parse_args(argv[1:])
    labelled = [(c.split("=", 1)[0], Path(c.split("=", 1)[1]).resolve()) for c in args.checkouts]
    envs = label_env(args.env, [label for label, _ in labelled])
    checkouts = [Checkout(label, root, envs[label]) for label, root in labelled]
    runs: list[dict[str, Any]] = []
    for n in range(args.runs):
        for checkout in checkouts:
            print(
                f"[compare] run {n + 1}/{args.runs}: {checkout.label} ({checkout.root})", flush=True
            )
            if args.rest:
                runs.append(rest(checkout, args.rest))
            runs.append(quick(checkout, args.rate))
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"argv": argv, "runs": runs}, indent=2) + "\n")
    print(table(runs, [c.label for c in checkouts]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
