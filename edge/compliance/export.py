"""One export, start to end: find the subject's conversations, replay them to the instant
into a scratch view, write the lines into the export's files. Blocking; the export job
(`job.py`) runs it in a process of its own, the tests and the benchmark call it directly.

Memory holds one scratch batch, one page of the scratch view and the line being written,
whatever the history's size; history itself is on disk in the scratch view, which is
removed when the export ends (docs/compliance.md, "Replay and export").
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from edge.compliance.bodies import BodyOpener
from edge.compliance.files import ExportFiles
from edge.compliance.replay import Replay, Source, lines
from edge.protocol.compliance import (
    ExportConversation,
    ExportHeader,
    ExportMode,
    ExportProgress,
    ManifestFile,
)
from projections.history.scratch import ScratchHistory
from schemas.partitioning import partition_for


class ExportSpec(BaseModel):
    """What an export is asked to do, and the audit record it ends (its action's id)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    export_id: str
    case: str
    subject_kind: Literal["conversation", "user"]
    subject_id: str
    mode: ExportMode
    as_of_ms: int
    created_at_ms: int
    expires_at_ms: int
    action_id: str
    officer: str
    device_id: str
    origin: str

    @property
    def subject(self) -> str:
        return f"{self.subject_kind}:{self.subject_id}"


@dataclass(frozen=True)
class ExportResult:
    files: list[ManifestFile]
    """The JSON Lines file, the transcript and the manifest, in that order."""
    directory: Path
    conversations: int
    events: int
    progress: ExportProgress


def run_export(
    spec: ExportSpec,
    *,
    source: Source,
    partitions: int,
    work_dir: Path,
    opener: BodyOpener,
    report: Callable[[ExportProgress], None],
    cancelled: Callable[[], bool],
    clock_ms: Callable[[], int],
) -> ExportResult:
    """Writes the files under `work_dir/files`; the scratch view under `work_dir/scratch`
    is gone when this returns, whatever happened."""
    replay = Replay(source, partitions, report=report, cancelled=cancelled)
    person = spec.subject_kind == "user"
    ends = replay.snapshot(None if person else [partition_for(spec.subject_id, partitions)])
    report(replay.tally.progress())
    conversations = (
        replay.conversations_of(spec.subject_id, spec.as_of_ms, ends)
        if person
        else {spec.subject_id}
    )
    head = ExportHeader(
        export_id=spec.export_id,
        case=spec.case,
        subject=spec.subject,
        mode=spec.mode,
        as_of_ms=spec.as_of_ms,
        generated_at_ms=clock_ms(),
    )
    scratch_dir = work_dir / "scratch"
    try:
        with (
            ScratchHistory(scratch_dir, every_version=spec.mode == "legal_hold") as scratch,
            ExportFiles(work_dir / "files", head) as files,
        ):
            replay.replay(conversations, spec.as_of_ms, ends, scratch)
            replay.tally.phase = "writing"
            reader = scratch.reader()
            for cid in sorted(conversations):
                for line in lines(reader, cid, spec.mode, opener):
                    if isinstance(line, ExportConversation):
                        files.conversation(line)
                        replay.tally.conversations += 1
                    else:
                        files.event(line)
                        replay.wrote()
            written = files.finish(clock_ms())
    finally:
        shutil.rmtree(scratch_dir, ignore_errors=True)
    replay.tally.phase = "done"
    return ExportResult(
        files=written,
        directory=work_dir / "files",
        conversations=replay.tally.conversations,
        events=replay.tally.events_written,
        progress=replay.tally.progress(),
    )
