"""The processors' shared state plumbing: the one key codec, and state written with its
position (the fan-out's memberships over it: test_fanout_routing.py)."""

from __future__ import annotations

from streams.keys import key, str_after
from streams.state import LoggedState
from streams.store import MemoryStore


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
