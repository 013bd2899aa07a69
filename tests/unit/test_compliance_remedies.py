"""Erasure, redaction and retention through the compliance door (edge/compliance/service.py):
the role checked first, the audit's start record before the command is produced and its
outcome after, a refusal audited without a start, an audit that is down stopping the action,
and the processors' refusals answered as clear errors (and audited as failures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from edge.compliance.audit import AuditedAction, AuditUnavailableError, Outcome
from edge.compliance.roles import ComplianceRoles
from edge.compliance.service import Caller, ComplianceService
from edge.erasure import Erasures
from edge.errors import ClientError, ErrorCode
from edge.protocol.compliance import ErasureRequest, RedactionRequest, RetentionRequest
from edge.redaction import Redactions
from edge.retention import Retentions
from edge.submission import Submitter
from schemas import models as m
from schemas.models import RejectionCode
from schemas.record import AvroRecord
from schemas.topics import TopicSpec, declare_topics
from sealing.keyids import person_key_id
from sealing.keystore import SqliteKeyStore

OLGA = Caller("olga", "laptop")
CASE = "CASE-1"


class Audit:
    """The audit log as the door sees it: every record, in order; `down` refuses them."""

    def __init__(self) -> None:
        self.records: list[tuple[str, str, str, str]] = []
        self.down = False

    def started(self, action: AuditedAction) -> None:
        if self.down:
            raise AuditUnavailableError("no broker")
        self.records.append(("started", action.action.value, action.target, ""))

    def ended(self, action: AuditedAction, outcome: Outcome, detail: str = "") -> None:
        self.records.append((outcome.value, action.action.value, action.target, detail))


class Gateway:
    """The processors: each command is answered by `answer`; the audit must already hold the
    action's start when a command is produced."""

    def __init__(self, audit: Audit) -> None:
        self.audit = audit
        self.commands: list[AvroRecord] = []
        self.rejection: RejectionCode | None = None

    async def submit(
        self, topic: TopicSpec, key: str, command: AvroRecord, command_id: str, timeout_s: float
    ) -> AvroRecord:
        assert self.audit.records and self.audit.records[-1][0] == "started"
        self.commands.append(command)
        if self.rejection is not None:
            return m.CommandRejected(command_id=command_id, code=self.rejection, reason="no")
        if isinstance(command, m.EraseAccount):
            return m.AccountCommandAccepted(command_id=command_id, user_id=key, seq=7)
        return m.CommandAccepted(
            command_id=command_id,
            conversation_id=key,
            actor=m.Actor(user_id="x", device_id="y"),
            client_msg_id="c",
            seq=len(self.commands) + 10,
        )


@pytest.fixture
def door(tmp_path: Path) -> tuple[ComplianceService, Audit, Gateway, SqliteKeyStore]:
    audit = Audit()
    gateway = Gateway(audit)
    submitter = Submitter(topics=declare_topics("t", partitions=1), gateway=gateway, timeout_s=1)
    keys = SqliteKeyStore(tmp_path / "keys.sqlite")
    roles = ComplianceRoles(cases={"olga": {CASE}})

    async def conversations(user_id: str) -> list[str]:
        return ["dm-a", "g-b"]

    async def no_media(user_id: str, conversation_id: str) -> set[str]:
        return set()

    unused = cast(Any, None)
    service = ComplianceService(
        roles=roles,
        audit=cast(Any, audit),
        audit_reader=unused,
        exports=unused,
        jobs=unused,
        erasures=Erasures(
            submitter=submitter,
            keys=keys,
            conversations=conversations,
            media_sent_by=no_media,
            request_media_erasures=unused,
            forget=lambda u: None,
        ),
        erasure_statuses=unused,
        redactions=Redactions(submitter=submitter),
        retentions=Retentions(submitter=submitter),
        origin="edge-0",
        export_ttl_s=60,
        url_ttl_s=60,
    )
    return service, audit, gateway, keys


Door = tuple[ComplianceService, Audit, Gateway, SqliteKeyStore]


