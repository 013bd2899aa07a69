"""Bad queries get a typed `invalid` with a reason; cursors page through every hit once and
only for the search they came from; every search has a time budget."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from projections.search.answers import SearchPage, SearchRequest
from projections.search.cursor import CursorState, encode
from projections.search.errors import InvalidSearchError, SearchError, SearchTimeoutError
from projections.search.executor import SearchExecutor
from projections.search.query import SearchLimits
from schemas import models as m
from tests.unit.search_world import T0, World


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path, limits=SearchLimits(chunk=7))
    built.create("c", "alice", "bob")
    built.create("d", "alice", "bob")
    built.write()
    yield built
    built.close()


@pytest.mark.parametrize(
    ("query", "fields", "reason"),
    [
        ('"unbalanced quotes', {}, "unbalanced quotes"),
        ("x" * 10_240, {}, "at most 512"),
        ("the to and of", {}, "only stop words"),
        ('"to be or not to be"', {}, "only stop words"),
        ("*", {}, "lone *"),
        (" ** ", {}, "lone *"),
        ("hello\x00world", {}, "control characters"),
        ("tab\there", {}, "control characters"),
        ("lone \ud800 surrogate", {}, "the query holds a lone surrogate"),
        ("hello", {"sender": "bob\udfff"}, "the sender holds a lone surrogate"),
        ("in:\ud83d hello", {}, "the query holds a lone surrogate"),
        ("", {}, "empty"),
        ("-spam", {}, "only excludes"),
        ("!!! ???", {}, "nothing to search for"),
        ("has:video", {}, "has:video is unknown"),
        ("before:yesterday", {}, "not a date"),
        ("in:c in:d", {}, "two different conversation"),
        ("hello", {"conversation_id": "d", "query": "hello in:c"}, "two different conversation"),
        ("-from:bob hello", {}, "cannot be excluded"),
        ("hello after:2026-03-02 before:2026-03-03", {}, "no day is both"),
        ("hello", {"cursor": "not base64 at all!"}, "malformed"),
        ("hello", {"cursor": encode(CursorState(bound="0" * 32))}, "another search"),
    ],
)
def test_bad_queries_are_invalid_with_a_reason(
    world: World, query: str, fields: dict[str, object], reason: str
) -> None:
    with pytest.raises(InvalidSearchError) as raised:
        world.search("bob", **({"query": query} | fields))  # type: ignore[arg-type]
    assert raised.value.code == "invalid"
    assert reason in raised.value.reason


def test_a_filter_alone_lists_newest_first(world: World) -> None:
    for i in range(3):
        world.send("c", "alice", f"photo {i}", attachments=1)
    world.send("c", "alice", "no photo")
    world.write()
    found = world.found("bob", "has:file")
    assert [seq for _, seq in found] == [4, 3, 2]


def test_filters(world: World) -> None:
    monday = T0
    world.send("c", "alice", "report at https://example.com/q3", at=monday)
    world.send("c", "bob", "report draft", at=monday + timedelta(days=1))
    world.send("d", "alice", "report final", at=monday + timedelta(days=2))
    world.write()
    day = monday.date()
    assert world.found("bob", "report has:link") == [("c", 2)]
    assert world.found("bob", "report from:bob") == [("c", 3)]
    assert world.found("bob", "report", sender="bob") == [("c", 3)]
    assert world.found("bob", "report in:d") == [("d", 2)]
    assert world.found("bob", f"report before:{day + timedelta(days=1)}") == [("c", 2)]
    assert world.found("bob", f"report after:{day + timedelta(days=1)}") == [("d", 2)]
    assert world.found("bob", "report", after=day, before=day + timedelta(days=2)) == [("c", 3)]
    assert world.found("bob", "report", order="newest") == [("d", 2), ("c", 3), ("c", 2)]


def pages(world: World, user: str, **fields: object) -> list[SearchPage]:
    out = [world.search(user, **fields)]  # type: ignore[arg-type]
    while out[-1].next_cursor is not None:
        out.append(world.search(user, **(fields | {"cursor": out[-1].next_cursor})))  # type: ignore[arg-type]
        assert len(out) < 100
    return out


@pytest.mark.parametrize("order", ["relevance", "newest"])
def test_a_cursor_pages_through_every_hit_once(world: World, order: str) -> None:
    sent = {world.send("c", "alice", f"lunch option {i}") for i in range(23)}
    hidden = world.send("c", "alice", "lunch option secret")
    world.delete("c", "bob", hidden, m.DeleteScope.FOR_ME)
    world.write()
    walked = pages(world, "bob", query="lunch", limit=5, order=order)
    seqs = [h.seq for p in walked for h in p.hits]
    assert sorted(seqs) == sorted(sent)
    assert all(len(p.hits) == 5 for p in walked[:-1])
    assert walked[0].estimated_total == 24  # the hidden one is counted, then dropped
    if order == "newest":
        assert seqs == sorted(seqs, reverse=True)


def test_newest_first_pages_neither_repeat_nor_hide_when_messages_arrive(world: World) -> None:
    same_time = T0 + timedelta(days=5)
    for i in range(6):
        world.send("c", "alice", f"deploy {i}", at=same_time)  # one stamp: ties on the page edge
    world.write()
    first = world.search("bob", "deploy", order="newest", limit=4)
    world.send("c", "alice", "deploy late", at=same_time + timedelta(hours=1))
    world.write()
    second = world.search("bob", "deploy", order="newest", limit=4, cursor=first.next_cursor)
    seqs = [h.seq for h in first.hits + second.hits]
    assert sorted(seqs) == [2, 3, 4, 5, 6, 7]
    assert second.next_cursor is None


def test_a_cursor_is_bound_to_its_search_and_person(world: World) -> None:
    for i in range(4):
        world.send("c", "alice", f"offsite plan {i}")
    world.write()
    cursor = world.search("bob", "offsite", limit=2).next_cursor
    assert cursor is not None
    for user, fields in [
        ("bob", {"query": "plan"}),
        ("bob", {"query": "offsite", "order": "newest"}),
        ("bob", {"query": "offsite", "conversation_id": "c"}),
        ("alice", {"query": "offsite"}),
    ]:
        with pytest.raises(InvalidSearchError, match="another search"):
            world.search(user, **(fields | {"cursor": cursor}))
    assert len(world.search("bob", "offsite", limit=3, cursor=cursor).hits) == 2


def test_a_search_past_its_deadline_is_a_timeout(world: World) -> None:
    world.send("c", "alice", "anything")
    world.write()
    request = SearchRequest(query="anything")
    with pytest.raises(SearchTimeoutError) as raised:
        world.engine.search("bob", request, time.monotonic() - 1)
    assert raised.value.code == "timeout"


class Blocking:
    """A search that waits until released: stands for one stuck in tantivy."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def __call__(self, user_id: str, request: SearchRequest, deadline: float) -> SearchPage:
        self.started.release()
        self.release.wait(timeout=30)
        return SearchPage(hits=(), estimated_total=0, next_cursor=None)


