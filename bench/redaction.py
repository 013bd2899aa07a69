"""Redaction of a message, timed: from the officer's `RedactMessage` to each place that
must drop the message (docs/compliance.md, "Redaction of a message").

On a platform of its own with every process of `make run` and one edge: a person sends
`redactions` messages (each with a token of its own) over `conversations` groups with a
second person, whose device stays connected. Once the search index holds them all, they
are redacted one at a time as the operator's command line does it (`Redactions.redact`,
edge/operator.py's wiring, in this process), while the person keeps sending
`background_per_s` messages (light load). For each, from just before the command:

- accepted: the sequencer's answer (`MessageRedacted` is in the log);
- push: the other member's connected device receives `MessageRedacted`;
- history: the history view serves the tombstone (`MessageRedacted` at its seq) and the
  message's own seq no longer holds its token (fetched over the WebSocket every 10 ms);
- search: the index holds no document at the message's (conversation, seq) (a
  `SearchReader` on the view's directory, every 10 ms).

The polling makes the history and search figures late by up to 10 ms plus a request.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from pydantic import BaseModel

from bench.device import Device, call, sign_up
from bench.erasure import IN_FLIGHT, edge_settings, matches
from bench.services import edge_port, parley_running
from bench.stats import latency_summary
from edge.app import view_path
from edge.operator import with_submitter
from edge.redaction import Redactions
from edge.submission import Submitter
from infra.settings import PlatformSettings
from projections.search.documents import message_query
from projections.search.query import SearchReader, documents_by

FILLER = "a message of typical length about sixty bytes of text"
POLL_S = 0.01
KINDS = ("accepted", "push", "history", "search")


@dataclass(frozen=True)
class RedactionLoad:
    name: str
    redactions: int = 200
    conversations: int = 10
    background_per_s: float = 10.0
    deadline_s: float = 30.0
    """For one redaction to reach every place."""


FULL = RedactionLoad("full")


def sized(load: RedactionLoad, environ: dict[str, str]) -> RedactionLoad:
    """The load with PARLEY_BENCH_REDACTIONS applied."""
    count = int(environ.get("PARLEY_BENCH_REDACTIONS", load.redactions))
    if count == load.redactions:
        return load
    return RedactionLoad(
        f"{count}", count, load.conversations, load.background_per_s, load.deadline_s
    )


@dataclass(frozen=True)
class Target:
    conversation_id: str
    seq: int
    token: str


def tombstone_served(page: dict[str, Any], target_seq: int) -> bool:
    """A one-event page at the redaction's seq: it is `MessageRedacted` of the target."""
    return any(
        e["event"]["type"] == "MessageRedacted" and e["event"]["target_seq"] == target_seq
        for e in page["events"]
    )


def redacted_push(frame: dict[str, Any]) -> tuple[str, int] | None:
    """(conversation, target seq) of a `MessageRedacted` push; None for any other frame."""
    if frame.get("type") != "event" or frame["event"].get("type") != "MessageRedacted":
        return None
    return frame["conversation_id"], int(frame["event"]["target_seq"])


class Timings(BaseModel):
    """Milliseconds from just before each `RedactMessage`, by where it arrived."""

    accepted: list[float] = []
    push: list[float] = []
    history: list[float] = []
    search: list[float] = []


@dataclass
class Pushes:
    """When the other member's device received each `MessageRedacted`."""

    arrived: dict[tuple[str, int], float] = field(default_factory=dict)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def take(self, frame: dict[str, Any], at: float) -> None:
        key = redacted_push(frame)
        if key is not None:
            self.arrived.setdefault(key, at)
            self.changed.set()

    async def wait(self, key: tuple[str, int]) -> float:
        while key not in self.arrived:
            self.changed.clear()
            await self.changed.wait()
        return self.arrived[key]


async def _history(device: Device, target: Target, redaction_seq: int) -> float:
    while True:
        tombstone, own = await asyncio.gather(
            device.request(
                {
                    "type": "fetch_history",
                    "conversation_id": target.conversation_id,
                    "after": redaction_seq - 1,
                    "limit": 1,
                }
            ),
            device.request(
                {
                    "type": "fetch_history",
                    "conversation_id": target.conversation_id,
                    "after": target.seq - 1,
                    "limit": 1,
                }
            ),
        )
        if tombstone_served(tombstone, target.seq) and target.token.encode() not in orjson.dumps(
            own
        ):
            return time.monotonic()
        await asyncio.sleep(POLL_S)


async def _search(reader: SearchReader, target: Target) -> float:
    query = message_query(target.conversation_id, target.seq)
    while True:
        if not await asyncio.to_thread(matches, reader, query):
            return time.monotonic()
        await asyncio.sleep(POLL_S)


