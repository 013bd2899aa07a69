"""What every single writer of a log shares: command intake, answers, state kept as a log cache.

The conversation sequencer and the account registry differ in their commands, events and
rules, not in how they read a command record, refuse a bad one, write an event, or keep
their state in step with the topic they write. That common part lives here, as the
`RecordHandler` half of streams/transactional.py; docs/sequencer.md says why it is safe.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar, cast

from confluent_kafka import Message

from kafkalog.cold.reader import ArchiveReader
from kafkalog.dead_letters import DeadLetters
from kafkalog.decoding import Unusable, UnusableRecordError, decode_value
from kafkalog.records import header_pairs, position
from kafkalog.replay import replay
from schemas import codec
from schemas import models as m
from schemas.models import RejectionCode
from schemas.partitioning import partition_for
from schemas.record import AvroRecord
from schemas.topics import REPLY_PARTITION_HEADER, Topics, TopicSpec
from streams import metrics
from streams.decisions import Accepted, Decision, Duplicate, Rejected, Unchanged
from streams.state import LoggedState
from streams.transactional import TransactionOutput
from telemetry.tracing import annotate

REFUSAL_CODES = {
    Unusable.UNKNOWN_SCHEMA: RejectionCode.UNKNOWN_SCHEMA,
    Unusable.MALFORMED: RejectionCode.MALFORMED,
    Unusable.UNEXPECTED: RejectionCode.INVALID,
}


StateT = TypeVar("StateT", bound=LoggedState)


class SequencedMeta(Protocol):
    @property
    def seq(self) -> int: ...


class Sequenced(Protocol):
    """An event of a writer's log: conversation and account events alike."""

    @property
    def meta(self) -> SequencedMeta: ...


@dataclass(frozen=True)
class Intake:
    """A command that passed the record-level checks, and where it and its answer belong."""

    command: AvroRecord
    key: str
    partition: int
    reply_partition: int


