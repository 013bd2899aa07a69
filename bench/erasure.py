"""Erasure of a person, timed per store: how long after the officer's request each store
stops holding their content (docs/compliance.md, "Erasure of a person"; the target: 5
minutes for 100,000 messages in 1,000 conversations).

On a platform of its own with every process of `make run` (sequencer, accounts, fan-out,
history, inbox, search, archive, media) and one edge: the person ("ann") signs up with a
canary in their display name, opens `conversations` groups with a second person ("bob"),
and sends `messages` through the edge's WebSocket, each holding the canary; bob sends one
message in each of the first `kept` conversations (his own canary, which must stay). Once
the history and search views have caught up with the log, the erasure runs as the
operator's command line runs it (`Erasures.erase`, edge/operator.py's wiring, in this
process) and each store is watched until it is clean:

- key: the person key destroyed in the key store (the moment `destroy` returned);
- report: every `EraseSenderContent` accepted by the sequencer (`erase` returned);
- history: every conversation's latest event, fetched by bob, is `SenderContentErased`, and
  then its page of 200 events holds no canary (polled in rounds: the figure is late by at
  most a round, `history_rounds` of them);
- search: the index holds no document whose sender is the person (a `SearchReader` on the
  view's directory, polled every 50 ms).

Then every process is stopped and every file under the platform's data dir (the views,
the key store, the process logs, the broker's segments, the S3 server's storage) is
scanned for the canary (UTF-8, UTF-16, base64) and the destroyed key's bytes.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import aiohttp
import matplotlib
import orjson
from confluent_kafka import Consumer, TopicPartition
from tantivy import Query

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from bench.device import PASSWORD, Device, call, sign_up
from bench.services import edge_port, parley_running
from bench.stats import latency_summary
from edge.app import view_path
from edge.operator import host_erasures, with_submitter
from edge.protocol.compliance import ErasureReport
from edge.settings import EdgeSettings
from edge.submission import Submitter
from edge.views import LazyHistory
from infra.settings import PlatformSettings
from media.log import KafkaMediaLog
from projections.reader import ViewReader
from projections.search.query import SearchReader, documents_by
from schemas.topics import declare_topics
from sealing.keyids import person_key_id
from sealing.keystore import KeyStore, SqliteKeyStore
from tests.e2e.scan import key_forms, scan, text_forms

T = TypeVar("T")
FILLER = "a message of typical length about sixty bytes of text"
HISTORY_ROUND_CONCURRENCY = 16
IN_FLIGHT = 48
"""Sends awaiting their answer at once on one device (the edge allows 64 requests)."""
SEARCH_POLL_S = 0.05
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ErasureLoad:
    name: str
    messages: int
    conversations: int
    kept: int = 20
    """Conversations where the other member writes too: his messages must stay."""
    devices: int = 4
    """The person's devices, sending side by side."""
    deadline_s: float = 900.0
    """For each phase: writing, catching up, erasing."""


QUICK = ErasureLoad("quick", 10_000, 100)
FULL = ErasureLoad("full", 100_000, 1_000)


def sized(load: ErasureLoad, environ: dict[str, str]) -> ErasureLoad:
    """The load with PARLEY_BENCH_ERASURE_MESSAGES and _CONVERSATIONS applied (its name says
    so, so that a smaller run never overwrites the full one's results)."""
    messages = int(environ.get("PARLEY_BENCH_ERASURE_MESSAGES", load.messages))
    conversations = int(environ.get("PARLEY_BENCH_ERASURE_CONVERSATIONS", load.conversations))
    if (messages, conversations) == (load.messages, load.conversations):
        return load
    return ErasureLoad(
        f"{messages}-in-{conversations}",
        messages,
        conversations,
        kept=min(load.kept, conversations),
        devices=load.devices,
        deadline_s=load.deadline_s,
    )


def message_text(canary: str, i: int) -> str:
    return f"{canary} n{i} {FILLER}"


def page_clean(page: dict[str, Any], user: str, canary: str) -> bool:
    """A history page the erasure has reached: `SenderContentErased` of the person is in
    it, and the canary (if given) is not (the view dropped their bytes; a page the edge
    could merely not open, the key being gone, still lacks the event)."""
    erased = any(
        e["event"]["type"] == "SenderContentErased" and e["event"].get("user_id") == user
        for e in page["events"]
    )
    return erased and (not canary or canary.encode() not in orjson.dumps(page))


def remaining_over_time(cleaned_at: list[float], total: int) -> list[tuple[float, int]]:
    """(seconds, how many are left) at each moment one was cleaned, from (0, total)."""
    steps = [(0.0, total)]
    for n, at in enumerate(sorted(cleaned_at), start=1):
        steps.append((round(at, 3), total - n))
    return steps


