"""Replay for compliance from the archive and then the log, against the real broker and S3
server: history whose oldest records the log has deleted is still exported whole from the
archive, equal to the export of the same history read from the log alone; without the
archive the same export fails as `HistoryLostError`, never with a silent gap. And the export
job's own ending: its files, status and audit record, whether it succeeds or fails."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from pydantic import TypeAdapter

from edge.compliance.audit import AuditLog, Outcome
from edge.compliance.bodies import BodyOpener
from edge.compliance.export import ExportResult, ExportSpec, run_export
from edge.compliance.exports import ExportStore
from edge.compliance.files import HTML, JSONL, MANIFEST
from edge.compliance.job import run_job
from edge.compliance.replay import Source
from edge.compliance.settings import ComplianceSettings
from edge.protocol.compliance import ExportLine, ExportProgress, ExportStatus
from kafkalog.cold.reader import ArchiveReader
from kafkalog.cold.record import ArchiveRecord
from kafkalog.history import HistoryLostError
from projections.history_source import HistorySource
from schemas import codec
from schemas import models as m
from tests.compliance_story import Story, export_spec, ms_after
from tests.integration.archive import BUCKET, S3_ENDPOINT, fresh_root, new_writer, s3_store
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


@pytest.mark.timeout(300)
def test_the_export_job_ends_its_audit_and_status_whatever_happens(tmp_path: Path) -> None:
    """`edge.compliance.job.run_job` as the edge's job process runs it, against the real
    broker and S3: a finished export's files are in the bucket with the digests its status
    lists, and its audit record says so; an export whose history the log has lost (and no
    archive holds) ends `failed` with the stable code in its status and its audit record."""
    story, at = history()
    topics = fresh_topics(partitions=story.partitions)
    writer = EventWriter(topics)
    for event in story.events:
        writer.write(event)
    writer.flush()
    assert len(read_committed(topics.events.name, expected=len(story.events))) == len(story.events)
    s3_store()  # the bucket exists
    settings = ComplianceSettings(
        kafka_bootstrap=BOOTSTRAP,
        topic_prefix=topics.events.name.rsplit(".", 1)[0],
        partitions=story.partitions,
        state_dir=tmp_path / "state",
        s3_endpoint=S3_ENDPOINT,
        s3_bucket=BUCKET,
        archive_root=fresh_root(),
        compliance_root=fresh_root(),
    )
    store = ExportStore(settings.object_store(), settings.exports_prefix)
    audit = AuditLog(BOOTSTRAP, topics.audit)

    def job(export_id: str) -> tuple[Outcome, str, ExportStatus | None]:
        asked = spec("alice", "user", at).model_copy(
            update={"export_id": export_id, "action_id": export_id}
        )
        outcome, detail = run_job(asked, settings, lambda: False, audit)
        return outcome, detail, store.status(export_id)

    outcome, detail, done = job("a" * 32)
    assert outcome is Outcome.SUCCEEDED, detail
    assert done is not None and done.state == "succeeded"
    assert [f.name for f in done.files] == [JSONL, HTML, MANIFEST]
    for file in done.files:
        held = settings.object_store().get(store.key(done.export_id, file.name))
        assert hashlib.sha256(held).hexdigest() == file.sha256
    assert f"manifest_sha256={done.files[-1].sha256}" in detail
    assert not (settings.scratch_dir / done.export_id).exists()

    admin = AdminClient({"bootstrap.servers": BOOTSTRAP})
    high = {r.partition: r.offset + 1 for r in read_committed(topics.events.name, expected=1)}
    deleting = admin.delete_records(
        [TopicPartition(topics.events.name, p, offset) for p, offset in high.items()]
    )
    for future in deleting.values():
        future.result(timeout=30)
    outcome, detail, failed = job("b" * 32)
    assert (outcome, detail) == (Outcome.FAILED, "history_incomplete")
    assert failed is not None and failed.state == "failed" and failed.files == []
    assert failed.error is not None and failed.error.startswith("history_incomplete: ")
    audit.close()

    ended = [
        found
        for r in read_committed(topics.audit.name, expected=2)
        if isinstance(found := codec.decode(r.value), m.ComplianceActionEnded)
    ]
    assert [(e.action_id, e.outcome) for e in ended] == [
        ("a" * 32, "succeeded"),
        ("b" * 32, "failed"),
    ]
    assert ended[0].detail.startswith("conversations=6 events=")
    assert ended[1].detail == "history_incomplete"
