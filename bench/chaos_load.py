"""The chaos suite's clients: a loader process holds its share of the devices, each a
`ParleyClient` (the SDK: reconnects with backoff, resyncs, yields each event once and in
order), sends at a steady rate while processes are killed, and records what every client
saw: each send's attempts and their errors, each message each device got, each reconnect.

A send is retried with the same client_msg_id, after the SDK's growing pauses, until
acknowledged or `SEND_DEADLINE_S` passes, as an app would; every failed attempt's error is
recorded (the SDK's own retries are turned off so that none is hidden). Driven by orders
from bench/chaos.py: load, stop, sweep (one last message per conversation, so every device
finds any gap it still has), await (until every device holds the sweep), report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.chaos_figures import Arrival, Reconnect, Send
from client import (
    ApiError,
    Backoff,
    ClientClosedError,
    DisconnectedError,
    ParleyClient,
    ParleyError,
    RequestTimeoutError,
    SendFailedError,
    ServerUnavailableError,
)
from client.backoff import send_pauses

SEND_DEADLINE_S = 90.0
REQUEST_TIMEOUT_S = 5.0
MAX_IN_FLIGHT = 4000
"""Sends not yet acknowledged, per loader: beyond this the loader skips a send (and counts
it) rather than queue without bound while the platform is down."""
MAX_IN_FLIGHT_PER_DEVICE = 32
"""Half the edge's limit of requests in flight per connection (edge/websocket.py), so that
a device's own backlog of sends never crowds out its history and sync requests."""
PROGRESS_EVERY_S = 0.5

Device = tuple[int, int, str, str]  # (global index, edge node, token, user)


@dataclass(frozen=True)
class ChaosJob:
    index: int
    urls: list[str]
    devices: list[Device]
    conversations: dict[str, list[str]]
    rate_per_s: float
    log_file: str | None = None
    """Where the SDK's warnings go (a gap it gave up on, an unexpected answer)."""


@dataclass(frozen=True)
class Order:
    what: str
    """"load", "stop", "sweep", "await" or "report"."""
    seqs: dict[str, int] | None = None
    """For "await": the seq each conversation's device must reach."""


def error_code(error: BaseException | None) -> str:
    """The client-visible name of a failed attempt: the server's code, or what the SDK saw."""
    if isinstance(error, ApiError):
        return error.code
    if isinstance(error, RequestTimeoutError):
        return "client_timeout"
    if isinstance(error, DisconnectedError):
        return "disconnected"
    if isinstance(error, ServerUnavailableError):
        return "server_unavailable"
    return type(error).__name__ if error is not None else "unknown"


