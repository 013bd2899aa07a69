"""One send, followed through every process of a real Parley: a single trace from the edge
that received it, through the sequencer and the fan-out, to a push on each device; JSON
logs that never show the message, the token or the password; and the metrics of
docs/slo.md on every process's endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.conftest import warm_up
from tests.e2e.people import close_all, create, person
from tests.e2e.ws import RawDevice, send_frame

SECRET_TEXT = "the traced message, never logged"
PASSWORD = "correct horse battery"  # what tests.e2e.cluster registers everyone with


@pytest.fixture(scope="module")
def cluster(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ParleyCluster]:
    """This module's own Parley, every process exporting its spans to a file of its own."""
    work: Path = tmp_path_factory.mktemp("parley")
    parley = ParleyCluster(
        work,
        extra_env={
            "PARLEY_TRACE_EXPORTER": "console",
            "PARLEY_TRACE_DIR": str(work / "spans"),
            "OTEL_BSP_SCHEDULE_DELAY": "100",  # export every 0.1 s: the test reads them live
        },
    )
    try:
        parley.start()
        try:
            asyncio.run(warm_up(parley))
        except Exception as e:
            raise RuntimeError(f"warm-up failed: {e!r}\n{parley.diagnosis()}") from e
        yield parley
    finally:
        parley.stop()


