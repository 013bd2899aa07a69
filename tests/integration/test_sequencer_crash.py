"""kill -9 of the sequencer mid-stream loses nothing, duplicates nothing, reuses no seq."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from schemas import models as m
from tests.integration.log import (
    BOOTSTRAP,
    CommandProducer,
    command_meta,
    create_conversation,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.processes import ParleyProcess
from tests.integration.sequencer_process import SequencerProcess
from tests.integration.test_sequencer_ordering import assert_dense

CONVERSATIONS = 20
N = 4000


def produced_so_far(topic: str, partitions: int) -> int:
    """Records committed to `topic` so far: the last stable offsets, so commit markers count
    and an open transaction's records do not; 0 while a new topic's leaders are still being
    elected (regression: NOT_LEADER_FOR_PARTITION right after creation failed the crash test)."""
    consumer = Consumer({"bootstrap.servers": BOOTSTRAP, "group.id": "watermarks"})
    try:
        return sum(
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        )
    except KafkaException as e:
        if e.args[0].retriable() or e.args[0].code() == KafkaError.NOT_LEADER_FOR_PARTITION:
            return 0
        raise
    finally:
        consumer.close()


class StreamAcrossAKill(threading.Thread):
    """Sends `n` messages round the conversations: three quarters at once, the rest only
    once `killed` is set, so that the kill lands while commands are still coming however
    slow the machine is (a fixed pace raced a sequencer slow to start under load)."""

    def __init__(self, out: CommandProducer, cids: list[str], n: int) -> None:
        super().__init__(name="stream")
        self.out, self.cids, self.n = out, cids, n
        self.killed = threading.Event()

    def run(self) -> None:
        for i in range(self.n):
            if i == self.n * 3 // 4:
                self.out.flush()
                self.killed.wait(300)
            cid = self.cids[i % len(self.cids)]
            self.out.send(
                m.SendMessage(
                    meta=command_meta(cid, f"u{i % 2}", client_msg_id=f"m{i}"),
                    body=m.PlainBody(text=f"message {i}"),
                )
            )
        self.out.flush()


def kill_once_written(process: ParleyProcess, topic: str, partitions: int, records: int) -> int:
    """kill -9 `process` as soon as `topic` holds more than `records` records, counting them
    as they are written (read uncommitted, one consumer) so that the kill lands within a
    fetch of that point; the records committed by then (`produced_so_far`). Regression:
    polling the end offsets with a new consumer every 50 ms let a fast CI machine's
    sequencer read every command sent so far before the kill came."""
    consumer = Consumer(
        {
            "bootstrap.servers": BOOTSTRAP,
            "group.id": f"kill-{topic}",
            "isolation.level": "read_uncommitted",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 10,
        }
    )
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    deadline = time.monotonic() + 120
    seen = 0
    try:
        while seen <= records:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {records} records in {topic}")
            seen += sum(1 for r in consumer.consume(1000, timeout=0.1) if r.error() is None)
        process.kill()
    finally:
        consumer.close()
    return produced_so_far(topic, partitions)


def kill_mid_stream(
    sequencer: SequencerProcess, stream: StreamAcrossAKill, events_topic: str, partitions: int
) -> int:
    """kill -9 once a quarter of the events are written; the events written by then."""
    written = kill_once_written(sequencer, events_topic, partitions, stream.n // 4)
    stream.killed.set()
    return written


def assert_each_once(events: list[Any], written_at_kill: int, sends: int, creations: int) -> None:
    """The kill came mid-stream, and the log holds every command's event once, dense."""
    assert written_at_kill < sends * 3 // 4 + creations, "the kill came with commands unread"
    assert len(events) == sends + creations
    by_conversation = assert_dense(events)
    assert sum(len(s) for s in by_conversation.values()) == sends + creations
    sent = sorted(int(e.meta.client_msg_id[1:]) for e in events if isinstance(e, m.MessageSent))
    assert sent == list(range(sends))


@pytest.mark.parametrize("state_after_crash", ["kept", "wiped"])
def test_kill_9_mid_stream_then_restart(
    kafka_bootstrap: str, tmp_path: Path, state_after_crash: str
) -> None:
    """With the RocksDB state kept, or wiped so that it is rebuilt from the events topic."""
    topics = fresh_topics(partitions=4)
    state_dir = tmp_path / "state"
    sequencer = SequencerProcess(topics, state_dir, log_path=tmp_path / "first.log")
    sequencer.start()
    out = CommandProducer(topics)
    cids = [f"c{i}" for i in range(CONVERSATIONS)]
    for cid in cids:
        out.send(create_conversation(cid, "u0", "u1"))
    out.flush()
    stream = StreamAcrossAKill(out, cids, N)
    stream.start()
    try:
        written_at_kill = kill_mid_stream(sequencer, stream, topics.events.name, 4)
        if state_after_crash == "wiped":
            shutil.rmtree(state_dir)
        stream.join()
        restarted = SequencerProcess(topics, state_dir, log_path=tmp_path / "second.log")
        restarted.start()
        try:
            events = decoded(
                read_committed(topics.events.name, expected=N + CONVERSATIONS, deadline_s=120)
            )
        finally:
            restarted.stop()
    finally:
        sequencer.kill()
        stream.killed.set()
        stream.join()

    assert_each_once(events, written_at_kill, N, CONVERSATIONS)
    assert "Traceback" not in restarted.log()
