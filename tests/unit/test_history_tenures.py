"""A person reads only what was sent during one of their tenures (from the event that made
them a member to the one that removed them): fetch_history and sync, on a real history view.

These pin the rule the lead chose for issue 13 (search follows it too,
tests/unit/test_search_access.py): before it, a tenure had an end but no start, so a member
added later read the conversation from seq 1, and one added again read the seqs between
their two tenures.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.errors import ClientError, ErrorCode
from edge.pages import HistoryPages
from projections.inbox.query import InboxConversation
from tests.unit.search_world import World


class Activity:
    """The inbox's part in sync: which conversations moved, and to which seq (no counts)."""

    def __init__(self, world: World) -> None:
        self.world = world

    def entries(self, user_id: str) -> list[InboxConversation]:
        return []

    def activity(self, user_id: str) -> list[tuple[str, int]]:
        return sorted(self.world.seqs.items())

    def entry(self, user_id: str, conversation_id: str) -> InboxConversation | None:
        return None

    def refresh(self) -> None:
        """Nothing to catch up with."""


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    built = World(tmp_path)
    yield built
    built.close()


@pytest.fixture
def pages(world: World) -> HistoryPages:
    return HistoryPages(world.history_reader, Activity(world))


def seqs_of(
    pages: HistoryPages,
    user: str,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = 50,
) -> list[int]:
    answer = pages.page(user, "c", before=before, after=after, limit=limit)
    return [e.seq for e in answer.events]


def rejoined(world: World) -> None:
    """bob: member for seqs 1..4, removed at 4, away for 5..6, added again at 7, then 8..10."""
    world.create("c", "alice", "bob")
    for text in ("one", "two"):
        world.send("c", "alice", text)
    world.remove("c", "alice", "bob")
    world.send("c", "alice", "while bob was away")
    world.send("c", "alice", "still away")
    world.add("c", "alice", "bob")
    for text in ("back", "again", "last"):
        world.send("c", "alice", text)
    world.write()


def test_a_member_added_later_reads_from_their_joining_on(
    world: World, pages: HistoryPages
) -> None:
    world.create("c", "alice", "bob")
    world.send("c", "alice", "before carol")
    joined = world.add("c", "alice", "carol")
    world.send("c", "alice", "after carol")
    world.write()
    assert seqs_of(pages, "carol") == [joined, joined + 1]
    assert seqs_of(pages, "carol", after=0) == [joined, joined + 1]
    assert seqs_of(pages, "carol", before=joined) == []
    assert seqs_of(pages, "bob") == [1, 2, 3, 4]


def test_removed_and_added_again_reads_both_tenures_and_not_the_gap(
    world: World, pages: HistoryPages
) -> None:
    rejoined(world)
    both = [1, 2, 3, 4, 7, 8, 9, 10]
    assert seqs_of(pages, "bob") == both
    assert seqs_of(pages, "bob", after=0) == both
    assert seqs_of(pages, "bob", after=4) == [7, 8, 9, 10]
    assert seqs_of(pages, "alice") == list(range(1, 11))


def test_a_page_is_full_across_the_gap_in_both_directions(
    world: World, pages: HistoryPages
) -> None:
    """A page is cut from the readable stretches, so the seqs of the gap never make it come
    back short (a short page tells a client it has reached the start or the end)."""
    rejoined(world)
    assert seqs_of(pages, "bob", after=2, limit=3) == [3, 4, 7]
    assert seqs_of(pages, "bob", before=9, limit=3) == [4, 7, 8]
    assert seqs_of(pages, "bob", before=7, limit=3) == [2, 3, 4]
    assert seqs_of(pages, "bob", after=4, before=7) == []


def test_sync_sends_a_newcomer_only_their_own_tenure(world: World, pages: HistoryPages) -> None:
    world.create("c", "alice", "bob")
    for i in range(20):
        world.send("c", "alice", f"old {i}")
    joined = world.add("c", "alice", "carol")
    world.send("c", "alice", "welcome")
    world.write()
    answer = pages.sync("carol", {}, limit=5)
    [synced] = answer.conversations
    assert [e.seq for e in synced.events] == [joined, joined + 1]
    assert synced.complete and not answer.more


def test_a_stranger_gets_not_found(world: World, pages: HistoryPages) -> None:
    world.create("c", "alice", "bob")
    world.write()
    with pytest.raises(ClientError) as refused:
        seqs_of(pages, "mallory")
    assert refused.value.code is ErrorCode.NOT_FOUND
