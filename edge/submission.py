"""Commands to the log and their outcomes, for the account and command services: the ids
and metadata every command carries, and one translation of a timeout or a rejection into
what clients see (edge/errors.py)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from edge.errors import TIMEOUT, rejection_error
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import Topics, TopicSpec

AcceptedT = TypeVar("AcceptedT", m.CommandAccepted, m.AccountCommandAccepted)


class Gateway(Protocol):
    async def submit(
        self, topic: TopicSpec, key: str, command: AvroRecord, command_id: str, timeout_s: float
    ) -> AvroRecord: ...


class Submitter:
    """Produces a command keyed as its processor expects and waits for its outcome."""

    def __init__(
        self,
        *,
        topics: Topics,
        gateway: Gateway,
        timeout_s: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.topics = topics
        self.gateway = gateway
        self.timeout_s = timeout_s
        self.clock = clock

    def meta(
        self, cid: str, user_id: str, device_id: str, client_msg_id: str | None
    ) -> m.CommandMeta:
        return m.CommandMeta(
            command_id=str(uuid.uuid4()),
            conversation_id=cid,
            actor=m.Actor(user_id=user_id, device_id=device_id),
            client_msg_id=client_msg_id or str(uuid.uuid4()),
            issued_at=self.clock(),
        )

    def account_meta(
        self, user_id: str, device_id: str, client_msg_id: str | None
    ) -> m.AccountCommandMeta:
        return m.AccountCommandMeta(
            command_id=str(uuid.uuid4()),
            user_id=user_id,
            device_id=device_id,
            client_msg_id=client_msg_id or str(uuid.uuid4()),
            issued_at=self.clock(),
        )

    async def command(
        self, command: m.Command, timeout_s: float | None = None
    ) -> m.CommandAccepted:
        """A conversation's command, keyed by the conversation, to the sequencer; its
        outcome awaited for `timeout_s` (by default the request timeout)."""
        meta = command.meta
        key = meta.conversation_id
        return await self._submit(
            self.topics.commands, key, command, m.CommandAccepted, timeout_s
        )

    async def account_command(self, command: m.AccountCommand) -> m.AccountCommandAccepted:
        """An account's command, keyed by the user, to the accounts processor."""
        key = command.meta.user_id
        return await self._submit(
            self.topics.account_commands, key, command, m.AccountCommandAccepted
        )

    async def _submit(
        self,
        topic: TopicSpec,
        key: str,
        command: m.Command | m.AccountCommand,
        accepted: type[AcceptedT],
        timeout_s: float | None = None,
    ) -> AcceptedT:
        try:
            outcome = await self.gateway.submit(
                topic, key, command, command.meta.command_id, timeout_s or self.timeout_s
            )
        except TimeoutError as e:
            raise TIMEOUT from e
        if isinstance(outcome, m.CommandRejected):
            raise rejection_error(outcome.code, outcome.reason)
        if not isinstance(outcome, accepted):
            raise TypeError(f"{type(command).__name__} was answered with {outcome!r}")
        return outcome
