"""The history view without Kafka: `apply` folded into a dict, and the reader on real RocksDB."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from projections.history.layout import (
    OutdatedStoreError,
    Tenure,
    Tenures,
    event_key,
    last_seq_key,
    member_key,
    membership_key,
    sent_media_key,
    tenure_key,
)
from projections.history.projection import Delete, Put, apply
from projections.history.query import HistoryReader, HistoryUnavailableError
from projections.history.store import HistoryBatch, HistoryStore
from projections.readiness import CatchUp
from projections.store import Readiness
from schemas import codec
from schemas import models as m
from tests.media_files import message_attaching

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def meta(cid: str, seq: int, user: str = "alice") -> m.EventMeta:
    return m.EventMeta(
        event_id=str(uuid.uuid4()),
        conversation_id=cid,
        seq=seq,
        actor=m.Actor(user_id=user, device_id=f"{user}-phone"),
        client_msg_id=f"m{seq}",
        command_id=str(uuid.uuid4()),
        occurred_at=NOW,
    )


def created(cid: str, *members: str) -> m.ConversationCreated:
    return m.ConversationCreated(
        meta=meta(cid, 1),
        kind=m.ConversationKind.GROUP,
        name=cid,
        members=(
            m.Member(user_id="alice", role=m.Role.OWNER),
            *(m.Member(user_id=u, role=m.Role.MEMBER) for u in members),
        ),
    )


def sent(cid: str, seq: int, text: str | None = None) -> m.MessageSent:
    return m.MessageSent(meta=meta(cid, seq), body=m.PlainBody(text=text or f"message {seq}"))


def added(cid: str, seq: int, user: str) -> m.MemberAdded:
    return m.MemberAdded(meta=meta(cid, seq), user_id=user)


def removed(cid: str, seq: int, user: str) -> m.MemberRemoved:
    return m.MemberRemoved(meta=meta(cid, seq), user_id=user)


def fold(events: list[m.Event], into: dict[bytes, bytes] | None = None) -> dict[bytes, bytes]:
    """The store `apply` describes, as a dict: what RocksDB would hold."""
    store = dict(into or {})
    for event in events:
        cid = event.meta.conversation_id
        last = int(store.get(last_seq_key(cid), b"0"))
        for change in apply(event, codec.encode(event), last, store.get):
            if isinstance(change, Put):
                store[change.key] = change.value
            else:
                store.pop(change.key, None)
    return store


def nothing(key: bytes) -> bytes | None:
    """An empty store's lookup."""
    return None


def tenures(store: dict[bytes, bytes], user: str, cid: str) -> tuple[Tenure, ...]:
    value = store.get(tenure_key(user, cid))
    return () if value is None else Tenures.model_validate_json(value).tenures


def test_creation_stores_the_event_and_every_member_both_ways() -> None:
    event = created("c1", "bob")
    changes = apply(event, codec.encode(event), 0, nothing)
    store = fold([event])
    assert Put(event_key("c1", 1), codec.encode(event)) in changes
    assert codec.decode(store[event_key("c1", 1)]) == event
    assert store[last_seq_key("c1")] == b"1"
    assert store[member_key("c1", "alice")] == b"OWNER"
    assert store[membership_key("bob", "c1")] == b"MEMBER"
    assert tenures(store, "bob", "c1") == (Tenure(joined_at=1, left_at=None),)


def test_an_event_at_or_below_the_last_seq_changes_nothing() -> None:
    event = sent("c1", 5)
    assert apply(event, codec.encode(event), 5, nothing) == []
    assert apply(event, codec.encode(event), 9, nothing) == []
    assert apply(event, codec.encode(event), 4, nothing) != []


def test_folding_the_log_twice_gives_the_same_store() -> None:
    log: list[m.Event] = [created("c1", "bob"), sent("c1", 2), removed("c1", 3, "bob")]
    once = fold(log)
    assert fold(log, into=once) == once


