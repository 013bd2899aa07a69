"""The compliance audit log's writer: one record before each action, one with its outcome.

The audit is a topic of its own (`<prefix>.audit`: one partition, kept forever, never
compacted; schemas/topics.py). A `ComplianceActionStarted` is written, and acknowledged by
every in-sync replica, before the action is performed: if the broker does not take it, the
action is not performed (`AuditUnavailableError`). Its `ComplianceActionEnded` follows with
the outcome. A refusal (a caller without the role) is one `ComplianceActionEnded` with
outcome `refused` and no start: nothing was performed. No API edits or deletes a record:
the edge has no route that writes this topic but through here, and none that deletes.

What goes in: ids (officer, device, case, target), the action's name, its parameters
(instants, modes, filters) and, at the end, an error code or counts and digests. Never a
message's text, a name or a file's content: the erasure proof scans every byte Parley
writes for a person's text, and the audit is kept forever (docs/compliance.md).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from confluent_kafka import KafkaError, Message, Producer

from kafkalog.output import produce_waiting
from kafkalog.presets import AUDITED, producer
from schemas import codec
from schemas import models as m
from schemas.topics import TopicSpec

ACK_WAIT_S = 15.0
"""Longer than the preset's delivery timeout, so that librdkafka's own verdict comes first."""
POLL_S = 0.05


class ComplianceAction(StrEnum):
    """Every action an officer or an operator can take. A string on the wire, so a new
    action needs no schema change."""

    EXPORT_CREATE = "export.create"
    EXPORT_STATUS = "export.status"
    AUDIT_READ = "audit.read"
    ROLE_GRANT = "role.grant"
    ROLE_REVOKE = "role.revoke"
    ERASURE_CREATE = "erasure.create"
    ERASURE_STATUS = "erasure.status"
    REDACTION_CREATE = "redaction.create"
    RETENTION_SET = "retention.set"


class Outcome(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"


class AuditUnavailableError(RuntimeError):
    """The broker did not acknowledge an audit record: the action must not go ahead."""


@dataclass(frozen=True)
class AuditedAction:
    """One action as the audit names it; `action_id` pairs its two records."""

    action: ComplianceAction
    officer: str
    device_id: str
    case_ref: str
    target: str
    origin: str
    parameters: dict[str, str] = field(default_factory=dict)
    action_id: str = field(default_factory=lambda: str(uuid.uuid4()))


class AuditLog:
    """Blocking writes (each waits for its acknowledgement): the edge calls them from a
    thread (`asyncio.to_thread`), the export job and the operator's command directly."""

    def __init__(
        self,
        bootstrap: str,
        topic: TopicSpec,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.topic = topic
        self.clock = clock
        self.producer = Producer(producer(bootstrap, AUDITED))

    def started(self, action: AuditedAction) -> None:
        self._write(
            action.action_id,
            m.ComplianceActionStarted(
                action_id=action.action_id,
                action=action.action.value,
                officer=action.officer,
                device_id=action.device_id,
                case_ref=action.case_ref,
                target=action.target,
                parameters=action.parameters,
                origin=action.origin,
                occurred_at=self.clock(),
            ),
        )

    def ended(self, action: AuditedAction, outcome: Outcome, detail: str = "") -> None:
        self._write(
            action.action_id,
            m.ComplianceActionEnded(
                action_id=action.action_id,
                action=action.action.value,
                officer=action.officer,
                device_id=action.device_id,
                case_ref=action.case_ref,
                target=action.target,
                outcome=outcome.value,
                detail=detail,
                origin=action.origin,
                occurred_at=self.clock(),
            ),
        )

    def close(self) -> None:
        self.producer.flush(ACK_WAIT_S)

    def _write(self, key: str, record: m.ComplianceAudit) -> None:
        reports: list[KafkaError | None] = []
        done = threading.Event()

        def report(error: KafkaError | None, _: Message) -> None:
            reports.append(error)
            done.set()

        produce_waiting(
            self.producer, self.topic.name, 0, key, codec.encode(record), on_delivery=report
        )
        deadline = time.monotonic() + ACK_WAIT_S
        while not done.is_set():
            if time.monotonic() > deadline:
                raise AuditUnavailableError(f"no acknowledgement in {ACK_WAIT_S:.0f} s")
            self.producer.poll(POLL_S)
        if reports[0] is not None:
            raise AuditUnavailableError(str(reports[0]))