async def test_a_redaction_is_audited_before_and_after_and_sent_as_the_compliance_actor(
    door: Door,
) -> None:
    service, audit, gateway, _ = door
    request = RedactionRequest(case_ref=CASE, conversation_id="dm-a", seq=3, reason="order")
    done = await service.redact(OLGA, request)
    [command] = gateway.commands
    assert isinstance(command, m.RedactMessage)
    assert (command.meta.actor.user_id, command.target_seq, command.reason) == (
        "compliance:olga",
        3,
        "CASE-1: order",
    )
    assert audit.records == [
        ("started", "redaction.create", "conversation:dm-a", ""),
        ("succeeded", "redaction.create", "conversation:dm-a", f"seq={done.seq}"),
    ]


async def test_a_caller_without_the_cases_role_is_refused_and_nothing_is_sent(door: Door) -> None:
    service, audit, gateway, keys = door
    stranger = Caller("ann", "phone")
    other_case = RetentionRequest(case_ref="CASE-2", keep_days=30)
    redaction = RedactionRequest(case_ref=CASE, conversation_id="c", seq=1, reason="r")
    for attempt in (
        service.redact(stranger, redaction),
        service.erase(stranger, ErasureRequest(case_ref=CASE, user_id="bob")),
        service.set_retention(OLGA, "dm-a", other_case),
    ):
        with pytest.raises(ClientError) as refused:
            await attempt
        assert refused.value.code == ErrorCode.FORBIDDEN
    assert gateway.commands == []
    assert [r[:2] for r in audit.records] == [
        ("refused", "redaction.create"),
        ("refused", "erasure.create"),
        ("refused", "retention.set"),
    ]
    keys.close()


async def test_nothing_is_done_when_the_audit_does_not_take_the_start(door: Door) -> None:
    service, audit, gateway, _ = door
    audit.down = True
    with pytest.raises(ClientError) as refused:
        await service.set_retention(OLGA, "dm-a", RetentionRequest(case_ref=CASE, keep_days=30))
    assert refused.value.code == ErrorCode.UNAVAILABLE
    assert gateway.commands == []


@pytest.mark.parametrize(
    ("rejection", "code"),
    [
        (RejectionCode.NO_SUCH_MESSAGE, ErrorCode.NO_SUCH_MESSAGE),
        (RejectionCode.NO_SUCH_CONVERSATION, ErrorCode.NOT_FOUND),
        (RejectionCode.INVALID, ErrorCode.INVALID),
    ],
)
async def test_a_refusal_of_the_sequencer_is_a_clear_error_and_an_audited_failure(
    door: Door, rejection: RejectionCode, code: ErrorCode
) -> None:
    service, audit, gateway, _ = door
    gateway.rejection = rejection
    request = RedactionRequest(case_ref=CASE, conversation_id="dm-a", seq=99, reason="order")
    with pytest.raises(ClientError) as failed:
        await service.redact(OLGA, request)
    assert failed.value.code == code
    assert audit.records[-1] == ("failed", "redaction.create", "conversation:dm-a", code.value)


async def test_retention_sends_set_retention_and_null_means_no_rule(door: Door) -> None:
    service, audit, gateway, _ = door
    await service.set_retention(OLGA, "g-b", RetentionRequest(case_ref=CASE, keep_days=None))
    [command] = gateway.commands
    assert isinstance(command, m.SetRetention)
    assert (command.meta.actor.user_id, command.keep_days) == ("compliance:olga", None)
    assert [r[:2] for r in audit.records] == [
        ("started", "retention.set"),
        ("succeeded", "retention.set"),
    ]


async def test_an_erasure_answers_its_report_and_the_audit_has_its_counts(door: Door) -> None:
    service, audit, gateway, keys = door
    keys.create(person_key_id("bob"))
    report = await service.erase(OLGA, ErasureRequest(case_ref=CASE, user_id="bob"))
    assert (report.account_seq, report.key_destroyed) == (7, True)
    assert [c.conversation_id for c in report.conversations] == ["dm-a", "g-b"]
    assert isinstance(gateway.commands[0], m.EraseAccount)
    assert audit.records[0] == ("started", "erasure.create", "user:bob", "")
    assert audit.records[-1][:3] == ("succeeded", "erasure.create", "user:bob")
    assert f"erasure_id={report.erasure_id}" in audit.records[-1][3]
    assert "conversations=2" in audit.records[-1][3]
    keys.close()
