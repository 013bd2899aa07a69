"""Consumer lag per group and partition, from what the client already knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from confluent_kafka import Consumer
from prometheus_client import CollectorRegistry

from telemetry.lag import LagSampler, lag_gauge

OFFSET_INVALID = -1001


@dataclass
class Position:
    topic: str
    partition: int
    offset: int


class FakeConsumer:
    def __init__(self) -> None:
        self.positions: dict[int, int] = {}
        self.highs: dict[int, int] = {}
        self.asked_broker = False

    def assignment(self) -> list[Position]:
        return [Position("t.events", p, OFFSET_INVALID) for p in sorted(self.positions)]

    def position(self, partitions: list[Position]) -> list[Position]:
        return [Position(tp.topic, tp.partition, self.positions[tp.partition]) for tp in partitions]

    def get_watermark_offsets(
        self, tp: Position, timeout: float = 1.0, cached: bool = False
    ) -> tuple[int, int]:
        self.asked_broker |= not cached
        return 0, self.highs.get(tp.partition, OFFSET_INVALID)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def lag(registry: CollectorRegistry, partition: int) -> float | None:
    return registry.get_sample_value(
        "parley_consumer_lag",
        {"group": "g", "topic": "t.events", "partition": str(partition)},
    )


def test_lag_is_the_high_watermark_minus_the_position_per_partition() -> None:
    registry = CollectorRegistry()
    consumer = FakeConsumer()
    consumer.positions = {0: 10, 1: 5, 2: OFFSET_INVALID}
    consumer.highs = {0: 12, 1: 5, 2: 40}
    LagSampler(lag_gauge(registry), "g").sample(cast(Consumer, consumer))
    assert lag(registry, 0) == 2
    assert lag(registry, 1) == 0
    assert lag(registry, 2) is None  # nothing consumed yet: no figure, not a wrong one
    assert not consumer.asked_broker


def test_a_partition_no_longer_assigned_loses_its_figure() -> None:
    registry = CollectorRegistry()
    consumer = FakeConsumer()
    sampler = LagSampler(lag_gauge(registry), "g")
    consumer.positions, consumer.highs = {0: 1, 1: 1}, {0: 3, 1: 3}
    sampler.sample(cast(Consumer, consumer))
    consumer.positions = {1: 2}
    sampler.sample(cast(Consumer, consumer))
    assert lag(registry, 0) is None
    assert lag(registry, 1) == 1


def test_samples_at_most_once_per_interval() -> None:
    registry = CollectorRegistry()
    consumer = FakeConsumer()
    clock = Clock()
    sampler = LagSampler(lag_gauge(registry), "g", interval_s=5.0, clock=clock)
    consumer.positions, consumer.highs = {0: 1}, {0: 3}
    sampler.maybe_sample(cast(Consumer, consumer))
    consumer.positions = {0: 3}
    clock.now += 4.9
    sampler.maybe_sample(cast(Consumer, consumer))
    assert lag(registry, 0) == 2
    clock.now += 0.2
    sampler.maybe_sample(cast(Consumer, consumer))
    assert lag(registry, 0) == 0


def test_extra_labels_come_first() -> None:
    registry = CollectorRegistry()
    consumer = FakeConsumer()
    consumer.positions, consumer.highs = {0: 1}, {0: 4}
    gauge = lag_gauge(registry, extra_labels=("node",))
    LagSampler(gauge, "edge-3", labels={"node": "3"}).sample(cast(Consumer, consumer))
    labels = {"node": "3", "group": "edge-3", "topic": "t.events", "partition": "0"}
    assert registry.get_sample_value("parley_consumer_lag", labels) == 3