class LogWriter(ABC, Generic[StateT]):
    """The only writer of `log_topic`, answering the commands of `input_topic`.

    A subclass names its command types, the partitioning key of a command (`key_of`), its
    pure core (`decide`, `fold`) and how its answers read (`rejection`, `acceptance`);
    `handle` takes a record through `intake`, `decide` and `settle`.
    """

    command_types: ClassVar[tuple[type[AvroRecord], ...]]
    subject: ClassVar[str]
    """What a command's key names, for reasons: "conversation", "account"."""
    logger: ClassVar[logging.Logger]

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Topics,
        input_topic: TopicSpec,
        log_topic: TopicSpec,
        state: StateT,
        max_command_bytes: int,
        group_id: str,
        archive: ArchiveReader | None = None,
    ) -> None:
        """`group_id`: the loop's consumer group, named on what this writer parks;
        `archive`: where the log's records are once its retention has dropped them."""
        self.bootstrap = bootstrap
        self.topics = topics
        self.input_topic = input_topic
        self.log_topic = log_topic
        self.state = state
        self.max_command_bytes = max_command_bytes
        self.archive = archive
        self.dead_letters = DeadLetters(topics.dead_letters.name, group_id, metrics.dead_letters)
        self.log_types = tuple(
            t
            for t in m.RECORD_TYPES.values()
            if t.avro_name.startswith(f"{log_topic.value_namespace}.")
        )

    @abstractmethod
    def fold(self, event: AvroRecord) -> bool:
        """Apply one event of the log to state; False when it was already applied."""

    @abstractmethod
    def key_of(self, command: AvroRecord) -> str:
        """The key that places `command` (and its events) in a partition."""

    @abstractmethod
    def rejection(self, command: AvroRecord, code: RejectionCode, reason: str) -> AvroRecord:
        """The answer refusing `command`, addressed back to its sender."""

    @abstractmethod
    def decide(self, command: AvroRecord) -> Decision[AvroRecord]:
        """The pure core's answer to `command`, against state as it is now."""

    @abstractmethod
    def acceptance(self, intake: Intake, seq: int | None, duplicate: bool) -> AvroRecord:
        """The answer accepting the command: the seq of its event (its earlier one, for a
        duplicate), or None when it changed nothing."""

    def assigned(self, partitions: list[int]) -> None:
        """Fold every committed event after the stored position into state, after dropping
        what state kept in memory (another lane may have owned these partitions and written
        the store since), from the archive where the log no longer holds it (a lost store
        after the retention passed). An event that does not decode stops the worker
        (kafkalog's policy), and so do events in neither the log nor the archive
        (`HistoryLostError`): deciding needs every event of the log this writer keeps."""
        applied = 0

        def apply(record: Message) -> None:
            nonlocal applied
            applied += self.fold(decode_value(record.value() or b"", self.log_types, "an event"))

        self.state.forget()
        starts = {p: self.state.applied_offset(p) for p in partitions}
        self.state.flush(
            replay(self.bootstrap, self.log_topic.name, starts, apply, archive=self.archive)
        )
        self.logger.info("assigned %s: state caught up, %d events applied", partitions, applied)

    def handle(self, record: Message, out: TransactionOutput) -> None:
        intake = self.intake(record, out)
        if intake is not None:
            self.settle(out, intake, self.decide(intake.command))

    def committed(self, out: TransactionOutput) -> None:
        written = out.tracked_offsets.get(self.log_topic.name, {})
        self.state.flush({p: o + 1 for p, o in written.items()})

    def aborted(self) -> None:
        self.state.discard()

    def intake(self, record: Message, out: TransactionOutput) -> Intake | None:
        """The record's command, or None once the record has been refused and answered.

        Undecodable records and records of other types are dead-lettered; an oversized or
        misrouted command is only rejected, since it is a well-formed command.
        """
        value = record.value() or b""
        reply_partition = self._reply_partition(record)
        try:
            command = decode_value(value, self.command_types, "a command")
        except UnusableRecordError as e:
            code = REFUSAL_CODES[e.kind]
            self._refuse_record(out, record, reply_partition, code, e.reason)
            return None
        key = self.key_of(command)
        if reply_partition is None:
            reply_partition = partition_for(key, self.topics.outcomes.partitions)
        intake = Intake(command, key, position(record)[0], reply_partition)
        if len(value) > self.max_command_bytes:
            reason = f"command is {len(value)} bytes; the limit is {self.max_command_bytes}"
            self.reject(out, intake, RejectionCode.TOO_LARGE, reason)
        elif partition_for(key, self.input_topic.partitions) != intake.partition:
            reason = f"command is in the wrong partition for its {self.subject}"
            self.reject(out, intake, RejectionCode.INVALID, reason)
        else:
            return intake
        return None

    def append(self, out: TransactionOutput, intake: Intake, event: AvroRecord) -> None:
        """Fold `event` into pending state and write it to the log, beside its command."""
        self.fold(event)
        out.produce(
            self.log_topic.name, intake.partition, intake.key, codec.encode(event), track=True
        )

    def answer(self, out: TransactionOutput, intake: Intake, outcome: AvroRecord) -> None:
        if out.traced:
            seq = getattr(outcome, "seq", None)
            annotate(
                {
                    f"parley.{self.subject}": intake.key,
                    "parley.outcome": outcome.avro_name.rsplit(".", 1)[-1],
                    **({"parley.seq": seq} if isinstance(seq, int) else {}),
                }
            )
        out.produce(
            self.topics.outcomes.name, intake.reply_partition, intake.key, codec.encode(outcome)
        )

    def settle(
        self, out: TransactionOutput, intake: Intake, decision: Decision[AvroRecord]
    ) -> None:
        """Write what `decide` answered: the event and the acceptance, or the refusal."""
        seq: int | None = None
        match decision:
            case Rejected(code=code, reason=reason):
                self.reject(out, intake, code, reason)
                return
            case Accepted(event=event):
                self.append(out, intake, event)
                seq = cast(Sequenced, event).meta.seq
            case Duplicate(seq=earlier):
                seq = earlier
            case Unchanged():
                seq = None
        self.answer(out, intake, self.acceptance(intake, seq, isinstance(decision, Duplicate)))

    def reject(
        self, out: TransactionOutput, intake: Intake, code: RejectionCode, reason: str
    ) -> None:
        metrics.rejections.labels(self.input_topic.name, code.value).inc()
        self.answer(out, intake, self.rejection(intake.command, code, reason))

    def _refuse_record(
        self,
        out: TransactionOutput,
        record: Message,
        reply_partition: int | None,
        code: RejectionCode,
        reason: str,
    ) -> None:
        """Dead-letter a record that is no command; answer only if it said where to."""
        metrics.rejections.labels(self.input_topic.name, code.value).inc()
        self.dead_letters.park(out, record, reason)
        if reply_partition is None:
            return
        rejected = m.CommandRejected(code=code, reason=reason)
        out.produce(self.topics.outcomes.name, reply_partition, None, codec.encode(rejected))

    def _reply_partition(self, record: Message) -> int | None:
        for name, value in header_pairs(record):
            if name == REPLY_PARTITION_HEADER and value is not None:
                try:
                    partition = int(value)
                except ValueError:
                    return None
                return partition if 0 <= partition < self.topics.outcomes.partitions else None
        return None
