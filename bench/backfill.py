"""Sync backfill: a device that was offline while `messages` messages arrived in
`conversations` conversations reconnects and catches up after its cursors.

Set-up: bob creates the conversations with alice and sends the messages over a WebSocket;
once the history view holds them all, and the fan-out's replay window of recently sent
events (docs/protocol.md) has passed, alice's device connects with a cursor per
conversation at the seq of its creation and catches up. Measured per catch-up: the time
from the first request to the last answer, the requests made and the bytes each way.

How the device catches up is one function (`BACKFILLS`): today it pages `fetch_history`
after each cursor; the `sync` request (one frame for many conversations) is written
against its announced shape and is chosen with PARLEY_BENCH_BACKFILL=sync.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.edge import PASSWORD
from bench.services import edge_port, parley_running
from infra.settings import PlatformSettings

TEXT = "a message of typical length, about sixty bytes of text"
REPLAY_WINDOW_S = 11.0
"""The fan-out replays up to 10 s of recent events to a user it first sees online; the
device connects after that, so that the figure is the catch-up alone."""


@dataclass(frozen=True)
class BackfillLoad:
    name: str
    conversations: int = 100
    messages: int = 10_000
    page_limit: int = 200
    """fetch_history's page (its most)."""
    sync_limit: int = 2000
    """Events per sync answer (its most; about 1 MB of JSON here)."""
    parallel: int = 8
    """Requests in flight at once (fetch_history pages of different conversations)."""
    repeats: int = 3


QUICK = BackfillLoad("quick", conversations=20, messages=1_000, repeats=1)
FULL = BackfillLoad("full")


