"""Compliance export: memory and time of one person's export as their history grows.

For each size, a fresh events topic on the broker is filled with one person's history
(`conversations` conversations they are in, `MessageSent`s spread over them, every tenth
one edited), and the export runs as it does in production: `run_export` over the log, in a
process of its own (`python -m bench.compliance one`), reading the log twice (finding
their conversations, then replaying them into the scratch view) and writing the JSON
Lines file, the transcript and the manifest. The figure that matters is the process's
peak resident memory (VmHWM) against the history's size: flat means the export
streams (docs/compliance.md, "Replay to an instant"); its wall and CPU time are reported
beside it (on a shared machine the wall time says more about the neighbours, so the
1-minute load average is recorded with each size).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from confluent_kafka import Producer

from bench.services import wait_for_leaders
from edge.compliance.bodies import BodyOpener
from edge.compliance.export import ExportSpec, run_export
from edge.protocol.compliance import ExportProgress
from infra.settings import REPO_ROOT, PlatformSettings
from infra.topics import ensure_topics
from kafkalog.output import produce_waiting
from projections.history_source import HistorySource
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import Topics, declare_topics

PERSON = "ann"
TEXT = "a message of typical length, about sixty bytes of text"


@dataclass(frozen=True)
class ComplianceLoad:
    name: str
    sizes: tuple[int, ...] = (25_000, 100_000, 400_000)
    conversations: int = 200
    partitions: int = 4
    deadline_s: float = 900.0


QUICK = ComplianceLoad("quick", sizes=(5_000, 20_000, 80_000), conversations=50)
FULL = ComplianceLoad("full")


def _meta(cid: str, seq: int, who: str, at: datetime) -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.uuid4()),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=who, device_id=f"{who}-phone"),
        client_msg_id=str(uuid.uuid4()),
        command_id=str(uuid.uuid4()),
        occurred_at=at,
    )


def _fill(bootstrap: str, topics: Topics, events: int, conversations: int) -> int:
    """Writes the person's history; returns its encoded bytes."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20}
    )
    cids = [f"bench-{uuid.uuid4().hex[:8]}-{i}" for i in range(conversations)]
    seqs = dict.fromkeys(cids, 0)
    at = datetime.now(UTC)
    total = 0
    for i in range(events):
        cid = cids[i % len(cids)]
        seqs[cid] += 1
        seq = seqs[cid]
        who = PERSON if i % 2 else f"friend-{i % len(cids)}"
        event: m.Event
        if seq == 1:
            event = m.ConversationCreated(
                meta=_meta(cid, 1, PERSON, at),
                kind=m.ConversationKind.DIRECT,
                members=(
                    m.Member(user_id=PERSON, role=m.Role.OWNER),
                    m.Member(user_id=f"friend-{i % len(cids)}", role=m.Role.MEMBER),
                ),
            )
        elif seq % 10 == 0:
            event = m.MessageEdited(
                meta=_meta(cid, seq, who, at), target_seq=seq - 1, body=m.PlainBody(text=TEXT)
            )
        else:
            event = m.MessageSent(meta=_meta(cid, seq, who, at), body=m.PlainBody(text=TEXT))
        value = codec.encode(event)
        total += len(value)
        produce_waiting(
            producer, topics.events.name, partition_for(cid, topics.events.partitions), cid, value
        )
    if producer.flush(60) != 0:
        raise RuntimeError("events still unwritten after 60 s")
    return total


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM). Not `ru_maxrss`: Linux carries that
    over from the parent across fork and exec, so it reported the benchmark's producer,
    whose memory grows with the history it wrote."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def one(bootstrap: str, topic: str, partitions: int, work: Path) -> dict[str, Any]:
    """The export of the person's whole history, in this process; its figures."""
    now = int(time.time() * 1000) + 60_000
    spec = ExportSpec(
        export_id=uuid.uuid4().hex,
        case="BENCH-1",
        subject_kind="user",
        subject_id=PERSON,
        mode="as_of",
        as_of_ms=now,
        created_at_ms=now,
        expires_at_ms=now + 1,
        action_id="bench",
        officer="bench",
        device_id="bench",
        origin="bench",
    )
    reports: list[ExportProgress] = []
    by_phase: dict[str, float] = {}

    def report(progress: ExportProgress) -> None:
        """Keeps the peak RSS reached by the end of each phase: which one grows."""
        reports.append(progress)
        by_phase[progress.phase] = peak_rss_mib()

    started = time.monotonic()
    cpu = time.process_time()
    result = run_export(
        spec,
        source=HistorySource(bootstrap, topic, None),
        partitions=partitions,
        work_dir=work,
        opener=BodyOpener(),
        report=report,
        cancelled=lambda: False,
        clock_ms=lambda: int(time.time() * 1000),
    )
    seconds = time.monotonic() - started
    return {
        "seconds": round(seconds, 2),
        "cpu_s": round(time.process_time() - cpu, 2),
        "load_average_1m": round(os.getloadavg()[0], 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "peak_rss_mib_by_phase": {k: round(v, 1) for k, v in by_phase.items()},
        "events_written": result.events,
        "conversations": result.conversations,
        "progress_reports": len(reports),
        "file_bytes": {f.name: f.size_bytes for f in result.files},
    }


def _export_in_process(
    settings: PlatformSettings, topics: Topics, partitions: int, work: Path, deadline_s: float
) -> dict[str, Any]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.compliance",
            "one",
            settings.bootstrap,
            topics.events.name,
            str(partitions),
            str(work),
        ],
        capture_output=True,
        text=True,
        timeout=deadline_s,
        cwd=REPO_ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the export failed:\n{done.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def run(settings: PlatformSettings, load: ComplianceLoad, work: Path) -> dict[str, Any]:
    sizes = []
    for size in load.sizes:
        prefix = f"compliance{uuid.uuid4().hex[:6]}"
        topics = declare_topics(prefix, partitions=load.partitions)
        ensure_topics(settings.bootstrap, topics)
        wait_for_leaders(settings.bootstrap, topics)
        print(f"[compliance] writing {size} events of one person", flush=True)
        event_bytes = _fill(settings.bootstrap, topics, size, load.conversations)
        shutil.rmtree(work, ignore_errors=True)
        found = _export_in_process(settings, topics, load.partitions, work, load.deadline_s)
        shutil.rmtree(work, ignore_errors=True)
        found |= {
            "events": size,
            "event_bytes": event_bytes,
            "events_per_s": round(size / found["seconds"], 1) if found["seconds"] else None,
        }
        print(
            f"[compliance] {size} events: {found['seconds']} s, "
            f"peak RSS {found['peak_rss_mib']} MiB",
            flush=True,
        )
        sizes.append(found)
    return {
        "benchmark": "compliance-export",
        "load": load.name,
        "subject": "one person, every conversation, as of now",
        "conversations": load.conversations,
        "partitions": load.partitions,
        "source": "the log (read twice: finding, then replaying)",
        "sizes": sizes,
    }


def plot(path: Path, result: dict[str, Any]) -> None:
    steps = result["sizes"]
    events = [s["events"] for s in steps]
    fig, left = plt.subplots(figsize=(8, 4))
    left.plot(events, [s["peak_rss_mib"] for s in steps], "o-", color="tab:blue")
    left.set_xlabel("events in the person's history")
    left.set_ylabel("export process peak RSS (MiB)", color="tab:blue")
    left.set_ylim(bottom=0)
    right = left.twinx()
    right.plot(events, [s["seconds"] for s in steps], "s--", color="tab:orange", label="wall")
    right.plot(events, [s["cpu_s"] for s in steps], "^:", color="tab:red", label="CPU")
    right.set_ylabel("export seconds (wall, CPU)", color="tab:orange")
    right.legend(loc="upper left")
    right.set_ylim(bottom=0)
    left.set_title(
        f"compliance export of one person over {result['conversations']} conversations",
        fontsize="small",
    )
    left.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str]) -> int:
    if len(argv) == 6 and argv[1] == "one":
        _, _, bootstrap, topic, partitions, work = argv
        print(json.dumps(one(bootstrap, topic, int(partitions), Path(work))))
        return 0
    print("usage: python -m bench.compliance one BOOTSTRAP TOPIC PARTITIONS WORK_DIR")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
