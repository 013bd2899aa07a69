"""Projection rebuild: how fast the history view replays the events topic from offset 0.

A fresh events topic is filled with `events` events (a `ConversationCreated` for each
conversation, then `MessageSent`s spread over them) written straight to the topic, so the
sequencer is not part of the figure. Then `python -m projections.history rebuild` runs as
its own process (pinned to one core with `taskset`, like the sequencer benchmark) until it
logs that it is ready; the rate is counted between its log lines "assigned" (partitions in
hand, group join done) and "ready" (caught up to the high watermarks it saw at start).
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

from confluent_kafka import Producer

from bench.services import wait_for_leaders
from bench.stats import rss_mib
from infra.settings import REPO_ROOT, PlatformSettings
from infra.topics import ensure_topics
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import Topics, declare_topics

TEXT = "a message of typical length, about sixty bytes of text"


@dataclass(frozen=True)
class RebuildLoad:
    name: str
    conversations: int = 1_000
    events: int = 200_000
    members: int = 5
    repeats: int = 3
    partitions: int = 8
    deadline_s: float = 120.0


QUICK = RebuildLoad("quick", conversations=100, events=20_000, repeats=1)
FULL = RebuildLoad("full")


def _meta(cid: str, seq: int) -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.uuid4()),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id="user-0", device_id="user-0-phone"),
        client_msg_id=str(uuid.uuid4()),
        command_id=str(uuid.uuid4()),
        occurred_at=datetime.now(UTC),
    )


def _fill(bootstrap: str, topics: Topics, load: RebuildLoad) -> int:
    """Writes the events; returns their encoded bytes in total."""
    producer = Producer(
        {"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 20}
    )
    cids = [f"rebuild-conv-{i}" for i in range(load.conversations)]
    seqs = dict.fromkeys(cids, 0)
    total_bytes = 0
    for i in range(load.events):
        cid = cids[i % len(cids)]
        seqs[cid] += 1
        event: m.Event
        if seqs[cid] == 1:
            event = m.ConversationCreated(
                meta=_meta(cid, 1),
                kind=m.ConversationKind.GROUP,
                name=cid,
                members=tuple(
                    m.Member(user_id=f"user-{k}", role=m.Role.MEMBER) for k in range(load.members)
                ),
            )
        else:
            event = m.MessageSent(meta=_meta(cid, seqs[cid]), body=m.PlainBody(text=TEXT))
        value = codec.encode(event)
        total_bytes += len(value)
        while True:
            try:
                producer.produce(
                    topics.events.name,
                    key=cid,
                    value=value,
                    partition=partition_for(cid, topics.events.partitions),
                )
                break
            except BufferError:
                producer.poll(0.05)
        if i % 50_000 == 0:
            producer.poll(0)
            if i:
                print(f"[rebuild] written {i} events", flush=True)
    if producer.flush(60) != 0:
        raise RuntimeError("events still unwritten after 60 s")
    return total_bytes


def log_times(log: str) -> dict[str, float]:
    """Seconds since the epoch of the rebuild's milestones, from its JSON log lines
    (telemetry/logs.py: `ts` in ISO 8601 with its offset): the first "assigned" message and
    the "ready:" one, where present. Lines that are not JSON are skipped."""
    found: dict[str, float] = {}
    for line in log.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message", "") if isinstance(entry, dict) else ""
        for milestone, marker in (("assigned", "assigned {"), ("ready", "ready: caught up")):
            if milestone not in found and message.startswith(marker):
                found[milestone] = datetime.fromisoformat(entry["ts"]).timestamp()
    return found


def _broker_bytes(settings: PlatformSettings, topic: str) -> int | None:
    """The topic's log segments on the local broker's disk (one replica, indexes excluded);
    None when the cluster is not local."""
    log_dir = settings.data_dir / "kafka" / "log"
    if settings.kafka_bootstrap or not log_dir.is_dir():
        return None
    return sum(
        f.stat().st_size
        for partition in log_dir.glob(f"{topic}-*")
        for f in partition.glob("*.log")
    )


def _directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _rebuild_once(
    settings: PlatformSettings, prefix: str, load: RebuildLoad, work: Path, n: int
) -> dict[str, Any]:
    log_path = work / f"rebuild-{n}.log"
    state = work / "state"
    env = {
        **os.environ,
        "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
        "PARLEY_TOPIC_PREFIX": prefix,
        "PARLEY_PARTITIONS": str(load.partitions),
        "PARLEY_STATE_DIR": str(state),
        "PARLEY_VIEW_GROUP": f"{prefix}-rebuild-{n}",
    }
    wanted = os.environ.get("PARLEY_BENCH_PIN", "1") == "1"
    pin = ["taskset", "-c", "1"] if wanted and shutil.which("taskset") else []
    started = time.time()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*pin, sys.executable, "-m", "projections.history", "rebuild"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
    try:
        deadline = time.monotonic() + load.deadline_s
        times: dict[str, float] = {}
        while "ready" not in times:
            if process.poll() is not None:
                raise RuntimeError(f"rebuild exited with {process.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"rebuild not ready after {load.deadline_s:.0f} s")
            time.sleep(0.2)
            times = log_times(log_path.read_text(errors="replace"))
        memory = rss_mib(process.pid)
    finally:
        process.terminate()
        process.wait(30)
    seconds = times["ready"] - times["assigned"]
    return {
        "seconds": round(seconds, 2),
        "events_per_s": round(load.events / seconds, 1) if seconds > 0 else float("nan"),
        "seconds_from_process_start": round(times["ready"] - started, 2),
        "store_bytes": _directory_bytes(state),
        "rss_mib": round(memory, 1),
        "pinned_to_one_core": bool(pin),
    }


def run(settings: PlatformSettings, load: RebuildLoad, work: Path) -> dict[str, Any]:
    prefix = f"rebuild{uuid.uuid4().hex[:6]}"
    topics = declare_topics(prefix, partitions=load.partitions)
    ensure_topics(settings.bootstrap, topics)
    wait_for_leaders(settings.bootstrap, topics)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    print(
        f"[rebuild] writing {load.events} events over {load.conversations} conversations",
        flush=True,
    )
    event_bytes = _fill(settings.bootstrap, topics, load)
    on_disk = _broker_bytes(settings, topics.events.name)
    runs = []
    for n in range(load.repeats):
        print(f"[rebuild] rebuild {n + 1}/{load.repeats} of the history view", flush=True)
        result = _rebuild_once(settings, prefix, load, work, n)
        print(f"[rebuild] {result['seconds']} s, {result['events_per_s']:.0f} events/s", flush=True)
        runs.append(result)
    rates = sorted(r["events_per_s"] for r in runs)
    return {
        "benchmark": "projection-rebuild",
        "load": load.name,
        "events": load.events,
        "conversations": load.conversations,
        "partitions": load.partitions,
        "event_bytes_avg": round(event_bytes / load.events, 1),
        "broker_bytes_per_event": round(on_disk / load.events, 1) if on_disk else None,
        "events_per_s_median": rates[len(rates) // 2],
        "store_bytes_per_event": round(runs[-1]["store_bytes"] / load.events, 1),
        "runs": runs,
    }
