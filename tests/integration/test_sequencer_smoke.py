"""A conversation is created and messaged through the real sequencer and broker."""

from __future__ import annotations

from pathlib import Path

from schemas import models as m
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.sequencer_process import SequencerProcess


def test_create_and_send(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = fresh_topics()
    seq = SequencerProcess(topics, tmp_path)
    seq.start()
    try:
        out = CommandProducer(topics)
        out.send(create_conversation("c1", "alice", "bob"))
        for i in range(5):
            out.send(
                m.SendMessage(meta=command_meta("c1", "bob"), body=m.PlainBody(text=f"hi {i}"))
            )
        out.flush()
        events = decoded(read_committed(topics.events.name, expected=6))
        assert [e.meta.seq for e in events] == [1, 2, 3, 4, 5, 6]
        outcomes = decoded(read_committed(topics.outcomes.name, expected=6))
        assert all(isinstance(o, m.CommandAccepted) for o in outcomes)
    finally:
        seq.stop()
    assert "Traceback" not in seq.log()
