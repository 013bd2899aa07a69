"""Producing without ever dropping a record for a full queue, and waiting until what was
produced is acknowledged (at-least-once writers: the fan-out, a view's dead letters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from kafkalog.records import Headers

QUEUE_FULL_WAIT_S = 0.05
Delivered = Callable[[KafkaError | None, Message], None]


class Sink(Protocol):
    """Where a handler writes records: a transaction's output or an acknowledged producer."""

    def produce(
        self,
        topic: str,
        partition: int,
        key: str | bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
    ) -> None: ...


def produce_waiting(
    producer: Producer,
    topic: str,
    partition: int,
    key: str | bytes | None,
    value: bytes | None,
    *,
    headers: Headers | None = None,
    on_delivery: Delivered | None = None,
) -> None:
    """Produce, serving delivery reports while librdkafka's queue is full (BufferError)
    rather than failing: back-pressure, not loss."""
    while True:
        try:
            producer.produce(
                topic,
                value=value,
                key=key,
                partition=partition,
                headers=headers,
                on_delivery=on_delivery,
            )
            return
        except BufferError:
            producer.poll(QUEUE_FULL_WAIT_S)


class AckedOutput:
    """A plain (non-transactional) producer whose records count only once `flush` has seen
    every one acknowledged; the caller stores its position after that, never before."""

    def __init__(self, producer: Producer) -> None:
        self.producer = producer
        self._failures: list[KafkaError] = []

    def produce(
        self,
        topic: str,
        partition: int,
        key: str | bytes | None,
        value: bytes,
        *,
        headers: Headers | None = None,
    ) -> None:
        produce_waiting(
            self.producer, topic, partition, key, value, headers=headers, on_delivery=self._report
        )

    def flush(self, timeout_s: float = 30.0) -> None:
        """Raises a (retriable) KafkaException when a record was not acknowledged: the
        worker restarts and writes it again, since its position was not stored."""
        if self.producer.flush(timeout_s) != 0:
            raise KafkaException(
                KafkaError(KafkaError._TIMED_OUT, f"records not acknowledged in {timeout_s} s")
            )
        if self._failures:
            first, self._failures = self._failures[0], []
            raise KafkaException(first)

    def _report(self, error: KafkaError | None, record: Message) -> None:
        if error is not None:
            self._failures.append(error)
