"""The processors' shared state plumbing: the one key codec, state written with its
position, and the fan-out's memberships resuming from their store (no replay)."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import models as m
from streams.fanout.memberships import Memberships
from streams.keys import key, str_after
from streams.state import LoggedState
from streams.store import MemoryStore

NOW = datetime(2026, 11, 28, tzinfo=UTC)


def meta(seq: int, cid: str = "g") -> m.EventMeta:
    return m.EventMeta(
        event_id=f"{cid}/{seq}",
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id="owner", device_id="d"),
        client_msg_id=f"k{seq}",
        command_id="c",
        occurred_at=NOW,
    )


def test_keys_of_any_ids_never_collide_and_a_shorter_key_is_the_prefix_of_its_range() -> None:
    """The old stores joined parts with \\x1f (the sequencer) or JSON (the registry): an id
    holding the separator could run into another key."""
    assert key("k", "a\x1fb", "c") != key("k", "a", "b\x1fc")
    assert key("m", "ab") != key("m", "a", "b")
    members = key("m", "c1")
    assert key("m", "c1", "ann").startswith(members)
    assert not key("m", "c10", "ann").startswith(members)
    assert str_after(members, key("m", "c1", "zoë")) == "zoë"


def test_int_parts_sort_numerically_negative_ones_included() -> None:
    """A command may name any Avro long as a seq; the lookup must not fail on it."""
    seqs = [-(2**63), -5, -1, 0, 1, 9, 10, 2**63 - 1]
    assert sorted(seqs, key=lambda s: key("x", "c", s)) == seqs


def test_state_and_its_position_are_written_together_and_nothing_before_flush() -> None:
    store = MemoryStore()
    state = LoggedState(store)
    assert state.position(3) is None and state.applied_offset(3) == 0
    state._put(key("a", "ann"), b"1")
    assert store.data == {}
    state.flush({3: 42})
    assert LoggedState(store).position(3) == 42
    assert store.get(key("a", "ann")) == b"1"
    state._put(key("a", "bob"), b"2")
    state.discard()
    state.flush({3: 43})
    assert store.get(key("a", "bob")) is None


def test_fan_out_memberships_resume_from_the_store_without_replaying_the_log() -> None:
    """Regression: the fan-out rebuilt its memberships by replaying the events topic from
    offset 0 on every assignment, so its restart time grew with all history."""
    store = MemoryStore()
    first = Memberships(store)
    created = m.ConversationCreated(
        meta=meta(1),
        kind=m.ConversationKind.GROUP,
        members=(
            m.Member(user_id="a", role=m.Role.OWNER),
            m.Member(user_id="b", role=m.Role.MEMBER),
        ),
    )
    assert first.apply(created) == {"a", "b"}
    added = m.MemberAdded(meta=meta(2), user_id="c", role=m.Role.MEMBER)
    assert first.apply(added) == {"a", "b", "c"}
    assert first.conversations_of("c") == {"g"}, "pending changes are seen before the flush"
    first.flush({0: 2})

    restarted = Memberships(store)
    assert restarted.position(0) == 2
    assert restarted.apply(m.MemberRemoved(meta=meta(3), user_id="b")) == {"a", "b", "c"}
    assert restarted.apply(created) == set(), "an event at or below the last seq routes nowhere"
    later = m.MessageSent(meta=meta(4), body=m.PlainBody(text="hi"))
    assert restarted.apply(later) == {"a", "c"}
    assert restarted.conversations_of("b") == set()
    restarted.flush({0: 4})
    assert Memberships(store).members("g") == {"a", "c"}
    assert Memberships(store).last_seq("g") == 4