async def _send_all(device: Device, targets: list[tuple[str, str]]) -> list[Target]:
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def send(cid: str, token: str) -> Target:
        async with slots:
            sent = await device.request(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "client_msg_id": token,
                    "body": {"kind": "plain", "text": f"{token} {FILLER}"},
                }
            )
        return Target(cid, int(sent["seq"]), token)

    return list(await asyncio.gather(*(send(cid, token) for cid, token in targets)))


async def _background(device: Device, cid: str, per_s: float, stop: asyncio.Event) -> int:
    sent = 0
    began = time.monotonic()
    while not stop.is_set():
        await device.request(
            {
                "type": "send",
                "conversation_id": cid,
                "client_msg_id": f"bg{sent}",
                "body": {"kind": "plain", "text": f"background {sent} {FILLER}"},
            }
        )
        sent += 1
        await asyncio.sleep(max(0.0, began + sent / per_s - time.monotonic()))
    return sent


async def measure(settings: PlatformSettings, base: str, load: RedactionLoad) -> dict[str, Any]:
    edge = edge_settings(settings)
    tag = uuid.uuid4().hex[:8]
    ann, bob = f"ann{tag}", f"bob{tag}"
    pushes = Pushes()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        ann_token = await sign_up(http, base, ann)
        bob_token = await sign_up(http, base, bob)
        conversations = [
            (
                await call(
                    http,
                    f"{base}/v1/conversations",
                    {"kind": "group", "members": [bob], "name": f"redaction {i}"},
                    ann_token,
                )
            )["conversation_id"]
            for i in range(load.conversations)
        ]
        sender = await Device.connect(http, base, ann_token)
        listener = await Device.connect(http, base, bob_token, on_push=pushes.take)
        targets = await _send_all(
            sender,
            [
                (conversations[i % len(conversations)], f"tok{uuid.uuid4().hex[:20]}")
                for i in range(load.redactions)
            ],
        )
        reader = SearchReader(view_path(edge, "search"))
        await _indexed(reader, ann, load.redactions, load.deadline_s * 10)
        print(f"[redaction] {len(targets)} messages indexed; redacting one at a time", flush=True)
        stop = asyncio.Event()
        background = asyncio.create_task(
            _background(sender, conversations[0], load.background_per_s, stop)
        )
        load_before = os.getloadavg()

        async def act(submitter: Submitter) -> Timings:
            redactions = Redactions(submitter=submitter)
            timings = Timings()
            for n, target in enumerate(targets):
                began = time.monotonic()
                answer = await redactions.redact(
                    "bench", target.conversation_id, target.seq, "bench", "BENCH-REDACTION"
                )
                accepted = time.monotonic()
                if answer.seq is None:
                    raise RuntimeError(f"the redaction of {target} wrote no event")
                push, history, search = await asyncio.wait_for(
                    asyncio.gather(
                        pushes.wait((target.conversation_id, target.seq)),
                        _history(listener, target, answer.seq),
                        _search(reader, target),
                    ),
                    load.deadline_s,
                )
                for kind, at in zip(KINDS, (accepted, push, history, search), strict=True):
                    getattr(timings, kind).append(round(1000 * (at - began), 2))
                if (n + 1) % 50 == 0:
                    print(f"[redaction] {n + 1} redacted", flush=True)
            return timings

        try:
            timings = await with_submitter(edge, act)
        finally:
            stop.set()
            background_sent = await background
            await sender.close()
            await listener.close()
    by_kind = {kind: getattr(timings, kind) for kind in KINDS}
    return {
        "benchmark": "redaction",
        "load": load.name,
        "redactions": load.redactions,
        "conversations": load.conversations,
        "background_per_s": load.background_per_s,
        "background_sent": background_sent,
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "by_kind": {kind: latency_summary(values) for kind, values in by_kind.items()},
        "latencies_by_kind_ms": by_kind,
        "plot_title": f"redaction: from RedactMessage to each place ({load.redactions} one by one)",
    }


async def _indexed(reader: SearchReader, user: str, count: int, deadline_s: float) -> None:
    deadline = time.monotonic() + deadline_s
    while await asyncio.to_thread(documents_by, reader, user) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the messages not indexed after {deadline_s:.0f} s")
        await asyncio.sleep(0.2)


def run(base: PlatformSettings, load: RedactionLoad) -> dict[str, Any]:
    print(f"[redaction] {load.redactions} redactions, one at a time", flush=True)
    with parley_running(base, stem="redaction", edge_nodes=1, edge_port=edge_port(0)) as (
        settings,
        urls,
    ):
        return asyncio.run(measure(settings, urls[0], load))
