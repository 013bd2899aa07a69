"""The account registry as a transactional handler around `decide` and `evolve`.

Per account command: decide against state, write the event to the same partition number of
the accounts topic, and the answer to the requester's reply partition; records that are not
account commands are dead-lettered. The intake, the answers and the state's lifecycle are
the sequencer's (streams/log_writer.py); this class adds the account rules and answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar, cast, get_args

from kafkalog.cold.reader import ArchiveReader
from schemas import models as m
from schemas.models import RejectionCode
from schemas.record import AvroRecord
from schemas.topics import Topics
from streams.accounts.decide import DEFAULT_LIMITS, Limits, decide, evolve
from streams.accounts.state import AccountState
from streams.decisions import Decision
from streams.log_writer import Intake, LogWriter

MAX_ACCOUNT_COMMAND_BYTES = 16 * 1024
"""An account command is small (a name, a device); a larger one is refused `too_large`."""

class AccountRegistry(LogWriter[AccountState]):
    """The only writer of the accounts topic."""

    command_types: ClassVar[tuple[type[AvroRecord], ...]] = get_args(m.AccountCommand)
    subject = "account"
    logger: ClassVar[logging.Logger] = logging.getLogger("parley.accounts")

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Topics,
        state: AccountState,
        limits: Limits = DEFAULT_LIMITS,
        max_command_bytes: int = MAX_ACCOUNT_COMMAND_BYTES,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        group_id: str,
        archive: ArchiveReader | None = None,
    ) -> None:
        super().__init__(
            bootstrap=bootstrap,
            topics=topics,
            input_topic=topics.account_commands,
            log_topic=topics.accounts,
            state=state,
            max_command_bytes=max_command_bytes,
            group_id=group_id,
            archive=archive,
        )
        self.limits = limits
        self.clock = clock

    def fold(self, event: AvroRecord) -> bool:
        return evolve(self.state, cast(m.AccountEvent, event))

    def key_of(self, command: AvroRecord) -> str:
        return cast(m.AccountCommand, command).meta.user_id

    def rejection(self, command: AvroRecord, code: RejectionCode, reason: str) -> AvroRecord:
        meta = cast(m.AccountCommand, command).meta
        return m.CommandRejected(
            command_id=meta.command_id,
            actor=m.Actor(user_id=meta.user_id, device_id=meta.device_id),
            client_msg_id=meta.client_msg_id,
            code=code,
            reason=reason,
        )

    def acceptance(self, intake: Intake, seq: int | None, duplicate: bool) -> AvroRecord:
        return m.AccountCommandAccepted(
            command_id=cast(m.AccountCommand, intake.command).meta.command_id,
            user_id=intake.key,
            seq=seq,
            duplicate=duplicate,
        )

    def decide(self, command: AvroRecord) -> Decision[AvroRecord]:
        return decide(self.state, cast(m.AccountCommand, command), self.clock(), self.limits)
