"""How many idle, authenticated WebSockets one edge process holds, and what each costs.

Client processes open the connections from several loopback addresses (each address has
its own ephemeral ports) and then keep them open without sending; the edge's resident
memory is read from /proc before and after.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.edge import PASSWORD
from bench.services import edge_port, parley_running
from bench.stats import rss_mib
from infra.services import service_processes
from infra.settings import PlatformSettings


@dataclass(frozen=True)
class IdleLoad:
    name: str
    connections: int = 19_000
    client_processes: int = 4
    hold_seconds: float = 10.0


QUICK = IdleLoad("quick", connections=2_000, client_processes=2, hold_seconds=3.0)
FULL = IdleLoad("full")


@dataclass(frozen=True)
class HolderJob:
    url: str
    tokens: list[str]
    count: int
    source_ip: str


def _hold(job: HolderJob, results: Any, release: Any) -> None:
    asyncio.run(_open_and_hold(job, results, release))


async def _open_and_hold(job: HolderJob, results: Any, release: Any) -> None:
    connector = aiohttp.TCPConnector(limit=0, local_addr=(job.source_ip, 0))
    opened: list[aiohttp.ClientWebSocketResponse] = []
    failures = 0
    async with aiohttp.ClientSession(connector=connector) as http:
        semaphore = asyncio.Semaphore(200)

        async def one(i: int) -> None:
            nonlocal failures
            token = job.tokens[i % len(job.tokens)]
            try:
                async with semaphore:
                    opened.append(
                        await http.ws_connect(
                            f"{job.url}/v1/ws",
                            headers={"Authorization": f"Bearer {token}"},
                            heartbeat=None,
                            autoping=True,
                            timeout=aiohttp.ClientWSTimeout(ws_close=1.0),
                        )
                    )
            except (aiohttp.ClientError, OSError, TimeoutError):
                failures += 1

        await asyncio.gather(*(one(i) for i in range(job.count)))
        results.put({"opened": len(opened), "failures": failures})
        while not release.is_set():
            await asyncio.sleep(0.2)
        await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)


async def _tokens(url: str, people: int) -> list[str]:
    tokens = []
    async with aiohttp.ClientSession() as http:
        for _ in range(people):
            name = f"i{uuid.uuid4().hex[:10]}"
            async with http.post(
                f"{url}/v1/accounts", json={"username": name, "password": PASSWORD}
            ) as r:
                r.raise_for_status()
            async with http.post(
                f"{url}/v1/sessions", json={"username": name, "password": PASSWORD}
            ) as r:
                tokens.append((await r.json())["token"])
    return tokens


def run(base: PlatformSettings, load: IdleLoad) -> dict[str, Any]:
    with parley_running(base, stem="idle", edge_nodes=1, edge_port=edge_port(1)) as (
        settings,
        urls,
    ):
        url = urls[0]
        edge_pid = next(p.pid() for p in service_processes(settings) if p.name == "edge-0")
        tokens = asyncio.run(_tokens(url, 10))
        time.sleep(2.0)
        before = rss_mib(edge_pid or 0)
        share = load.connections // load.client_processes
        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        release = spawn.Event()
        began = time.monotonic()
        jobs = [
            HolderJob(url, tokens, share, f"127.0.0.{2 + i % 2}")
            for i in range(load.client_processes)
        ]
        holders = [spawn.Process(target=_hold, args=(job, results, release)) for job in jobs]
        for holder in holders:
            holder.start()
        try:
            print(f"[idle] opening {share * len(jobs)} connections", flush=True)
            parts = [results.get(timeout=300) for _ in holders]
            open_seconds = time.monotonic() - began
            opened = sum(p["opened"] for p in parts)
            held = _until_held(url, opened, deadline_s=30.0)
            held_seconds = time.monotonic() - began
            print(
                f"[idle] opened in {open_seconds:.1f} s, {held} held by the edge after "
                f"{held_seconds:.1f} s; holding {load.hold_seconds:.0f} s",
                flush=True,
            )
            time.sleep(load.hold_seconds)
            after = rss_mib(edge_pid or 0)
            connections = _edge_connections(url)
            release.set()
            for holder in holders:
                holder.join(60)
        finally:
            for holder in holders:
                if holder.is_alive():
                    holder.terminate()
    return {
        "benchmark": "idle-connections",
        "load": load.name,
        "target": share * len(jobs),
        "opened": opened,
        "failures": sum(p["failures"] for p in parts),
        "held_by_edge": connections,
        "seconds_to_open": round(open_seconds, 1),
        "seconds_until_held": round(held_seconds, 1),
        "edge_rss_before_mib": round(before, 1),
        "edge_rss_after_mib": round(after, 1),
        "kib_per_connection": round((after - before) * 1024 / max(connections, 1), 1),
    }


def _until_held(url: str, opened: int, deadline_s: float) -> int:
    """The edge's count of open connections once it holds every one opened (a connection
    counts once authenticated), or whatever it holds at the deadline."""
    deadline = time.monotonic() + deadline_s
    held = _edge_connections(url)
    while held < opened and time.monotonic() < deadline:
        time.sleep(0.5)
        held = _edge_connections(url)
    return held


def _edge_connections(url: str) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/healthz", timeout=10) as response:
        return int(json.load(response)["connections"])
