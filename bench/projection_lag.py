"""Projection lag: an event visible to `read_committed` readers of the log -> the same event
visible to the edge's readers of each view (history and inbox; the search part measures the
search view the same way: event in the log -> searchable).

Load: the sequencer and the views' processes on a fresh topic set; commands are produced at a
fixed rate (bench/sequencer.py's paced loader). One consumer notes when each event becomes
visible in the log; a poller process with each view's RocksDB secondary (as the edge reads
it; for search, a `SearchReader` reloading the index) notes when the view's `last_seq` of its
conversation reaches it. Both use the machine's
wall clock, so the two processes' notes compare.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import subprocess
import sys
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
from projections.history.query import HistoryReader
from projections.inbox.query import InboxReader
from projections.reader import ViewUnavailableError
from projections.search.query import SearchReader
from schemas import codec
from schemas import models as m
from schemas.topics import declare_topics

Reader = HistoryReader | InboxReader | SearchReader
READERS: dict[str, type[Reader]] = {
    "history": HistoryReader,
    "inbox": InboxReader,
    "search": SearchReader,
}
POLL_INTERVAL_S = 0.005
"""Between sweeps of every conversation of both views: the lag's resolution. Sweeping
without pause would take a core from the processes being measured (2 cores here)."""


@dataclass(frozen=True)
class LagLoad:
    name: str
    conversations: int = 100
    rate_per_s: int = 1000
    seconds: float = 10.0
    warmup_seconds: float = 3.0
    partitions: int = 8
    views: tuple[str, ...] = ("history", "inbox")

    def as_sequencer_load(self) -> SequencerLoad:
        return SequencerLoad(
            self.name,
            conversations=self.conversations,
            rate_per_s=self.rate_per_s,
            seconds=self.seconds,
            warmup_seconds=self.warmup_seconds,
            partitions=self.partitions,
        )


FULL = LagLoad("full")


class ViewUnderTest:
    def __init__(self, view: str, env: dict[str, str], work: Path) -> None:
        self.view = view
        with (work / f"{view}.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "projections", view],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _open(path: Path, reader: type[Reader], deadline_s: float = 60.0) -> Reader:
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            return reader(path, max_staleness_s=0.001)
        except ViewUnavailableError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def poll_views(paths: dict[str, str], cids: list[str], ready: Any, stop: Any, out: Any) -> None:
    """In a process of its own (so that it never waits on the log reader's GIL): notes,
    per view, when each (conversation, seq) first shows in its `last_seq`; sweeps every
    conversation of every view, then sleeps `POLL_INTERVAL_S`."""
    readers = {v: _open(Path(path), READERS[v]) for v, path in paths.items()}
    seen: dict[str, dict[str, int]] = {v: dict.fromkeys(cids, 0) for v in readers}
    visible: dict[str, dict[tuple[str, int], int]] = {v: {} for v in readers}
    while not stop.is_set():
        for view, reader in readers.items():
            for cid in cids:
                last = reader.last_seq(cid)
                if last > seen[view][cid]:
                    now = time.time_ns()
                    for seq in range(seen[view][cid] + 1, last + 1):
                        visible[view][(cid, seq)] = now
                    seen[view][cid] = last
        if not ready.is_set() and all(s >= 1 for v in seen.values() for s in v.values()):
            ready.set()
        time.sleep(POLL_INTERVAL_S)
    for reader in readers.values():
        reader.close()
    out.put(visible)


def run(settings: PlatformSettings, load: LagLoad, work: Path) -> dict[str, Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    topics = declare_topics(prefix, partitions=load.partitions)
    ensure_topics(settings.bootstrap, topics)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cids = [f"lag-conv-{i}" for i in range(load.conversations)]
    producer = _producer(settings.bootstrap)
    create_conversations(producer, topics, cids)
    producer.flush(30)
    env = {
        **os.environ,
        "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
        "PARLEY_TOPIC_PREFIX": prefix,
        "PARLEY_PARTITIONS": str(load.partitions),
        "PARLEY_STATE_DIR": str(work / "state"),
    }
    sequencer = SequencerUnderTest(settings, topics, prefix, work)
    views = [ViewUnderTest(v, env, work) for v in load.views]
    consumer = _events_consumer(settings.bootstrap, topics)
    spawn = multiprocessing.get_context("spawn")
    ready, stop, out = spawn.Event(), spawn.Event(), spawn.Queue()
    paths = {v: str(work / "state" / f"{prefix}-{v}") for v in load.views}
    poller = spawn.Process(target=poll_views, args=(paths, cids, ready, stop, out))
    try:
        poller.start()
        if not ready.wait(90):
            raise RuntimeError("the views never showed the conversations' creation")
        consumer.assign(
            [TopicPartition(topics.events.name, p, OFFSET_END) for p in range(load.partitions)]
        )
        consumer.consume(num_messages=1, timeout=0.5)
        print(f"[projection-lag] {load.rate_per_s}/s for {load.seconds:.0f} s", flush=True)
        loader = spawn.Process(
            target=paced_load,
            args=(settings.bootstrap, prefix, load.as_sequencer_load(), cids),
        )
        loader.start()
        in_log, produced = _note_log_visibility(consumer, int(load.rate_per_s * load.seconds), load)
        loader.join(30)
        time.sleep(2.0)  # the views' last batches
        stop.set()
        visible = out.get(timeout=60)
        poller.join(10)
        memory = {f"{v.view}_rss_mib": round(rss_mib(v.proc.pid), 1) for v in views}
    finally:
        stop.set()
        for view in views:
            view.stop()
        sequencer.stop()
        consumer.close()
    return _summarise(load, in_log, produced, visible, memory)


def _note_log_visibility(
    consumer: Any, total: int, load: LagLoad
) -> tuple[dict[tuple[str, int], int], dict[tuple[str, int], int]]:
    """(conversation, seq) -> when it became visible to this `read_committed` reader, and
    -> the record's timestamp (when the sequencer produced it, before its commit), in ns."""
    seen: dict[tuple[str, int], int] = {}
    produced: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + load.warmup_seconds + load.seconds + 30
    while len(seen) < total and time.monotonic() < deadline:
        for msg in next_batch(consumer, 1000, idle_s=0.05):
            now = time.time_ns()
            if msg.error() is not None:
                continue
            event = codec.decode(msg.value() or b"")
            if isinstance(event, m.MessageSent) and event.meta.client_msg_id.startswith("lat-"):
                key = (event.meta.conversation_id, event.meta.seq)
                seen[key] = now
                produced[key] = msg.timestamp()[1] * 1_000_000
    return seen, produced


def _summarise(
    load: LagLoad,
    in_log: dict[tuple[str, int], int],
    produced: dict[tuple[str, int], int],
    visible_ns: dict[str, dict[tuple[str, int], int]],
    memory: dict[str, float],
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "projection_lag",
        "load": load.name,
        "rate_per_s": load.rate_per_s,
        "seconds": load.seconds,
        "conversations": load.conversations,
        "events_measured": len(in_log),
        **memory,
    }
    for view, visible in visible_ns.items():
        lags = [(visible[k] - t) / 1e6 for k, t in in_log.items() if k in visible]
        missing = len(in_log) - len(lags)
        ahead = sum(1 for lag in lags if lag < 0)
        summary = latency_summary([max(lag, 0.0) for lag in lags])
        since_produced = latency_summary(
            [(visible[k] - t) / 1e6 for k, t in produced.items() if k in visible]
        )
        result[view] = {
            **summary,
            "never_visible": missing,
            "ahead_of_log_reader": ahead,
            "since_produced": since_produced,
        }
        print(f"[projection-lag] {view}: {summary} missing={missing}", flush=True)
        print(f"[projection-lag] {view} since produced: {since_produced}", flush=True)
    return result
