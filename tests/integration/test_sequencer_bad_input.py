"""Malformed, unknown-schema, oversized and misrouted commands are refused with a reason;
the sequencer keeps serving."""

from __future__ import annotations

from pathlib import Path

from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.sequencer_process import SequencerProcess


def test_bad_commands_are_rejected_and_dead_lettered(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = fresh_topics(partitions=4)
    sequencer = SequencerProcess(topics, tmp_path)
    sequencer.start()
    try:
        out = CommandProducer(topics)
        out.send(create_conversation("c1", "alice", "bob"))
        out.send_raw("c1", b"\x00 definitely not avro")
        out.send_raw("c1", codec.MAGIC + bytes.fromhex("00112233445566ff") + b"\x02\x04")
        big = m.SendMessage(meta=command_meta("c1", "bob"), body=m.PlainBody(text="x" * 300_000))
        out.send(big)
        body_over_limit = m.SendMessage(
            meta=command_meta("c1", "bob"), body=m.PlainBody(text="y" * 70_000)
        )
        out.send(body_over_limit)
        event_not_command = m.MemberAdded(
            meta=m.EventMeta(
                event_id="x",
                conversation_id="c1",
                seq=2,
                actor=m.Actor(user_id="bob", device_id="d"),
                client_msg_id="k",
                command_id="c",
                occurred_at=command_meta("c1", "bob").issued_at,
            ),
            user_id="mallory",
        )
        out.send(event_not_command)
        wrong = next(
            f"c{i}" for i in range(2, 100) if partition_for(f"c{i}", 4) != partition_for("c1", 4)
        )
        misrouted = m.SendMessage(meta=command_meta(wrong, "bob"), body=m.PlainBody(text="lost?"))
        out.send(misrouted, conversation_id="c1")
        good = m.SendMessage(meta=command_meta("c1", "bob"), body=m.PlainBody(text="still here"))
        out.send(good)
        out.flush()
        outcomes = decoded(read_committed(topics.outcomes.name, expected=8))
        events = decoded(read_committed(topics.events.name, expected=2))
        dead = read_committed(topics.dead_letters.name, expected=3)
        assert sequencer.alive()
    finally:
        sequencer.stop()

    rejected = [o for o in outcomes if isinstance(o, m.CommandRejected)]
    codes = [r.code for r in rejected]
    assert codes == [
        m.RejectionCode.MALFORMED,
        m.RejectionCode.UNKNOWN_SCHEMA,
        m.RejectionCode.TOO_LARGE,
        m.RejectionCode.TOO_LARGE,
        m.RejectionCode.INVALID,
        m.RejectionCode.INVALID,
    ]
    assert all(r.reason for r in rejected)
    assert "00112233445566ff" in rejected[1].reason
    assert rejected[2].command_id == big.meta.command_id
    assert "70000 bytes" in rejected[3].reason
    assert "wrong partition" in rejected[5].reason
    accepted = [o for o in outcomes if isinstance(o, m.CommandAccepted)]
    assert [a.command_id for a in accepted] == [outcomes[0].command_id, good.meta.command_id]
    assert [e.meta.seq for e in events] == [1, 2]
    assert len(dead) == 3
    assert {d.headers["source-topic"].decode() for d in dead} == {topics.commands.name}
    assert all(d.headers["reason"] and d.headers["source-offset"] for d in dead)
