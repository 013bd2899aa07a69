"""`python -m bench {quick|full|sequencer}`: runs benchmarks at fixed loads, writes bench/out/."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench import report, sequencer
from bench.platform import bench_platform
from infra.settings import REPO_ROOT

OUT = REPO_ROOT / "bench" / "out"
SUMMARY_FIELDS = ("p50_ms", "p95_ms", "p99_ms", "max_ms", "sent", "received", "lost", "duplicated")


def main(argv: list[str]) -> int:
    suites = {"quick": sequencer.QUICK, "full": sequencer.FULL, "sequencer": sequencer.FULL}
    if len(argv) != 2 or argv[1] not in suites:
        print("usage: python -m bench {quick|full|sequencer}", file=sys.stderr)
        return 2
    load = suites[argv[1]]
    with bench_platform() as settings:
        result = sequencer.run(settings, load, Path("/tmp") / f"parley-bench-{load.name}")
    path = report.write(result, OUT, f"sequencer-{load.name}")
    print(f"[bench] wrote {path} and its plot", file=sys.stderr)
    summary = {k: result[k] for k in SUMMARY_FIELDS}
    summary |= {
        "rate_per_s": result["latency_rate_per_s"],
        "throughput_commands_per_s": result["throughput_commands_per_s"],
        "benchmark": "sequencer",
    }
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
