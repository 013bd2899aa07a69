"""The inbox view on a real RocksDB: ordering, previews, unread and mention counts derived
from watermarks, receipts, edits and deletes, departures, and idempotent replays."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from projections.inbox.layout import Preview
from projections.inbox.query import UNREAD_CAP, InboxConversation, InboxReader
from projections.inbox.store import InboxBatch, InboxStore
from schemas import codec
from schemas import models as m

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def meta(cid: str, seq: int, user: str = "alice", device: str = "phone") -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.uuid4()),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-{device}"),
        client_msg_id=f"m{seq}",
        command_id=str(uuid.uuid4()),
        occurred_at=T0 + timedelta(seconds=seq),
    )


def created(cid: str, *members: str, at: int = 1) -> m.ConversationCreated:
    return m.ConversationCreated(
        meta=meta(cid, at),
        kind=m.ConversationKind.GROUP,
        name=cid,
        members=(
            m.Member(user_id="alice", role=m.Role.OWNER),
            *(m.Member(user_id=u, role=m.Role.MEMBER) for u in members),
        ),
    )


def sent(cid: str, seq: int, user: str = "alice", mentions: tuple[str, ...] = ()) -> m.MessageSent:
    return m.MessageSent(
        meta=meta(cid, seq, user), body=m.PlainBody(text=f"message {seq}"), mentions=mentions
    )


def read(
    cid: str, seq: int, user: str, up_to: int, device: str = "phone"
) -> m.ReadWatermarkAdvanced:
    return m.ReadWatermarkAdvanced(meta=meta(cid, seq, user, device), up_to_seq=up_to)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[InboxStore]:
    opened = InboxStore(tmp_path / "inbox")
    yield opened
    opened.close()


@pytest.fixture
def reader(store: InboxStore, tmp_path: Path) -> Iterator[InboxReader]:
    opened = InboxReader(store.path, secondary_path=tmp_path / "secondary", max_staleness_s=0)
    yield opened
    opened.close()


def write(store: InboxStore, *events: m.Event) -> None:
    batch = InboxBatch(store)
    for event in events:
        batch.add(event, codec.encode(event))
    batch.commit()


def entry_of(reader: InboxReader, user_id: str, cid: str) -> InboxConversation:
    found = reader.entry(user_id, cid)
    assert found is not None, f"{user_id} has no entry for {cid}"
    return found


def test_conversations_by_last_activity_with_preview(
    store: InboxStore, reader: InboxReader
) -> None:
    write(store, created("a", "bob"), created("b", "bob"), sent("a", 2), sent("b", 2), sent("a", 3))
    entries = reader.entries("bob")
    assert [e.conversation_id for e in entries] == ["a", "b"]
    preview = entries[0].summary.preview
    assert preview is not None
    assert (preview.text, preview.sender_id) == ("message 3", "alice")
    assert reader.entries("carol") == []


def test_unread_comes_from_the_read_watermark_of_any_device(
    store: InboxStore, reader: InboxReader
) -> None:
    write(store, created("a", "bob"), *(sent("a", s) for s in range(2, 7)))
    assert entry_of(reader, "bob", "a").unread == 5
    assert entry_of(reader, "alice", "a").unread == 0
    write(store, read("a", 7, "bob", 4, device="laptop"))
    entry = entry_of(reader, "bob", "a")
    assert (entry.unread, entry.read_up_to) == (2, 4)
    assert entry.receipts is not None
    assert entry.receipts.read == {"bob": 4}
    write(store, read("a", 8, "bob", 3, device="phone"))  # an older read never moves it back
    assert entry_of(reader, "bob", "a").unread == 2


def test_reading_does_not_reorder_the_inbox(store: InboxStore, reader: InboxReader) -> None:
    write(store, created("a", "bob"), created("b", "bob", at=1), sent("a", 2), sent("b", 3))
    write(store, read("a", 4, "bob", 2))
    assert [e.conversation_id for e in reader.entries("bob")] == ["b", "a"]


def test_mentions_count_only_unread_messages_naming_the_person(
    store: InboxStore, reader: InboxReader
) -> None:
    write(
        store,
        created("a", "bob", "carol"),
        sent("a", 2, mentions=("bob",)),
        sent("a", 3, mentions=("carol",)),
        sent("a", 4, mentions=("bob", "carol")),
    )
    assert entry_of(reader, "bob", "a").mentions == 2
    write(store, read("a", 5, "bob", 2))
    assert entry_of(reader, "bob", "a").mentions == 1


def test_deleting_for_everyone_uncounts_and_hides_the_preview(
    store: InboxStore, reader: InboxReader
) -> None:
    write(store, created("a", "bob"), sent("a", 2), sent("a", 3))
    gone = m.MessageDeleted(meta=meta("a", 4), target_seq=3, scope=m.DeleteScope.FOR_EVERYONE)
    edit = m.MessageEdited(meta=meta("a", 5), target_seq=2, body=m.PlainBody(text="fixed"))
    write(store, gone, edit)
    entry = entry_of(reader, "bob", "a")
    assert entry.unread == 1
    assert entry.summary.preview == Preview(
        seq=3, sender_id="alice", kind="deleted", text=None, edited=False
    )


def test_editing_the_last_message_edits_the_preview(store: InboxStore, reader: InboxReader) -> None:
    write(store, created("a", "bob"), sent("a", 2))
    write(store, m.MessageEdited(meta=meta("a", 3), target_seq=2, body=m.PlainBody(text="fixed")))
    preview = entry_of(reader, "bob", "a").summary.preview
    assert preview is not None
    assert (preview.text, preview.edited) == ("fixed", True)


def test_someone_removed_sees_up_to_their_removal(store: InboxStore, reader: InboxReader) -> None:
    write(store, created("a", "bob"), sent("a", 2))
    write(store, m.MemberRemoved(meta=meta("a", 3), user_id="bob"), sent("a", 4), sent("a", 5))
    entry = entry_of(reader, "bob", "a")
    assert (entry.member, entry.summary.last_seq, entry.unread) == (False, 3, 1)
    assert entry.summary.preview is not None
    assert entry.summary.preview.seq == 2
    receipts = entry_of(reader, "alice", "a").receipts
    assert receipts is not None
    assert receipts.members == ("alice",)


def test_someone_added_later_counts_and_previews_only_from_their_joining(
    store: InboxStore, reader: InboxReader
) -> None:
    """What the history view's tenures let them read: nothing sent before they joined."""
    write(store, created("a", "bob"), sent("a", 2), sent("a", 3))
    write(store, m.MemberAdded(meta=meta("a", 4), user_id="carol"))
    entry = entry_of(reader, "carol", "a")
    assert (entry.member, entry.unread, entry.summary.preview) == (True, 0, None)
    write(store, sent("a", 5, user="bob"))
    entry = entry_of(reader, "carol", "a")
    assert entry.unread == 1
    assert entry.summary.preview is not None
    assert entry.summary.preview.seq == 5
    write(store, m.MemberRoleChanged(meta=meta("a", 6), user_id="carol", role=m.Role.ADMIN))
    assert (entry_of(reader, "carol", "a").role, entry_of(reader, "carol", "a").unread) == (
        "ADMIN",
        1,
    )


def test_replaying_events_changes_nothing(store: InboxStore, reader: InboxReader) -> None:
    events: list[m.Event] = [
        created("a", "bob"),
        sent("a", 2),
        read("a", 3, "bob", 2),
        sent("a", 4),
    ]
    write(store, *events)
    before = reader.entries("bob")
    write(store, *events)
    assert reader.entries("bob") == before


def test_unread_is_capped(store: InboxStore, reader: InboxReader) -> None:
    write(store, created("a", "bob"), *(sent("a", s) for s in range(2, UNREAD_CAP + 12)))
    entry = entry_of(reader, "bob", "a")
    assert (entry.unread, entry.unread_capped) == (UNREAD_CAP, True)
