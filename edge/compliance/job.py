"""`python -m edge.compliance.job`: one export, in a process of its own.

An export reads and decodes a whole history: CPU for seconds or minutes, which in the edge
process would take the interpreter from its sockets. So the edge starts this process per
export (`jobs.py`), writes the export's `ExportSpec` as one JSON line to its standard input
and keeps that input open: its end (the edge stopped, or died) cancels the export. The
process rewrites the export's status in the object store as it goes, uploads the files,
writes the audit record that ends the export's action, and then prints its outcome as one
JSON line (which tells the edge that nothing is left for it to record).

Error policy: every failure ends the export as `failed` with a stable code in the status
and the audit (`history_incomplete`, `log_unavailable`, `storage_unavailable`, `cancelled`,
`internal`); the log names the error's type and where it happened, never its message,
which could quote a message's text (the erasure proof scans the logs too).
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import threading
import time
import traceback
from collections.abc import Callable

from confluent_kafka import KafkaException

from edge.compliance.audit import AuditedAction, AuditLog, ComplianceAction, Outcome
from edge.compliance.bodies import BodyOpener
from edge.compliance.export import ExportSpec, run_export
from edge.compliance.exports import ExportStore
from edge.compliance.replay import ExportCancelledError
from edge.compliance.settings import ComplianceSettings
from edge.protocol.compliance import ExportFile, ExportProgress, ExportStatus
from kafkalog.cold.reader import ArchiveReader
from kafkalog.history import HistoryLostError
from objectstore.store import ObjectStoreError
from projections.history_source import HistorySource
from sealing.bodies import BodyOpener as SealedBodies
from sealing.settings import SealingSettings
from telemetry.logs import configure_logging

log = logging.getLogger("parley.compliance")
STATUS_EVERY_S = 2.0
FAILURES: tuple[tuple[type[BaseException], str], ...] = (
    (ExportCancelledError, "cancelled"),
    (HistoryLostError, "history_incomplete"),
    (KafkaException, "log_unavailable"),
    (ObjectStoreError, "storage_unavailable"),
)


def now_ms() -> int:
    return int(time.time() * 1000)


def opener(settings: ComplianceSettings) -> BodyOpener:
    """The opener every export's bodies go through: over this host's key store, the one the
    edge that started the job seals with (its environment names it)."""
    sealer = SealingSettings().open_sealer()
    return BodyOpener(sealed=SealedBodies(sealer))


def action_of(spec: ExportSpec) -> AuditedAction:
    """The audited action the export ends: the one the edge started for it."""
    return AuditedAction(
        action=ComplianceAction.EXPORT_CREATE,
        officer=spec.officer,
        device_id=spec.device_id,
        case_ref=spec.case,
        target=spec.subject,
        origin=spec.origin,
        action_id=spec.action_id,
    )


def initial_status(spec: ExportSpec) -> ExportStatus:
    return ExportStatus(
        export_id=spec.export_id,
        case=spec.case,
        subject=spec.subject,
        mode=spec.mode,
        as_of_ms=spec.as_of_ms,
        state="running",
        progress=ExportProgress(),
        created_at_ms=spec.created_at_ms,
        updated_at_ms=spec.created_at_ms,
        expires_at_ms=spec.expires_at_ms,
    )


class StatusWriter:
    """Rewrites the status at most every `STATUS_EVERY_S` while the export runs; a failed
    write is logged and the export goes on (the next one may succeed)."""

    def __init__(self, store: ExportStore, status: ExportStatus) -> None:
        self.store = store
        self.status = status
        self.written_at = 0.0

    def progress(self, progress: ExportProgress) -> None:
        if time.monotonic() - self.written_at < STATUS_EVERY_S:
            return
        self.written_at = time.monotonic()
        self.status = self.status.model_copy(
            update={"progress": progress, "updated_at_ms": now_ms()}
        )
        try:
            self.store.put_status(self.status)
        except ObjectStoreError as e:
            log.warning("export status not written: %s", type(e.__cause__).__name__)

    def final(self, **changes: object) -> None:
        self.status = self.status.model_copy(update={**changes, "updated_at_ms": now_ms()})
        self.store.put_status(self.status)


def run_job(
    spec: ExportSpec,
    settings: ComplianceSettings,
    cancelled: Callable[[], bool],
    audit: AuditLog,
) -> tuple[Outcome, str]:
    """The export, its files uploaded, its status final and its audit record written."""
    objects = settings.object_store()
    store = ExportStore(objects, settings.exports_prefix)
    topics = settings.topics()
    archive = (
        ArchiveReader(objects, "events", root=settings.archive_prefix)
        if settings.read_archive
        else None
    )
    status = StatusWriter(store, initial_status(spec))
    work = settings.scratch_dir / spec.export_id
    try:
        store.sweep(now_ms())
        result = run_export(
            spec,
            source=HistorySource(settings.kafka_bootstrap, topics.events.name, archive),
            partitions=topics.events.partitions,
            work_dir=work,
            opener=opener(settings),
            report=status.progress,
            cancelled=cancelled,
            clock_ms=now_ms,
        )
        for written in result.files:
            store.upload(spec.export_id, result.directory / written.name)
        status.final(
            state="succeeded",
            progress=result.progress,
            files=[ExportFile(**f.model_dump()) for f in result.files],
        )
        outcome = Outcome.SUCCEEDED
        detail = (
            f"conversations={result.conversations} events={result.events} "
            f"manifest_sha256={result.files[-1].sha256}"
        )
    except Exception as e:
        outcome, detail = Outcome.FAILED, failure_code(e)
        log.error(
            "export %s failed (%s): %s\n%s",
            spec.export_id,
            detail,
            type(e).__name__,
            "".join(traceback.format_tb(e.__traceback__)),
        )
        try:
            status.final(state="failed", error=_explained(e, detail))
        except ObjectStoreError:
            log.error("export %s: its failed status could not be written", spec.export_id)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    audit.ended(action_of(spec), outcome, detail)
    return outcome, detail


def failure_code(error: BaseException) -> str:
    return next((code for kind, code in FAILURES if isinstance(error, kind)), "internal")


def _explained(error: BaseException, code: str) -> str:
    """What the officer is told: the code, and for an incomplete history which offsets are
    missing (offsets and partitions, no content)."""
    if isinstance(error, HistoryLostError):
        return f"{code}: {error}"
    if isinstance(error, ExportCancelledError):
        return f"{code}: the edge node running the export stopped; start it again"
    return code


def _watch_parent(cancelled: threading.Event) -> None:
    """The edge keeps standard input open while it wants the export; its end cancels it."""
    sys.stdin.read()
    cancelled.set()


def main() -> int:
    configure_logging("parley-compliance-export")
    settings = ComplianceSettings()
    spec = ExportSpec.model_validate_json(sys.stdin.readline())
    cancelled = threading.Event()
    threading.Thread(target=_watch_parent, args=(cancelled,), daemon=True).start()
    audit = AuditLog(settings.kafka_bootstrap, settings.topics().audit)
    try:
        outcome, detail = run_job(spec, settings, cancelled.is_set, audit)
    finally:
        audit.close()
    print(json.dumps({"outcome": outcome.value, "detail": detail}), flush=True)
    return 0 if outcome is Outcome.SUCCEEDED else 1


if __name__ == "__main__":
    sys.exit(main())
