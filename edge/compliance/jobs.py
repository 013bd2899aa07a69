"""The edge's side of export jobs: start each in a process of its own (`job.py`), and record
the end of one that died without recording it itself.

The edge writes the export's first status before the process starts, so that any node
answers for it at once, and keeps the process's standard input open: closing it (the edge
stopping) cancels the export, which then ends itself as `failed`. A process that exits
without printing its outcome (killed, crashed) left its action open: the edge writes the
failed status and the audit record that ends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys

from edge.compliance.audit import AuditLog, Outcome
from edge.compliance.export import ExportSpec
from edge.compliance.exports import ExportStore
from edge.compliance.job import action_of, initial_status, now_ms

log = logging.getLogger("parley.compliance")
STOP_WAIT_S = 15.0


class ExportJobs:
    def __init__(self, *, store: ExportStore, audit: AuditLog) -> None:
        self.store = store
        self.audit = audit
        self.running: dict[str, tuple[asyncio.subprocess.Process, asyncio.Task[None]]] = {}

    async def start(self, spec: ExportSpec) -> None:
        await asyncio.to_thread(self.store.put_status, initial_status(spec))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "edge.compliance.job",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        if process.stdin is None:
            raise RuntimeError("the export process has no standard input")
        process.stdin.write(spec.model_dump_json().encode() + b"\n")
        await process.stdin.drain()
        watcher = asyncio.create_task(self._watch(process, spec))
        self.running[spec.export_id] = (process, watcher)

    async def close(self) -> None:
        """Cancel every running export (each ends itself as failed), waiting a while."""
        for process, _ in self.running.values():
            if process.stdin is not None:
                process.stdin.close()
        watchers = [watcher for _, watcher in self.running.values()]
        if watchers:
            await asyncio.wait(watchers, timeout=STOP_WAIT_S)

    async def _watch(self, process: asyncio.subprocess.Process, spec: ExportSpec) -> None:
        try:
            output = await process.stdout.read() if process.stdout is not None else b""
            code = await process.wait()
            if _reported(output):
                return
            log.error("export %s: its process exited %d without ending it", spec.export_id, code)
            await asyncio.to_thread(self._end_abandoned, spec, code)
        finally:
            self.running.pop(spec.export_id, None)

    def _end_abandoned(self, spec: ExportSpec, code: int) -> None:
        detail = f"internal: export process exited {code}"
        try:
            status = initial_status(spec).model_copy(
                update={"state": "failed", "error": detail, "updated_at_ms": now_ms()}
            )
            self.store.put_status(status)
        finally:
            self.audit.ended(action_of(spec), Outcome.FAILED, detail)


def _reported(output: bytes) -> bool:
    lines = output.decode(errors="replace").strip().splitlines()
    if not lines:
        return False
    try:
        return "outcome" in json.loads(lines[-1])
    except ValueError:
        return False
