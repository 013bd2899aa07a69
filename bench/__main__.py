"""`python -m bench {quick|full|sequencer|edge}`: fixed, named loads; writes bench/out/.

`quick` (make bench-quick, under 2 minutes) is the end-to-end edge benchmark at 1,000
devices and 1,000 messages/s for 10 s; `full` runs the sequencer and edge benchmarks at
their full loads. Each ends by printing one JSON line.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from bench import edge, idle, report, sequencer
from bench.platform import bench_platform
from infra.settings import REPO_ROOT

OUT = REPO_ROOT / "bench" / "out"
SUMMARY_FIELDS = (
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "sent",
    "received",
    "lost",
    "duplicated",
    "rate_per_s",
)


def _sequencer(load: sequencer.SequencerLoad) -> dict[str, Any]:
    with bench_platform() as settings:
        result = sequencer.run(settings, load, Path("/tmp") / f"parley-bench-{load.name}")
    result["rate_per_s"] = result["latency_rate_per_s"]
    return result


def _edge(load: edge.EdgeLoad) -> dict[str, Any]:
    rate = os.environ.get("PARLEY_BENCH_RATE")
    if rate:
        load = dataclasses.replace(load, name=f"{load.name}-{rate}", rate_per_s=int(rate))
    with bench_platform() as settings:
        return edge.run(settings, load)


def _idle(load: idle.IdleLoad) -> dict[str, Any]:
    with bench_platform() as settings:
        return idle.run(settings, load)


def main(argv: list[str]) -> int:
    runs: dict[str, list[tuple[str, Callable[[], dict[str, Any]]]]] = {
        "quick": [("edge-quick", partial(_edge, edge.QUICK))],
        "edge": [("edge-full", partial(_edge, edge.FULL))],
        "sequencer": [("sequencer-full", partial(_sequencer, sequencer.FULL))],
        "idle": [("idle-full", partial(_idle, idle.FULL))],
        "full": [
            ("sequencer-full", partial(_sequencer, sequencer.FULL)),
            ("edge-full", partial(_edge, edge.FULL)),
            ("idle-full", partial(_idle, idle.FULL)),
        ],
    }
    if len(argv) != 2 or argv[1] not in runs:
        print(f"usage: python -m bench {{{'|'.join(runs)}}}", file=sys.stderr)
        return 2
    summary: dict[str, Any] = {}
    for name, run in runs[argv[1]]:
        result = run()
        path = report.write(result, OUT, f"{name}-{result.get('rate_per_s', '')}".rstrip("-"))
        print(f"[bench] wrote {path} and its plot", file=sys.stderr)
        if result["benchmark"] == "idle-connections":
            print(json.dumps(result))
            continue
        summary = {k: result[k] for k in SUMMARY_FIELDS} | {
            "benchmark": result["benchmark"],
            **({"devices": result["devices"]} if "devices" in result else {}),
        }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
