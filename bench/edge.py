"""End to end through Parley: send call on one device -> the message yielded on every other
device of every member, through the edges, the sequencer, the fan-out and Kafka.

Load: `devices` devices (two per person) on two edge nodes, 1:1 conversations and groups of
ten. Loader processes connect every device once and keep the WebSockets open across steps;
each step sends at a fixed total rate (bench/ramp.py), every message carrying its step, its
send time and whether it is warm-up; every receiving device records when it arrived. A
delivery that has not arrived `drain_seconds` after the step's last send counts as lost.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import queue
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import uvloop

from bench import hops, processes, ramp
from bench.ramp import Step
from bench.services import edge_port, parley_running
from bench.stats import latency_summary, rss_mib
from infra.services import service_processes
from infra.settings import REPO_ROOT, PlatformSettings
from schemas.topics import declare_topics

PASSWORD = "benchmark password"
PRIME_RATE = 100
"""Messages/s of the unmeasured traffic before the first step: enough to open every path,
too little to leave a queue behind for the first step."""


@dataclass(frozen=True)
class EdgeLoad:
    name: str
    steps: tuple[Step, ...]
    devices: int = 1000
    group_share: float = 0.5
    loaders: int = 2
    stop_above_ms: float | None = None
    """Stop climbing after the first step whose p99 is above this (the ramp)."""
    prime_seconds: float = 10.0
    """Traffic before the first step, not measured: the first messages through a fresh
    cluster pay for connections, leaders and caches being set up."""
    hops: bool = False
    """Stamp every measured message at each hop (bench/hops.py): an observer of the events
    and deliveries topics runs in this process during each step."""
    rest_seconds: float = 10.0
    """Before the priming: every device connected, nobody sending; the platform's CPU over
    this window is its floor at rest."""


def single(name: str, rate_per_s: int) -> EdgeLoad:
    step = Step(f"{rate_per_s}-per-s", rate_per_s, 3.0, 10.0, 5.0)
    return EdgeLoad(name, steps=(step,), prime_seconds=5.0)


QUICK = single("quick", 1000)
HOPS = EdgeLoad(
    "hops",
    steps=tuple(ramp.steps((200, 1000), warmup_seconds=3.0, seconds=10.0, drain_seconds=5.0)),
    hops=True,
)
"""The latency budget per hop at a low and the target rate."""
RAMP = EdgeLoad(
    "ramp",
    steps=tuple(ramp.steps(ramp.RAMP_RATES, warmup_seconds=3.0, seconds=10.0, drain_seconds=4.0)),
    stop_above_ms=ramp.P99_LIMIT_MS,
)


@dataclass
class Population:
    tokens: list[tuple[int, str]] = field(default_factory=list)  # (edge node, token)
    device_user: list[str] = field(default_factory=list)
    conversations: dict[str, list[str]] = field(default_factory=dict)  # cid -> users
    user_devices: dict[str, list[int]] = field(default_factory=dict)


async def populate(urls: list[str], load: EdgeLoad) -> Population:
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
    loaders: int
    urls: list[str]
    devices: list[Device]
    conversations: dict[str, list[str]]


@dataclass(frozen=True)
class StepOrder:
    step: Step
    tag: str
    start_at: float


MEASURED = ".m."
"""In the text of every measured message (its id, below), so only those pushes are parsed."""
ERROR = '"error"'
"""In every error frame; the loader counts them by code."""


def message_id(tag: str, warm: bool, loader: int, i: int) -> str:
    return f"{tag}.{'w' if warm else 'm'}.{loader}.{i}"


def measured_tag(message: str) -> str | None:
    """The step tag of a measured message's id; None for warm-up or foreign text."""
    parts = message.split(".")
    return parts[0] if len(parts) == 4 and parts[1] == "m" else None


def _loader(job: LoaderJob, orders: Any, results: Any) -> None:
    """Runs in its own process: holds its devices, runs each step it is sent, reports. It
    shares the cores with what it measures, so it is lean: uvloop, orjson, and a push is
    parsed only when it can be a measured message."""
    uvloop.run(_load(job, orders, results))


