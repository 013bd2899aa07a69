"""Trace context crosses Kafka in record headers: what the edge, the sequencer and the
fan-out write, the next process continues; with tracing off nothing is added at all."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest
from aiohttp import web
from confluent_kafka import Producer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from edge.connection import ConnectionState, DeviceConnection
from edge.hub import ConnectionHub
from edge.metrics import EdgeMetrics
from schemas import codec
from schemas import models as m
from schemas.topics import REPLAYED_HEADER, TRACEPARENT_HEADER, declare_topics
from streams.transactional import TransactionOutput
from telemetry.tracing import Tracing, TracingSettings, extract, inject, start_tracing

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> Iterator[tuple[Tracing, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Tracing(provider.get_tracer("test"), provider), exporter
    provider.shutdown()


class RecordingProducer:
    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []

    def produce(self, topic: str, **kwargs: Any) -> None:
        self.records.append({"topic": topic, **kwargs})


def test_headers_carry_the_current_span_and_the_next_process_continues_it(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = spans
    with tracing.serving("ws send") as root:
        headers = inject([("parley-reply-partition", b"0")])
    assert headers[0] == ("parley-reply-partition", b"0")
    traceparent = dict(headers)[TRACEPARENT_HEADER]
    assert isinstance(traceparent, bytes)
    context = root.get_span_context()
    flags = f"{context.trace_flags:02x}"
    assert traceparent.decode() == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags}"
    with tracing.consuming("sequence", headers):
        pass
    sent, sequenced = sorted(exporter.get_finished_spans(), key=lambda s: s.start_time or 0)
    assert sequenced.kind is SpanKind.CONSUMER
    assert sequenced.context is not None and sequenced.parent is not None
    assert sequenced.context.trace_id == context.trace_id
    assert sequenced.parent.span_id == context.span_id
    assert sent.parent is None


def test_a_record_without_trace_headers_has_no_parent() -> None:
    assert extract(None) is None
    assert extract([("parley-reply-partition", b"1")]) is None
    assert extract([(TRACEPARENT_HEADER, None)]) is None


def test_a_malformed_traceparent_starts_a_new_trace(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = spans
    with tracing.consuming("sequence", [(TRACEPARENT_HEADER, b"00-not-a-trace")]):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.parent is None


def test_no_span_means_no_header() -> None:
    assert inject() == []


def test_tracing_off_adds_no_header_to_what_a_handler_writes() -> None:
    producer = RecordingProducer()
    out = TransactionOutput(cast(Producer, producer), traced=False)
    out.produce("t.events", 0, "c1", b"event")
    assert producer.records[0]["headers"] is None


def test_tracing_on_every_record_written_while_handling_carries_the_input_trace(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = spans
    producer = RecordingProducer()
    out = TransactionOutput(cast(Producer, producer), traced=True)
    with tracing.consuming("sequence", [(TRACEPARENT_HEADER, TRACEPARENT.encode())]):
        out.produce("t.events", 0, "c1", b"event", track=True)
        out.produce("t.outcomes", 3, "c1", b"accepted")
    (span,) = exporter.get_finished_spans()
    assert span.context is not None
    ids = f"{span.context.trace_id:032x}-{span.context.span_id:016x}"
    expected = f"00-{ids}-{span.context.trace_flags:02x}".encode()
    assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    for record in producer.records:
        assert (TRACEPARENT_HEADER, expected) in record["headers"]


class Socket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)


def _delivery(recipients: tuple[str, ...]) -> m.EventDelivery:
    event = m.MessageSent(
        meta=m.EventMeta(
            event_id="e1",
            conversation_id="dm-1",
            seq=7,
            actor=m.Actor(user_id="ann", device_id="d-ann"),
            client_msg_id="k1",
            command_id="c1",
            occurred_at=datetime.now(UTC),
        ),
        body=m.PlainBody(text="hello"),
    )
    return m.EventDelivery(
        conversation_id="dm-1", seq=7, event=codec.encode(event), recipients=recipients
    )


def _hub(tracing: Tracing) -> tuple[ConnectionHub, list[DeviceConnection], EdgeMetrics]:
    metrics = EdgeMetrics(1)
    topics = declare_topics("t")
    hub = ConnectionHub(
        1,
        sessions=topics.sessions,
        deliveries=topics.deliveries,
        producer=cast(Producer, RecordingProducer()),
        metrics=metrics,
        tracing=tracing,
    )
    devices = []
    for user, device in (("ben", "d-ben-1"), ("ben", "d-ben-2"), ("cy", "d-cy")):
        connection = DeviceConnection(
            cast(web.WebSocketResponse, Socket()), queue_size=10, metrics=metrics
        )
        connection.user_id, connection.device_id = user, device
        connection.state = ConnectionState.OPEN
        hub.add(connection)
        devices.append(connection)
    return hub, devices, metrics


def _sample(metrics: EdgeMetrics, name: str) -> float:
    value = metrics.registry.get_sample_value(name, {"node": "1"})
    return value or 0.0


async def test_each_device_push_is_a_span_under_the_fan_out_span(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    tracing, exporter = spans
    hub, devices, metrics = _hub(tracing)
    hub.deliver(_delivery(("ben", "cy")), [(TRACEPARENT_HEADER, TRACEPARENT.encode())])
    pushes = exporter.get_finished_spans()
    assert sorted(str(s.attributes and s.attributes["parley.device"]) for s in pushes) == [
        "d-ben-1",
        "d-ben-2",
        "d-cy",
    ]
    for span in pushes:
        assert span.name == "push"
        assert span.parent is not None and span.parent.span_id == 0xB7AD6B7169203331
        assert span.context is not None
        assert span.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    await asyncio.sleep(0)
    assert [json.loads(c.ws.sent[0])["seq"] for c in devices] == [7, 7, 7]  # type: ignore[attr-defined]
    assert _sample(metrics, "parley_edge_delivery_seconds_count") == 1
    assert _sample(metrics, "parley_edge_pushes_total") == 3


async def test_a_delivery_without_trace_context_starts_no_trace(
    spans: tuple[Tracing, InMemorySpanExporter],
) -> None:
    """A replay to a device just come online carries no context: its pushes are not the
    roots of traces of their own."""
    tracing, exporter = spans
    hub, _, metrics = _hub(tracing)
    hub.deliver(_delivery(("ben",)), [(REPLAYED_HEADER, b"1")])
    assert exporter.get_finished_spans() == ()
    assert _sample(metrics, "parley_edge_pushes_total") == 2


async def test_a_replayed_delivery_is_pushed_but_not_timed() -> None:
    hub, _, metrics = _hub(Tracing.off())
    hub.deliver(_delivery(("ben",)), [(REPLAYED_HEADER, b"1")])
    assert _sample(metrics, "parley_edge_pushes_total") == 2
    assert _sample(metrics, "parley_edge_delivery_seconds_count") == 0


async def test_frames_out_and_queue_depth_are_counted() -> None:
    hub, devices, metrics = _hub(Tracing.off())
    metrics.measure_queues(lambda: sum(c.queued() for c in hub.connections()), lambda: 0)
    hub.deliver(_delivery(("ben", "cy")))
    assert _sample(metrics, "parley_edge_outbound_queued") == 3
    for _ in range(5):
        await asyncio.sleep(0)
    assert _sample(metrics, "parley_edge_outbound_queued") == 0
    sent = metrics.registry.get_sample_value(
        "parley_edge_frames_out_total", {"node": "1", "kind": "push"}
    )
    assert sent == 3
    for connection in devices:
        await connection.close()


def test_tracing_off_does_not_load_the_sdk() -> None:
    """`none` must cost nothing: not even importing the SDK and its exporters."""
    probe = (
        "import sys\n"
        "from telemetry.tracing import TracingSettings, start_tracing\n"
        "tracing = start_tracing('parley-test', TracingSettings(trace_exporter='none'))\n"
        "assert not tracing.enabled\n"
        "print(sorted(n for n in sys.modules if n.startswith('opentelemetry.sdk')))\n"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_the_console_exporter_writes_one_json_span_per_line_per_process(tmp_path: Path) -> None:
    tracing = start_tracing(
        "parley-test", TracingSettings(trace_exporter="console", trace_dir=tmp_path)
    )
    assert tracing.enabled
    with tracing.serving("ws send", {"parley.frame": "send"}):
        pass
    tracing.shutdown()
    (path,) = tmp_path.glob("parley-test-*.jsonl")
    (span,) = [json.loads(line) for line in path.read_text().splitlines()]
    assert span["name"] == "ws send"
    assert span["resource"]["attributes"]["service.name"] == "parley-test"
    assert span["attributes"]["parley.frame"] == "send"


def test_the_otlp_exporter_is_built_from_the_settings() -> None:
    """Building it connects to nothing; a span nobody exported is simply dropped."""
    tracing = start_tracing(
        "parley-test",
        TracingSettings(trace_exporter="otlp", trace_otlp_endpoint="http://127.0.0.1:9/v1/traces"),
    )
    assert tracing.enabled
    tracing.shutdown()


def test_sampling_ratio_zero_records_nothing_but_keeps_propagating(tmp_path: Path) -> None:
    tracing = start_tracing(
        "parley-test",
        TracingSettings(trace_exporter="console", trace_dir=tmp_path, trace_sample_ratio=0.0),
    )
    with tracing.serving("ws send") as span:
        assert not span.is_recording()
        headers = dict(inject())
    tracing.shutdown()
    flags = int(cast(bytes, headers[TRACEPARENT_HEADER]).rsplit(b"-", 1)[1], 16)
    assert flags & 1 == 0  # not sampled, and said so to the next process
    assert all(not p.read_text() for p in tmp_path.glob("*.jsonl"))
