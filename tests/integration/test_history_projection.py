"""The history view follows the real sequencer's log, and survives kill -9 as a rebuild would."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from confluent_kafka import Producer

from projections.history.query import HistoryReader
from schemas import codec
from schemas import models as m
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    fresh_topics,
    read_committed,
)
from tests.integration.processes import wait_until
from tests.integration.sequencer_process import SequencerProcess
from tests.integration.view_process import HistoryProcess

MESSAGES = 200
STREAMED = 10, 200
G1_LAST = 1 + 1 + MESSAGES + 2


def seqs(pages: list[bytes]) -> list[int]:
    return [cast(Any, codec.decode(p)).meta.seq for p in pages]


def message(cid: str, user: str, i: int) -> m.SendMessage:
    return m.SendMessage(
        meta=command_meta(cid, user, client_msg_id=f"{cid}-{i}"),
        body=m.PlainBody(text=f"message {i}"),
    )


def send_group_history(out: CommandProducer) -> None:
    """g1: alice creates it with bob and carol (1), adds dave (2), 100 messages (3..102),
    removes carol (103), makes bob an admin (104), 100 more messages (105..204)."""
    out.send(create_conversation("g1", "alice", "bob", "carol"))
    out.send(m.AddMember(meta=command_meta("g1", "alice"), user_id="dave"))
    for i in range(MESSAGES // 2):
        out.send(message("g1", ("alice", "bob")[i % 2], i))
    out.send(m.RemoveMember(meta=command_meta("g1", "alice"), user_id="carol"))
    out.send(m.ChangeMemberRole(meta=command_meta("g1", "alice"), user_id="bob", role=m.Role.ADMIN))
    for i in range(MESSAGES // 2, MESSAGES):
        out.send(message("g1", ("alice", "dave")[i % 2], i))
    out.flush()


def check_group_history(reader: HistoryReader, events_topic: str) -> None:
    assert reader.ready()
    log = [r.value for r in read_committed(events_topic, expected=G1_LAST) if r.key == b"g1"]
    assert seqs(log) == list(range(1, G1_LAST + 1))
    assert reader.page("g1", after=0, limit=1000) == log
    assert seqs(reader.page("g1", limit=50)) == list(range(G1_LAST - 49, G1_LAST + 1))
    assert seqs(reader.page("g1", before=103, limit=5)) == [98, 99, 100, 101, 102]
    assert seqs(reader.page("g1", after=102, limit=3)) == [103, 104, 105]
    removal = codec.decode(reader.page("g1", after=102, limit=1)[0])
    assert isinstance(removal, m.MemberRemoved)
    assert removal.user_id == "carol"

    assert reader.members("g1") == {"alice": "OWNER", "bob": "ADMIN", "dave": "MEMBER"}
    assert reader.conversations_of("dave") == ["g1"]
    assert reader.conversations_of("carol") == []
    assert not reader.is_member("carol", "g1")
    assert reader.can_read("carol", "g1", 103)
    assert not reader.can_read("carol", "g1", 104)
    assert not reader.can_read("dave", "g1", 1), "dave joined at 2: nothing before is his"
    assert reader.can_read("dave", "g1", 2)
    assert not reader.can_read("mallory", "g1", 1)


def stream(
    out: CommandProducer, conversations: list[str], per_conversation: int, resume: threading.Event
) -> None:
    """Half the messages, then the rest once `resume` is set: the kill lands mid-stream."""
    for i in range(per_conversation):
        if i == per_conversation // 2:
            out.flush()
            if not resume.wait(60):
                raise AssertionError("the stream was never resumed")
        for cid in conversations:
            out.send(message(cid, "alice", i))
    out.flush()


def test_history_follows_the_log_survives_kill_9_and_equals_a_rebuild(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics(partitions=4)
    sequencer = SequencerProcess(topics, tmp_path / "sequencer")
    live, restarted, rebuilt = HistoryProcess.runs(topics, tmp_path)
    conversations, per_conversation = STREAMED
    streamed = [f"s{i}" for i in range(conversations)]
    total = conversations * (1 + per_conversation)
    out = CommandProducer(topics)
    resume = threading.Event()
    producer = threading.Thread(target=stream, args=(out, streamed, per_conversation, resume))
    sequencer.start()
    live.start()
    reader = live.reader(tmp_path / "reader")

    def applied(view: HistoryReader) -> int:
        return sum(view.last_seq(cid) for cid in streamed)

    try:
        send_group_history(out)
        wait_until(lambda: reader.last_seq("g1") == G1_LAST, 60, f"g1 at seq {G1_LAST}")
        check_group_history(reader, topics.events.name)

        for cid in streamed:
            out.send(create_conversation(cid, "alice", "bob"))
        out.flush()
        producer.start()
        wait_until(lambda: applied(reader) > total // 4, 60, "a quarter of the streamed events")
        live.kill()
        killed_at = applied(reader)
        resume.set()
        restarted.start()
        producer.join()
        wait_until(lambda: applied(reader) == total, 120, "every event after the restart")
        wait_until(reader.ready, 30, "the restarted view to say it is ready")
        reader.close()
        restarted.stop()
        after_crash = restarted.dump()

        with rebuilt.rebuilt(tmp_path / "rebuilt-reader") as fresh:
            assert applied(fresh) == total
            check_group_history(fresh, topics.events.name)
    finally:
        reader.close()
        resume.set()
        if producer.is_alive():
            producer.join()
        for process in (live, restarted, rebuilt):
            process.stop()
        sequencer.stop()

    assert killed_at < total, "the kill happened before the stream ended"
    assert len(read_committed(topics.events.name, expected=G1_LAST + total)) == G1_LAST + total
    assert rebuilt.dump() == after_crash
    assert "following t" in rebuilt.log() and " from {} to reach" in rebuilt.log()
    for process in (live, restarted, rebuilt):
        assert "Traceback" not in process.log()
        assert "ready" in process.log()


def test_an_undecodable_event_is_parked_and_the_view_moves_on(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    """Bytes that are no event go to the dead-letter topic with where they came from; the
    events behind them in the same partition are still applied."""
    topics = fresh_topics(partitions=1)
    event = m.ConversationCreated(
        meta=m.EventMeta(
            event_id="e1",
            conversation_id="c1",
            seq=1,
            actor=m.Actor(user_id="alice", device_id="alice-phone"),
            client_msg_id="m1",
            command_id="k1",
            occurred_at=datetime.now(UTC),
        ),
        kind=m.ConversationKind.DIRECT,
        members=(
            m.Member(user_id="alice", role=m.Role.MEMBER),
            m.Member(user_id="bob", role=m.Role.MEMBER),
        ),
    )
    producer = Producer({"bootstrap.servers": kafka_bootstrap})
    producer.produce(topics.events.name, key=b"c1", value=b"not avro", partition=0)
    producer.produce(topics.events.name, key=b"c1", value=codec.encode(event), partition=0)
    if producer.flush(30) != 0:
        raise AssertionError("the test records were not delivered")
    history = HistoryProcess(topics, tmp_path / "history")
    history.start()
    try:
        with history.reader(tmp_path / "reader") as reader:
            wait_until(lambda: reader.last_seq("c1") == 1, 60, "the event behind the bad bytes")
            assert reader.members("c1") == {"alice": "MEMBER", "bob": "MEMBER"}
            wait_until(reader.ready, 30, "the view to say it is ready")
        parked = read_committed(topics.dead_letters.name, expected=1)
    finally:
        history.stop()
    assert [r.value for r in parked] == [b"not avro"]
    assert parked[0].headers["source-topic"] == topics.events.name.encode()
    assert parked[0].headers["source-offset"] == b"0"
    assert "Traceback" not in history.log()
