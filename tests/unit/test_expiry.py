"""The expiry processor's pure parts (streams/expiry/): the book folded from events, what is
due and asked again, which bucket keys have ended; and the lifetime a sequencer and an edge
accept (docs/compliance.md, "Retention and disappearing messages")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.errors import NOT_READY, ClientError, ErrorCode
from edge.lifetimes import MessageLifetimes
from projections.history.layout import Lifetime
from schemas import models as m
from schemas.models import RejectionCode
from sealing.keyids import bucket_key_id
from sealing.lifetimes import DAY_MS, LifetimeSettings, choices_said, describe
from streams.expiry.book import ExpiryBook
from streams.expiry.due import Expiring, Resends, batches, ended_buckets
from streams.sequencer.rules import Limits
from streams.store import MemoryStore
from tests.unit.test_sequencer_decide import Conversation

NOW = datetime(2026, 11, 28, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def meta(seq: int, cid: str = "g", at: datetime = NOW) -> m.EventMeta:
    return m.EventMeta(
        event_id=f"{cid}/{seq}",
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id="ann", device_id="d"),
        client_msg_id=f"k{seq}",
        command_id="c",
        occurred_at=at,
    )


def sent(seq: int, lifetime_ms: int | None, cid: str = "g") -> m.MessageSent:
    return m.MessageSent(
        meta=meta(seq, cid), body=m.PlainBody(text="x"), expires_after_ms=lifetime_ms
    )


def test_the_book_holds_expiring_messages_by_their_time_until_the_log_expires_them() -> None:
    book = ExpiryBook(MemoryStore())
    book.apply(sent(1, None))
    book.apply(sent(2, 5_000))
    book.apply(sent(3, 1_000, cid="h"))
    book.apply(sent(4, 9_000))
    book.flush({0: 5})
    assert book.position(0) == 5
    assert book.due(NOW_MS) == []
    assert book.due(NOW_MS + 5_000) == [
        Expiring(NOW_MS + 1_000, "h", 3),
        Expiring(NOW_MS + 5_000, "g", 2),
    ]
    gone = book.apply(m.MessagesExpired(meta=meta(5), seqs=(2, 4, 99)))
    assert gone == [Expiring(NOW_MS + 5_000, "g", 2), Expiring(NOW_MS + 9_000, "g", 4)]
    book.flush({0: 6})
    assert list(book.entries()) == [Expiring(NOW_MS + 1_000, "h", 3)]
    # The same event again (a batch read twice after a crash) changes nothing.
    assert book.apply(m.MessagesExpired(meta=meta(5), seqs=(2, 4))) == []


def test_a_deleted_or_redacted_message_leaves_the_book_since_it_never_expires() -> None:
    """The sequencer expires no deleted or redacted message: left in the book, it would be
    asked for again for ever."""
    book = ExpiryBook(MemoryStore())
    for seq in (1, 2, 3):
        book.apply(sent(seq, 1_000))
    book.apply(m.MessageDeleted(meta=meta(4), target_seq=1, scope=m.DeleteScope.FOR_ME))
    book.apply(m.MessageDeleted(meta=meta(5), target_seq=2, scope=m.DeleteScope.FOR_EVERYONE))
    book.apply(m.MessageRedacted(meta=meta(6), target_seq=3, reason="case"))
    book.flush()
    assert [e.seq for e in book.entries()] == [1]


def test_an_unflushed_batch_is_not_in_the_durable_book() -> None:
    """A crash before the batch's write: the batch is read again from the stored position."""
    store = MemoryStore()
    book = ExpiryBook(store)
    book.apply(sent(1, 1_000))
    book.discard()
    assert ExpiryBook(store).due(NOW_MS + 10_000) == []


def test_due_messages_are_asked_for_once_per_retry_period_per_conversation() -> None:
    resends = Resends(retry_ms=5_000)
    due = [Expiring(100, "g", 2), Expiring(200, "h", 1), Expiring(300, "g", 7)]
    assert resends.pick(due, 250) == {"g": [2], "h": [1]}
    assert resends.pick(due, 300) == {"g": [7]}
    assert resends.pick(due, 4_000) == {}
    assert resends.pick(due, 5_250) == {"g": [2], "h": [1]}
    resends.forget([Expiring(300, "g", 7)])
    assert resends.pick(due, 5_260) == {"g": [7]}


