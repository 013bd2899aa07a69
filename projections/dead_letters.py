"""Where the view parks records it cannot apply, with where they came from and why.

An event that does not decode (say, written with a schema newer than this process knows)
must not stop the view for every conversation; it is parked for an operator, and the
view moves on. The headers are the ones the sequencer writes, so one tool reads both.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, Message, Producer


class DeadLetterError(RuntimeError):
    """A parked record did not reach the dead-letter topic; the batch must not be written."""


class DeadLetters:
    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self.parked = 0
        self._failures: list[str] = []
        self._producer = Producer(
            {"bootstrap.servers": bootstrap, "enable.idempotence": True, "acks": "all"}
        )

    def park(self, record: Message, reason: str) -> None:
        headers: list[tuple[str, str | bytes | None]] = [
            ("source-topic", (record.topic() or "").encode()),
            ("source-partition", str(record.partition()).encode()),
            ("source-offset", str(record.offset()).encode()),
            ("reason", reason.encode()),
        ]
        self._producer.produce(
            self.topic,
            value=record.value() or b"",
            key=record.key(),
            partition=0,
            headers=headers,
            on_delivery=self._delivered,
        )
        self.parked += 1

    def flush(self, timeout_s: float = 30.0) -> None:
        """Durable before the batch that skipped them is: a crash parks again, never loses."""
        if self._producer.flush(timeout_s) != 0:
            raise DeadLetterError(f"dead letters not delivered to {self.topic} in {timeout_s} s")
        if self._failures:
            failures, self._failures = self._failures, []
            raise DeadLetterError(f"dead letters to {self.topic} failed: {failures}")

    def _delivered(self, error: KafkaError | None, record: Message) -> None:
        if error is not None:
            self._failures.append(str(error))