class RequestFailedError(RuntimeError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


class FrameSocket:
    """Requests over one WebSocket, each answered by its id; counts the bytes each way."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count()
        self.bytes_out = 0
        self.bytes_in = 0
        self.push_bytes = 0
        self.pushes = 0
        self.reader = asyncio.create_task(self._read())

    async def request(self, frame: dict[str, Any]) -> dict[str, Any]:
        request_id = f"r{next(self.ids)}"
        text = json.dumps({**frame, "id": request_id})
        answer = asyncio.get_running_loop().create_future()
        self.pending[request_id] = answer
        self.bytes_out += len(text.encode())
        await self.ws.send_str(text)
        result: dict[str, Any] = await answer
        return result

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            size = len(message.data.encode())
            frame = json.loads(message.data)
            answer = self.pending.pop(frame.get("id") or "", None)
            if answer is None:
                self.push_bytes += size
                self.pushes += 1
                continue
            self.bytes_in += size
            if frame["type"] == "error":
                answer.set_exception(RequestFailedError(frame["code"], frame["message"]))
            else:
                answer.set_result(frame["result"])
        for answer in self.pending.values():
            answer.set_exception(ConnectionError("the WebSocket closed"))

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()


@dataclass
class CatchUp:
    """What a catch-up received: the seqs per conversation, and the requests it took."""

    cursors: dict[str, int]
    seqs: dict[str, list[int]] = field(default_factory=dict)
    last_seqs: dict[str, int] = field(default_factory=dict)
    requests: int = 0

    def take(self, cid: str, seqs: list[int], last_seq: int | None) -> bool:
        """Record a page; True once the conversation is caught up: the page was empty, or
        reached the last seq the server reported."""
        cursor = self.cursors[cid]
        newer = [s for s in seqs if s > cursor]
        self.seqs.setdefault(cid, []).extend(newer)
        if last_seq is not None:
            self.last_seqs[cid] = last_seq
        self.cursors[cid] = max(newer, default=cursor)
        return not newer or (last_seq is not None and self.cursors[cid] >= last_seq)

    def events(self) -> int:
        return sum(len(s) for s in self.seqs.values())

    def gaps(self, start: dict[str, int]) -> list[str]:
        """Conversations whose received seqs are not exactly start+1 .. their last seq
        (one missing, repeated or out of range)."""
        return [
            cid
            for cid, first in start.items()
            if sorted(self.seqs.get(cid, []))
            != list(range(first + 1, self.last_seqs.get(cid, first) + 1))
        ]


Backfill = Callable[[FrameSocket, dict[str, int], BackfillLoad], Awaitable[CatchUp]]


async def fetch_history_backfill(
    socket: FrameSocket, cursors: dict[str, int], load: BackfillLoad
) -> CatchUp:
    """Pages `fetch_history(after=cursor)` per conversation until each is caught up,
    `load.parallel` requests at a time."""
    catch_up = CatchUp(dict(cursors))
    slots = asyncio.Semaphore(load.parallel)

    async def one(cid: str) -> None:
        done = False
        while not done:
            async with slots:
                page = await socket.request(
                    {
                        "type": "fetch_history",
                        "conversation_id": cid,
                        "after": catch_up.cursors[cid],
                        "limit": load.page_limit,
                    }
                )
            catch_up.requests += 1
            done = catch_up.take(cid, [e["seq"] for e in page["events"]], page.get("last_seq"))

    await asyncio.gather(*(one(cid) for cid in cursors))
    return catch_up


def take_sync_answer(catch_up: CatchUp, answer: dict[str, Any]) -> bool:
    """Applies one `sync` answer; True while the server says there is more. A conversation
    answered with a snapshot instead of events stands for everything up to its last seq,
    so its cursor moves there."""
    for conversation in answer["conversations"]:
        cid = conversation["conversation_id"]
        catch_up.cursors.setdefault(cid, 0)
        seqs = [e["seq"] for e in conversation.get("events", [])]
        last_seq = conversation.get("last_seq")
        catch_up.take(cid, seqs, last_seq)
        if conversation.get("snapshot") is not None and not seqs and last_seq is not None:
            catch_up.cursors[cid] = max(catch_up.cursors[cid], last_seq)
    return bool(answer.get("more"))


async def sync_backfill(
    socket: FrameSocket, cursors: dict[str, int], load: BackfillLoad
) -> CatchUp:
    """`{"type":"sync","cursors":{cid:seq},"limit":N}` until `more` is false."""
    catch_up = CatchUp(dict(cursors))
    more = True
    while more:
        answer = await socket.request(
            {"type": "sync", "cursors": dict(catch_up.cursors), "limit": load.sync_limit}
        )
        catch_up.requests += 1
        more = take_sync_answer(catch_up, answer)
    return catch_up


BACKFILLS: dict[str, Backfill] = {
    "fetch_history": fetch_history_backfill,
    "sync": sync_backfill,
}


def run(base: PlatformSettings, load: BackfillLoad) -> dict[str, Any]:
    """Both ways of catching up, side by side on the same missed messages: `sync` (what the
    SDK and the web client use) first, then `fetch_history` per conversation."""
    methods = os.environ.get("PARLEY_BENCH_BACKFILL", "sync,fetch_history").split(",")
    if unknown := set(methods) - set(BACKFILLS):
        raise ValueError(f"PARLEY_BENCH_BACKFILL: {sorted(unknown)} not in {sorted(BACKFILLS)}")
    print("[backfill] starting sequencer, accounts, fan-out, the views and one edge", flush=True)
    with parley_running(base, stem="fill", edge_nodes=1, edge_port=edge_port(2)) as (_, urls):
        by_method = asyncio.run(_measure(urls[0], load, [BACKFILLS[m] for m in methods]))
    summaries = {m: _summary(load, runs) for m, runs in zip(methods, by_method, strict=True)}
    primary = methods[0]
    return {
        "benchmark": "sync-backfill",
        "load": load.name,
        "method": primary,
        "conversations": load.conversations,
        "messages": load.messages,
        "page_limit": load.page_limit,
        "sync_limit": load.sync_limit,
        "parallel_requests": load.parallel,
        **summaries[primary],
        "compared": {m: summaries[m] for m in methods[1:]},
    }


def _summary(load: BackfillLoad, runs: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = sorted(r["seconds"] for r in runs)
    median = seconds[len(seconds) // 2]
    return {
        "seconds_median": median,
        "events_per_s_median": round(load.messages / median, 1) if median else float("nan"),
        "bytes_in_per_event": runs[0]["bytes_in_per_event"],
        "requests": runs[0]["requests"],
        "runs": runs,
    }


async def _measure(
    url: str, load: BackfillLoad, backfills: list[Backfill]
) -> list[list[dict[str, Any]]]:
    async with aiohttp.ClientSession() as http:
        alice, bob = await _accounts(http, url)
        cursors = await _conversations(http, url, bob[1], alice[0], load.conversations)
        ws = await _connect(http, url, bob[1])
        sender = FrameSocket(ws)
        try:
            last_send = await _send_all(sender, list(cursors), load)
            await _until_history_has(sender, cursors, load)
        finally:
            await sender.close()
        wait = last_send + REPLAY_WINDOW_S - time.monotonic()
        if wait > 0:
            print(f"[backfill] waiting {wait:.0f} s for the replay window to pass", flush=True)
            await asyncio.sleep(wait)
        return [
            await _catch_ups(http, url, alice[1], cursors=cursors, load=load, backfill=b)
            for b in backfills
        ]


async def _catch_ups(
    http: aiohttp.ClientSession,
    url: str,
    token: str,
    *,
    cursors: dict[str, int],
    load: BackfillLoad,
    backfill: Backfill,
) -> list[dict[str, Any]]:
    runs = []
    for n in range(load.repeats):
        socket = FrameSocket(await _connect(http, url, token))
        try:
            began = time.perf_counter()
            caught = await backfill(socket, cursors, load)
            seconds = time.perf_counter() - began
        finally:
            await socket.close()
        gaps = caught.gaps(cursors)
        events = caught.events()
        runs.append(
            {
                "seconds": round(seconds, 3),
                "events": events,
                "requests": caught.requests,
                "bytes_in": socket.bytes_in,
                "bytes_out": socket.bytes_out,
                "bytes_in_per_event": round(socket.bytes_in / max(events, 1), 1),
                "pushes_meanwhile": socket.pushes,
                "complete": not gaps and events == load.messages,
                "conversations_with_gaps": len(gaps),
            }
        )
        print(
            f"[backfill] {backfill.__name__} {n + 1}/{load.repeats}: {events} events in "
            f"{seconds:.2f} s, {caught.requests} requests, {socket.bytes_in} bytes in",
            flush=True,
        )
    return runs


async def _post(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as response:
        payload = await response.json()
        if response.status >= 400:
            raise RuntimeError(f"{url}: {response.status} {payload}")
        return payload


async def _accounts(
    http: aiohttp.ClientSession, url: str
) -> tuple[tuple[str, str], tuple[str, str]]:
    """(user id, token) of alice and of bob, each with one device."""
    found = []
    for who in ("alice", "bob"):
        name = f"{who}{os.urandom(4).hex()}"
        await _post(http, f"{url}/v1/accounts", {"username": name, "password": PASSWORD})
        login = await _post(
            http,
            f"{url}/v1/sessions",
            {"username": name, "password": PASSWORD, "device_name": f"{who}-phone"},
        )
        found.append((name, login["token"]))
    return found[0], found[1]


async def _conversations(
    http: aiohttp.ClientSession, url: str, token: str, member: str, count: int
) -> dict[str, int]:
    """Creates the groups; returns each one's creation seq (the offline device's cursor)."""
    limit = asyncio.Semaphore(20)

    async def one(i: int) -> tuple[str, int]:
        async with limit:
            answer = await _post(
                http,
                f"{url}/v1/conversations",
                {"kind": "group", "members": [member], "name": f"backfill {i}"},
                token,
            )
        return answer["conversation_id"], int(answer["seq"])

    return dict(await asyncio.gather(*(one(i) for i in range(count))))


async def _connect(
    http: aiohttp.ClientSession, url: str, token: str
) -> aiohttp.ClientWebSocketResponse:
    return await http.ws_connect(
        f"{url}/v1/ws",
        headers={"Authorization": f"Bearer {token}"},
        max_msg_size=8 * 1024 * 1024,
        timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
    )


async def _send_all(sender: FrameSocket, cids: list[str], load: BackfillLoad) -> float:
    """Sends the messages round-robin over the conversations, 60 in flight (the edge
    allows 64); returns the monotonic time of the last answer."""
    print(f"[backfill] sending {load.messages} messages", flush=True)
    slots = asyncio.Semaphore(60)
    began = time.monotonic()

    async def one(i: int) -> None:
        async with slots:
            await sender.request(
                {
                    "type": "send",
                    "conversation_id": cids[i % len(cids)],
                    "client_msg_id": f"fill-{i}",
                    "body": {"kind": "plain", "text": TEXT},
                }
            )
        if (i + 1) % 2_000 == 0:
            print(f"[backfill] {i + 1} sent", flush=True)

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(load.messages))), timeout=300)
    print(f"[backfill] sent in {time.monotonic() - began:.1f} s", flush=True)
    return time.monotonic()


async def _until_history_has(
    reader: FrameSocket, cursors: dict[str, int], load: BackfillLoad, deadline_s: float = 120.0
) -> None:
    per_conversation = load.messages // len(cursors)
    deadline = time.monotonic() + deadline_s
    waiting = dict(cursors)
    while waiting:
        for cid, first in list(waiting.items()):
            try:
                page = await reader.request(
                    {"type": "fetch_history", "conversation_id": cid, "before": 2, "limit": 1}
                )
            except RequestFailedError as e:
                if e.code != "unavailable":
                    raise
                continue
            if page.get("last_seq", 0) >= first + per_conversation:
                del waiting[cid]
        if waiting:
            if time.monotonic() > deadline:
                raise TimeoutError(f"history still behind in {len(waiting)} conversations")
            await asyncio.sleep(0.2)
