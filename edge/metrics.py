"""What an edge node counts, served at /metrics in the Prometheus text format."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


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
        self.requests = Histogram(
            "parley_edge_request_seconds",
            "Request to answer, by frame type (send: until in the log)",
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
        self.node = str(node)

    def frame_in(self, frame_type: str) -> None:
        self.frames_in.labels(node=self.node, type=frame_type).inc()

    def answered(self, frame_type: str, seconds: float) -> None:
        self.requests.labels(node=self.node, type=frame_type).observe(seconds)

    def error(self, code: str) -> None:
        self.errors.labels(node=self.node, code=code).inc()

    def exposition(self) -> bytes:
        return bytes(generate_latest(self.registry))
