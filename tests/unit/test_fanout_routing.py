"""Fan-out routing: one record per edge node with online members, never one per member."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import models as m
from schemas.topics import parse_session_key, session_key
from streams.fanout.memberships import Memberships
from streams.fanout.routing import RecentEvents, SessionDirectory
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


def created(members: list[str]) -> m.ConversationCreated:
    return m.ConversationCreated(
        meta=meta(1),
        kind=m.ConversationKind.GROUP,
        members=tuple(m.Member(user_id=u, role=m.Role.MEMBER) for u in members),
    )


def test_large_group_is_one_delivery_per_node() -> None:
    members = [f"u{i}" for i in range(10_000)]
    memberships = Memberships(MemoryStore())
    memberships.apply(created(members))
    sessions = SessionDirectory()
    for i, user in enumerate(members[:3000]):
        sessions.update(user, i % 3, expires_at_ms=10_000)
    audience = memberships.apply(m.MessageSent(meta=meta(2), body=m.PlainBody(text="hi")))
    routes = sessions.route(audience, now_ms=5_000)
    assert sorted(routes) == [0, 1, 2]
    assert sum(len(r) for r in routes.values()) == 3000


def test_removed_member_hears_of_removal_then_nothing() -> None:
    memberships = Memberships(MemoryStore())
    memberships.apply(created(["a", "b"]))
    removal = m.MemberRemoved(meta=meta(2), user_id="b")
    assert memberships.apply(removal) == {"a", "b"}
    later = m.MessageSent(meta=meta(3), body=m.PlainBody(text="x"))
    assert memberships.apply(later) == {"a"}


def test_repeated_event_routes_nowhere() -> None:
    memberships = Memberships(MemoryStore())
    event = created(["a"])
    assert memberships.apply(event) == {"a"}
    assert memberships.apply(event) == set()


def test_expired_and_tombstoned_sessions_are_not_routed() -> None:
    sessions = SessionDirectory()
    sessions.update("a", 0, expires_at_ms=100)
    sessions.update("b", 1, expires_at_ms=10_000)
    sessions.update("b", 1, expires_at_ms=None)
    assert sessions.route({"a", "b"}, now_ms=500) == {}


def test_session_key_round_trips() -> None:
    assert parse_session_key(session_key("user.name-1", 12)) == ("user.name-1", 12)


def test_a_user_newly_online_gets_the_last_seconds_of_their_conversations() -> None:
    """Regression: an event routed just before the fan-out read a device's session record
    reached no one (e2e test_message_crosses_from_one_edge_node_to_another, under load)."""
    memberships = Memberships(MemoryStore())
    memberships.apply(created(["a", "b"]))
    recent = RecentEvents(window_ms=10_000)
    recent.add("g", 2, b"event-2", now_ms=1_000)
    recent.add("other", 7, b"not-b", now_ms=1_000)
    sessions = SessionDirectory()
    assert sessions.update("b", 1, expires_at_ms=70_000, now_ms=2_000) is True
    assert recent.since(memberships.conversations_of("b"), now_ms=2_000) == [("g", 2, b"event-2")]
    assert sessions.update("b", 1, expires_at_ms=90_000, now_ms=3_000) is False
    assert recent.since({"g"}, now_ms=20_000) == []


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