def test_many_seqs_go_in_several_commands_in_order() -> None:
    assert batches([5, 3, 3, 9, 1], size=2) == [(1, 3), (5, 9)]
    assert batches([]) == []


def test_only_bucket_keys_whose_end_has_passed_are_destroyed() -> None:
    ids = [bucket_key_id(100), bucket_key_id(130), "x/soon", "p/ann"]
    assert ended_buckets(ids, 100.0) == ["x/100"]
    assert ended_buckets(ids, 131.0) == ["x/100", "x/130"]


def test_the_choices_are_one_setting_for_edge_and_sequencer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An end-to-end run adds a lifetime of seconds; the sequencer takes what the edge offers."""
    assert LifetimeSettings().disappearing_choices_ms == (DAY_MS, 7 * DAY_MS, 90 * DAY_MS)
    monkeypatch.setenv("PARLEY_DISAPPEARING_CHOICES_MS", "[86400000, 4000]")
    monkeypatch.setenv("PARLEY_RETENTION_DAYS", "30")
    own = LifetimeSettings()
    assert own.disappearing_choices_ms == (4000, DAY_MS)
    assert own.retention_days == 30
    c = Conversation(limits=Limits(disappearing_choices_ms=own.disappearing_choices_ms))
    c.group()
    c.expect_rejected(
        m.SetDisappearingMessages(meta=c.meta("alice"), after_ms=7 * DAY_MS),
        RejectionCode.INVALID,
    )
    c.expect_seq(m.SetDisappearingMessages(meta=c.meta("alice"), after_ms=4000))
    monkeypatch.setenv("PARLEY_DISAPPEARING_CHOICES_MS", "[0]")
    with pytest.raises(ValueError, match="positive"):
        LifetimeSettings()


def test_errors_name_the_choices_as_people_say_them() -> None:
    assert describe(DAY_MS) == "1 d"
    assert describe(4000) == "4 s"
    assert describe(1500) == "1500 ms"
    said = choices_said((4000, DAY_MS))
    assert said == "after_ms is one of 4 s (4000), 1 d (86400000), or null for off"


async def test_a_new_message_lives_the_shortest_of_its_conversation_and_the_default() -> None:
    settings = {"g": Lifetime(disappearing_ms=DAY_MS), "h": Lifetime(retention_days=2)}

    async def read(cid: str, *, fresh: bool = False) -> tuple[Lifetime, int]:
        if cid == "new":
            raise NOT_READY
        return settings.get(cid, Lifetime()), 1

    lifetimes = MessageLifetimes(read, default_days=30)
    assert await lifetimes.for_new_message("g") == DAY_MS
    assert await lifetimes.for_new_message("h") == 2 * DAY_MS
    assert await lifetimes.for_new_message("other") == 30 * DAY_MS
    assert await lifetimes.for_new_message("new") == 30 * DAY_MS
    assert await MessageLifetimes(read).for_new_message("other") is None
    with pytest.raises(ClientError) as refused:
        lifetimes.check_choice(2 * DAY_MS)
    assert refused.value.code == ErrorCode.INVALID
    assert "24 h" not in refused.value.message and "1 d (86400000)" in refused.value.message
    lifetimes.check_choice(None)
    assert timedelta(milliseconds=DAY_MS) == timedelta(days=1)


async def test_an_edit_is_sealed_to_die_with_its_message() -> None:
    """An edit of an expiring message lives what is left of the message's lifetime (the same
    bucket); of a message whose time has come, none."""
    due = {("g", 2): NOW_MS + 5_000, ("g", 3): NOW_MS - 1}

    async def read(cid: str, *, fresh: bool = False) -> tuple[Lifetime, int]:
        return Lifetime(), 0

    async def expiry_of(cid: str, seq: int) -> int | None:
        return due.get((cid, seq))

    lifetimes = MessageLifetimes(read, expiry_of=expiry_of, wall=lambda: NOW_MS / 1000 + 1)
    assert await lifetimes.for_edit("g", 2) == 4_000
    assert await lifetimes.for_edit("g", 9) is None
    with pytest.raises(ClientError) as refused:
        await lifetimes.for_edit("g", 3)
    assert refused.value.code == ErrorCode.NO_SUCH_MESSAGE
