"""The one writer of the dead-letter topic: a record a consumer cannot use, with where it
came from, why, and who parked it.

The headers are the contract with whoever reads the topic (an operator's tool): the
source topic, partition and offset, the reason, and the consumer (its group id) that
parked it. Several consumers of one topic may park the same record (each view, the
fan-out); the consumer header tells which of them skipped it. Written through a `Sink`:
inside the sequencer's transaction (parked exactly when its batch commits) or through an
`AckedOutput` (parked before the position that passes it is stored).
"""

from __future__ import annotations

import logging

from confluent_kafka import Message
from prometheus_client import Counter

from kafkalog.output import Sink
from kafkalog.records import Headers

log = logging.getLogger("parley.log")

SOURCE_TOPIC_HEADER = "source-topic"
SOURCE_PARTITION_HEADER = "source-partition"
SOURCE_OFFSET_HEADER = "source-offset"
REASON_HEADER = "reason"
CONSUMER_HEADER = "consumer"
DEAD_LETTER_PARTITION = 0
"""The topic has one partition: it is rare, read by people, and kept in arrival order."""


class DeadLetters:
    def __init__(self, topic: str, consumer: str, parked: Counter) -> None:
        """`parked` counts by source topic (`parley_dead_letters`, label `input`)."""
        self.topic = topic
        self.consumer = consumer
        self.parked = parked

    def park(self, sink: Sink, record: Message, reason: str) -> None:
        source = record.topic() or ""
        log.error(
            "parking %s[%s]@%s on %s: %s",
            source,
            record.partition(),
            record.offset(),
            self.topic,
            reason,
        )
        headers: Headers = [
            (SOURCE_TOPIC_HEADER, source.encode()),
            (SOURCE_PARTITION_HEADER, str(record.partition()).encode()),
            (SOURCE_OFFSET_HEADER, str(record.offset()).encode()),
            (REASON_HEADER, reason.encode()),
            (CONSUMER_HEADER, self.consumer.encode()),
        ]
        self.parked.labels(source).inc()
        sink.produce(
            self.topic, DEAD_LETTER_PARTITION, record.key(), record.value() or b"", headers=headers
        )