def spans(parley: ParleyCluster) -> list[dict[str, Any]]:
    found = []
    for path in sorted((parley.work / "spans").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                span = json.loads(line)
                span["file"] = path.name
                found.append(span)
    return found


def by_attribute(found: list[dict[str, Any]], name: str, value: object) -> list[dict[str, Any]]:
    return [s for s in found if s["attributes"].get(name) == value]


async def test_a_send_is_one_trace_from_the_edge_to_every_device(parley_send: Sent) -> None:
    parley, cid, seq, devices = parley_send.cluster, parley_send.cid, parley_send.seq, 3

    async def complete() -> bool:
        """Every span of the message exported: each process exports on its own schedule,
        and the sender's own device may get its push before the send is answered."""
        names = [
            s["name"]
            for s in by_attribute(spans(parley), "parley.conversation", cid)
            if s["attributes"].get("parley.seq") == seq
        ]
        return {"ws send", "sequence", "fan-out"} <= set(names) and names.count("push") >= devices

    await eventually(complete, f"the send's spans, a push span for each of {devices} devices", 30)
    found = spans(parley)
    in_conversation = by_attribute(found, "parley.conversation", cid)
    (send,) = [s for s in in_conversation if s["name"] == "ws send"]
    trace_id = send["context"]["trace_id"]
    assert send["parent_id"] is None and send["kind"] == "SpanKind.SERVER"
    assert send["resource"]["attributes"]["service.name"] == "parley-edge"
    assert send["attributes"]["parley.seq"] == seq

    in_trace = [s for s in found if s["context"]["trace_id"] == trace_id]
    (sequenced,) = [s for s in in_trace if s["name"] == "sequence"]
    assert sequenced["parent_id"] == send["context"]["span_id"]
    assert sequenced["resource"]["attributes"]["service.name"] == "parley-sequencer"
    assert sequenced["attributes"]["parley.outcome"] == "CommandAccepted"
    assert sequenced["attributes"]["parley.seq"] == seq

    (fanned,) = [s for s in in_trace if s["name"] == "fan-out"]
    assert fanned["parent_id"] == sequenced["context"]["span_id"]
    assert fanned["resource"]["attributes"]["service.name"] == "parley-fanout"

    pushes = [p for p in pushes_of(found, cid, seq) if p["context"]["trace_id"] == trace_id]
    assert {p["parent_id"] for p in pushes} == {fanned["context"]["span_id"]}
    assert {p["attributes"]["parley.device"] for p in pushes} == set(parley_send.device_ids)
    assert {p["attributes"]["parley.node"] for p in pushes} == {0, 1}  # both edge nodes
    assert len({p["file"] for p in pushes}) == 2  # ... each in its own process


async def test_a_rest_command_roots_its_trace_at_the_edge(parley_send: Sent) -> None:
    """The conversation was created over REST: its first event's trace starts there."""
    parley, cid = parley_send.cluster, parley_send.cid

    def creation(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            s
            for s in by_attribute(found, "parley.conversation", cid)
            if s["name"] == "sequence" and s["attributes"].get("parley.seq") == 1
        ]

    def parent(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        parents = {s["parent_id"] for s in creation(found)}
        return [s for s in found if s["context"]["span_id"] in parents]

    async def exported() -> bool:
        return bool(parent(spans(parley)))

    await eventually(exported, "the creation's sequence span and its parent", 30)
    found = spans(parley)
    (created,) = creation(found)
    (request,) = parent(found)
    assert request["name"] == "http POST /v1/conversations"
    assert request["attributes"]["http.response.status_code"] == 201
    assert request["parent_id"] is None
    assert request["context"]["trace_id"] == created["context"]["trace_id"]


def pushes_of(found: list[dict[str, Any]], cid: str, seq: int) -> list[dict[str, Any]]:
    return [
        s
        for s in by_attribute(found, "parley.conversation", cid)
        if s["name"] == "push" and s["attributes"]["parley.seq"] == seq
    ]


async def test_logs_are_json_and_never_show_bodies_tokens_or_passwords(
    parley_send: Sent,
) -> None:
    parley = parley_send.cluster
    names = sorted({p.stem for p in parley.work.glob("*.log")})
    assert {"streams.sequencer", "streams.fanout", "projections.history", "edge-0"} <= set(names)
    for name in names:
        text = parley.log(name)
        assert SECRET_TEXT not in text, name
        assert PASSWORD not in text, name
        for token in parley_send.tokens:
            assert token.split(".", 1)[1] not in text, name
        records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        assert records, f"{name} wrote no JSON log line"
        assert all({"ts", "level", "logger", "service", "message"} <= r.keys() for r in records)


async def test_every_process_serves_the_slo_metrics(parley_send: Sent) -> None:
    parley = parley_send.cluster
    async with aiohttp.ClientSession() as http:
        scraped = {}
        for module, port in parley.metrics_ports.items():
            async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
                scraped[module] = await response.text()
        for node in (0, 1):
            async with http.get(f"{parley.url(node)}/metrics") as response:
                scraped[f"edge-{node}"] = await response.text()
    commands, events = parley.topics.commands.name, parley.topics.events.name
    sequencer, fanout, history = (
        scraped["streams.sequencer"],
        scraped["streams.fanout"],
        scraped["projections.history"],
    )
    assert f'parley_transaction_commit_seconds_count{{input="{commands}"}}' in sequencer
    assert has_series(sequencer, "parley_consumer_lag", f'group="{parley.prefix}-sequencer"')
    assert "parley_producer_queue " in sequencer
    assert has_series(fanout, "parley_consumer_lag", f'topic="{events}"')
    assert "parley_fanout_flush_seconds_count" in fanout
    assert "parley_fanout_event_age_seconds_count" in fanout
    assert 'parley_projection_ready{view="history"} 1.0' in history
    assert 'parley_projection_records_total{view="history"}' in history
    assert has_series(history, "parley_consumer_lag", f'group="{parley.prefix}-history"')
    receiving = scraped["edge-1"]
    assert 'parley_edge_delivery_seconds_count{node="1"}' in receiving
    assert 'parley_edge_frames_out_total{kind="push",node="1"}' in receiving
    assert 'parley_edge_outbound_queued{node="1"}' in receiving
    assert has_series(receiving, "parley_consumer_lag", 'group="edge-1"')


def has_series(exposition: str, name: str, label: str) -> bool:
    return any(line.startswith(name + "{") and label in line for line in exposition.splitlines())


class Sent:
    def __init__(
        self,
        cluster: ParleyCluster,
        cid: str,
        seq: int,
        device_ids: list[str],
        tokens: list[str],
    ) -> None:
        self.cluster = cluster
        self.cid = cid
        self.seq = seq
        self.device_ids = device_ids
        self.tokens = tokens


def pushed(device: RawDevice, seq: int) -> Callable[[], bool]:
    return lambda: any(p.get("seq") == seq for p in device.pushes)


@pytest.fixture(scope="module")
def parley_send(cluster: ParleyCluster) -> Sent:
    """Ann (one device, node 0) sends to Ben (a device on each node): three pushes."""

    async def send() -> Sent:
        async with aiohttp.ClientSession() as http:
            ann = await person(http, cluster, "ann")
            ben = await person(http, cluster, "ben", devices=2)
            cid = (await create(http, cluster, ann, "direct", [ben]))["conversation_id"]
            answer = await ann.devices[0].request(send_frame(cid, SECRET_TEXT, "traced-1"))
            seq = answer["result"]["seq"]
            for device in (*ann.devices, *ben.devices):
                await device.wait_for(pushed(device, seq), 30)
            devices = []
            for who in (ann, ben):
                for token in who.tokens:
                    devices.append(token.split(".", 1)[0])
            await close_all(ann, ben)
            return Sent(cluster, cid, seq, devices, [*ann.tokens, *ben.tokens])

    return asyncio.run(send())