def _received(
    data: str,
    now_ns: int,
    device: int,
    arrivals: list[tuple[str, int, float]],
    errors: Counter[str],
) -> None:
    """One frame a device received: a measured message's arrival, or an error's code."""
    if MEASURED in data:
        frame = orjson.loads(data)
        if frame.get("type") == "event" and frame["event"]["type"] == "MessageSent":
            sent_id, _, stamp = frame["event"]["body"]["text"].partition("|")
            if measured_tag(sent_id) is not None:
                arrivals.append((sent_id, device, (now_ns - int(stamp)) / 1e6))
    elif ERROR in data:
        frame = orjson.loads(data)
        if frame.get("type") == "error":
            errors[frame["code"]] += 1


async def _load(job: LoaderJob, orders: Any, results: Any) -> None:
    arrivals: list[tuple[str, int, float]] = []  # (message id, device, latency ms)
    errors: Counter[str] = Counter()
    by_user: dict[str, list[str]] = {}
    for cid, members in job.conversations.items():
        for user in members:
            by_user.setdefault(user, []).append(cid)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = []
        for _, node, token, _user in job.devices:
            sockets.append(
                await http.ws_connect(
                    f"{job.urls[node]}/v1/ws",
                    headers={"Authorization": f"Bearer {token}"},
                    max_msg_size=8 * 1024 * 1024,
                    timeout=aiohttp.ClientWSTimeout(ws_close=2.0),
                )
            )

        async def read(device: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for message in ws:
                _received(message.data, time.time_ns(), device, arrivals, errors)

        readers = [
            asyncio.create_task(read(device[0], ws))
            for device, ws in zip(job.devices, sockets, strict=True)
        ]
        senders = [
            (ws, device[3])
            for ws, device in zip(sockets, job.devices, strict=True)
            if by_user.get(device[3])
        ]
        results.put({"loader": job.index, "connected": len(sockets)})
        loop = asyncio.get_running_loop()
        while (order := await loop.run_in_executor(None, orders.get)) is not None:
            arrivals.clear()
            errors.clear()
            step: Step = order.step
            rate = step.rate_per_s / job.loaders
            total = int(rate * (step.warmup_seconds + step.seconds))
            warmup = int(rate * step.warmup_seconds)
            sent: list[tuple[str, str, float]] = []  # (message id, conversation, sent ms)
            pick = random.Random(f"{order.tag}-{job.index}")
            while time.time() < order.start_at:
                await asyncio.sleep(0.01)
            began = time.monotonic()
            for i in range(total):
                delay = began + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                ws, user = senders[pick.randrange(len(senders))]
                cid = pick.choice(by_user[user])
                mid = message_id(order.tag, i < warmup, job.index, i)
                stamp = time.time_ns()
                if i >= warmup:
                    sent.append((mid, cid, stamp / 1e6))
                frame = {
                    "type": "send",
                    "id": mid,
                    "conversation_id": cid,
                    "client_msg_id": mid,
                    "body": {"kind": "plain", "text": f"{mid}|{stamp}"},
                }
                await ws.send_str(orjson.dumps(frame).decode())
            send_seconds = time.monotonic() - began
            await asyncio.sleep(step.drain_seconds)
            prefix = f"{order.tag}."
            results.put(
                {
                    "loader": job.index,
                    "arrivals": [a for a in arrivals if a[0].startswith(prefix)],
                    "sent": sent,
                    "total_sent": total,
                    "send_seconds": send_seconds,
                    "errors": dict(errors),
                }
            )
        for task in readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def run(base: PlatformSettings, load: EdgeLoad) -> dict[str, Any]:
    """Every step of `load` in one cluster and one population; the result has a summary
    (with its latencies) per step measured, and the knee."""
    print("[edge] starting sequencer, accounts, fan-out, history and two edge nodes", flush=True)
    with parley_running(base, stem="bench", edge_nodes=2, edge_port=edge_port(0)) as (
        settings,
        urls,
    ):
        print(f"[edge] registering {load.devices} devices", flush=True)
        population = asyncio.run(populate(urls, load))
        devices: list[Device] = [
            (i, node, token, population.device_user[i])
            for i, (node, token) in enumerate(population.tokens)
        ]
        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        orders = [spawn.Queue() for _ in range(load.loaders)]
        loaders = [
            spawn.Process(
                target=_loader,
                args=(
                    LoaderJob(
                        i,
                        load.loaders,
                        urls,
                        devices[i :: load.loaders],
                        population.conversations,
                    ),
                    orders[i],
                    results,
                ),
            )
            for i in range(load.loaders)
        ]
        for process in loaders:
            process.start()
        try:
            for _ in loaders:
                ready = next_report(results, loaders, 60 + load.devices / 20)
                print(f"[edge] loader {ready['loader']}: {ready['connected']} devices", flush=True)
            rest = _at_rest(load.rest_seconds)
            probe = (
                hops.HopProbe(
                    settings.bootstrap,
                    declare_topics(settings.topic_prefix, partitions=settings.partitions),
                    {index: node for index, node, _, _ in devices},
                )
                if load.hops
                else None
            )
            measured = _climb(load, population, orders, results, loaders, probe=probe)
            for order_queue in orders:
                order_queue.put(None)
            for process in loaders:
                process.join(30)
            edge_rss = [
                rss_mib(p.pid() or 0)
                for p in service_processes(settings)
                if p.name.startswith("edge") and p.pid()
            ]
        finally:
            for process in loaders:
                if process.is_alive():
                    process.terminate()
    return {
        "benchmark": "edge",
        "load": load.name,
        "devices": load.devices,
        "conversations": len(population.conversations),
        "edge_nodes": 2,
        "p99_limit_ms": load.stop_above_ms,
        "knee_rate_per_s": ramp.knee(measured, load.stop_above_ms or ramp.P99_LIMIT_MS),
        "steps_planned": [s.rate_per_s for s in load.steps],
        "edge_rss_mib": [round(r, 1) for r in edge_rss],
        "at_rest": rest,
        "steps": measured,
    }


def next_report(results: Any, loaders: list[Any], timeout_s: float) -> Any:
    """The next report of any loader; fails at once if a loader has died."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return results.get(timeout=1.0)
        except queue.Empty:
            dead = [p.exitcode for p in loaders if p.exitcode is not None]
            if dead:
                raise RuntimeError(f"a loader exited (exit codes {dead})") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"no loader report in {timeout_s:.0f} s") from None


def _climb(
    load: EdgeLoad,
    population: Population,
    orders: list[Any],
    results: Any,
    loaders: list[Any],
    *,
    probe: hops.HopProbe | None = None,
) -> list[dict[str, Any]]:
    if load.prime_seconds > 0:
        rate = min(load.steps[0].rate_per_s, PRIME_RATE)
        print(f"[edge] priming at {rate}/s for {load.prime_seconds:.0f} s", flush=True)
        prime = Step("prime", rate, load.prime_seconds, 0.0, 1.0)
        for order_queue in orders:
            order_queue.put(StepOrder(prime, "prime", time.time() + 1.0))
        for _ in orders:
            next_report(results, loaders, prime.bound_seconds)
    measured: list[dict[str, Any]] = []
    for n, step in enumerate(load.steps):
        for attempt in (1, 2):
            print(
                f"[edge] step {n + 1}/{len(load.steps)}: {step.rate_per_s} messages/s for "
                f"{step.warmup_seconds:.0f}+{step.seconds:.0f} s"
                + (" (again)" if attempt == 2 else ""),
                flush=True,
            )
            order = StepOrder(step, f"s{n}a{attempt}", time.time() + 1.0)
            observer = probe.observe() if probe is not None else None
            before = processes.snapshot(REPO_ROOT)
            for order_queue in orders:
                order_queue.put(order)
            parts = [next_report(results, loaders, step.bound_seconds) for _ in orders]
            cpu = processes.cpu_seconds(before, processes.snapshot(REPO_ROOT))
            summary = summarise(step, population, parts) | {"attempt": attempt}
            summary |= cpu_per_message(cpu, sum(p["total_sent"] for p in parts))
            if probe is not None and observer is not None:
                summary["hops"] = probe.measure(observer, parts)
            measured.append(summary)
            print(
                f"[edge] {step.rate_per_s}/s: p50 {summary['p50_ms']:.0f} ms, "
                f"p99 {summary['p99_ms']:.0f} ms, {summary['deliveries_per_s']:.0f} "
                f"deliveries/s, lost {summary['lost']}, duplicated {summary['duplicated']}, "
                f"platform CPU {summary['platform_cpu_us_per_message']:.0f} us/message",
                flush=True,
            )
            over = load.stop_above_ms is not None and ramp.should_stop(summary, load.stop_above_ms)
            if not over:
                break
            if attempt == 1:
                print("[edge] p99 over the limit: the step runs once more", flush=True)
        else:
            print(f"[edge] p99 above {load.stop_above_ms:.0f} ms twice: the ramp stops", flush=True)
            break
    return measured


def _at_rest(seconds: float) -> dict[str, Any]:
    """The CPU of every process, as a share of one core, while every device is connected
    and nobody sends."""
    print(f"[edge] every device connected, nobody sending: {seconds:.0f} s at rest", flush=True)
    before = processes.snapshot(REPO_ROOT)
    time.sleep(seconds)
    cpu = processes.cpu_seconds(before, processes.snapshot(REPO_ROOT))
    share = {role: round(s / seconds, 3) for role, s in cpu.items()}
    platform = round(processes.platform_seconds(cpu) / seconds, 3)
    print(f"[edge] at rest the platform took {100 * platform:.1f}% of a core", flush=True)
    return {"seconds": seconds, "share_of_core": share, "platform_share_of_core": platform}


def cpu_per_message(cpu: dict[str, float], messages: int) -> dict[str, Any]:
    """CPU seconds by role over a step (warm-up, measured and drain) and microseconds of
    CPU per message sent in it."""
    per = {role: round(1e6 * s / max(messages, 1), 1) for role, s in cpu.items()}
    return {
        "cpu_s": cpu,
        "cpu_us_per_message": per,
        "platform_cpu_us_per_message": round(
            1e6 * processes.platform_seconds(cpu) / max(messages, 1), 1
        ),
    }


def summarise(step: Step, population: Population, parts: list[dict[str, Any]]) -> dict[str, Any]:
    sent = [s for part in parts for s in part["sent"]]
    arrivals = [a for part in parts for a in part["arrivals"]]
    expected = sum(len(population.conversations[cid]) * 2 for _, cid, _ in sent)
    counts = Counter((mid, device) for mid, device, _ in arrivals)
    latencies = [ms for _, _, ms in arrivals]
    errors: Counter[str] = Counter()
    for part in parts:
        errors.update(part["errors"])
    send_seconds = max(part["send_seconds"] for part in parts)
    return {
        "step": step.name,
        "rate_per_s": step.rate_per_s,
        "achieved_rate_per_s": round(sum(p["total_sent"] for p in parts) / send_seconds, 1),
        "latency_rate_per_s": step.rate_per_s,
        "warmup_seconds": step.warmup_seconds,
        "seconds": step.seconds,
        "drain_seconds": step.drain_seconds,
        "sent": len(sent),
        "expected_deliveries": expected,
        "received": len(counts),
        "lost": expected - len(counts),
        "duplicated": sum(c - 1 for c in counts.values()),
        "deliveries_per_s": round(len(counts) / step.seconds, 1),
        "errors": dict(errors),
        **latency_summary(latencies),
        "latencies_ms": latencies,
    }
