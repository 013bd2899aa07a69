"""What an edge node counts, served at /metrics in the Prometheus text format."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from telemetry.lag import lag_gauge

LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.15,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
"""0.15: the latency SLO's threshold (docs/slo.md), so its SLI is a bucket, not a guess."""


class EdgeMetrics:
    """One registry per edge node (not the global one), so tests and nodes stay apart."""

    def __init__(self, node: int) -> None:
        self.registry = CollectorRegistry()
        labels = {"node": str(node)}
        self.connections = Gauge(
            "parley_edge_connections",
            "Open, authenticated WebSockets",
            ["node"],
            registry=self.registry,
        ).labels(**labels)
        self.frames_in = Counter(
            "parley_edge_frames_in",
            "Client frames by type",
            ["node", "type"],
            registry=self.registry,
        )
        self.frames_out = FramesOut(str(node))
        self.registry.register(self.frames_out)
        self.requests = Histogram(
            "parley_edge_request_seconds",
            "Request to answer, by frame type (send: until in the log, i.e. send to ack)",
            ["node", "type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "parley_edge_errors",
            "Error frames and responses by code",
            ["node", "code"],
            registry=self.registry,
        )
        self.pushes = Counter(
            "parley_edge_pushes", "Event pushes queued to devices", ["node"], registry=self.registry
        ).labels(**labels)
        self.dropped = Counter(
            "parley_edge_pushes_dropped",
            "Pushes dropped for devices that read too slowly",
            ["node"],
            registry=self.registry,
        ).labels(**labels)
        self.delivery = Histogram(
            "parley_edge_delivery_seconds",
            "From an event's occurred_at (the sequencer's clock) to its push being queued "
            "to the devices on this node; replays to devices just come online excluded",
            ["node"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        ).labels(**labels)
        self.queued = Gauge(
            "parley_edge_outbound_queued",
            "Frames queued to devices and not yet written, over all connections",
            ["node"],
            registry=self.registry,
        ).labels(**labels)
        self.commands_waiting = Gauge(
            "parley_edge_commands_waiting",
            "Commands produced by this node whose outcome has not come back yet",
            ["node"],
            registry=self.registry,
        ).labels(**labels)
        self.consumer_lag = lag_gauge(self.registry, extra_labels=("node",))
        self.records_skipped = Counter(
            "parley_records_skipped",
            "Unusable records this node's followers passed over (docs/log.md)",
            ["node", "topic"],
            registry=self.registry,
        )
        self.node = str(node)

    def frame_in(self, frame_type: str) -> None:
        self.frames_in.labels(node=self.node, type=frame_type).inc()

    def answered(self, frame_type: str, seconds: float) -> None:
        self.requests.labels(node=self.node, type=frame_type).observe(seconds)

    def error(self, code: str) -> None:
        self.errors.labels(node=self.node, code=code).inc()

    def skipped(self, topic: str) -> None:
        self.records_skipped.labels(node=self.node, topic=topic).inc()

    def measure_queues(self, queued: Callable[[], float], waiting: Callable[[], float]) -> None:
        """Queue depths are read when scraped, never counted on the message path."""
        self.queued.set_function(queued)
        self.commands_waiting.set_function(waiting)

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))


class FramesOut(Collector):
    """Frames written to sockets, counted as plain integers by the event loop's thread (a
    locked `Counter.inc` costs about 0.3 us, per frame) and read when scraped."""

    KINDS = ("reply", "push", "resync")

    def __init__(self, node: str) -> None:
        self.node = node
        self.reply = self.push = self.resync = 0

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield self._family()

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = self._family()
        for kind, count in zip(self.KINDS, (self.reply, self.push, self.resync), strict=True):
            family.add_metric([self.node, kind], count)
        yield family

    def _family(self) -> CounterMetricFamily:
        return CounterMetricFamily(
            "parley_edge_frames_out",
            "Frames written to devices: reply (response or error), push, resync",
            labels=["node", "kind"],
        )
