"""The client's pure ordering: cursors, de-duplication, buffering, gaps and catch-up."""

from __future__ import annotations

import pytest

from client.models import ConversationEvent
from client.ordering import ConversationOrder, Gap
from edge.protocol.events import Actor, MessageSent
from edge.protocol.frames import PlainText


def ev(seq: int, conversation_id: str = "c1") -> ConversationEvent:
    message = MessageSent(
        seq=seq,
        conversation_id=conversation_id,
        actor=Actor(user_id="bob", device_id="d-bob"),
        client_msg_id=f"m{seq}",
        occurred_at_ms=1_764_000_000_000 + seq,
        body=PlainText(text=f"message {seq}"),
    )
    return ConversationEvent(conversation_id=conversation_id, seq=seq, event=message)


def drain(order: ConversationOrder) -> list[tuple[str, int]]:
    out = []
    while (item := order.pop_ready()) is not None:
        out.append((item.conversation_id, item.seq))
    return out


def test_in_order_events_are_ready_and_move_the_cursor() -> None:
    order = ConversationOrder()
    assert [order.offer(ev(s)) for s in (1, 2, 3)] == ["ready", "buffered", "buffered"]
    assert drain(order) == [("c1", 1), ("c1", 2), ("c1", 3)]
    assert order.cursors == {"c1": 3}
    assert order.next_gap() is None


def test_cursor_moves_only_when_an_event_is_handed_out() -> None:
    order = ConversationOrder()
    order.offer(ev(1))
    assert order.cursors == {"c1": 0}
    order.pop_ready()
    assert order.cursors == {"c1": 1}


def test_duplicates_are_dropped_whether_delivered_or_still_buffered() -> None:
    order = ConversationOrder({"c1": 2})
    assert order.offer(ev(2)) == "duplicate"
    assert order.offer(ev(1)) == "duplicate"
    assert order.offer(ev(4)) == "buffered"
    assert order.offer(ev(4)) == "duplicate"
    assert order.offer(ev(3)) == "ready"
    assert drain(order) == [("c1", 3), ("c1", 4)]
    assert order.offer(ev(3)) == "duplicate"


def test_out_of_order_events_are_buffered_until_the_gap_closes() -> None:
    order = ConversationOrder({"c1": 0})
    order.offer(ev(3))
    order.offer(ev(2))
    assert drain(order) == []
    order.offer(ev(1))
    assert drain(order) == [("c1", 1), ("c1", 2), ("c1", 3)]


def test_a_gap_asks_for_the_missing_range_and_the_page_fills_it() -> None:
    order = ConversationOrder()
    order.offer(ev(1))
    order.offer(ev(4))
    assert drain(order) == [("c1", 1)]
    gap = order.next_gap()
    assert gap == Gap("c1", after=1, before=4)
    assert order.page_fetched(gap, [ev(2), ev(3), ev(4)], exhausted=True) == "progress"
    assert drain(order) == [("c1", 2), ("c1", 3), ("c1", 4)]
    assert order.next_gap() is None


def test_gaps_are_per_conversation() -> None:
    order = ConversationOrder({"a": 5, "b": 0})
    order.offer(ev(7, "a"))
    order.offer(ev(1, "b"))
    assert drain(order) == [("b", 1)]
    assert order.next_gap() == Gap("a", after=5, before=7)


def test_seqs_a_history_page_steps_over_are_never_waited_for() -> None:
    """Deleted, redacted or pre-join seqs are absent from history for good."""
    order = ConversationOrder({"c1": 1})
    order.offer(ev(4))
    gap = order.next_gap()
    assert gap == Gap("c1", after=1, before=4)
    assert order.page_fetched(gap, [ev(3), ev(4), ev(7)], exhausted=True) == "progress"
    assert drain(order) == [("c1", 3), ("c1", 4), ("c1", 7)]
    assert order.cursors == {"c1": 7}
    assert order.offer(ev(5)) == "duplicate"


def test_a_gap_history_keeps_answering_empty_can_be_skipped() -> None:
    order = ConversationOrder({"c1": 1})
    order.offer(ev(5))
    gap = order.next_gap()
    assert gap is not None
    assert order.page_fetched(gap, [], exhausted=True) == "empty"
    assert drain(order) == []
    order.skip(gap)
    assert drain(order) == [("c1", 5)]
    assert order.next_gap() is None


def test_catch_up_fetches_from_every_cursor_until_a_short_page() -> None:
    order = ConversationOrder({"a": 3, "b": 0})
    order.catch_up()
    gap = order.next_gap()
    assert gap == Gap("a", after=3, before=None)
    order.page_fetched(gap, [ev(4, "a"), ev(5, "a")], exhausted=False)
    assert drain(order) == [("a", 4), ("a", 5)]
    gap = order.next_gap()
    assert gap == Gap("a", after=5, before=None)
    order.page_fetched(gap, [ev(6, "a")], exhausted=True)
    assert drain(order) == [("a", 6)]
    gap = order.next_gap()
    assert gap == Gap("b", after=0, before=None)
    assert order.page_fetched(gap, [], exhausted=True) == "empty"
    assert order.next_gap() is None


def test_new_conversation_starts_at_seq_1_or_at_first_seen() -> None:
    backfill = ConversationOrder(backfill_new=True)
    backfill.offer(ev(3))
    assert backfill.next_gap() == Gap("c1", after=0, before=3)
    live = ConversationOrder(backfill_new=False)
    live.offer(ev(3))
    assert drain(live) == [("c1", 3)]


def test_overflowing_buffer_drops_the_newest_and_catches_up_later() -> None:
    order = ConversationOrder({"c1": 0}, max_buffered=2)
    order.offer(ev(3))
    order.offer(ev(4))
    assert order.offer(ev(5)) == "dropped"
    assert order.offer(ev(2)) == "buffered"  # evicts 4, which the catch-up fetches again
    gap = order.next_gap()
    assert gap == Gap("c1", after=0, before=2)
    order.page_fetched(gap, [ev(1)], exhausted=False)  # evicts 3 in turn
    assert drain(order) == [("c1", 1), ("c1", 2)]
    assert order.next_gap() == Gap("c1", after=2, before=None)


def test_track_does_not_rewind_a_followed_conversation() -> None:
    order = ConversationOrder({"c1": 4})
    assert order.track("c1", 0) is False
    assert order.track("c2", 7) is True
    assert order.cursors == {"c1": 4, "c2": 7}
    with pytest.raises(ValueError, match="cursor"):
        order.track("c3", -1)
