"""Archive lag: an event visible to `read_committed` readers of the log -> an object holding it
listed in S3, at 1,000 messages/s through the real sequencer and the real archive process.

Load: the sequencer and `python -m projections.archive` (default settings: objects close at
60 s open, 1,000,000 records or 128 MiB) on a fresh topic set; SendMessage commands at a
fixed rate (bench/sequencer.py's paced loader). One consumer notes when each event becomes
visible in the log; a lister notes, every `LIST_INTERVAL_S`, which objects of the events
topic's analysts' family have appeared and the offsets they cover. An event's lag is the
first listing that shows it minus the moment it was visible in the log (both on this
machine's clock), so its resolution is the listing interval. The goal is at most 90 s.
"""

from __future__ import annotations

import bisect
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import OFFSET_END, TopicPartition

from bench.sequencer import (
    SequencerLoad,
    SequencerUnderTest,
    _events_consumer,
    _producer,
    create_conversations,
    paced_load,
)
from bench.stats import latency_summary, rss_mib
from infra.settings import REPO_ROOT, PlatformSettings
from infra.topics import ensure_topics
from kafkalog.batches import next_batch
from kafkalog.cold.layout import Family, ObjectKey, family_prefix
from kafkalog.cold.settings import ArchiveLocation
from kafkalog.records import position
from objectstore.client import connect
from objectstore.store import ObjectStore
from schemas.topics import declare_topics

LIST_INTERVAL_S = 0.5
GOAL_S = 90.0


@dataclass(frozen=True)
class ArchiveLagLoad:
    name: str
    rate_per_s: int = 1000
    seconds: float = 150.0
    """Long enough for two or three age cuts of every partition."""
    settle_s: float = 100.0
    """After the load: the last objects close by age (60 s) and go up."""
    conversations: int = 100
    partitions: int = 8

    def as_sequencer_load(self) -> SequencerLoad:
        return SequencerLoad(
            self.name,
            conversations=self.conversations,
            rate_per_s=self.rate_per_s,
            seconds=self.seconds,
            warmup_seconds=0.0,
            partitions=self.partitions,
        )


FULL = ArchiveLagLoad("full")


class Lister(threading.Thread):
    """Notes when each object of the events topic's `table` family first shows in a listing."""

    def __init__(self, store: ObjectStore, root: str) -> None:
        super().__init__(name="lister", daemon=True)
        self.store = store
        self.prefix = family_prefix(root, Family.TABLE, "events")
        self.seen: dict[str, tuple[ObjectKey, int]] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            listed = self.store.list_keys(self.prefix)
            now = time.time_ns()
            for found in listed:
                key = ObjectKey.parse(found.key)
                if key is not None and found.key not in self.seen:
                    self.seen[found.key] = (key, now)
            self.stopping.wait(LIST_INTERVAL_S)

    def archived_at(self) -> dict[int, tuple[list[int], list[int], list[int]]]:
        """Per partition: the objects' starts, ends and first-listed times, by start."""
        spans: dict[int, list[tuple[int, int, int]]] = {}
        for key, at in list(self.seen.values()):
            spans.setdefault(key.partition, []).append((key.span.start, key.span.end, at))
        return {
            p: ([s for s, _, _ in found], [e for _, e, _ in found], [t for _, _, t in found])
            for p, found in ((p, sorted(v)) for p, v in spans.items())
        }


