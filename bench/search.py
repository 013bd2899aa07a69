"""Search view benchmark: how fast one core indexes, how big the index is, how fast a person
searches, and how soon a message is searchable after it is in the log.

Index lag (the part with Kafka): the sequencer and `python -m projections search` on fresh
topics, 1,000 messages/s for 10 s over 100 conversations; from the moment a `read_committed`
consumer sees an event in the log to the moment a `SearchReader` (as the edge has one, never
stale) finds the index has applied it: bench/projection_lag.py, with the search view alone.
The rest needs no Kafka: the view's own batches are driven the way the follower drives them.

Corpus: `messages` messages in `conversations` conversations, generated from real word
frequency lists (the `wordfreq` package: English, French, German, Spanish, Russian, Arabic,
Hebrew, Chinese, Japanese, Korean), words drawn with Zipf weights as real text has them,
3 to 18 words a message, Chinese and Japanese written without spaces; 2% carry a link, 1%
an attachment. The person who searches is in `member_of` conversations.

Indexing: `SearchBatch.add` + `commit` over pre-built events (decoding is the follower's and
is measured on its own), pinned to one core with `os.sched_setaffinity` before tantivy's
threads start, so its indexing and merge threads share that core; the final merge wait is
counted. Size: the index directory after it. Queries: `MessageSearch.search` end to end (the
history view's ACL checks and the snippets included), one at a time, for five kinds.
"""

from __future__ import annotations

import cProfile
import math
import os
import pstats
import random
import shutil
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

from bench import projection_lag
from bench.stats import latency_summary, rss_mib
from infra.settings import PlatformSettings
from projections.history.query import HistoryReader
from projections.history.store import HistoryBatch, HistoryStore
from projections.search import analyzers
from projections.search.answers import SearchRequest
from projections.search.folding import fold
from projections.search.query import MessageSearch, SearchReader
from projections.search.store import SEARCH_MAX_BATCH, SearchBatch, SearchStore
from schemas import codec
from schemas import models as m

SEARCHER = "me"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=100)
LANGUAGES = (
    ("en", 0.50, " "),
    ("fr", 0.07, " "),
    ("de", 0.07, " "),
    ("es", 0.05, " "),
    ("ru", 0.05, " "),
    ("ar", 0.04, " "),
    ("he", 0.03, " "),
    ("zh", 0.10, ""),
    ("ja", 0.06, ""),
    ("ko", 0.03, " "),
)
VOCABULARY = 20_000
KEPT = 5_000
"""Messages of the searcher's conversations kept to draw queries from."""


@dataclass(frozen=True)
class SearchLoad:
    name: str
    messages: int = 1_000_000
    conversations: int = 10_000
    member_of: int = 200
    members: int = 5
    batch: int = 1_000
    queries: int = 200
    core: int = 1
    seed: int = 13


FULL = SearchLoad("full", batch=SEARCH_MAX_BATCH)
QUICK = SearchLoad(
    "quick", messages=50_000, conversations=1_000, member_of=100, queries=50, batch=SEARCH_MAX_BATCH
)
LAG = projection_lag.LagLoad("search", views=("search",))
LAG_GOAL_P99_MS = 1000
INDEXING_GOAL_PER_S = 20_000
QUERY_GOAL_P99_MS = 50


def chosen_load() -> SearchLoad:
    """QUICK (the suite's), or FULL with PARLEY_BENCH_SEARCH=full; PARLEY_BENCH_SEARCH_BATCH
    sets the events per commit (the view's own `SEARCH_MAX_BATCH` by default)."""
    load = FULL if os.environ.get("PARLEY_BENCH_SEARCH") == "full" else QUICK
    if "PARLEY_BENCH_SEARCH_BATCH" in os.environ:
        load = replace(load, batch=int(os.environ["PARLEY_BENCH_SEARCH_BATCH"]))
    return load


