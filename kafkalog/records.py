"""What every reader asks of a Kafka record: where it is, and its headers as pairs."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaError, KafkaException, Message

Headers = list[tuple[str, str | bytes | None]]


def position(record: Message) -> tuple[int, int]:
    """A consumed or delivered record's (partition, offset); both are always set there."""
    partition, offset = record.partition(), record.offset()
    if partition is None or offset is None:
        raise KafkaException(KafkaError(KafkaError._BAD_MSG, "record without a position"))
    return partition, offset


def header_pairs(record: Message) -> Headers:
    headers = record.headers() or []
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


def next_offsets(records: Iterable[Message]) -> dict[int, int]:
    """Per partition, the offset after the last of `records`: the position once they are
    applied (records of one partition arrive in offset order)."""
    found: dict[int, int] = {}
    for record in records:
        partition, offset = position(record)
        found[partition] = offset + 1
    return found


def is_fatal(error: KafkaError) -> bool:
    """A client that cannot go on. librdkafka reports some fatal consumer errors (a static
    member fenced by another with its group.instance.id, after a broker restart) on a record
    as `_FATAL` while `fatal()` says False; the consumer then never fetches again, so the
    process must stop and be restarted, not log it and wait."""
    return bool(error.fatal()) or error.code() == KafkaError._FATAL
