"""Hot and cold: once the log has dropped its oldest events (`delete_records`, as retention
does), every view rebuilds from the archive and then the log equal to the live view, and
the sequencer, its store lost, takes its state from the archive and the log and goes on
with the next seqs. Real broker, real S3 server, real processes. A rebuild whose missing
events are in no archive stops with HistoryLostError instead of building a partial view."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, cast

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient

from projections.__main__ import VIEWS
from schemas import codec
from schemas import models as m
from schemas.topics import Topics
from tests.integration.archive import BUCKET, ArchiveProcess, archived_to, s3_store
from tests.integration.fanout_process import FanOutProcess
from tests.integration.log import (
    BOOTSTRAP,
    CommandProducer,
    LogRecord,
    command_meta,
    create_conversation,
    fresh_topics,
    read_committed,
)
from tests.integration.processes import wait_until
from tests.integration.sequencer_process import SequencerProcess
from tests.integration.view_process import NamedViewProcess

pytestmark = pytest.mark.integration

PARTITIONS = 3
GROUPS = [f"g{i}" for i in range(6)]
PEOPLE = ["ana", "ben", "cy", "dee"]


def send_wave(out: CommandProducer, wave: int) -> int:
    """Messages, reads, an edit, a delete and reactions in every group; the first wave
    creates the groups and changes their members. Returns the commands sent."""
    sent = 0

    def send(command: Any) -> None:
        nonlocal sent
        out.send(command)
        sent += 1

    for cid in GROUPS:
        if wave == 0:
            send(create_conversation(cid, "ana", "ben", "cy"))
            send(m.AddMember(meta=command_meta(cid, "ana"), user_id="dee"))
            send(m.RemoveMember(meta=command_meta(cid, "ana"), user_id="cy"))
        for i in range(20):
            author = PEOPLE[(i + wave) % 2]
            body = m.PlainBody(text=f"{cid} wave {wave} message {i}")
            send(m.SendMessage(meta=command_meta(cid, author), body=body))
        send(m.MarkRead(meta=command_meta(cid, "dee"), up_to_seq=4 + 20 * wave))
        send(
            m.EditMessage(
                meta=command_meta(cid, "ana"), target_seq=4, body=m.PlainBody(text="edited")
            )
        )
        send(m.ReactToMessage(meta=command_meta(cid, "ben"), target_seq=5, emoji="👍🎉"[wave]))
        send(
            m.DeleteMessage(
                meta=command_meta(cid, "ben"), target_seq=6 + wave, scope=m.DeleteScope.FOR_ME
            )
        )
    out.flush()
    return sent


def events(topics: Topics, expected: int) -> list[LogRecord]:
    found = read_committed(topics.events.name, expected=expected, deadline_s=120)
    assert len(found) >= expected, f"{len(found)} events of {expected}"
    return found


def ends(records: list[LogRecord]) -> dict[int, int]:
    """Per partition, the offset after its last event (commit markers aside)."""
    return {p: max(r.offset for r in records if r.partition == p) + 1 for p in range(PARTITIONS)}


def delete_before(topic: str, offsets: dict[int, int]) -> None:
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    futures = admin.delete_records([TopicPartition(topic, p, o) for p, o in offsets.items()])
    for future in futures.values():
        future.result(30)


@pytest.mark.timeout(900)
def test_views_and_the_sequencer_rebuild_from_the_archive_once_the_log_dropped_its_start(
    tmp_path: Path,
) -> None:
    topics = fresh_topics(partitions=PARTITIONS)
    sequencer = SequencerProcess(topics, tmp_path / "sequencer", extra_env=_bucket())
    archiver = ArchiveProcess(
        topics, tmp_path / "archive", tmp_path / "archive.log", {"PARLEY_ARCHIVE_MAX_AGE_S": "1"}
    )
    live = {
        view: NamedViewProcess(
            view, topics, tmp_path / "live", log_path=tmp_path / f"{view}-live.log", env=_bucket()
        )
        for view in VIEWS
    }
    processes = [sequencer, archiver, *live.values()]
    try:
        for process in processes:
            process.start()
        out = CommandProducer(topics)
        first = events(topics, send_wave(out, 0))
        wait_until(
            lambda: all(
                archived_to(s3_store(), archiver.root, "events", PARTITIONS)[p] >= end
                for p, end in ends(first).items()
            ),
            120,
            "the archive to hold the first wave",
        )
        archiver.stop()
        cut = archived_to(s3_store(), archiver.root, "events", PARTITIONS)
        delete_before(topics.events.name, cut)

        # The sequencer loses its store: its state must come from the archive and the log.
        sequencer.kill()
        shutil.rmtree(sequencer.state_dir)
        sequencer.start()
        both = first + events(topics, send_wave(out, 1))  # the log holds the second wave only
        last_seqs: dict[str, list[int]] = {}
        for record in both:
            event = cast(Any, codec.decode(record.value))
            last_seqs.setdefault(event.meta.conversation_id, []).append(event.meta.seq)
        for cid, seqs in last_seqs.items():
            assert seqs == list(range(1, len(seqs) + 1)), f"{cid}: {seqs}"
        assert "the log starts at" not in sequencer.log()

        for process in live.values():
            process.wait_applied(ends(both))
            process.stop()
        live_views = {view: process.dump() for view, process in live.items()}

        # A fan-out without a store takes the memberships the log dropped from the archive.
        fanout = FanOutProcess(topics, tmp_path / "fanout", tmp_path / "fanout.log")
        fanout.env.update(_bucket())
        processes.append(fanout)
        fanout.start()
        wait_until(
            lambda: fanout.log().count("memberships from the archive") == PARTITIONS,
            60,
            "the fan-out to fold the archive",
        )
        fanout.stop()
        members = fanout.members()
        for cid in GROUPS:
            assert members[cid] == {"ana", "ben", "dee"}, cid
    finally:
        for process in processes:
            process.stop()

    low = read_committed(topics.events.name, expected=0, deadline_s=5)
    assert min(r.offset for r in low if r.partition == 0) >= cut[0], "the log dropped its start"
    for view in VIEWS:
        rebuilt = NamedViewProcess(
            view,
            topics,
            tmp_path / "rebuilt",
            log_path=tmp_path / f"{view}-rebuilt.log",
            env={**_bucket(), "PARLEY_VIEW_GROUP": f"rebuild-{view}"},
        )
        rebuilt.start("rebuild")
        try:
            rebuilt.wait_ready()
            rebuilt.wait_applied(ends(both))
        finally:
            rebuilt.stop()
        assert "applying the archive" in rebuilt.log()
        assert rebuilt.dump() == live_views[view], view


def test_a_rebuild_stops_when_the_log_dropped_events_no_archive_holds(tmp_path: Path) -> None:
    topics = fresh_topics(partitions=1)
    out = CommandProducer(topics)
    sent = send_wave(out, 0)
    sequencer = SequencerProcess(topics, tmp_path / "sequencer", extra_env=_bucket())
    sequencer.start()
    try:
        first = read_committed(topics.events.name, expected=sent, deadline_s=120)
    finally:
        sequencer.stop()
    delete_before(topics.events.name, {0: first[len(first) // 2].offset})
    for view in VIEWS:
        process = NamedViewProcess(
            view, topics, tmp_path / view, log_path=tmp_path / f"{view}.log", env=_bucket()
        )
        process.start("rebuild")
        wait_until(lambda p=process: not p.alive(), 60, f"the {view} rebuild to stop")  # type: ignore[misc]
        assert process.stop() != 0
        assert "HistoryLostError" in process.log(), process.log()[-2000:]
        assert "the archive holds nothing of it" in process.log()


def _bucket() -> dict[str, str]:
    """Every process reads the archive where the test's archive writes it."""
    return {"PARLEY_S3_BUCKET": BUCKET}
