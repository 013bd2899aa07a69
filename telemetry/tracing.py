"""Trace context from the edge, through Kafka record headers, to each device's push.

A span starts where a client's request arrives; its W3C `traceparent` travels in the
headers of every record produced on its behalf (the command, then the event the sequencer
writes, then the fan-out's delivery record), and each process continues the trace from the
header of the record it consumes. See docs/slo.md ("Tracing").

Off by default. Off means no SDK, no exporter, no span object: callers test the one
attribute `Tracing.enabled` and take the untraced path, so a message pays for a single
attribute read (measured in docs/slo.md).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Literal, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util.types import AttributeValue
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.topics import TRACE_HEADERS

Headers = list[tuple[str, str | bytes | None]]
HeaderPairs = Sequence[tuple[str, str | bytes | None]]
Attributes = Mapping[str, AttributeValue]
_PROPAGATOR = TraceContextTextMapPropagator()


class TracingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    trace_exporter: Literal["none", "console", "otlp"] = Field(
        default="none", description="Where spans go; `none` turns tracing off entirely"
    )
    trace_dir: Path | None = Field(
        default=None,
        description="console: one JSON-lines file per process here (<service>-<pid>.jsonl) "
        "instead of standard output",
    )
    trace_otlp_endpoint: str | None = Field(
        default=None,
        description="otlp: the collector's OTLP/HTTP traces URL; unset, the exporter's own "
        "OTEL_EXPORTER_OTLP_* variables or http://localhost:4318/v1/traces",
    )
    trace_sample_ratio: float = Field(
        default=1.0, ge=0.0, le=1.0, description="Share of new traces kept; children follow"
    )


class Provider(Protocol):
    def shutdown(self) -> None: ...


class Tracing:
    """A process's tracer, or nothing. Built once by the composition root and handed down."""

    def __init__(
        self,
        tracer: trace.Tracer | None = None,
        provider: Provider | None = None,
        output: IO[str] | None = None,
    ) -> None:
        self.enabled = tracer is not None
        self._tracer = tracer or trace.NoOpTracer()
        self._provider = provider
        self._output = output

    @classmethod
    def off(cls) -> Tracing:
        return cls()

    @contextmanager
    def consuming(
        self, name: str, headers: HeaderPairs | None, attributes: Attributes | None = None
    ) -> Iterator[Span]:
        """A current span for handling one consumed record, continuing the trace its
        headers carry (a new trace when they carry none)."""
        with self._tracer.start_as_current_span(
            name, context=extract(headers), kind=SpanKind.CONSUMER, attributes=attributes
        ) as span:
            yield span

    @contextmanager
    def serving(self, name: str, attributes: Attributes | None = None) -> Iterator[Span]:
        """A current span for answering one client request: the root of its trace."""
        with self._tracer.start_as_current_span(
            name, kind=SpanKind.SERVER, attributes=attributes
        ) as span:
            yield span

    def span(self, name: str, parent: Context | None, attributes: Attributes | None = None) -> Span:
        """A span the caller ends, under `parent` (from `extract`), not made current."""
        return self._tracer.start_span(
            name, context=parent, kind=SpanKind.PRODUCER, attributes=attributes
        )

    def shutdown(self) -> None:
        """Export what is buffered; the process is about to end."""
        if self._provider is not None:
            self._provider.shutdown()
        if self._output is not None:
            self._output.close()


def annotate(attributes: Attributes) -> None:
    """Add to the current span (callers check `Tracing.enabled` first)."""
    trace.get_current_span().set_attributes(attributes)


def inject(headers: HeaderPairs | None = None) -> Headers:
    """`headers` plus the trace-context headers of the current span (none if no span)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return [*(headers or ()), *((k, v.encode()) for k, v in carrier.items())]


def extract(headers: HeaderPairs | None) -> Context | None:
    """The remote parent a record's headers name, or None for a record without one."""
    carrier = {
        name: value.decode(errors="replace") if isinstance(value, bytes) else value
        for name, value in headers or ()
        if name in TRACE_HEADERS and value is not None
    }
    return _PROPAGATOR.extract(carrier) if carrier else None


def start_tracing(service: str, settings: TracingSettings | None = None) -> Tracing:
    """The tracing a process's settings ask for. With `none`, the SDK is not even imported."""
    settings = settings or TracingSettings()
    if settings.trace_exporter == "none":
        return Tracing.off()
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )
    from opentelemetry.sdk.trace.sampling import ParentBasedTraceIdRatio

    exporter: SpanExporter
    output: IO[str] | None = None
    if settings.trace_exporter == "console":
        if settings.trace_dir is not None:
            settings.trace_dir.mkdir(parents=True, exist_ok=True)
            path = settings.trace_dir / f"{service}-{os.getpid()}.jsonl"
            output = path.open("a", encoding="utf-8", buffering=1)
        exporter = ConsoleSpanExporter(
            service_name=service,
            out=output or sys.stdout,
            formatter=lambda s: s.to_json(indent=None) + "\n",
        )
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.trace_otlp_endpoint)
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "process.pid": os.getpid()}),
        sampler=ParentBasedTraceIdRatio(settings.trace_sample_ratio),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return Tracing(provider.get_tracer("parley"), provider, output)
