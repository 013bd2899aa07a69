"""The media lifecycle fold and the book of the last day: idempotent, windowed, per owner."""

from __future__ import annotations

from datetime import timedelta

from media.book import MediaBook
from media.lifecycle import MediaStatus, evolve
from tests.media_events import T0, declared, deleted, processed, rejected, uploaded


def test_a_media_goes_from_declared_to_ready() -> None:
    record = evolve(None, declared("m1"))
    assert record is not None and record.status is MediaStatus.DECLARED
    record = evolve(record, uploaded("m1"))
    assert record is not None and record.status is MediaStatus.UPLOADED
    record = evolve(record, processed("m1", "first"))
    assert record is not None and record.status is MediaStatus.READY


def test_events_read_twice_change_nothing_and_the_first_processing_wins() -> None:
    first = evolve(evolve(evolve(None, declared("m1")), uploaded("m1")), processed("m1", "first"))
    again = evolve(evolve(evolve(first, declared("m1")), uploaded("m1")), processed("m1", "second"))
    assert again == first
    assert again is not None and again.processed is not None
    assert again.processed.placeholder == "first"


def test_a_processed_media_cannot_be_rejected_afterwards_but_can_be_deleted() -> None:
    ready = evolve(evolve(evolve(None, declared("m1")), uploaded("m1")), processed("m1", "p"))
    assert evolve(ready, rejected("m1")) == ready
    gone = evolve(ready, deleted("m1"))
    assert gone is not None and gone.status is MediaStatus.DELETED


def test_a_rejection_is_final() -> None:
    record = evolve(evolve(evolve(None, declared("m1")), uploaded("m1")), rejected("m1"))
    assert record is not None and record.status is MediaStatus.REJECTED
    assert evolve(record, processed("m1", "late")) == record


def test_events_of_media_declared_before_the_window_are_ignored() -> None:
    assert evolve(None, uploaded("m1")) is None


def test_the_quota_counts_an_owners_bytes_declared_since_a_time() -> None:
    book = MediaBook()
    book.apply(declared("m1", 100, at=T0 - timedelta(hours=30)))
    book.apply(declared("m2", 200, at=T0 - timedelta(hours=2)))
    book.apply(declared("m3", 400, at=T0))
    book.apply(declared("m4", 800, owner="bo", at=T0))
    book.apply(declared("m3", 400, at=T0))  # read again: counted once
    assert book.declared_bytes_since("ana", T0 - timedelta(days=1)) == 600
    assert book.declared_bytes_since("bo", T0 - timedelta(days=1)) == 800
    assert book.declared_bytes_since("cy", T0 - timedelta(days=1)) == 0


def test_prune_forgets_what_was_declared_before_the_window() -> None:
    book = MediaBook()
    book.apply(declared("old", at=T0 - timedelta(hours=30)))
    book.apply(declared("new", at=T0))
    assert book.prune(T0 - timedelta(hours=25)) == 1
    assert book.get("old") is None
    assert book.get("new") is not None
    book.prune(T0 + timedelta(hours=1))
    assert book.by_owner == {}


def test_positions_are_the_next_offset_to_read_per_partition() -> None:
    book = MediaBook()
    book.apply(declared("m1"), (0, 41))
    book.apply(uploaded("m1"), (0, 42))
    book.apply(declared("m2"), (3, 7))
    assert book.positions == {0: 43, 3: 8}
