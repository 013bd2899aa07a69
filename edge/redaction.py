"""Redaction of one message by an officer (docs/compliance.md, "Redaction of a message"): the
service function behind the compliance REST and the operator's command line
(`python -m edge.operator redact`). The sequencer writes `MessageRedacted` (its seq keeps the
order dense); every view drops the message's content (history bytes and latest edit, inbox
preview, search document with a purge of its segment) and every member's devices get the
event as a push, which tells them to drop the content."""

from __future__ import annotations

from edge.erasure import COMPLIANCE_DEVICE, COMPLIANCE_PREFIX
from edge.errors import ClientError, ErrorCode
from edge.protocol.answers import Sequenced
from edge.submission import Submitter
from schemas import models as m


class Redactions:
    def __init__(self, *, submitter: Submitter) -> None:
        self.submitter = submitter

    async def redact(
        self, officer: str, conversation_id: str, seq: int, reason: str, case_ref: str
    ) -> Sequenced:
        """Redact the message at `seq`; the caller has checked that `officer` may. The case
        goes into the event's reason, so the log says why."""
        if not officer or not case_ref.strip() or not reason.strip():
            raise ClientError(ErrorCode.INVALID, "a redaction names its officer, case and reason")
        if seq < 1:
            raise ClientError(ErrorCode.INVALID, "seq is 1 or more")
        command = m.RedactMessage(
            meta=self.submitter.meta(
                conversation_id, COMPLIANCE_PREFIX + officer, COMPLIANCE_DEVICE, None
            ),
            target_seq=seq,
            reason=f"{case_ref}: {reason}",
        )
        return Sequenced(seq=(await self.submitter.command(command)).seq)