def _when_archived(
    objects: dict[int, tuple[list[int], list[int], list[int]]], partition: int, offset: int
) -> int | None:
    starts, ends, times = objects.get(partition, ([], [], []))
    at = bisect.bisect_right(starts, offset) - 1
    if at >= 0 and offset < ends[at]:
        return times[at]
    return None


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(settings: PlatformSettings, load: ArchiveLagLoad, work: Path) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    topics = declare_topics(prefix, partitions=load.partitions)
    ensure_topics(settings.bootstrap, topics)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cids = [f"archive-lag-{i}" for i in range(load.conversations)]
    producer = _producer(settings.bootstrap)
    create_conversations(producer, topics, cids)
    producer.flush(30)
    location = ArchiveLocation(
        s3_endpoint=settings.s3_url,
        s3_access_key=settings.s3_access_key,
        s3_secret_key=settings.s3_secret_key,
        s3_bucket=settings.s3_bucket,
        topic_prefix=prefix,
    )
    sequencer = SequencerUnderTest(settings, topics, prefix, work)
    archiver = _start_archiver(settings, prefix, load, work)
    lister = Lister(ObjectStore(connect(location), location.s3_bucket), location.archive_prefix)
    consumer = _events_consumer(settings.bootstrap, topics)
    try:
        consumer.assign(
            [TopicPartition(topics.events.name, p, OFFSET_END) for p in range(load.partitions)]
        )
        consumer.consume(num_messages=1, timeout=0.5)
        lister.start()
        cpu_before = _cpu_s(archiver.pid)
        print(f"[archive-lag] {load.rate_per_s} messages/s for {load.seconds:.0f} s", flush=True)
        loader = multiprocessing.get_context("spawn").Process(
            target=paced_load,
            args=(settings.bootstrap, prefix, load.as_sequencer_load(), cids),
        )
        began = time.monotonic()
        loader.start()
        in_log = _note_log_visibility(consumer, int(load.rate_per_s * load.seconds), load)
        loader.join(30)
        load_s = time.monotonic() - began
        deadline = time.monotonic() + load.settle_s
        while time.monotonic() < deadline and _lags(lister, in_log)[1]:
            time.sleep(1.0)
        process = {
            "archive_cpu_s_per_load_s": round((_cpu_s(archiver.pid) - cpu_before) / load_s, 3),
            "archive_rss_mib": round(rss_mib(archiver.pid), 1),
        }
    finally:
        lister.stopping.set()
        archiver.terminate()
        archiver.wait(120)
        sequencer.stop()
        consumer.close()
    lags_ms, never = _lags(lister, in_log)
    result = {
        "benchmark": "archive_lag",
        "load": load.name,
        "rate_per_s": load.rate_per_s,
        "seconds": load.seconds,
        "partitions": load.partitions,
        "events_measured": len(in_log),
        "never_archived": never,
        "objects": len(lister.seen),
        "list_interval_s": LIST_INTERVAL_S,
        "lag_s": {
            k.replace("_ms", "_s"): round(v / 1000, 2) for k, v in latency_summary(lags_ms).items()
        },
        **process,
        "goal_s": GOAL_S,
    }
    print(f"[archive-lag] {result}", flush=True)
    return result


def _start_archiver(
    settings: PlatformSettings, prefix: str, load: ArchiveLagLoad, work: Path
) -> subprocess.Popen[bytes]:
    """`python -m projections.archive` with its default limits, on the run's topics."""
    env = {
        **os.environ,
        "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
        "PARLEY_S3_ENDPOINT": settings.s3_url,
        "PARLEY_TOPIC_PREFIX": prefix,
        "PARLEY_PARTITIONS": str(load.partitions),
        "PARLEY_STATE_DIR": str(work / "state"),
    }
    with (work / "archive.log").open("ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "projections.archive"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )


def _lags(lister: Lister, in_log: dict[tuple[int, int], int]) -> tuple[list[float], int]:
    """Each event's lag in ms, and how many no listed object holds yet."""
    objects = lister.archived_at()
    lags_ms: list[float] = []
    never = 0
    for (partition, offset), visible in in_log.items():
        archived = _when_archived(objects, partition, offset)
        if archived is None:
            never += 1
        else:
            lags_ms.append(max(archived - visible, 0) / 1e6)
    return lags_ms, never


def _note_log_visibility(
    consumer: Any, total: int, load: ArchiveLagLoad
) -> dict[tuple[int, int], int]:
    """(partition, offset) of every event -> when it became visible to this
    `read_committed` reader, in ns."""
    seen: dict[tuple[int, int], int] = {}
    deadline = time.monotonic() + load.seconds + 60
    while len(seen) < total and time.monotonic() < deadline:
        for msg in next_batch(consumer, 1000, idle_s=0.05):
            now = time.time_ns()
            if msg.error() is None:
                seen[position(msg)] = now
    return seen
