"""Taking records from a consumer without waiting to fill a batch."""

from __future__ import annotations

from confluent_kafka import Consumer, Message


def next_batch(consumer: Consumer, max_batch: int, *, idle_s: float) -> list[Message]:
    """What is already fetched, without waiting to fill a batch; blocks (up to `idle_s`)
    only when nothing is. `consume(n, timeout)` waits for all n or the whole timeout, which
    would add up to `timeout` to every record's latency at moderate rates."""
    records: list[Message] = consumer.consume(num_messages=max_batch, timeout=0)
    if records:
        return records
    first = consumer.poll(idle_s)
    if first is None:
        return []
    return [first, *consumer.consume(num_messages=max_batch - 1, timeout=0)]