def test_membership_follows_added_role_changed_and_removed() -> None:
    log: list[m.Event] = [
        created("c1", "bob"),
        added("c1", 2, "carol"),
        m.MemberRoleChanged(meta=meta("c1", 3), user_id="carol", role=m.Role.ADMIN),
        removed("c1", 4, "bob"),
    ]
    store = fold(log)
    assert store[member_key("c1", "carol")] == b"ADMIN"
    assert store[membership_key("carol", "c1")] == b"ADMIN"
    assert member_key("c1", "bob") not in store
    assert membership_key("bob", "c1") not in store


def test_a_removed_member_keeps_the_seq_of_their_removal() -> None:
    store = fold([created("c1", "bob"), sent("c1", 2), removed("c1", 3, "bob"), sent("c1", 4)])
    assert tenures(store, "bob", "c1") == (Tenure(joined_at=1, left_at=3),)
    rejoined = fold([added("c1", 5, "bob")], into=store)
    assert tenures(rejoined, "bob", "c1") == (
        Tenure(joined_at=1, left_at=3),
        Tenure(joined_at=5, left_at=None),
    )


def test_a_tenure_starts_at_the_event_that_made_one_a_member() -> None:
    store = fold([created("c1", "bob"), sent("c1", 2), added("c1", 3, "carol"), sent("c1", 4)])
    assert tenures(store, "carol", "c1") == (Tenure(joined_at=3),)
    held = Tenures(tenures=tenures(store, "carol", "c1"))
    assert [seq for seq in range(1, 5) if held.covers(seq)] == [3, 4]


def test_a_second_add_of_a_member_does_not_restart_their_tenure() -> None:
    store = fold([created("c1", "bob"), sent("c1", 2), added("c1", 3, "bob")])
    assert tenures(store, "bob", "c1") == (Tenure(joined_at=1),)


def test_the_readable_spans_of_two_tenures_leave_out_the_gap() -> None:
    held = Tenures(tenures=(Tenure(joined_at=3, left_at=6), Tenure(joined_at=10)))
    assert held.spans(1, 20) == [(3, 6), (10, 20)]
    assert held.spans(5, 11) == [(5, 6), (10, 11)]
    assert held.spans(7, 9) == []
    assert [seq for seq in range(1, 13) if held.covers(seq)] == [3, 4, 5, 6, 10, 11, 12]


@pytest.mark.parametrize("stored", [b"{}", b'{"left_at": 3}'])
def test_a_tenure_of_the_layout_before_starts_is_refused_loudly(stored: bytes) -> None:
    """A store written before tenures had a start cannot say when anyone joined: reading it
    as "no tenure" would hide every conversation, as "since seq 1" would leak."""
    event = removed("c1", 4, "bob")
    with pytest.raises(OutdatedStoreError, match="rebuild"):
        apply(event, codec.encode(event), 3, {tenure_key("bob", "c1"): stored}.get)


def test_deleting_for_everyone_or_redacting_drops_the_stored_message() -> None:
    log: list[m.Event] = [
        created("c1", "bob"),
        sent("c1", 2, "secret"),
        sent("c1", 3, "regret"),
        sent("c1", 4, "mine"),
        m.MessageRedacted(meta=meta("c1", 5), target_seq=2, reason="court order"),
        m.MessageDeleted(meta=meta("c1", 6), target_seq=3, scope=m.DeleteScope.FOR_EVERYONE),
        m.MessageDeleted(meta=meta("c1", 7), target_seq=4, scope=m.DeleteScope.FOR_ME),
    ]
    changes = apply(log[4], codec.encode(log[4]), 4, nothing)
    assert Delete(event_key("c1", 2)) in changes
    store = fold(log)
    assert event_key("c1", 2) not in store
    assert event_key("c1", 3) not in store
    assert event_key("c1", 4) in store
    assert event_key("c1", 5) in store


