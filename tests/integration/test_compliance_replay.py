"""Replay for compliance from the archive and then the log, against the real broker and S3
server: history whose oldest records the log has deleted is still exported whole from the
archive, equal to the export of the same history read from the log alone; without the
archive the same export fails as `HistoryLostError`, never with a silent gap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from pydantic import TypeAdapter

from edge.compliance.bodies import BodyOpener
from edge.compliance.export import ExportResult, ExportSpec, run_export
from edge.compliance.files import HTML, JSONL
from edge.compliance.replay import Source
from edge.protocol.compliance import ExportLine, ExportProgress
from kafkalog.cold.reader import ArchiveReader
from kafkalog.cold.record import ArchiveRecord
from kafkalog.history import HistoryLostError
from projections.history_source import HistorySource
from tests.compliance_story import Story, export_spec, ms_after
from tests.integration.archive import fresh_root, new_writer, s3_store
from tests.integration.log import BOOTSTRAP, EventWriter, fresh_topics, read_committed

LINES: TypeAdapter[Any] = TypeAdapter(ExportLine)
ARCHIVED_SHARE = 2
"""The first 1/ARCHIVED_SHARE of each partition goes to the archive, then leaves the log."""


def spec(subject: str, kind: str, as_of_ms: int, mode: str = "as_of") -> ExportSpec:
    return export_spec(subject, as_of_ms, mode=mode, kind=kind)


def export(source: Source, partitions: int, work: Path, asked: ExportSpec) -> ExportResult:
    reports: list[ExportProgress] = []
    result = run_export(
        asked,
        source=source,
        partitions=partitions,
        work_dir=work,
        opener=BodyOpener(),
        report=reports.append,
        cancelled=lambda: False,
        clock_ms=lambda: 1_800_000_000_000,
    )
    assert reports and result.progress.percent == 100.0
    return result


def contents(result: ExportResult) -> tuple[list[Any], str, list[str]]:
    """The lines, the transcript and the files' digests (the clock is fixed, so an export of
    the same history is the same bytes)."""
    lines = [LINES.validate_json(x) for x in (result.directory / JSONL).read_text().splitlines()]
    page = (result.directory / HTML).read_text()
    return lines, page, [f.sha256 for f in result.files]


def history() -> tuple[Story, int]:
    """Two people's conversations, edited and deleted along the way; the instant is before
    the last few events."""
    s = Story(partitions=2)
    for n in range(6):
        cid = f"dm-{n}"
        s.create(cid, "alice", f"friend{n}")
        first = s.send(cid, "alice", f"hello {n}")
        reply = s.send(cid, f"friend{n}", f"hi alice, from {n}")
        s.edit(cid, "alice", first, f"hello {n}, edited")
        s.delete(cid, f"friend{n}", reply)
    at = ms_after(s)
    s.send("dm-0", "alice", "after the instant")
    s.create("dm-late", "alice", "zed")
    return s, at


@pytest.mark.timeout(300)
def test_history_the_log_deleted_is_replayed_from_the_archive(tmp_path: Path) -> None:
    story, at = history()
    topics = fresh_topics(partitions=story.partitions)
    writer = EventWriter(topics)
    for event in story.events:
        writer.write(event)
    writer.flush()
    logged = read_committed(topics.events.name, expected=len(story.events))
    assert len(logged) == len(story.events)

    # Export from the log alone, while it still holds everything.
    log_only = HistorySource(BOOTSTRAP, topics.events.name, None)
    asked = [
        spec("dm-0", "conversation", at),
        spec("alice", "user", at),
        spec("dm-1", "conversation", at, "legal_hold"),
    ]
    before = [
        contents(export(log_only, story.partitions, tmp_path / f"log{n}", a))
        for n, a in enumerate(asked)
    ]
    assert [x.conversation_id for x in before[1][0] if x.type == "conversation"] == [
        f"dm-{n}" for n in range(6)
    ], "alice's conversations by the instant, not the one created after it"

    # Archive the first half of each partition (as the archiver would, from the log's own
    # offsets), then delete that half from the log.
    store, root = s3_store(), fresh_root()
    archiver = new_writer(store, root, tmp_path / "spool")
    archiver.open(range(story.partitions))
    cut: dict[int, int] = {}
    for partition in range(story.partitions):
        mine = sorted((r for r in logged if r.partition == partition), key=lambda r: r.offset)
        cut[partition] = mine[len(mine) // ARCHIVED_SHARE].offset
        for r in mine:
            if r.offset < cut[partition]:
                archiver.add(ArchiveRecord(partition, r.offset, 0, r.value, r.key))
    archiver.flush()
    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    deleting = admin.delete_records(
        [TopicPartition(topics.events.name, p, offset) for p, offset in cut.items()]
    )
    for future in deleting.values():
        future.result(timeout=30)

    # The log alone can no longer tell the whole story, and says so.
    with pytest.raises(HistoryLostError):
        export(log_only, story.partitions, tmp_path / "gap", asked[0])
    assert not (tmp_path / "gap" / "scratch").exists()

    # The archive and then the log tell it exactly as the log did.
    archive = ArchiveReader(store, "events", root=root)
    both = HistorySource(BOOTSTRAP, topics.events.name, archive)
    assert archive.chains(list(cut)) and all(archive.end(p) == cut[p] for p in cut)
    for n, a in enumerate(asked):
        after = contents(export(both, story.partitions, tmp_path / f"both{n}", a))
        assert after == before[n], f"export {a.subject} {a.mode}"
