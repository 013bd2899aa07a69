"""A conversation's retention, set by an officer (docs/compliance.md, "Retention and
disappearing messages"): the service function behind `PUT /v1/compliance/retention/{id}`.
The sequencer's rule writes `RetentionSet`, which applies to messages sent after it."""

from __future__ import annotations

from edge.erasure import COMPLIANCE_DEVICE, COMPLIANCE_PREFIX
from edge.errors import ClientError, ErrorCode
from edge.protocol.answers import Sequenced
from edge.submission import Submitter
from schemas import models as m


class Retentions:
    def __init__(self, *, submitter: Submitter) -> None:
        self.submitter = submitter

    async def set(self, officer: str, conversation_id: str, keep_days: int | None) -> Sequenced:
        """Keep the conversation's new messages `keep_days` days (None: no rule of its own);
        the caller has checked that `officer` may. Null seq: it was already so."""
        if not officer:
            raise ClientError(ErrorCode.INVALID, "a retention names its officer")
        command = m.SetRetention(
            meta=self.submitter.meta(
                conversation_id, COMPLIANCE_PREFIX + officer, COMPLIANCE_DEVICE, None
            ),
            keep_days=keep_days,
        )
        return Sequenced(seq=(await self.submitter.command(command)).seq)
