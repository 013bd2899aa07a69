"""Not a test: what the archive's scrub of one redaction costs (projections/archive/scrub.py).

    .venv/bin/python -m bench.archive_scrub [--events N] [--out bench/results/archive-scrub.json]

One partition of simulated chat (bench/chat_load.py) is archived to the real S3 server in
objects of 10,000 records; then a message sent within the first 5% of it is redacted. Timed:
the writer's flush of the redaction's object, which uploads it and then scrubs (reads the
partition's `table` objects newest first back to the send, rewrites the `raw` objects
holding the send and its edits), as wall time and as this process's CPU time.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bench.chat_load import ChatLoad, ChatSimulation
from infra.objectstore import ensure_bucket
from infra.settings import PlatformSettings
from kafkalog.cold.record import ArchiveRecord
from objectstore.client import connect
from objectstore.store import ObjectStore
from projections.archive.cuts import CutLimits
from projections.archive.writer import ArchiveWriter
from schemas import codec
from schemas import models as m

BUCKET = "parley-bench-archive"
OBJECT_RECORDS = 10_000


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.archive_scrub")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    settings = PlatformSettings()
    ensure_bucket(settings, BUCKET)
    store = ObjectStore(connect(settings), BUCKET)
    load = ChatLoad(events=args.events, partitions=1, days=1, seed=3)
    fed = [
        ArchiveRecord(r.partition, r.offset, r.timestamp_ms, r.value, r.key)
        for r in ChatSimulation(load)
        if r.topic == "events"
    ]
    with tempfile.TemporaryDirectory() as spool:
        writer = ArchiveWriter(
            store,
            "events",
            root=f"scrub-{uuid.uuid4().hex[:8]}",
            spool_dir=Path(spool),
            limits=CutLimits(max_records=OBJECT_RECORDS),
            compact_bytes=None,
        )
        writer.open([0])
        for record in fed:
            writer.add(record)
        writer.flush()
        events = [codec.decode(r.value) for r in fed]
        target = next(e for e in events[: len(events) // 20] if isinstance(e, m.MessageSent))
        cid = target.meta.conversation_id
        last = max(
            (e for e in events if isinstance(e, m.Event) and e.meta.conversation_id == cid),
            key=lambda e: e.meta.seq,
        )
        redaction = m.MessageRedacted(
            meta=last.meta.model_copy(update={"seq": last.meta.seq + 1, "event_id": "r"}),
            target_seq=target.meta.seq,
            reason="bench: redaction",
        )
        writer.add(
            ArchiveRecord(
                0, fed[-1].offset + 1, fed[-1].timestamp_ms, codec.encode(redaction), cid.encode()
            )
        )
        wall, cpu = time.perf_counter(), time.process_time()
        writer.flush()
        results = {
            "records": len(fed),
            "objects": writer.stats.objects,
            "records_per_object": OBJECT_RECORDS,
            "scrubbed_records": writer.stats.scrubbed,
            "flush_and_scrub_wall_s": round(time.perf_counter() - wall, 3),
            "flush_and_scrub_cpu_s": round(time.process_time() - cpu, 3),
        }
    line = json.dumps({"bench": "archive-scrub", "at": datetime.now(UTC).isoformat(), **results})
    print(line)
    if args.out is not None:
        args.out.write_text(line + "\n")


if __name__ == "__main__":
    main()