@dataclass
class TimedKeys:
    """The key store the erasure is given, noting when the destroy returned."""

    inner: KeyStore
    clock: Callable[[], float] = time.monotonic
    destroyed_at: float | None = None

    def create(self, key_id: str) -> bytes:
        return self.inner.create(key_id)

    def get(self, key_id: str) -> bytes | None:
        return self.inner.get(key_id)

    def destroy(self, key_id: str) -> bool:
        found = self.inner.destroy(key_id)
        self.destroyed_at = self.clock()
        return found

    def ids(self, prefix: str) -> list[str]:
        return self.inner.ids(prefix)

    def close(self) -> None:
        self.inner.close()


@dataclass
class People:
    ann: str
    bob: str
    canary: str
    kept_canary: str
    ann_tokens: list[str] = field(default_factory=list)
    bob_token: str = ""
    conversations: list[str] = field(default_factory=list)


def edge_settings(settings: PlatformSettings) -> EdgeSettings:
    """What edge/operator.py reads from its environment, for this platform; an outcome is
    awaited up to a minute (not 10 s): on a loaded machine a round trip of 32 commands at
    once can take longer, and a timed-out erasure would have to be repeated by its id."""
    return EdgeSettings(
        kafka_bootstrap=settings.bootstrap,
        topic_prefix=settings.topic_prefix,
        partitions=settings.partitions,
        state_dir=settings.data_dir / "state",
        request_timeout_s=REQUEST_TIMEOUT_S,
    )


def high_watermarks(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-erasure-probe"})
    try:
        return {
            p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
            for p in range(partitions)
        }
    finally:
        consumer.close()


def caught_up(positions: dict[int, int], highs: dict[int, int]) -> bool:
    """Every partition read to its high watermark (less the last transaction's commit
    marker, which is never applied)."""
    return all(high == 0 or positions.get(p, 0) >= high - 1 for p, high in highs.items())


def matches(reader: SearchReader, query: Query) -> int:
    """Documents of the index as last committed that match (tantivy's stub omits `count`)."""
    found = reader.searcher().search(query, 1, count=True)
    return int(cast(Any, found).count or 0)



async def populate(http: aiohttp.ClientSession, base: str, load: ErasureLoad) -> People:
    tag = uuid.uuid4().hex[:8]
    people = People(
        ann=f"ann{tag}",
        bob=f"bob{tag}",
        canary=f"canary{uuid.uuid4().hex[:24]}",
        kept_canary=f"kept{uuid.uuid4().hex[:24]}",
    )
    people.ann_tokens.append(await sign_up(http, base, people.ann, f"Ann {people.canary}"))
    for _ in range(load.devices - 1):
        login = {"username": people.ann, "password": PASSWORD}
        people.ann_tokens.append((await call(http, f"{base}/v1/sessions", login))["token"])
    people.bob_token = await sign_up(http, base, people.bob)
    slots = asyncio.Semaphore(32)

    async def create(i: int) -> str:
        async with slots:
            made = await call(
                http,
                f"{base}/v1/conversations",
                {"kind": "group", "members": [people.bob], "name": f"erasure {i}"},
                people.ann_tokens[0],
            )
            cid: str = made["conversation_id"]
            return cid

    made = await asyncio.gather(*(create(i) for i in range(load.conversations)))
    people.conversations = list(made)
    return people


async def write(
    http: aiohttp.ClientSession, base: str, load: ErasureLoad, people: People
) -> dict[str, Any]:
    """Every message of the person (and the other's kept ones) through the edge; their
    rate and latency to the send's answer (the command accepted into the log)."""
    devices = [await Device.connect(http, base, token) for token in people.ann_tokens]
    bob = await Device.connect(http, base, people.bob_token)
    slots = {id(d): asyncio.Semaphore(IN_FLIGHT) for d in [*devices, bob]}
    answered_ms: list[float] = []

    async def send(device: Device, cid: str, text: str, client_id: str) -> None:
        async with slots[id(device)]:
            began = time.monotonic()
            await device.request(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "client_msg_id": client_id,
                    "body": {"kind": "plain", "text": text},
                }
            )
            answered_ms.append(1000 * (time.monotonic() - began))

    began = time.monotonic()
    sends = [
        send(
            devices[i % len(devices)],
            people.conversations[i % load.conversations],
            message_text(people.canary, i),
            f"a{i}",
        )
        for i in range(load.messages)
    ]
    sends += [
        send(bob, cid, f"{people.kept_canary} kept {FILLER}", f"b{n}")
        for n, cid in enumerate(people.conversations[: load.kept])
    ]
    await asyncio.wait_for(asyncio.gather(*sends), load.deadline_s)
    seconds = time.monotonic() - began
    for device in [*devices, bob]:
        await device.close()
    return {
        "seconds": round(seconds, 1),
        "messages_per_s": round(len(answered_ms) / seconds, 1),
        "answer_latency": latency_summary(answered_ms),
    }


