"""The archive benchmark: writer throughput on one pinned core, Parquet bytes per event
against Avro bytes per event, and the saved queries' times on chdb over what was written.

Events come from the chat simulation (bench/chat_load.py: real schemas, real codec), made
in chunks; only the writer's work on a chunk is timed (`add` of every record, and the
uploads its cuts cause, to the real S3 server), both as wall time and as the process's CPU
time, since other work shares this machine. The simulation and the writer run in this
process, pinned to one core; s3proxy runs on whatever the machine gives it. Then every
saved query runs `repeats` times on the embedded engine over the whole archive.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.engine import Analytics
from analytics.queries import SAVED
from analytics.settings import AnalyticsSettings
from bench.chat_load import ChatLoad, ChatSimulation, LoadRecord
from infra.objectstore import ensure_bucket
from infra.settings import PlatformSettings
from kafkalog.cold.record import ArchiveRecord
from objectstore.client import connect
from objectstore.store import ObjectStore
from projections.archive.cuts import CutLimits
from projections.archive.writer import ArchiveWriter

BUCKET = "parley-bench-archive"
CHUNK = 50_000


@dataclass(frozen=True)
class ArchiveLoad:
    name: str
    events: int
    days: int = 14
    partitions: int = 8
    repeats: int = 3
    core: int = 1


QUICK = ArchiveLoad("quick", events=200_000, days=3, repeats=2)
FULL = ArchiveLoad("full", events=10_000_000)


def _store(settings: PlatformSettings) -> ObjectStore:
    ensure_bucket(settings, BUCKET)
    client = connect(settings)
    return ObjectStore(client, BUCKET)


def _write(settings: PlatformSettings, load: ArchiveLoad, root: str, spool: Path) -> dict[str, Any]:
    store = _store(settings)
    writers = {
        topic: ArchiveWriter(store, topic, root=root, spool_dir=spool / topic, limits=CutLimits())
        for topic in ("events", "accounts")
    }
    for writer in writers.values():
        writer.open(range(load.partitions))
    simulation = iter(
        ChatSimulation(ChatLoad(events=load.events, days=load.days, partitions=load.partitions))
    )
    wall = cpu = 0.0
    made = 0
    began = time.monotonic()
    while True:
        chunk: list[LoadRecord] = [r for _, r in zip(range(CHUNK), simulation, strict=False)]
        if not chunk:
            break
        fed = [
            (writers[r.topic], ArchiveRecord(r.partition, r.offset, r.timestamp_ms, r.value, r.key))
            for r in chunk
        ]
        w0, c0 = time.perf_counter(), time.process_time()
        for writer, record in fed:
            writer.add(record)
        wall += time.perf_counter() - w0
        cpu += time.process_time() - c0
        made += len(chunk)
        if made % 1_000_000 < CHUNK:
            print(
                f"[archive] {made:,} records archived, {made / cpu:,.0f}/s of CPU, "
                f"{time.monotonic() - began:.0f} s in",
                flush=True,
            )
    w0, c0 = time.perf_counter(), time.process_time()
    for writer in writers.values():
        writer.flush()
    wall += time.perf_counter() - w0
    cpu += time.process_time() - c0
    events, accounts = writers["events"].stats, writers["accounts"].stats
    records = events.records + accounts.records
    return {
        "records": records,
        "events": events.records,
        "account_events": accounts.records,
        "objects": events.objects + accounts.objects,
        "compacted_objects": events.merged + accounts.merged,
        "writer_wall_s": round(wall, 2),
        "writer_cpu_s": round(cpu, 2),
        "events_per_s_wall": round(records / wall),
        "events_per_cpu_s": round(records / cpu),
        "avro_bytes_per_event": round(events.avro_bytes / events.records, 1),
        "table_bytes_per_event": round(events.table_bytes / events.records, 1),
        "raw_bytes_per_event": round(events.raw_bytes / events.records, 1),
        "avro_to_table_ratio": round(events.avro_bytes / events.table_bytes, 2),
        "avro_to_parquet_ratio": round(
            events.avro_bytes / (events.table_bytes + events.raw_bytes), 2
        ),
    }


def _queries(settings: PlatformSettings, root: str, repeats: int) -> list[dict[str, Any]]:
    analytics = Analytics(
        AnalyticsSettings(
            s3_endpoint=settings.s3_url,
            s3_access_key=settings.s3_access_key,
            s3_secret_key=settings.s3_secret_key,
            s3_bucket=BUCKET,
            archive_root=root,
        )
    )
    timed = []
    try:
        for query in SAVED:
            times = []
            rows = 0
            for _ in range(repeats):
                began = time.perf_counter()
                answer = analytics.query(query.sql)
                times.append(time.perf_counter() - began)
                rows = len(answer.rows)
            timed.append(
                {
                    "query": query.name,
                    "median_s": round(statistics.median(times), 3),
                    "min_s": round(min(times), 3),
                    "max_s": round(max(times), 3),
                    "rows": rows,
                }
            )
            print(f"[archive] {query.name}: {timed[-1]}", flush=True)
    finally:
        analytics.close()
    return timed


def requery(
    settings: PlatformSettings, root: str, written: dict[str, Any], load: ArchiveLoad
) -> dict[str, Any]:
    """The saved queries timed again over an archive an earlier run wrote (`written` is
    that run's result, whose writer figures are kept as they were)."""
    if written.get("root") != root:
        raise SystemExit(f"bench/out/archive.json is not the run that wrote {root}")
    load_before = os.getloadavg()[0]
    queries = _queries(settings, root, load.repeats)
    return {
        **written,
        "queries": queries,
        "slowest_query_s": max(q["median_s"] for q in queries),
        "load_average_around_queries": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "queries_timed_again": True,
    }


def run(settings: PlatformSettings, load: ArchiveLoad, spool: Path) -> dict[str, Any]:
    os.sched_setaffinity(0, {load.core})
    root = f"bench-{load.name}-{uuid.uuid4().hex[:8]}"
    print(f"[archive] writing {load.events:,} events under s3://{BUCKET}/{root}", flush=True)
    written = _write(settings, load, root, spool)
    print(f"[archive] written: {written}", flush=True)
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    load_before = os.getloadavg()[0]
    queries = _queries(settings, root, load.repeats)
    return {
        "benchmark": "archive",
        "load": load.name,
        "days": load.days,
        "partitions": load.partitions,
        "pinned_core": load.core,
        "root": root,
        **written,
        "queries": queries,
        "slowest_query_s": max(q["median_s"] for q in queries),
        "load_average_around_queries": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "cores": os.cpu_count(),
        "goals": {"events_per_s_per_core": 50_000, "query_s": 2.0, "assumed_ratio": 5},
    }
