"""The whole suite: every benchmark at its named load on one platform, each within a time
budget, with progress lines; writes each result's JSON and plots, suite.json and REPORT.md."""

from __future__ import annotations

import json
import signal
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

from bench import (
    archive_lag,
    backfill,
    edge,
    idle,
    projection_lag,
    rebuild,
    report,
    results,
    search,
    sequencer,
)
from bench.contention import CpuSampler
from bench.machine import how_busy, machine, other_work_running
from bench.platform import bench_platform
from infra.settings import REPO_ROOT, PlatformSettings

TOTAL_BUDGET_S = 40 * 60.0
"""The suite never runs a part that its budget would carry past this."""
PLATFORM_ALLOWANCE_S = 90.0
"""Starting and stopping Kafka and S3, and the machine samples before and after."""

OTHER_WORK_SHARE = 0.05
"""Above this share of the machine's CPU taken by other work during a part, the report says
the figures were measured with other work running."""

Run = Callable[[PlatformSettings], dict[str, Any]]


@dataclass(frozen=True)
class Part:
    name: str
    command: str
    """The command that runs this part alone."""
    budget_s: float
    run: Run


class BudgetExceededError(RuntimeError):
    pass


@contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raises BudgetExceededError in the main thread once `seconds` have passed; the part's
    own `finally` blocks then stop what it started."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise BudgetExceededError(f"{what} ran past its budget of {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _sequencer(settings: PlatformSettings) -> dict[str, Any]:
    return sequencer.run(settings, sequencer.FULL, Path("/tmp") / "parley-bench-sequencer")


def _rebuild(settings: PlatformSettings) -> dict[str, Any]:
    return rebuild.run(settings, rebuild.FULL, Path("/tmp") / "parley-bench-rebuild")


def _edge_ramp(settings: PlatformSettings) -> dict[str, Any]:
    return edge.run(settings, edge.RAMP)


def _hops(settings: PlatformSettings) -> dict[str, Any]:
    return edge.run(settings, edge.HOPS)


def _idle(settings: PlatformSettings) -> dict[str, Any]:
    return idle.run(settings, idle.FULL)


def _backfill(settings: PlatformSettings) -> dict[str, Any]:
    return backfill.run(settings, backfill.FULL)


def _projection_lag(settings: PlatformSettings) -> dict[str, Any]:
    return projection_lag.run(settings, projection_lag.FULL, Path("/tmp") / "parley-bench-lag")


def _search(settings: PlatformSettings) -> dict[str, Any]:
    return search.measure(settings, Path("/tmp") / "parley-bench-search")


def _archive_lag(settings: PlatformSettings) -> dict[str, Any]:
    return archive_lag.run(settings, archive_lag.FULL, Path("/tmp") / "parley-bench-archive-lag")


PARTS = (
    Part(report.RAMP, "python -m bench edge", 360.0, _edge_ramp),
    Part(report.HOPS, "python -m bench hops", 240.0, _hops),
    Part(report.IDLE, "python -m bench idle", 120.0, _idle),
    Part(report.SEQUENCER, "python -m bench sequencer", 200.0, _sequencer),
    Part(report.REBUILD, "python -m bench rebuild", 150.0, _rebuild),
    Part(report.BACKFILL, "python -m bench backfill", 180.0, _backfill),
    Part(report.LAG, "python -m bench projection-lag", 90.0, _projection_lag),
    Part(report.SEARCH, "python -m bench search", search.budget_s(), _search),
    Part(report.ARCHIVE_LAG, "python -m bench archive-lag", 330.0, _archive_lag),
)


def planned_within(parts: tuple[Part, ...], total_s: float) -> bool:
    return sum(p.budget_s for p in parts) + PLATFORM_ALLOWANCE_S <= total_s


def run(out_dir: Path, command: str, parts: tuple[Part, ...] = PARTS) -> int:
    """Runs `parts` in order; a part that fails or overruns is recorded and the suite goes
    on. Returns the number of parts that did not finish."""
    began = time.monotonic()
    print("[suite] sampling how busy the machine is before the run (5 s)", flush=True)
    suite: dict[str, Any] = {
        "command": command,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": machine(),
        "busy_before": how_busy(),
        "total_budget_s": TOTAL_BUDGET_S,
        "parts": [],
    }
    measured: dict[str, dict[str, Any] | None] = {}
    print(f"[suite] {len(parts)} parts, budgets {sum(p.budget_s for p in parts):.0f} s", flush=True)
    with bench_platform() as settings:
        for n, part in enumerate(parts):
            elapsed = time.monotonic() - began
            record: dict[str, Any] = {
                "name": part.name,
                "command": part.command,
                "budget_s": part.budget_s,
            }
            suite["parts"].append(record)
            if elapsed + part.budget_s > TOTAL_BUDGET_S - PLATFORM_ALLOWANCE_S / 2:
                record["status"] = "skipped"
                record["error"] = f"skipped: {elapsed:.0f} s gone of {TOTAL_BUDGET_S:.0f} s"
                print(f"[suite] {record['error']}; skipping {part.name}", flush=True)
                continue
            print(
                f"[suite] part {n + 1}/{len(parts)}: {part.name} (budget {part.budget_s:.0f} s, "
                f"{elapsed:.0f} s into the suite)",
                flush=True,
            )
            started = time.monotonic()
            sampler = CpuSampler(REPO_ROOT).start()
            try:
                with time_limit(part.budget_s, part.name):
                    result = part.run(settings)
                written = results.write(result, out_dir, part.name)
                record["status"] = "ok"
                measured[part.name] = results.load(out_dir, part.name)
                print(f"[suite] wrote {', '.join(p.name for p in written)}", flush=True)
            except Exception as e:
                traceback.print_exc()
                record["status"] = "failed"
                record["error"] = f"{type(e).__name__}: {e}"
                measured[part.name] = None
            record["seconds"] = round(time.monotonic() - started, 1)
            record["other_work"] = sampler.stop()
            print(
                f"[suite] {part.name}: {record['status']} in {record['seconds']} s; other work "
                f"took {100 * record['other_work']['other_share_of_machine']:.0f}% of the machine",
                flush=True,
            )
            _write(out_dir, suite, measured)
    print("[suite] sampling how busy the machine is after the run (5 s)", flush=True)
    suite["busy_after"] = how_busy()
    suite["other_work_running"] = other_work_running(
        [suite["busy_before"], suite["busy_after"]]
    ) or any(
        p.get("other_work", {}).get("other_share_of_machine", 0.0) > OTHER_WORK_SHARE
        for p in suite["parts"]
    )
    suite["seconds"] = round(time.monotonic() - began, 1)
    _write(out_dir, suite, measured)
    print(f"[suite] done in {suite['seconds']:.0f} s; report: {out_dir / 'REPORT.md'}", flush=True)
    return sum(1 for p in suite["parts"] if p.get("status") != "ok")


def _write(out_dir: Path, suite: dict[str, Any], measured: dict[str, Any]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / f"{report.SUITE}.json").write_text(json.dumps(suite, indent=2) + "\n")
    (out_dir / "REPORT.md").write_text(report.render(suite, measured))


def rerender(out_dir: Path) -> Path:
    """REPORT.md again from suite.json and the results of the parts that finished."""
    suite = results.load(out_dir, report.SUITE)
    if suite is None:
        sys.exit(f"no {report.SUITE}.json in {out_dir}")
    measured = {
        p["name"]: results.load(out_dir, p["name"]) if p.get("status") == "ok" else None
        for p in suite["parts"]
    }
    path = out_dir / "REPORT.md"
    path.write_text(report.render(suite, measured))
    return path
