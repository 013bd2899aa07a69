"""`python -m bench COMMAND`: fixed, named loads, each bounded in time, printing progress.

COMMAND: quick, suite, report, capacity, archive, archive-quick, compliance,
compliance-quick, chaos, chaos-cluster, fuzz (fuzz-records, fuzz-edge), or one part
alone (edge, hops, idle, sequencer, rebuild, backfill, projection-lag, search, media).
`hops` is the latency budget per hop (bench/hops.py); `python -m bench.compare` runs two
checkouts' `quick` side by side (docs/performance.md).

`quick` (make bench-quick, under 2 minutes): the end-to-end edge benchmark at 1,000 devices
and 1,000 messages/s for 10 s (PARLEY_BENCH_RATE changes the rate); ends with one JSON line.
`suite` (make bench; `full` is the same): every benchmark on one platform, written to
bench/results/ (PARLEY_BENCH_OUT elsewhere) with REPORT.md. `report` renders REPORT.md
again from the JSON there; `capacity` turns it into the tables of docs/capacity.md.
The parts run alone on a platform of their own, write to bench/out/ and end with their
result as one JSON line (`search`: PARLEY_BENCH_SEARCH=full for a corpus of 1,000,000
messages instead of 50,000, PARLEY_BENCH_SEARCH_BATCH for the events per commit; `media`:
uploads, image processing, complete to thumbnail through every process, the media book's
memory; bench/media.py).
`archive` (not in the suite: 10M events take most of an hour) writes 10M simulated events
through the archive writer to S3 and times the saved queries on chdb
(PARLEY_BENCH_ARCHIVE_EVENTS sets the count; `archive-quick` is 200,000;
PARLEY_BENCH_ARCHIVE_ROOT=<root> times the queries again over an archive an earlier run
wrote, without writing). `archive-lag` (in the suite) measures the archive process's lag
behind the log at 1,000 messages/s.
`compliance` (not in the suite yet; bench/compliance.py) times one person's export and its
peak memory as their history grows (25k, 100k, 400k events; `compliance-quick` 5k to 80k;
PARLEY_BENCH_COMPLIANCE_SIZES=10000,40000 sets the sizes).
`erasure` (not in the suite; bench/erasure.py) erases a person with 100,000 messages in 1,000
conversations, written through the edge, and times each store until it is clean (the key,
the sequencer's answers, the history view, the search index), then scans every file of the
platform for their canary and key (`erasure-quick`: 10,000 in 100;
PARLEY_BENCH_ERASURE_MESSAGES and PARLEY_BENCH_ERASURE_CONVERSATIONS set the load).
`redaction` (not in the suite; bench/redaction.py) redacts 200 messages one at a time under
light load, timing each from `RedactMessage` to the history view's tombstone, the search
index and a connected device's push (PARLEY_BENCH_REDACTIONS sets the count).
`python -m bench.compare sealed=. plain=. --env plain:PARLEY_SEALING=off` is the send path
with and without sealing, side by side (docs/compliance.md).
`chaos` and `chaos-cluster` (bench/chaos.py) kill each process
in turn under load, on a platform of their own, and write to bench/out/ (PARLEY_BENCH_OUT
elsewhere; PARLEY_CHAOS_RATE sets the messages/s); `fuzz` feeds at least 10,000 cases per
target to the codec and every processor's intake (bench/fuzz.py), then to a running edge's
WebSocket and REST planes and schemathesis over /openapi.json (bench/edge_fuzz.py), and
writes fuzz.json and edge-fuzz.json (PARLEY_FUZZ_CASES sets the cases, PARLEY_FUZZ_TARGETS
picks record targets by name, comma-separated; `fuzz-records` and `fuzz-edge` run one half).
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench import (
    archive,
    capacity,
    chaos,
    compliance,
    edge,
    edge_fuzz,
    erasure,
    fuzz,
    plots,
    redaction,
    results,
    suite,
)
from bench.platform import bench_platform
from infra.settings import REPO_ROOT

OUT = REPO_ROOT / "bench" / "out"
RESULTS = REPO_ROOT / "bench" / "results"
QUICK_LIMIT_S = 150.0
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


def quick() -> dict[str, Any]:
    rate = int(os.environ.get("PARLEY_BENCH_RATE", "1000"))
    load = edge.single("quick" if rate == 1000 else f"quick-{rate}", rate)
    with suite.time_limit(QUICK_LIMIT_S, "bench quick"), bench_platform() as settings:
        result = edge.run(settings, load)
    results.write(result, OUT, f"edge-{load.name}")
    step = result["steps"][0]
    return {k: step[k] for k in SUMMARY_FIELDS} | {
        "benchmark": "edge",
        "devices": result["devices"],
        "deliveries_per_s": step["deliveries_per_s"],
        "cpu_us_per_message": step["cpu_us_per_message"],
        "platform_cpu_us_per_message": step["platform_cpu_us_per_message"],
        "at_rest_share_of_core": result["at_rest"]["share_of_core"],
        "at_rest_platform_share_of_core": result["at_rest"]["platform_share_of_core"],
    }


def alone(name: str) -> dict[str, Any]:
    part = next(p for p in suite.PARTS if p.command.split()[-1] == name)
    with suite.time_limit(part.budget_s + 60, part.name), bench_platform() as settings:
        result = part.run(settings)
    results.write(result, OUT, part.name)
    loaded = results.load(OUT, part.name) or {}
    loaded.pop("machine", None)
    return loaded


def archive_alone(quick: bool) -> dict[str, Any]:
    load = archive.QUICK if quick else archive.FULL
    events = os.environ.get("PARLEY_BENCH_ARCHIVE_EVENTS")
    if events:
        load = archive.ArchiveLoad(f"{load.name}-{events}", int(events), days=load.days)
    root = os.environ.get("PARLEY_BENCH_ARCHIVE_ROOT")
    with bench_platform() as settings:
        if root:
            result = archive.requery(settings, root, results.load(OUT, "archive") or {}, load)
        else:
            spool = Path("/tmp") / f"parley-bench-archive-{os.getpid()}"
            result = archive.run(settings, load, spool)
    name = "archive" if load.name == "full" else f"archive-{load.name}"
    results.write(result, OUT, name)
    plots.archive(OUT / f"{name}.png", result)
    return result


def compliance_alone(quick: bool) -> dict[str, Any]:
    load = compliance.QUICK if quick else compliance.FULL
    sizes = os.environ.get("PARLEY_BENCH_COMPLIANCE_SIZES")
    if sizes:
        counts = tuple(int(n) for n in sizes.split(","))
        load = replace(load, name=f"{load.name}-{'-'.join(map(str, counts))}", sizes=counts)
    with bench_platform() as settings:
        work = Path("/tmp") / f"parley-bench-compliance-{os.getpid()}"
        result = compliance.run(settings, load, work)
    name = "compliance-export" if load.name == "full" else f"compliance-export-{load.name}"
    results.write(result, OUT, name)
    compliance.plot(OUT / f"{name}.png", result)
    return result


def erasure_alone(quick: bool) -> dict[str, Any]:
    load = erasure.sized(erasure.QUICK if quick else erasure.FULL, dict(os.environ))
    with bench_platform() as settings:
        result = erasure.run(settings, load)
    name = "erasure" if load.name == "full" else f"erasure-{load.name}"
    results.write(result, OUT, name)
    erasure.plot(OUT / f"{name}.png", result)
    return {"load": load.name, "erasure": result["erasure"], "scan": result["scan"]}


def redaction_alone() -> dict[str, Any]:
    load = redaction.sized(redaction.FULL, dict(os.environ))
    with bench_platform() as settings:
        result = redaction.run(settings, load)
    name = "redaction" if load.name == "full" else f"redaction-{load.name}"
    results.write(result, OUT, name)
    return {"load": load.name, "by_kind": result["by_kind"]}


def main(argv: list[str]) -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    single = [p.command.split()[-1] for p in suite.PARTS]
    alone_parts = [
        "archive",
        "archive-quick",
        "compliance",
        "compliance-quick",
        "erasure",
        "erasure-quick",
        "redaction",
        *chaos.PLANS,
        "fuzz",
        "fuzz-records",
        "fuzz-edge",
        *single,
    ]
    commands = ["quick", "suite", "full", "report", "capacity", *alone_parts]
    if len(argv) != 2 or argv[1] not in commands:
        print(f"usage: python -m bench {{{'|'.join(commands)}}}", file=sys.stderr)
        return 2
    command = argv[1]
    out = Path(os.environ.get("PARLEY_BENCH_OUT", RESULTS))
    if command in ("suite", "full"):
        given = "python -m bench " + command
        rate_env = {k: v for k, v in os.environ.items() if k.startswith("PARLEY_BENCH_")}
        if rate_env:
            given = " ".join(f"{k}={shlex.quote(v)}" for k, v in rate_env.items()) + " " + given
        return min(suite.run(out, given), 1)
    if command == "capacity":
        generated = capacity.render(capacity.Measured.from_results(out), capacity.Assumptions())
        capacity.write_into(REPO_ROOT / "docs" / "capacity.md", generated)
        print(generated)
        return 0
    if command in chaos.PLANS:
        plan = chaos.PLANS[command]
        rate = float(os.environ.get("PARLEY_CHAOS_RATE", plan.rate_per_s))
        out_dir = Path(os.environ.get("PARLEY_BENCH_OUT", OUT))
        result = chaos.run(replace(plan, rate_per_s=rate), out_dir)
        print(json.dumps(results.finite({"faults": result["faults"], "total": result["total"]})))
        return 0
    if command.startswith("fuzz"):
        cases = int(os.environ.get("PARLEY_FUZZ_CASES", fuzz.BENCH_CASES))
        failed = 0
        if command in ("fuzz", "fuzz-records"):
            records = fuzz.run(OUT, cases, os.environ.get("PARLEY_FUZZ_TARGETS", ""))
            failed += sum(1 for t in records["targets"] if t["failure"])
        if command in ("fuzz", "fuzz-edge"):
            edge_side = edge_fuzz.run(OUT, cases)
            failed += sum(
                1 for t in edge_side["targets"] if t.get("failure_count") or t.get("exit_code")
            )
        print(json.dumps({"failed_targets": failed}))
        return min(failed, 1)
    if command == "report":
        print(f"[bench] wrote {suite.rerender(out)}")
        return 0
    if command in ("archive", "archive-quick"):
        summary = archive_alone(quick=command == "archive-quick")
        summary.pop("queries")
        print(json.dumps(results.finite(summary), allow_nan=False))
        return 0
    if command.startswith("compliance"):
        summary = compliance_alone(quick=command == "compliance-quick")
    elif command.startswith("erasure"):
        summary = erasure_alone(quick=command == "erasure-quick")
    elif command == "redaction":
        summary = redaction_alone()
    else:
        summary = quick() if command == "quick" else alone(command)
    print(json.dumps(results.finite(summary), allow_nan=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
