"""The one door of every compliance action: the role check, then the audit record before the
action and the one with its outcome after (`_act`). An action is one method here.

The role is held per case (roles.py): a caller who holds no grant for the request's case is
refused (`forbidden`) and the refusal is audited; one without a valid token never gets here
(`unauthorized`, from the REST layer). If the audit record cannot be written, the action is
not performed (`unavailable`).

Adding an action: a `ComplianceAction` member in audit.py, a method here calling `_act` with
the case, a target and a `perform` coroutine (or `_begin`, when the action ends later, as an
export does), and a route in edge/rest.py's `ENDPOINTS`. Erasure, redaction and retention
are such methods over the service functions the operator's command line runs too
(edge/erasure.py, edge/redaction.py, edge/retention.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from edge.compliance.audit import (
    AuditedAction,
    AuditLog,
    AuditUnavailableError,
    ComplianceAction,
    Outcome,
)
from edge.compliance.audit_reader import AuditReader
from edge.compliance.export import ExportSpec
from edge.compliance.exports import ExportStore
from edge.compliance.jobs import ExportJobs
from edge.compliance.roles import ComplianceRoles
from edge.erasure import Erasures
from edge.erasure_status import ErasureStatuses
from edge.errors import ClientError, ErrorCode
from edge.protocol.answers import Sequenced
from edge.protocol.compliance import (
    AuditPage,
    AuditQuery,
    ErasureReport,
    ErasureRequest,
    ErasureStatus,
    ExportRequest,
    ExportStatus,
    RedactionRequest,
    RetentionRequest,
)
from edge.redaction import Redactions
from edge.retention import Retentions

T = TypeVar("T")
STALE_AFTER_MS = 60_000
"""A running export whose status has not moved for this long has lost its process."""

NOT_AN_OFFICER = ClientError(
    ErrorCode.FORBIDDEN, "this account holds no compliance role for that case"
)
AUDIT_DOWN = ClientError(
    ErrorCode.UNAVAILABLE, "the audit log did not take the record; nothing was done"
)
NO_SUCH_EXPORT = ClientError(ErrorCode.NOT_FOUND, "no such export")
NO_SUCH_ERASURE = ClientError(ErrorCode.NOT_FOUND, "no such erasure")


@dataclass(frozen=True)
class Caller:
    user_id: str
    device_id: str


class ComplianceService:
    def __init__(
        self,
        *,
        roles: ComplianceRoles,
        audit: AuditLog,
        audit_reader: AuditReader,
        exports: ExportStore,
        jobs: ExportJobs,
        erasures: Erasures,
        erasure_statuses: ErasureStatuses,
        redactions: Redactions,
        retentions: Retentions,
        origin: str,
        export_ttl_s: int,
        url_ttl_s: int,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.roles = roles
        self.audit = audit
        self.audit_reader = audit_reader
        self.exports = exports
        self.jobs = jobs
        self.erasures = erasures
        self.erasure_statuses = erasure_statuses
        self.redactions = redactions
        self.retentions = retentions
        self.origin = origin
        self.export_ttl_s = export_ttl_s
        self.url_ttl_s = url_ttl_s
        self.clock_ms = clock_ms

    async def close(self) -> None:
        """Cancels the exports this node runs, then lets go of the audit producer."""
        await self.jobs.close()
        self.audit.close()

    async def start_export(self, caller: Caller, request: ExportRequest) -> ExportStatus:
        if request.conversation_id is not None:
            kind, subject = "conversation", request.conversation_id
        else:
            kind, subject = "user", request.user_id or ""
        now = self.clock_ms()
        as_of = request.as_of_ms if request.as_of_ms is not None else now
        action = await self._begin(
            caller,
            case=request.case,
            action=ComplianceAction.EXPORT_CREATE,
            target=f"{kind}:{subject}",
            parameters={"mode": request.mode, "as_of_ms": str(as_of)},
        )
        spec = ExportSpec(
            export_id=uuid.uuid4().hex,
            case=request.case,
            subject_kind=kind,
            subject_id=subject,
            mode=request.mode,
            as_of_ms=as_of,
            created_at_ms=now,
            expires_at_ms=now + self.export_ttl_s * 1000,
            action_id=action.action_id,
            officer=caller.user_id,
            device_id=caller.device_id,
            origin=self.origin,
        )
        try:
            await self.jobs.start(spec)
        except Exception as e:
            await self._end(action, Outcome.FAILED, f"not started: {type(e).__name__}")
            raise
        found = await asyncio.to_thread(self.exports.status, spec.export_id)
        if found is None:
            raise ClientError(ErrorCode.UNAVAILABLE, "the export's status could not be read")
        return found

    async def export_status(self, caller: Caller, export_id: str) -> ExportStatus:
        """Progress, and once done the files with download URLs valid for minutes."""
        if not self.roles.cases_of(caller.user_id):
            await self._refuse(caller, "-", ComplianceAction.EXPORT_STATUS, f"export:{export_id}")
            raise NOT_AN_OFFICER
        status = await asyncio.to_thread(self.exports.status, export_id)
        if status is None:
            raise NO_SUCH_EXPORT

        async def answer(_: AuditedAction) -> ExportStatus:
            return await asyncio.to_thread(self._answered, status)

        return await self._act(
            caller,
            case=status.case,
            action=ComplianceAction.EXPORT_STATUS,
            target=f"export:{export_id}",
            parameters={},
            perform=answer,
            detail=lambda found: (
                f"state={found.state}" + (" links" if found.urls_expire_at_ms else "")
            ),
        )

    async def read_audit(self, caller: Caller, query: AuditQuery) -> AuditPage:
        filters = query.model_dump(exclude={"case"}, exclude_none=True)

        async def read(_: AuditedAction) -> AuditPage:
            return await asyncio.to_thread(self.audit_reader.page, query)

        return await self._act(
            caller,
            case=query.case,
            action=ComplianceAction.AUDIT_READ,
            target="audit",
            parameters={k: str(v) for k, v in filters.items()},
            perform=read,
            detail=lambda page: f"entries={len(page.entries)} next_cursor={page.next_cursor}",
        )

    async def erase(self, caller: Caller, request: ErasureRequest) -> ErasureReport:
        """Erase a person (edge/erasure.py); the audit's detail is the report's counts."""
        parameters = {"erasure_id": request.erasure_id} if request.erasure_id else {}

        async def perform(_: AuditedAction) -> ErasureReport:
            return await self.erasures.erase(
                caller.user_id, request.user_id, request.case_ref, request.erasure_id
            )

        return await self._act(
            caller,
            case=request.case_ref,
            action=ComplianceAction.ERASURE_CREATE,
            target=f"user:{request.user_id}",
            parameters=parameters,
            perform=perform,
            detail=lambda report: (
                f"erasure_id={report.erasure_id} account_seq={report.account_seq} "
                f"key_destroyed={report.key_destroyed} "
                f"conversations={len(report.conversations)}"
            ),
        )

    async def erasure_status(self, caller: Caller, erasure_id: str) -> ErasureStatus:
        """An erasure's report, store by store, counted now (edge/erasure_status.py), for
        officers of its case; an unknown erasure is `not_found` to every officer."""
        if not self.roles.cases_of(caller.user_id):
            await self._refuse(
                caller, "-", ComplianceAction.ERASURE_STATUS, f"erasure:{erasure_id}"
            )
            raise NOT_AN_OFFICER
        erasure = self.erasure_statuses.find(erasure_id)
        if erasure is None:
            raise NO_SUCH_ERASURE

        async def read(_: AuditedAction) -> ErasureStatus:
            return await self.erasure_statuses.status(erasure)

        return await self._act(
            caller,
            case=erasure.case_ref,
            action=ComplianceAction.ERASURE_STATUS,
            target=f"user:{erasure.user_id}",
            parameters={"erasure_id": erasure_id},
            perform=read,
            detail=lambda found: (
                f"complete={found.complete} "
                + " ".join(f"{s.store}={s.left}" for s in found.stores)
            ),
        )

    async def redact(self, caller: Caller, request: RedactionRequest) -> Sequenced:
        """Redact one message (edge/redaction.py). The reason is the officer's free text: it
        goes into the log's event, not into the audit, which holds ids only."""

        async def perform(_: AuditedAction) -> Sequenced:
            return await self.redactions.redact(
                caller.user_id,
                request.conversation_id,
                request.seq,
                request.reason,
                request.case_ref,
            )

        return await self._act(
            caller,
            case=request.case_ref,
            action=ComplianceAction.REDACTION_CREATE,
            target=f"conversation:{request.conversation_id}",
            parameters={"seq": str(request.seq)},
            perform=perform,
            detail=lambda done: f"seq={done.seq}",
        )

    async def set_retention(
        self, caller: Caller, conversation_id: str, request: RetentionRequest
    ) -> Sequenced:
        """Set a conversation's retention (edge/retention.py)."""
        days = "none" if request.keep_days is None else str(request.keep_days)

        async def perform(_: AuditedAction) -> Sequenced:
            return await self.retentions.set(caller.user_id, conversation_id, request.keep_days)

        return await self._act(
            caller,
            case=request.case_ref,
            action=ComplianceAction.RETENTION_SET,
            target=f"conversation:{conversation_id}",
            parameters={"keep_days": days},
            perform=perform,
            detail=lambda done: f"seq={done.seq}",
        )

    async def _act(
        self,
        caller: Caller,
        *,
        case: str,
        action: ComplianceAction,
        target: str,
        parameters: dict[str, str],
        perform: Callable[[AuditedAction], Awaitable[T]],
        detail: Callable[[T], str],
    ) -> T:
        """Check, audit the start, perform, audit the outcome: an action that ends with
        the request."""
        audited = await self._begin(
            caller, case=case, action=action, target=target, parameters=parameters
        )
        try:
            result = await perform(audited)
        except ClientError as e:
            await self._end(audited, Outcome.FAILED, e.code.value)
            raise
        except Exception as e:
            await self._end(audited, Outcome.FAILED, f"internal: {type(e).__name__}")
            raise
        await self._end(audited, Outcome.SUCCEEDED, detail(result))
        return result

    async def _begin(
        self,
        caller: Caller,
        *,
        case: str,
        action: ComplianceAction,
        target: str,
        parameters: dict[str, str],
    ) -> AuditedAction:
        """The role check and the start record; whoever ends the action calls `_end`."""
        if not self.roles.holds(caller.user_id, case):
            await self._refuse(caller, case, action, target)
            raise NOT_AN_OFFICER
        audited = AuditedAction(
            action=action,
            officer=caller.user_id,
            device_id=caller.device_id,
            case_ref=case,
            target=target,
            origin=self.origin,
            parameters=parameters,
        )
        try:
            await asyncio.to_thread(self.audit.started, audited)
        except AuditUnavailableError as e:
            raise AUDIT_DOWN from e
        return audited

    async def _end(self, audited: AuditedAction, outcome: Outcome, detail: str) -> None:
        try:
            await asyncio.to_thread(self.audit.ended, audited, outcome, detail)
        except AuditUnavailableError as e:
            raise AUDIT_DOWN from e

    async def _refuse(
        self, caller: Caller, case: str, action: ComplianceAction, target: str
    ) -> None:
        """A refusal is audited too (who tried what); if the audit is down, still refused."""
        refused = AuditedAction(
            action=action,
            officer=caller.user_id,
            device_id=caller.device_id,
            case_ref=case,
            target=target,
            origin=self.origin,
        )
        with contextlib.suppress(AuditUnavailableError):
            await asyncio.to_thread(self.audit.ended, refused, Outcome.REFUSED, "forbidden")

    def _answered(self, status: ExportStatus) -> ExportStatus:
        now = self.clock_ms()
        if status.state == "running" and now - status.updated_at_ms > STALE_AFTER_MS:
            return status.model_copy(
                update={
                    "state": "failed",
                    "error": "abandoned: the export stopped making progress; start it again",
                }
            )
        if status.state == "succeeded":
            return self.exports.with_links(status, self.url_ttl_s, now)
        return status