def test_the_executor_answers_timeout_at_the_budget_and_sheds_when_full() -> None:
    stuck = Blocking()
    executor = SearchExecutor(stuck, budget_s=0.05, workers=1, queued=1)
    request = SearchRequest(query="x")
    try:
        with pytest.raises(SearchTimeoutError, match="time budget"):
            executor.run_sync("u", request)  # runs, and is stuck past its budget
        assert stuck.started.acquire(timeout=30)
        with pytest.raises(SearchTimeoutError, match="time budget"):
            asyncio.run(executor.run("u", request))  # queued behind it, past its budget
        queued, _ = executor.submit("u", request)  # the one queue slot, free again
        with pytest.raises(SearchTimeoutError, match="too many"):
            executor.submit("u", request)
    finally:
        stuck.release.set()
    assert queued.result(timeout=30).hits == ()
    executor.close()


def test_search_errors_carry_stable_codes() -> None:
    assert {e.code for e in (InvalidSearchError("r"), SearchTimeoutError("r"))} == {
        "invalid",
        "timeout",
    }
    assert issubclass(InvalidSearchError, SearchError)


def test_dates_are_utc_days(world: World) -> None:
    world.send("c", "alice", "midnight release", at=T0.replace(hour=23, minute=59))
    world.write()
    day = T0.date()
    assert len(world.found("bob", "release", before=day + timedelta(days=1))) == 1
    assert world.found("bob", "release", after=day) == []
    assert world.found("bob", "release", before=day) == []
    assert isinstance(day, date)


def test_the_executor_runs_real_searches_side_by_side(world: World) -> None:
    for i in range(30):
        world.send("c", "alice", f"retro notes {i}")
    world.write()
    executor = SearchExecutor(world.engine.search, budget_s=30, workers=2, queued=8)

    async def many() -> list[SearchPage]:
        requests = [SearchRequest(query="retro", limit=10) for _ in range(8)]
        return list(await asyncio.gather(*(executor.run("bob", r) for r in requests)))

    try:
        pages = asyncio.run(many())
        assert [len(p.hits) for p in pages] == [10] * 8
        assert executor.run_sync("bob", SearchRequest(query="retro notes 7")).hits[0].seq == 9
    finally:
        executor.close()