def test_an_erasure_drops_every_message_of_the_person_and_only_theirs() -> None:
    """Regression: the sender index was written in a second `MessageSent` branch that the
    first (attachments) made unreachable, so an erasure found nothing to drop and the
    history view kept serving the erased person's messages (found by `python -m bench
    erasure-quick`)."""
    body = m.PlainBody(text="theirs")
    log: list[m.Event] = [
        created("c1", "bob"),
        m.MessageSent(meta=meta("c1", 2, "bob"), body=body),
        sent("c1", 3, "mine"),
        m.MessageSent(meta=meta("c1", 4, "bob"), body=body),
        m.SenderContentErased(meta=meta("c1", 5, "compliance:o"), user_id="bob", erasure_id="e"),
    ]
    store: dict[bytes, bytes] = {}

    def scan(prefix: bytes) -> list[tuple[bytes, bytes]]:
        return sorted((k, v) for k, v in store.items() if k.startswith(prefix))

    for seq, event in enumerate(log, start=1):
        for change in apply(event, codec.encode(event), seq - 1, store.get, scan=scan):
            if isinstance(change, Put):
                store[change.key] = change.value
            else:
                store.pop(change.key, None)
    assert event_key("c1", 2) not in store
    assert event_key("c1", 4) not in store
    assert event_key("c1", 3) in store
    assert event_key("c1", 5) in store


def test_catch_up_needs_every_owned_partition_at_its_start_end() -> None:
    catch_up = CatchUp({0: 10, 1: 0, 2: 5})
    assert not catch_up.done(set())
    assert catch_up.done({1})
    catch_up.advanced(0, 9)
    assert not catch_up.done({0, 1})
    catch_up.advanced(0, 10)
    assert catch_up.done({0, 1})
    assert not catch_up.done({0, 1, 2})
    catch_up.reached_end(2)
    assert catch_up.done({0, 1, 2})


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    opened = HistoryStore(tmp_path / "history")
    yield opened
    opened.close()


@pytest.fixture
def reader(store: HistoryStore, tmp_path: Path) -> Iterator[HistoryReader]:
    opened = HistoryReader(store.path, secondary_path=tmp_path / "secondary", max_staleness_s=0)
    yield opened
    opened.close()


def write(store: HistoryStore, events: list[m.Event], partition: int = 0, offset: int = 0) -> None:
    batch = HistoryBatch(store)
    for i, event in enumerate(events):
        batch.add(event, codec.encode(event))
        batch.advance(partition, offset + i + 1)
    batch.commit()


def seqs(pages: list[bytes]) -> list[int]:
    return [cast(Any, codec.decode(p)).meta.seq for p in pages]


def test_pages_both_ways(store: HistoryStore, reader: HistoryReader) -> None:
    write(store, [created("c1", "bob"), *(sent("c1", s) for s in range(2, 101))])
    assert reader.last_seq("c1") == 100
    assert seqs(reader.page("c1", limit=10)) == list(range(91, 101))
    assert seqs(reader.page("c1", before=50, limit=10)) == list(range(40, 50))
    assert seqs(reader.page("c1", after=50, limit=10)) == list(range(51, 61))
    assert seqs(reader.page("c1", after=95, limit=10)) == list(range(96, 101))
    assert seqs(reader.page("c1", before=5, limit=10)) == [1, 2, 3, 4]
    assert seqs(reader.page("c1", after=10, before=14, limit=10)) == [11, 12, 13]
    assert seqs(reader.page("c1", after=0, limit=3)) == [1, 2, 3]
    assert reader.page("c1", before=1, limit=10) == []
    assert reader.page("c1", after=100, limit=10) == []
    assert reader.page("nope", limit=10) == []
    assert reader.last_seq("nope") == 0


def test_a_page_limit_is_bounded(reader: HistoryReader) -> None:
    with pytest.raises(ValueError):
        reader.page("c1", limit=0)
    with pytest.raises(ValueError):
        reader.page("c1", limit=1001)


def test_one_conversation_id_prefixing_another_does_not_leak(
    store: HistoryStore, reader: HistoryReader
) -> None:
    write(store, [created("c", "bob"), created("cc", "carol"), sent("cc", 2)])
    assert seqs(reader.page("c", limit=10)) == [1]
    assert reader.members("c") == {"alice": "OWNER", "bob": "MEMBER"}
    assert reader.conversations_of("alice") == ["c", "cc"]