def wait_caught_up(
    settings: PlatformSettings, user: str, messages: int, deadline_s: float
) -> float:
    """Until the history view has applied the whole events topic and the search index holds
    every message of the person; the seconds it took."""
    events = declare_topics(settings.topic_prefix, partitions=settings.partitions).events
    highs = high_watermarks(settings.bootstrap, events.name, events.partitions)
    began = time.monotonic()
    with ViewReader(view_path(edge_settings(settings), "history")) as history:
        search = SearchReader(view_path(edge_settings(settings), "search"))
        while True:
            if caught_up(history.positions(), highs) and caught_up(search.positions(), highs):
                indexed = documents_by(search, user)
                if indexed >= messages:
                    return round(time.monotonic() - began, 1)
            if time.monotonic() - began > deadline_s:
                raise TimeoutError(f"views not caught up after {deadline_s:.0f} s")
            time.sleep(0.5)


@dataclass
class Watch:
    """What the watchers saw, in seconds since the request."""

    history_cleaned: list[float] = field(default_factory=list)
    search_left: list[tuple[float, int]] = field(default_factory=list)
    history_rounds: int = 0


async def watch_history(
    device: Device, people: People, began: float, watch: Watch, deadline: float
) -> float:
    left = list(people.conversations)
    slots = asyncio.Semaphore(HISTORY_ROUND_CONCURRENCY)

    async def check(cid: str) -> bool:
        """The latest event first (cheap, so a round is short); once it is the erasure,
        the whole page, which must hold none of the person's text."""
        async with slots:
            fetch = {"type": "fetch_history", "conversation_id": cid, "limit": 1}
            if not page_clean(await device.request(fetch), people.ann, ""):
                return False
            page = await device.request(fetch | {"limit": 200})
        if page_clean(page, people.ann, people.canary):
            watch.history_cleaned.append(time.monotonic() - began)
            return True
        return False

    while left:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(left)} conversations still serve the person's messages")
        watch.history_rounds += 1
        clean = await asyncio.gather(*(check(cid) for cid in left))
        left = [cid for cid, done in zip(left, clean, strict=True) if not done]
    return time.monotonic() - began


async def watch_search(
    reader: SearchReader, user: str, began: float, watch: Watch, deadline: float
) -> float:
    while True:
        left = await asyncio.to_thread(documents_by, reader, user)
        watch.search_left.append((round(time.monotonic() - began, 3), left))
        if left == 0:
            return time.monotonic() - began
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} documents of the person still in the search index")
        await asyncio.sleep(SEARCH_POLL_S)


async def erase(
    settings: PlatformSettings, base: str, people: People, deadline_s: float
) -> tuple[dict[str, Any], Watch]:
    """The erasure as edge/operator.py runs it, with the watchers beside it."""
    edge = edge_settings(settings)
    history = LazyHistory(view_path(edge, "history"))
    keys = TimedKeys(SqliteKeyStore(edge.key_store_path))
    media_log = KafkaMediaLog(
        edge.kafka_bootstrap, declare_topics(edge.topic_prefix, partitions=edge.partitions).media
    )
    search = SearchReader(view_path(edge, "search"))
    watch = Watch()
    async with aiohttp.ClientSession() as http:
        bob = await Device.connect(http, base, people.bob_token)

        async def act(submitter: Submitter) -> ErasureReport:
            erasures = host_erasures(submitter, history, keys, media_log)
            return await erasures.erase("bench", people.ann, "BENCH-ERASURE")

        began = time.monotonic()
        deadline = began + deadline_s
        try:
            report, history_s, search_s = await asyncio.gather(
                _timed(with_submitter(edge, act), began),
                watch_history(bob, people, began, watch, deadline),
                watch_search(search, people.ann, began, watch, deadline),
            )
        finally:
            await bob.close()
            history.close()
            keys.close()
            media_log.close()
    answer, report_s = report
    kept_docs = await asyncio.to_thread(documents_by, search, people.bob)
    return {
        "key_destroyed_s": round((keys.destroyed_at or began) - began, 3),
        "key_held_bytes": answer.key_destroyed,
        "account_seq": answer.account_seq,
        "commands_accepted_s": round(report_s, 3),
        "history_clean_s": round(history_s, 3),
        "search_clean_s": round(search_s, 3),
        "total_s": round(max(report_s, history_s, search_s), 3),
        "conversations_erased": len(answer.conversations),
        "history_rounds": watch.history_rounds,
        "history_clean_by_conversation": latency_summary([1000 * s for s in watch.history_cleaned]),
        "other_persons_documents_left": kept_docs,
    }, watch


