"""The sequencer alone: commands per second on one core, and the latency it adds.

Throughput: a backlog of SendMessage commands is produced first, then the sequencer (pinned
to one core with `taskset`) works through it; the rate is counted between the Kafka
timestamps of the first and last event it wrote.
Latency: a separate process produces commands at a fixed rate, each stamped with its send
time; a read_committed consumer takes the time each event becomes visible.
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
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import OFFSET_END, Consumer, KafkaError, Producer, TopicPartition

from bench.services import wait_for_leaders
from bench.stats import latency_summary, rss_mib
from infra.settings import REPO_ROOT, PlatformSettings
from infra.topics import ensure_topics
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from schemas.topics import REPLY_PARTITION_HEADER, Topics, declare_topics


@dataclass(frozen=True)
class SequencerLoad:
    name: str
    conversations: int = 100
    backlog: int = 50_000
    rate_per_s: int = 1_000
    seconds: float = 20.0
    warmup_seconds: float = 5.0
    partitions: int = 8


QUICK = SequencerLoad("quick", backlog=20_000, seconds=8.0, warmup_seconds=3.0)
FULL = SequencerLoad("full", backlog=100_000, seconds=30.0)


def _send_command(cid: str, client_msg_id: str) -> bytes:
    return codec.encode(
        m.SendMessage(
            meta=m.CommandMeta(
                command_id=str(uuid.uuid4()),
                conversation_id=cid,
                actor=m.Actor(user_id="sender", device_id="sender-phone"),
                client_msg_id=client_msg_id,
                issued_at=datetime.now(UTC),
            ),
            body=m.PlainBody(text="a message of typical length, about sixty bytes of text"),
        )
    )


def _producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0})


def _produce(producer: Producer, topics: Topics, cid: str, value: bytes) -> None:
    while True:
        try:
            producer.produce(
                topics.commands.name,
                key=cid,
                value=value,
                partition=partition_for(cid, topics.commands.partitions),
                headers=[(REPLY_PARTITION_HEADER, b"0")],
            )
            return
        except BufferError:
            producer.poll(0.01)


def paced_load(bootstrap: str, prefix: str, load: SequencerLoad, cids: list[str]) -> None:
    """Runs in its own process: `rate` commands a second, client_msg_id = send time in ns;
    the first `warmup_seconds` are marked `warm-` and not measured."""
    topics = declare_topics(prefix, partitions=load.partitions)
    rate = load.rate_per_s
    producer = _producer(bootstrap)
    start = time.monotonic()
    warmup = int(rate * load.warmup_seconds)
    total = warmup + int(rate * load.seconds)
    for i in range(total):
        due = start + i / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        cid = cids[i % len(cids)]
        tag = "warm" if i < warmup else "lat"
        _produce(producer, topics, cid, _send_command(cid, f"{tag}-{time.time_ns()}"))
        producer.poll(0)
    producer.flush(30)


def create_conversations(producer: Producer, topics: Topics, cids: list[str]) -> None:
    for cid in cids:
        create = m.CreateConversation(
            meta=m.CommandMeta(
                command_id=str(uuid.uuid4()),
                conversation_id=cid,
                actor=m.Actor(user_id="sender", device_id="sender-phone"),
                client_msg_id=f"create-{cid}",
                issued_at=datetime.now(UTC),
            ),
            kind=m.ConversationKind.GROUP,
            name=cid,
            members=(m.Member(user_id="reader", role=m.Role.MEMBER),),
        )
        _produce(producer, topics, cid, codec.encode(create))


class SequencerUnderTest:
    def __init__(self, settings: PlatformSettings, topics: Topics, prefix: str, work: Path) -> None:
        self.log_path = work / "sequencer.log"
        env = {
            **os.environ,
            "PARLEY_KAFKA_BOOTSTRAP": settings.bootstrap,
            "PARLEY_TOPIC_PREFIX": prefix,
            "PARLEY_PARTITIONS": str(topics.commands.partitions),
            "PARLEY_SEQUENCER_GROUP": f"{prefix}-sequencer",
            "PARLEY_STATE_DIR": str(work / "state"),
        }
        wanted = os.environ.get("PARLEY_BENCH_PIN", "1") == "1"
        pin = ["taskset", "-c", "1"] if wanted and shutil.which("taskset") else []
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*pin, sys.executable, "-m", "streams.sequencer"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=REPO_ROOT,
            )
        self.pinned = bool(pin)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _events_consumer(bootstrap: str, topics: Topics) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "fetch.wait.max.ms": 1,
            "fetch.min.bytes": 1,
        }
    )
    return consumer


def _wait_for_events(consumer: Consumer, want: int, deadline_s: float) -> list[tuple[int, bytes]]:
    """(Kafka timestamp ms, value) of `want` events, or fewer at the deadline."""
    seen: list[tuple[int, bytes]] = []
    deadline = time.monotonic() + deadline_s
    while len(seen) < want and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=10_000, timeout=0.2):
            if msg.error() is None:
                seen.append((msg.timestamp()[1], msg.value() or b""))
    return seen


def run(settings: PlatformSettings, load: SequencerLoad, work: Path) -> dict[str, object]:
    prefix = f"bench{uuid.uuid4().hex[:8]}"
    topics = declare_topics(prefix, partitions=load.partitions)
    ensure_topics(settings.bootstrap, topics)
    wait_for_leaders(settings.bootstrap, topics)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    cids = [f"bench-conv-{i}" for i in range(load.conversations)]
    producer = _producer(settings.bootstrap)
    create_conversations(producer, topics, cids)
    print(f"[sequencer] producing a backlog of {load.backlog} commands", flush=True)
    for i in range(load.backlog):
        cid = cids[i % len(cids)]
        _produce(producer, topics, cid, _send_command(cid, f"backlog-{i}"))
        if i % 10_000 == 0:
            producer.poll(0)
    producer.flush(60)

    consumer = _events_consumer(settings.bootstrap, topics)
    consumer.assign([TopicPartition(topics.events.name, p, 0) for p in range(load.partitions)])
    sequencer = SequencerUnderTest(settings, topics, prefix, work)
    try:
        expected = load.backlog + load.conversations
        print(f"[sequencer] draining the backlog ({expected} events)", flush=True)
        started = time.monotonic()
        events = _wait_for_events(consumer, expected, deadline_s=120)
        print(f"[sequencer] drained in {time.monotonic() - started:.1f} s", flush=True)
        stamps = sorted(ts for ts, value in events if b"backlog-" in value)
        span_s = (stamps[-1] - stamps[0]) / 1000 if len(stamps) > 1 else float("nan")
        throughput = (len(stamps) - 1) / span_s if span_s > 0 else float("nan")
        print(
            f"[sequencer] {len(events)} events, {len(stamps)} from the backlog, "
            f"{throughput:.0f} commands/s",
            flush=True,
        )

        consumer.assign(
            [TopicPartition(topics.events.name, p, OFFSET_END) for p in range(load.partitions)]
        )
        consumer.consume(num_messages=1, timeout=0.5)
        print(f"[sequencer] latency at {load.rate_per_s}/s for {load.seconds:.0f} s", flush=True)
        spawn = multiprocessing.get_context("spawn")
        loader = spawn.Process(
            target=paced_load,
            args=(settings.bootstrap, prefix, load, cids),
        )
        loader.start()
        total = int(load.rate_per_s * load.seconds)
        phases: dict[str, float] = {}
        latencies, ids = _measure_latency(
            consumer, total, load.warmup_seconds + load.seconds + 30, phases
        )
        loader.join(30)
        memory = rss_mib(sequencer.proc.pid)
    finally:
        sequencer.stop()
        consumer.close()
    return {
        "benchmark": "sequencer",
        "load": load.name,
        "pinned_to_one_core": sequencer.pinned,
        "backlog_commands": load.backlog,
        "throughput_commands_per_s": round(throughput, 1),
        "throughput_events_seen": len(stamps),
        "latency_rate_per_s": load.rate_per_s,
        "latency_seconds": load.seconds,
        "warmup_seconds": load.warmup_seconds,
        "sent": total,
        "received": len(ids),
        "lost": total - len(set(ids)),
        "duplicated": len(ids) - len(set(ids)),
        **latency_summary(latencies),
        "sequencer_rss_mib": round(memory, 1),
        **phases,
        "latencies_ms": latencies,
    }


def _measure_latency(
    consumer: Consumer, total: int, deadline_s: float, phases: dict[str, float]
) -> tuple[list[float], list[str]]:
    """Send -> visible latency per event; `phases` gets where the median time goes: until
    the sequencer produced the event (Kafka CreateTime), and from there until visible."""
    latencies: list[float] = []
    ids: list[str] = []
    split: list[tuple[float, float]] = []
    deadline = time.monotonic() + deadline_s
    while len(ids) < total and time.monotonic() < deadline:
        for msg in consumer.consume(num_messages=1000, timeout=0.05):
            now = time.time_ns()
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    raise RuntimeError(str(error))
                continue
            event = codec.decode(msg.value() or b"")
            if isinstance(event, m.MessageSent) and event.meta.client_msg_id.startswith("lat-"):
                sent_ns = int(event.meta.client_msg_id[4:])
                latencies.append((now - sent_ns) / 1e6)
                produced_ms = msg.timestamp()[1]
                split.append((produced_ms - sent_ns / 1e6, now / 1e6 - produced_ms))
                ids.append(event.meta.client_msg_id)
    if split:
        before = sorted(s[0] for s in split)
        after = sorted(s[1] for s in split)
        phases["command_to_event_produced_p50_ms"] = round(before[len(before) // 2], 1)
        phases["event_produced_to_visible_p50_ms"] = round(after[len(after) // 2], 1)
        print(f"[sequencer] p50 split: {phases}", flush=True)
    return latencies, ids