def test_membership_and_who_can_read(store: HistoryStore, reader: HistoryReader) -> None:
    write(
        store,
        [
            created("c1", "bob"),
            created("c2", "bob"),
            sent("c1", 2),
            removed("c1", 3, "bob"),
            sent("c1", 4),
            added("c1", 5, "carol"),
        ],
    )
    assert reader.members("c1") == {"alice": "OWNER", "carol": "MEMBER"}
    assert reader.conversations_of("bob") == ["c2"]
    assert reader.conversations_of("alice") == ["c1", "c2"]
    assert not reader.is_member("bob", "c1")
    assert reader.is_member("carol", "c1")
    assert reader.role("alice", "c1") == "OWNER"
    assert reader.can_read("bob", "c1", 3)
    assert not reader.can_read("bob", "c1", 4)
    assert not reader.can_read("carol", "c1", 4)
    assert reader.can_read("carol", "c1", 5)
    assert not reader.can_read("dave", "c1", 1)
    assert reader.tenures_in("carol", "c1") == Tenures(tenures=(Tenure(joined_at=5),))
    assert reader.tenures_in("dave", "c1") is None


def test_the_reader_follows_later_batches_and_replays_are_harmless(
    store: HistoryStore, reader: HistoryReader
) -> None:
    log: list[m.Event] = [created("c1", "bob"), sent("c1", 2), sent("c1", 3)]
    write(store, log[:2])
    assert reader.last_seq("c1") == 2
    write(store, log)
    assert reader.last_seq("c1") == 3
    assert seqs(reader.page("c1", limit=10)) == [1, 2, 3]
    assert store.positions() == {0: 3}


def test_the_tracking_record_is_written_with_the_batch(store: HistoryStore) -> None:
    write(store, [created("c1", "bob")], partition=2, offset=41)
    write(store, [created("c9", "bob")], partition=0, offset=6)
    assert store.positions() == {0: 7, 2: 42}


def test_two_events_of_one_conversation_in_one_batch_see_each_other(store: HistoryStore) -> None:
    batch = HistoryBatch(store)
    events: list[m.Event] = [created("c1", "bob"), sent("c1", 2), sent("c1", 2)]
    for event in events:
        batch.add(event, codec.encode(event))
    batch.commit()
    assert (batch.applied, batch.skipped) == (2, 1)
    assert store.last_seq("c1") == 2


def test_readiness_marker(store: HistoryStore, reader: HistoryReader) -> None:
    assert not reader.ready()
    store.mark_ready(Readiness(high_watermarks={0: 3}))
    assert reader.ready()
    store.clear_ready()
    assert not reader.ready()


def test_a_missing_store_is_reported(tmp_path: Path) -> None:
    with pytest.raises(HistoryUnavailableError):
        HistoryReader(tmp_path / "absent")


def test_the_query_side_does_not_import_kafka() -> None:
    """The edge imports the query side; Kafka clients there belong to the edge alone."""
    probe = (
        "import sys, projections.history.query; "
        "sys.exit('confluent_kafka' in sys.modules or 'streams' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", probe], check=False).returncode == 0


def test_attached_media_are_indexed_to_their_messages_and_a_deletion_unserves_them(
    store: HistoryStore, reader: HistoryReader
) -> None:
    """Download authorization reads this index (media id -> conversation, seq), kept in the
    same batch as the events and the view's position."""
    photo, doc = "m" + "a" * 32, "m" + "b" * 32

    def attaching(cid: str, seq: int, *media: str) -> m.MessageSent:
        return message_attaching(*media).model_copy(update={"meta": meta(cid, seq)})

    log: list[m.Event] = [
        created("c1", "bob"),
        attaching("c1", 2, photo, doc),
        attaching("c1", 3, photo),
        m.MessageDeleted(meta=meta("c1", 4), target_seq=2, scope=m.DeleteScope.FOR_EVERYONE),
    ]
    write(store, log)
    assert reader.attached_in(photo) == [("c1", 2), ("c1", 3)]
    assert reader.attached_in(doc) == [("c1", 2)]
    assert reader.attached_in("m" + "c" * 32) == []
    assert reader.event("c1", 2) is None, "deleted for everyone: nothing to serve from"
    forwarded = reader.event("c1", 3)
    assert forwarded is not None
    assert [a.media_id for a in cast(m.MessageSent, codec.decode(forwarded)).attachments] == [photo]