async def _timed(work: Awaitable[T], began: float) -> tuple[T, float]:
    found = await work
    return found, time.monotonic() - began


def proof(data_dir: Path, canary: str, kept_canary: str, key: bytes | None) -> dict[str, Any]:
    """Every file under the platform's data dir, with every process stopped: hits of the
    person's canary and key (must be none) and of the other person's canary (must be some)."""
    began = time.monotonic()
    forms = {f"canary {k}": v for k, v in text_forms(canary).items()}
    if key is not None:
        forms |= {f"key {k}": v for k, v in key_forms(key).items()}
    forms |= {f"kept {k}": v for k, v in text_forms(kept_canary).items()}
    hits = scan([data_dir], forms)
    scanned = sum(p.stat().st_blocks * 512 for p in data_dir.rglob("*") if p.is_file())
    theirs = [(f, form) for f, form in hits if not form.startswith("kept")]
    return {
        "seconds": round(time.monotonic() - began, 1),
        "bytes_on_disk": scanned,
        "hits": len(theirs),
        "hit_files": sorted({str(Path(f).relative_to(data_dir)) for f, _ in theirs})[:20],
        "kept_hits": len(hits) - len(theirs),
    }


def run(base: PlatformSettings, load: ErasureLoad) -> dict[str, Any]:
    print(f"[erasure] {load.messages} messages in {load.conversations} conversations", flush=True)
    with parley_running(base, stem="erasure", edge_nodes=1, edge_port=edge_port(0)) as (
        settings,
        urls,
    ):

        async def prepare() -> tuple[People, dict[str, Any]]:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
                people = await populate(http, urls[0], load)
                print("[erasure] writing", flush=True)
                return people, await write(http, urls[0], load, people)

        people, written = asyncio.run(prepare())
        print(f"[erasure] written: {written}", flush=True)
        catch_up_s = wait_caught_up(settings, people.ann, load.messages, load.deadline_s)
        print(f"[erasure] views caught up {catch_up_s} s after the last send", flush=True)
        store = SqliteKeyStore(edge_settings(settings).key_store_path)
        key = store.get(person_key_id(people.ann))
        store.close()
        load_before = os.getloadavg()
        print("[erasure] erasing", flush=True)
        erased, watch = asyncio.run(erase(settings, urls[0], people, load.deadline_s))
        print(f"[erasure] {erased}", flush=True)
    print("[erasure] every process stopped: scanning the data dir", flush=True)
    scanned = proof(base.data_dir, people.canary, people.kept_canary, key)
    print(f"[erasure] scan: {scanned}", flush=True)
    return {
        "benchmark": "erasure",
        "load": load.name,
        "messages": load.messages,
        "conversations": load.conversations,
        "kept_messages": load.kept,
        "write": written,
        "views_caught_up_s": catch_up_s,
        "load_average_before_erasure": [round(v, 2) for v in load_before],
        "load_average_after_erasure": [round(v, 2) for v in os.getloadavg()],
        "erasure": erased,
        "history_cleaned_over_time": remaining_over_time(watch.history_cleaned, load.conversations),
        "search_documents_over_time": watch.search_left,
        "scan": scanned,
    }


def plot(path: Path, result: dict[str, Any]) -> None:
    erased = result["erasure"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    stores = [
        ("key destroyed", erased["key_destroyed_s"]),
        ("commands accepted", erased["commands_accepted_s"]),
        ("history view clean", erased["history_clean_s"]),
        ("search index clean", erased["search_clean_s"]),
    ]
    left.barh([s for s, _ in stores], [v for _, v in stores], color="tab:blue")
    for n, (_, seconds) in enumerate(stores):
        left.text(seconds, n, f" {seconds:.1f} s", va="center", fontsize="small")
    left.set_xlabel("seconds after the request")
    left.invert_yaxis()
    left.set_title(
        f"erasure of {result['messages']:,} messages in {result['conversations']:,} conversations",
        fontsize="small",
    )
    history = result["history_cleaned_over_time"]
    search = result["search_documents_over_time"]
    right.step(
        [t for t, _ in history],
        [100 * n / result["conversations"] for n in (left_ for _, left_ in history)],
        where="post",
        label="conversations whose page still serves them",
    )
    right.step(
        [t for t, _ in search],
        [100 * n / max(1, search[0][1]) for _, n in search],
        where="post",
        label="search documents of the person",
    )
    right.set_xlabel("seconds after the request")
    right.set_ylabel("% left")
    right.set_ylim(bottom=0)
    right.legend(fontsize="small")
    right.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
