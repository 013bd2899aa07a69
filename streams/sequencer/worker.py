"""The conversation sequencer as a transactional handler around `decide` and `evolve`.

Per command: decide against state (with the batch's own earlier events folded in), write
the event to the same partition number of the events topic, the answer to the requester's
reply partition, and undecodable records to the dead-letter topic. State reaches RocksDB
only after the transaction commits (see streams/transactional.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import cast

from confluent_kafka import Message

from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.models import RejectionCode
from schemas.partitioning import partition_for
from schemas.topics import Topics
from streams.sequencer.decide import (
    Accepted,
    Decision,
    Duplicate,
    Rejected,
    Unchanged,
    decide,
    evolve,
)
from streams.sequencer.rules import DEFAULT_LIMITS, Limits
from streams.sequencer.state import SequencerState
from streams.transactional import TransactionOutput, header_pairs, position, replay

log = logging.getLogger("parley.sequencer")

REPLY_PARTITION_HEADER = "parley-reply-partition"
COMMAND_TYPES = tuple(
    t for t in m.RECORD_TYPES.values() if t.avro_name.startswith("parley.command.")
)


class ConversationSequencer:
    """The only writer of the events topic."""

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Topics,
        state: SequencerState,
        limits: Limits = DEFAULT_LIMITS,
        max_command_bytes: int = 256 * 1024,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.state = state
        self.limits = limits
        self.max_command_bytes = max_command_bytes
        self.clock = clock

    def assigned(self, partitions: list[int]) -> None:
        """Fold every committed event after the stored position into state."""
        applied = 0

        def apply(record: Message) -> None:
            nonlocal applied
            applied += evolve(self.state, cast(m.Event, codec.decode(record.value() or b"")))

        starts = {p: self.state.applied_offset(p) for p in partitions}
        self.state.flush(replay(self.bootstrap, self.topics.events.name, starts, apply))
        log.info("assigned %s: state caught up, %d events applied", partitions, applied)

    def committed(self, out: TransactionOutput) -> None:
        written = out.tracked_offsets.get(self.topics.events.name, {})
        self.state.flush({p: o + 1 for p, o in written.items()})

    def aborted(self) -> None:
        self.state.discard()

    def handle(self, record: Message, out: TransactionOutput) -> None:
        value = record.value() or b""
        reply_partition = self._reply_partition(record)
        try:
            command = codec.decode(value)
        except UnknownSchemaError as e:
            self._refuse_record(out, record, reply_partition, RejectionCode.UNKNOWN_SCHEMA, str(e))
            return
        except MalformedRecordError as e:
            self._refuse_record(out, record, reply_partition, RejectionCode.MALFORMED, str(e))
            return
        if not isinstance(command, COMMAND_TYPES):
            reason = f"{command.avro_name} is not a command"
            self._refuse_record(out, record, reply_partition, RejectionCode.INVALID, reason)
            return
        meta: m.CommandMeta = command.meta  # type: ignore[attr-defined]
        if reply_partition is None:
            reply_partition = partition_for(meta.conversation_id, self.topics.outcomes.partitions)
        partition = position(record)[0]
        if len(value) > self.max_command_bytes:
            reason = f"command is {len(value)} bytes; the limit is {self.max_command_bytes}"
            self._reject(out, reply_partition, meta, RejectionCode.TOO_LARGE, reason)
        elif partition_for(meta.conversation_id, self.topics.commands.partitions) != partition:
            reason = "command is in the wrong partition for its conversation"
            self._reject(out, reply_partition, meta, RejectionCode.INVALID, reason)
        else:
            decision = decide(self.state, cast(m.Command, command), self.clock(), self.limits)
            self._answer(out, partition, reply_partition, meta, decision)

    def _answer(
        self,
        out: TransactionOutput,
        partition: int,
        reply_partition: int,
        meta: m.CommandMeta,
        decision: Decision,
    ) -> None:
        if isinstance(decision, Rejected):
            self._reject(out, reply_partition, meta, decision.code, decision.reason)
            return
        seq: int | None = None
        if isinstance(decision, Accepted):
            evolve(self.state, decision.event)
            seq = decision.event.meta.seq
            out.produce(
                self.topics.events.name,
                partition,
                meta.conversation_id,
                codec.encode(decision.event),
                track=True,
            )
        elif isinstance(decision, Duplicate):
            seq = decision.seq
        elif not isinstance(decision, Unchanged):
            raise TypeError(decision)
        accepted = m.CommandAccepted(
            command_id=meta.command_id,
            conversation_id=meta.conversation_id,
            actor=meta.actor,
            client_msg_id=meta.client_msg_id,
            seq=seq,
            duplicate=isinstance(decision, Duplicate),
        )
        out.produce(
            self.topics.outcomes.name, reply_partition, meta.conversation_id, codec.encode(accepted)
        )

    def _refuse_record(
        self,
        out: TransactionOutput,
        record: Message,
        reply_partition: int | None,
        code: RejectionCode,
        reason: str,
    ) -> None:
        out.dead_letter(self.topics.dead_letters.name, record, reason)
        self._reject(out, reply_partition, None, code, reason)

    def _reject(
        self,
        out: TransactionOutput,
        reply_partition: int | None,
        meta: m.CommandMeta | None,
        code: RejectionCode,
        reason: str,
    ) -> None:
        if reply_partition is None:
            return
        rejected = m.CommandRejected(
            command_id=meta.command_id if meta else None,
            conversation_id=meta.conversation_id if meta else None,
            actor=meta.actor if meta else None,
            client_msg_id=meta.client_msg_id if meta else None,
            code=code,
            reason=reason,
        )
        key = meta.conversation_id if meta else None
        out.produce(self.topics.outcomes.name, reply_partition, key, codec.encode(rejected))

    def _reply_partition(self, record: Message) -> int | None:
        for name, value in header_pairs(record):
            if name == REPLY_PARTITION_HEADER and value is not None:
                try:
                    partition = int(value)
                except ValueError:
                    return None
                return partition if 0 <= partition < self.topics.outcomes.partitions else None
        return None