class Loader:
    def __init__(self, job: ChaosJob, report: Callable[[dict[str, Any]], None]) -> None:
        self.job = job
        self.report = report
        self.clients: dict[int, ParleyClient] = {}
        self.users: dict[int, str] = {}
        self.sends: list[Send] = []
        self.arrivals: list[Arrival] = []
        self.reconnects: list[Reconnect] = []
        self.held: dict[int, dict[str, int]] = {}
        self.in_flight: set[asyncio.Task[Send]] = set()
        self.per_device: Counter[int] = Counter()
        self.skipped = 0
        self.stream_failures: list[str] = []
        self.last_acked_start = 0.0
        self.last_arrival_sent = 0.0
        self.sending = False
        self.of_user: dict[str, list[str]] = {}
        for cid, members in job.conversations.items():
            for user in members:
                self.of_user.setdefault(user, []).append(cid)

    async def connect(self) -> None:
        for index, node, token, user in self.job.devices:
            client = ParleyClient(
                self.job.urls[node],
                token,
                request_timeout=REQUEST_TIMEOUT_S,
                send_attempts=1,
                backoff=Backoff(initial=0.2, maximum=2.0),
            )
            await client.connect()
            self.clients[index], self.users[index] = client, user
            self.held[index] = {}

    async def follow(self, device: int, client: ParleyClient) -> None:
        try:
            async for event in client.events():
                now = time.time()
                self.held[device][event.conversation_id] = event.seq
                if event.type != "MessageSent" or event.text is None:
                    continue
                mid, _, stamp = event.text.partition("|")
                written = getattr(event.event, "occurred_at_ms", None)
                self.arrivals.append(
                    Arrival(
                        device,
                        event.conversation_id,
                        event.seq,
                        mid,
                        now,
                        written / 1000 if isinstance(written, int) else None,
                    )
                )
                if stamp.isdigit():
                    self.last_arrival_sent = max(self.last_arrival_sent, int(stamp) / 1e9)
        except ClientClosedError:
            return
        except ParleyError as e:
            self.stream_failures.append(f"device {device}: {e!r}")

    async def send(self, device: int, cid: str, mid: str) -> Send:
        self.per_device[device] += 1
        try:
            return await self._send(device, cid, mid)
        finally:
            self.per_device[device] -= 1

    async def _send(self, device: int, cid: str, mid: str) -> Send:
        client = self.clients[device]
        started = time.time()
        text = f"{mid}|{time.time_ns()}"
        errors: list[str] = []
        outcome, seq, done = "failed", None, None
        pauses = send_pauses()  # the SDK's, as if it made the attempts itself
        while time.time() - started < SEND_DEADLINE_S:
            try:
                seq = await client.send(cid, text, client_msg_id=mid)
            except SendFailedError as e:
                errors.append(error_code(e.__cause__))
            except ApiError as e:
                errors.append(e.code)
                outcome = "refused"
                break
            except ParleyError as e:
                errors.append(error_code(e))
            else:
                outcome, done = "acked", time.time()
                self.last_acked_start = max(self.last_acked_start, started)
                break
            await asyncio.sleep(pauses.next_delay())
        record = Send(mid, cid, device, started, done, seq, tuple(errors), outcome)
        self.sends.append(record)
        return record

    async def load(self) -> None:
        pick = random.Random(f"chaos-{self.job.index}")
        senders = [d for d in self.clients if self.of_user.get(self.users[d])]
        began = time.monotonic()
        i = 0
        while self.sending:
            delay = began + i / self.job.rate_per_s - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            i += 1
            device = pick.choice(senders)
            busy = self.per_device[device] >= MAX_IN_FLIGHT_PER_DEVICE
            if busy or len(self.in_flight) >= MAX_IN_FLIGHT:
                self.skipped += 1
                continue
            cid = pick.choice(self.of_user[self.users[device]])
            task = asyncio.create_task(self.send(device, cid, f"c{self.job.index}.{i}"))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    async def sweep(self) -> dict[str, int]:
        """One acknowledged message in every conversation this loader's devices are in, all
        sent at once: one by one, a few slow sends after a fault outlasted the suite's wait."""
        sends = []
        for cid, members in self.job.conversations.items():
            device = next((d for d in self.clients if self.users[d] in members), None)
            if device is not None:
                sends.append(self.send(device, cid, f"sweep.{self.job.index}.{cid}"))
        return {s.conversation: s.seq for s in await asyncio.gather(*sends) if s.seq is not None}

    async def hold(self, seqs: dict[str, int], deadline_s: float) -> list[int]:
        """Until every device holds each of its conversations up to `seqs`; the devices
        that still did not at the deadline."""
        deadline = time.monotonic() + deadline_s
        while True:
            behind = [
                device
                for device in self.clients
                if any(
                    self.held[device].get(cid, 0) < seq
                    for cid, seq in seqs.items()
                    if cid in self.of_user.get(self.users[device], [])
                )
            ]
            if not behind or time.monotonic() > deadline:
                return behind
            await asyncio.sleep(0.2)

    async def progress(self) -> None:
        """Reports for bench/chaos.py to see recovery by, and notes each reconnect."""
        connects = {d: c.connects for d, c in self.clients.items()}
        while True:
            now = time.time()
            for device, client in self.clients.items():
                if client.connects > connects[device]:
                    self.reconnects += [Reconnect(device, now)] * (
                        client.connects - connects[device]
                    )
                    connects[device] = client.connects
            self.report(
                {
                    "loader": self.job.index,
                    "progress": {
                        "last_acked_start": self.last_acked_start,
                        "last_arrival_sent": self.last_arrival_sent,
                        "in_flight": len(self.in_flight),
                    },
                }
            )
            await asyncio.sleep(PROGRESS_EVERY_S)


async def _run(job: ChaosJob, orders: Any, results: Any) -> None:
    loader = Loader(job, results.put)
    await loader.connect()
    followers = [asyncio.create_task(loader.follow(d, c)) for d, c in loader.clients.items()]
    results.put({"loader": job.index, "connected": len(loader.clients)})
    progress = asyncio.create_task(loader.progress())
    sender: asyncio.Task[None] | None = None
    loop = asyncio.get_running_loop()
    while True:
        order: Order = await loop.run_in_executor(None, orders.get)
        if order.what == "load":
            loader.sending = True
            sender = asyncio.create_task(loader.load())
        elif order.what == "stop":
            loader.sending = False
            if sender is not None:
                await sender
            if loader.in_flight:
                await asyncio.wait(set(loader.in_flight), timeout=SEND_DEADLINE_S + 10)
            results.put({"loader": job.index, "stopped": len(loader.in_flight)})
        elif order.what == "sweep":
            results.put({"loader": job.index, "sweep": await loader.sweep()})
        elif order.what == "await":
            behind = await loader.hold(order.seqs or {}, deadline_s=120.0)
            results.put({"loader": job.index, "behind": behind})
        else:
            break
    progress.cancel()
    results.put(
        {
            "loader": job.index,
            "records": {
                "sends": loader.sends,
                "arrivals": loader.arrivals,
                "reconnects": loader.reconnects,
                "skipped": loader.skipped,
                "stream_failures": loader.stream_failures,
            },
        }
    )
    for client in loader.clients.values():
        with contextlib.suppress(Exception):
            await client.close()
    for task in followers:
        task.cancel()


def run_loader(job: ChaosJob, orders: Any, results: Any) -> None:
    """The loader process's entry point (multiprocessing, spawn). The SDK's warnings go to
    the job's log file, beside the results."""
    logging.basicConfig(
        filename=job.log_file,
        level=logging.WARNING if job.log_file else logging.ERROR,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    asyncio.run(_run(job, orders, results))


def drain(results: Any) -> list[dict[str, Any]]:
    """Every report already queued, without waiting."""
    reports = []
    while True:
        try:
            reports.append(results.get_nowait())
        except queue.Empty:
            return reports