class Corpus:
    """Message texts from word frequency lists, words drawn by Zipf weight."""

    def __init__(self) -> None:
        from wordfreq import top_n_list  # a benchmark dependency only

        self.words = {lang: top_n_list(lang, VOCABULARY) for lang, _, _ in LANGUAGES}
        self.weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
        self.cumulative = list(_accumulate(self.weights))
        self.languages = [lang for lang, _, _ in LANGUAGES]
        self.shares = [share for _, share, _ in LANGUAGES]
        self.separators = {lang: sep for lang, _, sep in LANGUAGES}

    def text(self, rng: random.Random) -> str:
        lang = rng.choices(self.languages, self.shares)[0]
        words = self.words[lang]
        count = rng.randint(3, 18)
        picked = rng.choices(words, cum_weights=self.cumulative[: len(words)], k=count)
        text = self.separators[lang].join(picked)
        if rng.random() < 0.02:
            text += f" https://example.com/{rng.randrange(10_000)}"
        return text


def _accumulate(values: list[float]) -> Iterator[float]:
    total = 0.0
    for value in values:
        total += value
        yield total


def _meta(cid: str, seq: int, user: str, at: datetime) -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.uuid4()),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-1"),
        client_msg_id=str(uuid.uuid4()),
        command_id=str(uuid.uuid4()),
        occurred_at=at,
    )


def events(load: SearchLoad, corpus: Corpus) -> Iterator[m.Event]:
    """The log: every conversation created, then the messages; the same for the same seed."""
    rng = random.Random(load.seed)
    members: list[list[str]] = []
    for c in range(load.conversations):
        people = [f"user-{rng.randrange(100_000)}" for _ in range(load.members - 1)]
        people.insert(0, SEARCHER if c < load.member_of else f"user-{rng.randrange(100_000)}")
        members.append(people)
        yield m.ConversationCreated(
            meta=_meta(f"conv-{c}", 1, people[0], T0),
            kind=m.ConversationKind.GROUP,
            members=tuple(m.Member(user_id=u, role=m.Role.MEMBER) for u in people),
        )
    seqs = [1] * load.conversations
    step = SPAN / load.messages
    for i in range(load.messages):
        c = rng.randrange(load.conversations)
        seqs[c] += 1
        files = (
            (m.Attachment(media_id="x", content_type="image/png", size_bytes=1, sha256="0"),)
            if rng.random() < 0.01
            else ()
        )
        yield m.MessageSent(
            meta=_meta(f"conv-{c}", seqs[c], rng.choice(members[c]), T0 + step * i),
            body=m.PlainBody(text=corpus.text(rng)),
            attachments=files,
        )


def _chunks(load: SearchLoad, corpus: Corpus) -> Iterator[list[m.Event]]:
    chunk: list[m.Event] = []
    for event in events(load, corpus):
        chunk.append(event)
        if len(chunk) == load.batch:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def index(
    load: SearchLoad, chunks: Iterable[list[m.Event]], path: Path, keep: list[m.MessageSent]
) -> dict[str, Any]:
    """Build the index on one pinned core; only the view's own work is timed. `keep` gets a
    sample of the searcher's messages, to draw queries that find something."""
    os.sched_setaffinity(0, {load.core})
    store = SearchStore(path)
    spent = cpu = 0.0
    offset = count = 0
    mine = {f"conv-{c}" for c in range(load.member_of)}
    for chunk in chunks:
        began, began_cpu = time.perf_counter(), time.process_time()
        batch = SearchBatch(store)
        for event in chunk:
            batch.add(event, b"")
            offset += 1
            batch.advance(0, offset)
        batch.commit()
        spent += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        for event in chunk:
            if isinstance(event, m.MessageSent):
                count += 1
                if event.meta.conversation_id in mine and len(keep) < KEPT:
                    keep.append(event)
    began, began_cpu = time.perf_counter(), time.process_time()
    store.close()
    spent += time.perf_counter() - began
    cpu += time.process_time() - began_cpu
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return {
        "events": offset,
        "messages": count,
        "seconds": round(spent, 2),
        "cpu_seconds": round(cpu, 2),
        "messages_per_s": round(count / spent),
        "messages_per_cpu_s": round(count / cpu),
        "index_bytes": size,
        "index_bytes_per_message": round(size / count, 1),
        "rss_mib": round(rss_mib(os.getpid()), 1),
    }