def test_a_message_going_takes_its_edits_own_events_along(
    store: HistoryStore, reader: HistoryReader
) -> None:
    """Regression: an expired or redacted message's edits stayed in pages as events of their
    own (and their text with them, until their key died); and no message was ever indexed
    to its sender (an unreachable branch), so an erasure dropped nothing from this view."""

    def edited(seq: int, target: int, text: str) -> m.MessageEdited:
        return m.MessageEdited(meta=meta("c1", seq), target_seq=target, body=m.PlainBody(text=text))

    bobs = m.MessageSent(meta=meta("c1", 7, "bob"), body=m.PlainBody(text="bob's"))
    write(
        store,
        [
            created("c1", "bob"),
            sent("c1", 2, "soon gone"),
            edited(3, 2, "gone too"),
            edited(4, 2, "and this"),
            sent("c1", 5, "alice's"),
            m.MessagesExpired(meta=meta("c1", 6, "compliance:expiry"), seqs=(2,)),
            bobs,
            edited(8, 5, "alice's edit"),
            m.SenderContentErased(
                meta=meta("c1", 9, "compliance:o"), user_id="alice", erasure_id="e"
            ),
        ],
    )
    assert seqs(reader.page("c1")) == [1, 6, 7, 9]
    assert reader.content_of("alice", "c1") == 0
    assert reader.content_of("bob", "c1") == 1


def attaching(cid: str, seq: int, user: str, *media_ids: str) -> m.MessageSent:
    return m.MessageSent(
        meta=meta(cid, seq, user),
        body=m.PlainBody(text="look"),
        attachments=tuple(
            m.Attachment(media_id=i, content_type="image/png", size_bytes=1, sha256="0")
            for i in media_ids
        ),
    )


def test_the_media_a_person_attached_outlive_their_messages_and_their_erasure(
    store: HistoryStore, reader: HistoryReader
) -> None:
    """What an erasure asks the media sweeper to delete, and its report checks: every file
    the person attached, those of messages deleted for everyone, redacted or expired too
    (their objects are in the bucket still), and nothing of anyone else's."""
    write(
        store,
        [
            created("c1", "bob"),
            attaching("c1", 2, "bob", "m-kept", "m-two"),
            attaching("c1", 3, "bob", "m-deleted"),
            attaching("c1", 4, "alice", "m-alices"),
            m.MessageDeleted(
                meta=meta("c1", 5, "bob"), target_seq=3, scope=m.DeleteScope.FOR_EVERYONE
            ),
            m.MessageRedacted(meta=meta("c1", 6, "compliance:o"), target_seq=2, reason="r"),
        ],
    )
    assert reader.media_sent_by("bob", "c1") == {"m-kept", "m-two", "m-deleted"}
    assert reader.media_sent_by("alice", "c1") == {"m-alices"}
    assert reader.media_sent_by("bob", "c2") == set()
    erased = m.SenderContentErased(
        meta=meta("c1", 7, "compliance:o"), user_id="bob", erasure_id="e"
    )
    write(store, [erased], offset=6)
    assert reader.media_sent_by("bob", "c1") == {"m-kept", "m-two", "m-deleted"}, (
        "kept for the erasure's report, which checks the files are gone"
    )
    assert reader.media_sent_by("alice", "c1") == {"m-alices"}


def test_a_store_written_before_the_media_index_finds_them_through_standing_messages(
    store: HistoryStore, reader: HistoryReader
) -> None:
    write(store, [created("c1", "bob"), attaching("c1", 2, "bob", "m-old")])
    before_the_index = HistoryBatch(store)
    before_the_index.extend([Delete(sent_media_key("c1", "bob", "m-old"))])
    before_the_index.advance(0, 3)
    before_the_index.commit()
    assert reader.media_sent_by("bob", "c1") == {"m-old"}
