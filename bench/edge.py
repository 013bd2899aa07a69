"""End to end through Parley: send call on one device -> the message yielded on every other
device of every member, through the edges, the sequencer, the fan-out and Kafka.

Load: `devices` devices (two per person) on two edge nodes, 1:1 conversations and groups of
ten; loader processes hold the WebSockets and send at a fixed total rate; every message
carries its send time, and every receiving device records when it arrived.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.stats import latency_summary, rss_mib
from infra.services import service_processes, start_services, stop_services
from infra.settings import PlatformSettings
from infra.topics import ensure_topics
from schemas.topics import declare_topics

PASSWORD = "benchmark password"


@dataclass(frozen=True)
class EdgeLoad:
    name: str
    devices: int = 1000
    rate_per_s: int = 1000
    seconds: float = 20.0
    warmup_seconds: float = 5.0
    group_share: float = 0.5
    loaders: int = 2


QUICK = EdgeLoad("quick", seconds=10.0, warmup_seconds=3.0)
FULL = EdgeLoad("full", seconds=30.0, warmup_seconds=5.0)


@dataclass
class Population:
    tokens: list[tuple[int, str]] = field(default_factory=list)  # (edge node, token)
    device_user: list[str] = field(default_factory=list)
    conversations: dict[str, list[str]] = field(default_factory=dict)  # cid -> users
    user_devices: dict[str, list[int]] = field(default_factory=dict)


async def _populate(urls: list[str], load: EdgeLoad) -> Population:
    people = [f"b{uuid.uuid4().hex[:10]}" for _ in range(load.devices // 2)]
    population = Population()
    limit = asyncio.Semaphore(40)
    async with aiohttp.ClientSession() as http:

        async def call(url: str, body: dict[str, Any], token: str | None = None) -> Any:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            async with limit, http.post(url, json=body, headers=headers) as response:
                payload = await response.json()
                if response.status >= 400:
                    raise RuntimeError(f"{url}: {response.status} {payload}")
                return payload

        await asyncio.gather(
            *[call(f"{urls[0]}/v1/accounts", {"username": p, "password": PASSWORD}) for p in people]
        )
        logins = await asyncio.gather(
            *[
                call(
                    f"{urls[i % len(urls)]}/v1/sessions",
                    {"username": p, "password": PASSWORD, "device_name": f"dev{i}"},
                )
                for p in people
                for i in range(2)
            ]
        )
        for index, login in enumerate(logins):
            user = people[index // 2]
            population.tokens.append((index % len(urls), login["token"]))
            population.device_user.append(user)
            population.user_devices.setdefault(user, []).append(index)
        shuffled = people[:]
        random.Random(7).shuffle(shuffled)
        in_groups = int(len(shuffled) * load.group_share) // 10 * 10
        owner_token = {u: population.tokens[population.user_devices[u][0]][1] for u in people}
        creations = []
        for start in range(0, in_groups, 10):
            members = shuffled[start : start + 10]
            creations.append(
                (
                    members,
                    call(
                        f"{urls[0]}/v1/conversations",
                        {"kind": "group", "members": members[1:], "name": "bench"},
                        owner_token[members[0]],
                    ),
                )
            )
        for start in range(in_groups, len(shuffled) - 1, 2):
            pair = shuffled[start : start + 2]
            creations.append(
                (
                    pair,
                    call(
                        f"{urls[0]}/v1/conversations",
                        {"kind": "direct", "members": pair[1:]},
                        owner_token[pair[0]],
                    ),
                )
            )
        created = await asyncio.gather(*[c for _, c in creations])
        for (members, _), answer in zip(creations, created, strict=True):
            population.conversations[answer["conversation_id"]] = members
    return population


Device = tuple[int, int, str, str]  # (global index, edge node, token, user)


@dataclass(frozen=True)
class LoaderJob:
    index: int
    load: EdgeLoad
    urls: list[str]
    devices: list[Device]
    conversations: dict[str, list[str]]
    start_at: float


def _loader(job: LoaderJob, results: Any) -> None:
    """Runs in its own process: holds its devices, sends its share, records arrivals."""
    results.put(asyncio.run(_load(job)))


async def _load(job: LoaderJob) -> dict[str, Any]:
    index, load, urls, devices = job.index, job.load, job.urls, job.devices
    arrivals: list[tuple[str, int, float]] = []  # (message id, device, latency ms)
    sent: list[tuple[str, str]] = []  # (message id, conversation)
    errors: Counter[str] = Counter()
    by_user: dict[str, list[str]] = {}
    for cid, members in job.conversations.items():
        for user in members:
            by_user.setdefault(user, []).append(cid)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = []
        for _, node, token, _user in devices:
            sockets.append(
                await http.ws_connect(
                    f"{urls[node]}/v1/ws",
                    headers={"Authorization": f"Bearer {token}"},
                    max_msg_size=8 * 1024 * 1024,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                )
            )

        async def read(device: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for message in ws:
                now = time.time_ns()
                frame = json.loads(message.data)
                if frame["type"] == "event" and frame["event"]["type"] == "MessageSent":
                    text = frame["event"]["body"]["text"]
                    message_id, _, stamp = text.partition("|")
                    if message_id.startswith("w-"):
                        continue
                    arrivals.append((message_id, device, (now - int(stamp)) / 1e6))
                elif frame["type"] == "error":
                    errors[frame["code"]] += 1

        print(f"[edge] loader {index}: {len(sockets)} devices connected", flush=True)
        readers = [
            asyncio.create_task(read(device[0], ws))
            for device, ws in zip(devices, sockets, strict=True)
        ]
        senders = [
            (ws, device[3])
            for ws, device in zip(sockets, devices, strict=True)
            if by_user.get(device[3])
        ]
        rate = load.rate_per_s / load.loaders
        total = int(rate * (load.warmup_seconds + load.seconds))
        warmup = int(rate * load.warmup_seconds)
        pick = random.Random(index)
        while time.time() < job.start_at:
            await asyncio.sleep(0.01)
        began = time.monotonic()
        for i in range(total):
            delay = began + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            ws, user = senders[pick.randrange(len(senders))]
            cid = pick.choice(by_user[user])
            message_id = f"{'w' if i < warmup else 'm'}-{index}-{i}"
            if i >= warmup:
                sent.append((message_id, cid))
            await ws.send_str(
                json.dumps(
                    {
                        "type": "send",
                        "id": message_id,
                        "conversation_id": cid,
                        "client_msg_id": message_id,
                        "body": {"kind": "plain", "text": f"{message_id}|{time.time_ns()}"},
                    }
                )
            )
        print(f"[edge] loader {index}: sent {len(sent)} measured messages", flush=True)
        await asyncio.sleep(5.0)
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return {"arrivals": arrivals, "sent": sent, "errors": dict(errors)}


def run(base: PlatformSettings, load: EdgeLoad) -> dict[str, Any]:
    settings = base.model_copy(
        update={
            "topic_prefix": f"bench{uuid.uuid4().hex[:6]}",
            "edge_nodes_local": 2,
            "edge_port": 18080,
            "partitions": 8,
        }
    )
    ensure_topics(
        settings.bootstrap, declare_topics(settings.topic_prefix, partitions=settings.partitions)
    )
    os.environ["PARLEY_ARGON2_TIME_COST"] = "1"
    os.environ["PARLEY_ARGON2_MEMORY_KIB"] = "8192"
    print("[edge] starting sequencer, accounts, fan-out, history and two edge nodes", flush=True)
    start_services(settings)
    urls = [f"http://127.0.0.1:{settings.edge_port + n}" for n in range(2)]
    try:
        _wait_listening(urls)
        print(f"[edge] registering {load.devices} devices", flush=True)
        population = asyncio.run(_populate(urls, load))
        devices: list[Device] = [
            (i, node, token, population.device_user[i])
            for i, (node, token) in enumerate(population.tokens)
        ]
        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        start_at = time.time() + 3.0 + load.devices / 500
        loaders = [
            spawn.Process(
                target=_loader,
                args=(
                    LoaderJob(
                        i,
                        load,
                        urls,
                        devices[i :: load.loaders],
                        population.conversations,
                        start_at,
                    ),
                    results,
                ),
            )
            for i in range(load.loaders)
        ]
        for process in loaders:
            process.start()
        print(
            f"[edge] {load.rate_per_s}/s for {load.warmup_seconds:.0f}+{load.seconds:.0f} s",
            flush=True,
        )
        parts = [results.get(timeout=load.warmup_seconds + load.seconds + 120) for _ in loaders]
        for process in loaders:
            process.join(10)
        edge_rss = [
            rss_mib(p.pid() or 0)
            for p in service_processes(settings)
            if p.name.startswith("edge") and p.pid()
        ]
    finally:
        stop_services(settings)
    return _summarise(load, population, parts, edge_rss)


def _summarise(
    load: EdgeLoad, population: Population, parts: list[dict[str, Any]], edge_rss: list[float]
) -> dict[str, Any]:
    sent = [s for part in parts for s in part["sent"]]
    arrivals = [a for part in parts for a in part["arrivals"]]
    expected = sum(len(population.conversations[cid]) * 2 for _, cid in sent)
    counts = Counter((message_id, device) for message_id, device, _ in arrivals)
    latencies = [ms for _, _, ms in arrivals]
    errors: Counter[str] = Counter()
    for part in parts:
        errors.update(part["errors"])
    return {
        "benchmark": "edge",
        "load": load.name,
        "devices": load.devices,
        "conversations": len(population.conversations),
        "rate_per_s": load.rate_per_s,
        "latency_rate_per_s": load.rate_per_s,
        "seconds": load.seconds,
        "sent": len(sent),
        "expected_deliveries": expected,
        "received": len(counts),
        "lost": expected - len(counts),
        "duplicated": sum(c - 1 for c in counts.values()),
        "deliveries_per_s": round(len(arrivals) / load.seconds, 1),
        "errors": dict(errors),
        "edge_rss_mib": [round(r, 1) for r in edge_rss],
        **latency_summary(latencies),
        "latencies_ms": latencies,
    }


def _wait_listening(urls: list[str], deadline_s: float = 60.0) -> None:
    import urllib.request

    deadline = time.monotonic() + deadline_s
    for url in urls:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)


def out_dir() -> Path:
    return Path(__file__).resolve().parent / "out"
