"""The edge's side of search: the protocol's models mirror the search view's, refusals map to
stable codes, and a search never blocks the edge's event loop nor lets one stuck search stall
the others (the executor's workers and queue are bounded, each search has a budget)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from edge.errors import ClientError, ErrorCode, search_error
from edge.protocol import answers as wire
from edge.protocol.frames import SearchParameters
from edge.read_service import History, InboxReads, ReadService
from edge.search_hits import search_page, search_request
from projections.search import answers as q
from projections.search.errors import InvalidSearchError, SearchTimeoutError
from projections.search.executor import SearchExecutor
from tests.unit.search_world import World


class Unused:
    """The history and inbox a ReadService needs, never asked anything by a search."""

    def close(self) -> None:
        """Nothing to close."""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.close()


def test_the_parameters_are_the_search_views_request_field_for_field() -> None:
    assert set(SearchParameters.model_fields) == set(q.SearchRequest.model_fields)
    asked = SearchParameters.model_validate(
        {"query": "budget", "conversation_id": "c", "order": "newest", "limit": 7, "has_link": 1}
    )
    assert search_request(asked).model_dump() == asked.model_dump()


def test_a_page_reaches_the_wire_as_the_view_found_it(world: World) -> None:
    """Every field of a hit, the time in milliseconds and offsets as they were."""
    assert set(wire.SearchHit.model_fields) == set(q.SearchHit.model_fields) - {"sent_at"} | {
        "sent_at_ms"
    }
    assert set(wire.SearchPage.model_fields) == set(q.SearchPage.model_fields)
    world.create("c", "alice", "bob")
    seq = world.send("c", "alice", "Ünïcode 🎉 budget review")
    world.edit("c", "alice", seq, "Ünïcode 🎉 budget review, revised")
    world.write()
    found = world.search("bob", "budget")
    page = search_page(found)
    [hit], [theirs] = page.hits, found.hits
    assert hit.model_dump(exclude={"sent_at_ms", "highlights"}) == theirs.model_dump(
        exclude={"sent_at", "highlights"}
    )
    assert hit.sent_at_ms == int(theirs.sent_at.timestamp() * 1000)
    assert [(h.start, h.end) for h in hit.highlights] == [
        (h.start, h.end) for h in theirs.highlights
    ]
    assert (page.estimated_total, page.next_cursor) == (1, None)
    assert hit.edited


def test_refusals_map_to_stable_codes_with_their_reason() -> None:
    invalid = search_error(InvalidSearchError("unbalanced quotes"))
    late = search_error(SearchTimeoutError("the search ran past its time budget"))
    assert (invalid.code, invalid.status, invalid.message) == (
        ErrorCode.INVALID,
        400,
        "unbalanced quotes",
    )
    assert (late.code, late.status) == (ErrorCode.TIMEOUT, 503)


def reads_with(executor: SearchExecutor) -> ReadService:
    unused = Unused()
    return ReadService(
        history=cast(History, unused), inbox=cast(InboxReads, unused), searches=executor
    )


async def test_a_stuck_search_neither_blocks_the_loop_nor_stalls_the_next() -> None:
    """One worker, no queue: while a search is stuck on its worker, the loop keeps turning,
    the next search is answered `timeout` at once, and the stuck one times out at its budget
    (the worker is freed when its search returns)."""
    release = threading.Event()
    started = threading.Event()

    def stuck(user_id: str, request: q.SearchRequest, deadline: float) -> q.SearchPage:
        started.set()
        release.wait(30)
        return q.SearchPage(hits=(), estimated_total=0, next_cursor=None)

    reads = reads_with(SearchExecutor(stuck, budget_s=0.5, workers=1, queued=0))
    asked = SearchParameters(query="anything")
    first = asyncio.create_task(reads.search("alice", asked))
    await asyncio.to_thread(started.wait, 30)
    turns = 0
    while not first.done():
        await asyncio.sleep(0.01)
        turns += 1
        if turns == 3:
            with pytest.raises(ClientError) as shed:
                await reads.search("bob", asked)
            assert shed.value.code is ErrorCode.TIMEOUT
    assert turns > 3, "the loop went on turning while the search was stuck"
    with pytest.raises(ClientError) as late:
        await first
    assert late.value.code is ErrorCode.TIMEOUT
    release.set()
    reads.searches.close()
