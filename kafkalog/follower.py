"""One way to follow a topic: take a batch, sort out transport errors, decode each record
once, and hand what cannot be used to the consumer's stated policy (the package docstring).

The follower never calls the consumer's handlers and never stores a position: the loop
around it applies the decoded records and stores the position after them, so an
exception in a handler (a bug) propagates and stops the worker before anything is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from prometheus_client import Counter

from kafkalog.batches import next_batch
from kafkalog.dead_letters import DeadLetters
from kafkalog.decoding import Decoder, UnusableRecordError
from kafkalog.output import Sink
from kafkalog.records import is_fatal, position
from telemetry.lag import LagSampler

log = logging.getLogger("parley.log")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """A record and what it decoded to; `record` for its key, raw value and headers."""

    record: Message
    value: T
    partition: int
    offset: int


class UnusablePolicy(Protocol):
    def unusable(self, record: Message, error: UnusableRecordError) -> None:
        """What to do with a record that cannot be used: it is never retried."""


class Park:
    """For a consumer with a position of its own: the record goes to the dead-letter topic
    through `sink`, which the loop flushes before it stores the position."""

    def __init__(self, dead_letters: DeadLetters, sink: Sink) -> None:
        self.dead_letters = dead_letters
        self.sink = sink

    def unusable(self, record: Message, error: UnusableRecordError) -> None:
        self.dead_letters.park(self.sink, record, error.reason)


class Skip:
    """For a follower without a position of its own (it rereads at every start, and many
    like it read the same records): logged with its position and counted, then passed."""

    def __init__(self, skipped: Callable[[str], None]) -> None:
        """`skipped(topic)` counts one skipped record."""
        self.skipped = skipped

    def unusable(self, record: Message, error: UnusableRecordError) -> None:
        log.error(
            "skipping %s[%s]@%s: %s", record.topic(), record.partition(), record.offset(), error
        )
        self.skipped(record.topic() or "")


class RecordReader:
    """Batches of records without the error reports among them; the lag sampled as it goes.
    The transactional loop uses it alone: its handler decodes inside the transaction."""

    def __init__(
        self,
        consumer: Consumer,
        *,
        kafka_errors: Counter | None = None,
        on_end: Callable[[int], None] | None = None,
        lag: LagSampler | None = None,
    ) -> None:
        """`kafka_errors` counts errors reported on records (by librdkafka code); `on_end`
        is told a partition's end was reached (with `enable.partition.eof`)."""
        self.consumer = consumer
        self.kafka_errors = kafka_errors
        self.on_end = on_end
        self.lag = lag

    def poll(self, max_batch: int, *, idle_s: float) -> list[Message]:
        """The next records, without error reports: a fatal error raises, a partition's
        end is told to `on_end`, any other is logged and counted (librdkafka retries)."""
        records = [r for r in next_batch(self.consumer, max_batch, idle_s=idle_s) if self._live(r)]
        if self.lag is not None:
            self.lag.maybe_sample(self.consumer)
        return records

    def _live(self, record: Message) -> bool:
        error = record.error()
        if error is None:
            return True
        if error.code() == KafkaError._PARTITION_EOF:
            partition = record.partition()
            if self.on_end is not None and partition is not None:
                self.on_end(partition)
            return False
        if is_fatal(error):
            raise KafkaException(error)
        log.warning("consumer of %s: %s", record.topic(), error)
        if self.kafka_errors is not None:
            self.kafka_errors.labels(error.name()).inc()
        return False


class Follower(RecordReader, Generic[T]):
    """A `RecordReader` that also decodes: `next` gives the usable records, decoded once."""

    def __init__(
        self,
        consumer: Consumer,
        decode: Decoder[T],
        unusable: UnusablePolicy,
        *,
        kafka_errors: Counter | None = None,
        on_end: Callable[[int], None] | None = None,
        lag: LagSampler | None = None,
    ) -> None:
        super().__init__(consumer, kafka_errors=kafka_errors, on_end=on_end, lag=lag)
        self.decode_record = decode
        self.policy = unusable

    def decode(self, records: list[Message]) -> list[Decoded[T]]:
        """The usable records, decoded, in order; the others go to the policy."""
        decoded: list[Decoded[T]] = []
        for record in records:
            try:
                value = self.decode_record(record)
            except UnusableRecordError as e:
                self.policy.unusable(record, e)
                continue
            partition, offset = position(record)
            decoded.append(Decoded(record, value, partition, offset))
        return decoded

    def next(self, max_batch: int, *, idle_s: float) -> list[Decoded[T]]:
        return self.decode(self.poll(max_batch, idle_s=idle_s))
