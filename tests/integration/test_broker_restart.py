"""A broker stopped and started with its data directory keeps the log, and the sequencer
carries on where it was.

Regression: across the restart librdkafka 2.16 blocked `send_offsets_to_transaction` for
good (librdkafka #5511) and the sequencer stopped processing; its watchdog now restarts
it in place."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.kafka import LocalKafka
from infra.settings import PlatformSettings
from infra.topics import ensure_topics
from schemas import models as m
from schemas.topics import declare_topics
from tests.e2e.cluster import free_port
from tests.integration import log
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    decoded,
    read_committed,
)
from tests.integration.sequencer_process import SequencerProcess


@pytest.fixture
def own_broker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalKafka]:
    """A second broker with its own ports and data dir, so restarting it disturbs no one."""
    settings = PlatformSettings(
        data_dir=tmp_path / "platform",
        kafka_port=free_port(),
        kafka_controller_port=free_port(),
        kafka_heap="512m",
    )
    broker = LocalKafka(settings)
    broker.start()
    monkeypatch.setattr(log, "BOOTSTRAP", settings.bootstrap)
    monkeypatch.setattr("tests.integration.processes.BOOTSTRAP", settings.bootstrap)
    try:
        yield broker
    finally:
        broker.process.stop(timeout_s=60)
        broker.process.kill()


def test_log_survives_broker_restart(
    kafka_bootstrap: str, own_broker: LocalKafka, tmp_path: Path
) -> None:
    topics = declare_topics("restart", partitions=2)
    ensure_topics(own_broker.settings.bootstrap, topics)
    sequencer = SequencerProcess(
        topics, tmp_path / "state", extra_env={"PARLEY_STUCK_AFTER_S": "15"}
    )
    sequencer.start()
    try:
        out = CommandProducer(topics)
        out.send(create_conversation("r1", "alice", "bob", kind=m.ConversationKind.DIRECT))
        for i in range(49):
            out.send(m.SendMessage(meta=command_meta("r1", "bob"), body=m.PlainBody(text=str(i))))
        out.flush()
        before = decoded(read_committed(topics.events.name, expected=50))
        assert len(before) == 50

        own_broker.process.stop(timeout_s=60)
        assert not own_broker.process.is_running()
        own_broker.start()

        after = decoded(read_committed(topics.events.name, expected=50))
        assert after == before
        out = CommandProducer(topics)
        for i in range(10):
            out.send(m.SendMessage(meta=command_meta("r1", "alice"), body=m.PlainBody(text=str(i))))
        out.flush()
        events = decoded(read_committed(topics.events.name, expected=60, deadline_s=120))
    finally:
        sequencer.stop()
    assert [e.meta.seq for e in events] == list(range(1, 61))
