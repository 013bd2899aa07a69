"""Which uploads the sweeper deletes, on an injected clock: never attached, past the day and
the grace hour, and not already gone."""

from __future__ import annotations

from datetime import timedelta

from media.settings import MediaSettings
from schemas import models as m
from streams.media.sweeper import attached_media, due
from tests.media_events import T0, book_of, declared, meta
from tests.media_files import message_attaching

SETTINGS = MediaSettings(unattached_ttl_s=24 * 3600, sweep_grace_s=3600)


def test_nothing_is_due_within_the_day_and_the_grace_hour() -> None:
    book = book_of(declared("m1"))
    assert due(book, set(), T0 + timedelta(hours=24, minutes=59), SETTINGS) == []
    assert [r.media_id for r in due(book, set(), T0 + timedelta(hours=25), SETTINGS)] == ["m1"]


def test_attached_media_is_never_due() -> None:
    book = book_of(declared("m1"), declared("m2"))
    later = T0 + timedelta(days=3)
    assert [r.media_id for r in due(book, {"m1"}, later, SETTINGS)] == ["m2"]


def test_deleted_media_is_not_deleted_again() -> None:
    gone = m.MediaDeleted(meta=meta("m1"), reason=m.MediaDeletionReason.UNATTACHED)
    assert due(book_of(declared("m1"), gone), set(), T0 + timedelta(days=3), SETTINGS) == []


def test_a_message_names_the_media_it_attaches() -> None:
    assert attached_media(message_attaching("m1", "m2", at=T0)) == ["m1", "m2"]
    gone = m.MediaDeleted(meta=meta("m1"), reason=m.MediaDeletionReason.UNATTACHED)
    assert attached_media(gone) == []