def history(load: SearchLoad, corpus: Corpus, path: Path) -> None:
    """The history view the ACL reads, built by its own batches (not timed)."""
    store = HistoryStore(path)
    offset = 0
    for chunk in _chunks(load, corpus):
        batch = HistoryBatch(store)
        for event in chunk:
            batch.add(event, codec.encode(event))
            offset += 1
            batch.advance(0, offset)
        batch.commit()
    store.close()


def decode_cost(load: SearchLoad, corpus: Corpus, sample: int = 20_000) -> float:
    """Microseconds per event the follower spends decoding before `add` (measured apart)."""
    encoded = [codec.encode(e) for e, _ in zip(events(load, corpus), range(sample), strict=False)]
    began = time.perf_counter()
    for raw in encoded:
        codec.decode(raw)
    return round((time.perf_counter() - began) / len(encoded) * 1e6, 2)


def profile(load: SearchLoad, corpus: Corpus, path: Path, top: int = 12) -> list[str]:
    """The indexing path's hottest functions (cProfile, by own time), on a sample."""
    sample = SearchLoad("profile", messages=30_000, conversations=1_000, batch=load.batch)
    chunks = list(_chunks(sample, corpus))
    profiler = cProfile.Profile()
    profiler.enable()
    index(sample, chunks, path, [])
    profiler.disable()
    out = StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if line.startswith("ncalls"))
    return lines[start : start + top + 1]


def query_sets(
    load: SearchLoad, corpus: Corpus, kept: list[m.MessageSent], rng: random.Random
) -> dict[str, list[str]]:
    """Queries of each kind, drawn from the searcher's own messages, so that each finds
    something: the commonest words, the rarest word of a message, two neighbouring words of
    one, two neighbouring characters of a Chinese one, and a common word in one of their
    conversations after a date."""
    rank = {w: i for i, w in enumerate(corpus.words["en"])}
    english: list[tuple[str, list[str]]] = []
    chinese: list[str] = []
    for event in kept:
        text = event.body.text if isinstance(event.body, m.PlainBody) else ""
        words = [w for w in text.split() if w in rank and w.isalpha() and analyzers.term(fold(w))]
        if len(words) >= 3:
            english.append((event.meta.conversation_id, words))
        if any("\u4e00" <= c <= "\u9fff" for c in text) and not text.isascii():
            run = [c for c in text if "\u4e00" <= c <= "\u9fff"]
            if len(run) >= 4:
                start = rng.randrange(len(run) - 1)
                chinese.append("".join(run[start : start + 2]))
    common = sorted({w for _, ws in english for w in ws}, key=lambda w: rank[w])[:40]
    n = load.queries
    picks = [english[rng.randrange(len(english))] for _ in range(n)]
    phrases = []
    for _, words in picks:
        i = rng.randrange(len(words) - 1)
        phrases.append(f'"{words[i]} {words[i + 1]}"')
    return {
        "common word": [common[i % len(common)] for i in range(n)],
        "rare word": [max(words, key=lambda w: rank[w]) for _, words in picks],
        "phrase": phrases,
        "CJK": [chinese[i % len(chinese)] for i in range(n)],
        "filtered": [
            f"{common[i % len(common)]} in:{cid} after:2026-01-20"
            for i, (cid, _) in enumerate(picks)
        ],
    }


