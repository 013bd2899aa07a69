"""Consumer lag: how many records a consumer has still to read, per topic and partition.

Sampled from what the client already knows (its position and the high watermark of its
last fetch), so a sample asks the broker nothing; the consumer's own loop takes one at
most once per interval. The high watermark includes records of transactions still open,
so a read_committed consumer's lag counts those too; one that has read everything shows 0
(its position moves past commit markers: checked against the real broker).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable

from confluent_kafka import Consumer
from prometheus_client import REGISTRY, CollectorRegistry, Gauge

OFFSET_UNKNOWN = 0  # librdkafka's logical offsets (beginning, end, invalid...) are negative


def lag_gauge(registry: CollectorRegistry = REGISTRY, extra_labels: tuple[str, ...] = ()) -> Gauge:
    """The one definition of `parley_consumer_lag`, for the registry of each process."""
    return Gauge(
        "parley_consumer_lag",
        "Records between a consumer's position and the partition's high watermark",
        [*extra_labels, "group", "topic", "partition"],
        registry=registry,
    )


_SAMPLERS: weakref.WeakSet[LagSampler] = weakref.WeakSet()


def sampling_assigned_partitions() -> bool:
    """Whether a sampler of this process last saw its consumer own partitions: a loop
    samples only while it runs, so this says the loop runs and has an assignment (the
    readiness of a log writer or the fan-out, streams/metrics.py)."""
    return any(sampler.assigned for sampler in _SAMPLERS)


class LagSampler:
    def __init__(
        self,
        gauge: Gauge,
        group: str,
        *,
        labels: dict[str, str] | None = None,
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.gauge = gauge
        self.group = group
        self.labels = labels or {}
        self.interval_s = interval_s
        self.clock = clock
        self._next = 0.0
        self._shown: set[tuple[str, int]] = set()
        self.assigned = 0
        """Partitions the consumer owned at the last sample, whether fetched yet or not."""
        _SAMPLERS.add(self)

    def maybe_sample(self, consumer: Consumer) -> None:
        now = self.clock()
        if now < self._next:
            return
        self._next = now + self.interval_s
        self.sample(consumer)

    def sample(self, consumer: Consumer) -> None:
        shown: set[tuple[str, int]] = set()
        assignment = consumer.assignment()
        self.assigned = len(assignment)
        for tp in consumer.position(assignment):
            watermarks = consumer.get_watermark_offsets(tp, cached=True)
            if tp.offset < OFFSET_UNKNOWN or watermarks[1] < OFFSET_UNKNOWN:
                continue  # nothing fetched yet: no figure rather than a wrong one
            self._labelled(tp.topic, tp.partition).set(max(watermarks[1] - tp.offset, 0))
            shown.add((tp.topic, tp.partition))
        for topic, partition in self._shown - shown:  # revoked: its figure is another's now
            self.gauge.remove(*self.labels.values(), self.group, topic, str(partition))
        self._shown = shown

    def _labelled(self, topic: str, partition: int) -> Gauge:
        return self.gauge.labels(*self.labels.values(), self.group, topic, str(partition))
