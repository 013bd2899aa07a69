"""Deletes an erased person's files: the media side of an erasure (docs/compliance.md, part 2).

Two ways lead to them, because the media topic keeps only 7 days:
- The erasure closes the account with `AccountErased` on the accounts topic; the media
  sweeper follows that topic, and for each erased person it finds every media they declared
  that the media topic still holds (its whole retention, read from its beginning: the
  sweeper's own book holds only a day), attached or not.
- The erasure lists every media the person ever attached from the history view and appends
  `MediaErasureRequested` for each to the media topic (edge/erasure.py): those declared
  before the topic's retention are known by nothing else.
Each is deleted as the unattached sweep does (staging object, unfinished multipart upload,
everything published under `media/<id>/`), then `MediaDeleted(ERASED)` is appended. The
deletions are level-triggered, not remembered: what is to do is "every media of an erased
person that is not DELETED" and "every request no MediaDeleted has answered", refolded from
the topics at each start, so a sweeper killed midway finishes the job, and a media whose
objects a previous run already deleted is deleted again harmlessly (a missing object is no
error) before its event. A request is found again after a restart while it is within the
sweeper's window of the media topic (a day and more): a sweeper down for longer than that
misses the requests of that time (docs/compliance.md, "Files").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import get_args

from kafkalog.decoding import Decoder, avro_decoder
from kafkalog.follower import Decoded, UnusablePolicy
from kafkalog.window import read_window
from media.book import MediaBook
from media.lifecycle import MediaRecord, MediaStatus
from media.log import decode_media_event
from schemas import models as m
from schemas.record import AvroRecord
from schemas.topics import Topics

BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)
"""A time before any record: Kafka's time index then answers each partition's first offset."""
decode_account_event: Decoder[AvroRecord] = avro_decoder(
    get_args(m.AccountEvent), "an account event"
)


def erased_user(event: AvroRecord) -> str | None:
    """The person an account event erases, if it is an erasure."""
    return event.meta.user_id if isinstance(event, m.AccountErased) else None


def to_erase(records: Iterable[MediaRecord], erased: set[str]) -> list[MediaRecord]:
    """The media of erased people that still have files (everything not yet DELETED)."""
    return [r for r in records if r.owner_id in erased and r.status is not MediaStatus.DELETED]


class ErasureRequests:
    """The media an erasure asked to delete that no `MediaDeleted` has answered yet, folded
    from the media topic in its order."""

    def __init__(self) -> None:
        self.pending: dict[str, m.MediaEventMeta] = {}

    def apply(self, event: m.MediaEvent) -> None:
        if isinstance(event, m.MediaErasureRequested):
            self.pending[event.meta.media_id] = event.meta
        elif isinstance(event, m.MediaDeleted):
            self.pending.pop(event.meta.media_id, None)


class ErasedPeople:
    """Who was erased, folded from the accounts topic (kept whole) from its beginning, then
    read on from where it got to; `new` are those not yet looked for in the media topic."""

    def __init__(self, bootstrap: str, topics: Topics, unusable: UnusablePolicy) -> None:
        self.bootstrap = bootstrap
        self.topics = topics
        self.unusable = unusable
        self.erased: set[str] = set()
        self.new: set[str] = set()
        self.positions: dict[int, int] = {}

    def catch_up(self) -> set[str]:
        """Read the accounts topic to its end; returns the people newly found erased."""

        def fold(item: Decoded[AvroRecord]) -> None:
            user = erased_user(item.value)
            if user is not None and user not in self.erased:
                self.erased.add(user)
                self.new.add(user)

        self.positions = read_window(
            self.bootstrap,
            self.topics.accounts,
            positions=self.positions,
            since=BEGINNING,
            decode=decode_account_event,
            apply=fold,
            unusable=self.unusable,
        )
        return set(self.new)

    def media_of(self, owners: set[str]) -> list[MediaRecord]:
        """Every media of `owners` the media topic holds, as of its end: a fold of the whole
        topic kept only for them (a few records, however long the topic)."""
        book = MediaBook()

        def fold(item: Decoded[m.MediaEvent]) -> None:
            if item.value.meta.owner_id in owners:
                book.apply(item.value)

        read_window(
            self.bootstrap,
            self.topics.media,
            positions={},
            since=BEGINNING,
            decode=decode_media_event,
            apply=fold,
            unusable=self.unusable,
        )
        return to_erase(book.records.values(), owners)

    def looked_for(self, owners: set[str]) -> None:
        """`owners`' media are all deleted: they need no further look in the media topic."""
        self.new -= owners