def measure_queries(queries: dict[str, list[str]], work: Path) -> dict[str, Any]:
    reader = HistoryReader(work / "history", secondary_path=work / "secondary")
    engine = MessageSearch(SearchReader(work / "index"), reader)
    kinds: dict[str, Any] = {}
    for kind, texts in queries.items():
        latencies: list[float] = []
        totals: list[int] = []
        hits: list[int] = []
        for text in texts:
            request = SearchRequest(query=text, limit=20)
            began = time.perf_counter()
            page = engine.search(SEARCHER, request, time.monotonic() + 10)
            latencies.append((time.perf_counter() - began) * 1000)
            totals.append(page.estimated_total)
            hits.append(len(page.hits))
        kinds[kind] = latency_summary(latencies) | {
            "queries": len(texts),
            "example": texts[0],
            "median_estimated_total": sorted(totals)[len(totals) // 2],
            "median_hits_on_page": sorted(hits)[len(hits) // 2],
            "latencies_ms": latencies,
        }
    reader.close()
    return kinds


def budget_s() -> float:
    """The part's time budget for the chosen load: 1,000,000 messages take minutes to index
    and as long again to build the history view beside them on a shared machine."""
    return 1500.0 if chosen_load().messages > QUICK.messages else 300.0


def measure(settings: PlatformSettings, work: Path) -> dict[str, Any]:
    """The whole benchmark: the index lag through Kafka on `settings`' platform, then
    indexing and queries at the chosen load."""
    load = chosen_load()
    print(f"[search] index lag at {LAG.rate_per_s}/s through the log", flush=True)
    lagged = projection_lag.run(settings, LAG, work / "lag")
    result = run(load, work / "offline")
    result["lag"] = {
        key: lagged[key]
        for key in ("rate_per_s", "seconds", "conversations", "events_measured", "search_rss_mib")
    } | lagged["search"]
    result["goals"]["lag_p99_ms"] = LAG_GOAL_P99_MS
    result["met"]["lag"] = (result["lag"]["p99_ms"] or math.inf) <= LAG_GOAL_P99_MS
    shutil.rmtree(work, ignore_errors=True)
    return result


def run(load: SearchLoad, work: Path) -> dict[str, Any]:
    """Indexing and queries at `load`, without Kafka."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load_before = os.getloadavg()
    corpus = Corpus()
    print(f"[search] profiling the indexing path on a sample (core {load.core})", flush=True)
    hottest = profile(load, corpus, work / "profile")
    print(f"[search] indexing {load.messages:,} messages on core {load.core}", flush=True)
    kept: list[m.MessageSent] = []
    indexing = index(load, _chunks(load, corpus), work / "index", kept)
    print(f"[search] indexed: {indexing}", flush=True)
    print("[search] building the history view the ACL reads (not timed)", flush=True)
    history(load, corpus, work / "history")
    print("[search] querying", flush=True)
    kinds = measure_queries(query_sets(load, corpus, kept, random.Random(load.seed + 1)), work)
    queries = {k: {x: y for x, y in v.items() if x != "latencies_ms"} for k, v in kinds.items()}
    result: dict[str, Any] = {
        "benchmark": "search",
        "load": asdict(load),
        "indexing": indexing,
        "follower_decode_us_per_event": decode_cost(load, corpus),
        "indexing_profile": hottest,
        "queries": queries,
        "goals": {
            "messages_per_s_per_core": INDEXING_GOAL_PER_S,
            "query_p99_ms": QUERY_GOAL_P99_MS,
        },
        "load_average_before_after": [round(load_before[0], 1), round(os.getloadavg()[0], 1)],
    }
    result["met"] = {
        "indexing": indexing["messages_per_s"] >= INDEXING_GOAL_PER_S,
        "queries": all(v["p99_ms"] <= QUERY_GOAL_P99_MS for v in queries.values()),
    }
    result["latencies_by_kind_ms"] = {k: v["latencies_ms"] for k, v in kinds.items()}
    result["plot_title"] = (
        f"search queries, {indexing['messages']:,} messages; indexed on one core: "
        f"{indexing['messages_per_s']:,}/s, {indexing['messages_per_cpu_s']:,}/CPU-s"
    )
    shutil.rmtree(work, ignore_errors=True)
    return result
