"""The conversation sequencer as a transactional handler around `decide` and `evolve`.

Per command: decide against state (with the batch's own earlier events folded in), write
the event to the same partition number of the events topic, the answer to the requester's
reply partition, and undecodable records to the dead-letter topic. State reaches RocksDB
only after the transaction commits (see streams/transactional.py and streams/log_writer.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar, cast

from kafkalog.cold.reader import ArchiveReader
from schemas import models as m
from schemas.models import RejectionCode
from schemas.record import AvroRecord
from schemas.topics import Topics
from streams.decisions import Decision
from streams.log_writer import Intake, LogWriter
from streams.sequencer.decide import decide, evolve
from streams.sequencer.rules import DEFAULT_LIMITS, Limits
from streams.sequencer.state import SequencerState

COMMAND_TYPES = tuple(
    t for t in m.RECORD_TYPES.values() if t.avro_name.startswith("parley.command.")
)


class ConversationSequencer(LogWriter[SequencerState]):
    """The only writer of the events topic."""

    command_types = COMMAND_TYPES
    subject = "conversation"
    logger: ClassVar[logging.Logger] = logging.getLogger("parley.sequencer")

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Topics,
        state: SequencerState,
        limits: Limits = DEFAULT_LIMITS,
        max_command_bytes: int = 256 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        group_id: str,
        archive: ArchiveReader | None = None,
    ) -> None:
        super().__init__(
            bootstrap=bootstrap,
            topics=topics,
            input_topic=topics.commands,
            log_topic=topics.events,
            state=state,
            max_command_bytes=max_command_bytes,
            group_id=group_id,
            archive=archive,
        )
        self.limits = limits
        self.clock = clock

    def fold(self, event: AvroRecord) -> bool:
        return evolve(self.state, cast(m.Event, event))

    def key_of(self, command: AvroRecord) -> str:
        return cast(m.Command, command).meta.conversation_id

    def rejection(self, command: AvroRecord, code: RejectionCode, reason: str) -> AvroRecord:
        meta = cast(m.Command, command).meta
        return m.CommandRejected(
            command_id=meta.command_id,
            conversation_id=meta.conversation_id,
            actor=meta.actor,
            client_msg_id=meta.client_msg_id,
            code=code,
            reason=reason,
        )

    def acceptance(self, intake: Intake, seq: int | None, duplicate: bool) -> AvroRecord:
        meta = cast(m.Command, intake.command).meta
        return m.CommandAccepted(
            command_id=meta.command_id,
            conversation_id=meta.conversation_id,
            actor=meta.actor,
            client_msg_id=meta.client_msg_id,
            seq=seq,
            duplicate=duplicate,
        )

    def decide(self, command: AvroRecord) -> Decision[AvroRecord]:
        return decide(self.state, cast(m.Command, command), self.clock(), self.limits)
