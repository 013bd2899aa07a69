"""Attachments through the real sequencer and broker: checked against and filled from the media
topic; a book that has not read the latest media events catches up before it decides; a
restarted sequencer rebuilds its book from the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from media.log import KafkaMediaLog
from schemas import models as m
from streams.sequencer.media_feed import MediaFeed
from tests.integration.log import (
    CommandProducer,
    command_meta,
    create_conversation,
    decoded,
    fresh_topics,
    read_committed,
)
from tests.integration.sequencer_process import SequencerProcess
from tests.media_events import declared, ready


def media_id(n: int) -> str:
    return f"m{n:032x}"


def attaching(cid: str, user: str, *media: str) -> m.SendMessage:
    return m.SendMessage(
        meta=command_meta(cid, user), body=m.PlainBody(text=""), media_ids=tuple(media)
    )


def outcome_for(records: list[Any], command: m.SendMessage) -> Any:
    return next(o for o in decoded(records) if o.command_id == command.meta.command_id)


def test_a_book_caught_up_on_demand_has_every_media_event_written_before(
    kafka_bootstrap: str,
) -> None:
    """What makes a good attachment never refused: the media events were acknowledged
    before the command was sent, so reading to the high watermark finds them."""
    topics = fresh_topics(partitions=2)
    out = KafkaMediaLog(kafka_bootstrap, topics.media)
    feed = MediaFeed(kafka_bootstrap, topics.media, window=timedelta(hours=25))
    feed.start()
    try:
        now = datetime.now(UTC)
        for n in range(20):
            for event in ready(media_id(n), at=now):
                out.append(event)
            record = feed.fresh([media_id(n)]).get(media_id(n))
            assert record is not None and record.status.value == "ready", n
        out.append(declared(media_id(99), at=now))
        pending = feed.fresh([media_id(99)]).get(media_id(99))
        assert pending is not None and pending.status.value == "declared"
    finally:
        feed.close()
        out.close()


def test_until_its_window_is_read_the_book_knows_no_media(kafka_bootstrap: str) -> None:
    """The window is read in a thread of its own, so that a restarted sequencer sequences
    messages without attachments at once; one with attachments waits a bounded time, and is
    refused (MEDIA_NOT_READY: the client tries again) if the book is still being read."""
    topics = fresh_topics(partitions=2)
    out = KafkaMediaLog(kafka_bootstrap, topics.media)
    for event in ready(media_id(1), at=datetime.now(UTC)):
        out.append(event)
    out.close()
    feed = MediaFeed(kafka_bootstrap, topics.media, window=timedelta(hours=25), catch_up_s=0.2)
    try:
        assert feed.fresh([media_id(1)]).get(media_id(1)) is None, "not started: not read"
        feed.start()
        feed.warmed.wait(30)
        assert feed.fresh([media_id(1)]).get(media_id(1)) is not None
    finally:
        feed.close()


def test_attachments_are_checked_filled_and_survive_a_kill(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = fresh_topics()
    media_log = KafkaMediaLog(kafka_bootstrap, topics.media)
    now = datetime.now(UTC)
    early, late, unfinished = media_id(1), media_id(2), media_id(3)
    for event in ready(early, owner="ana", at=now):
        media_log.append(event)
    sequencer = SequencerProcess(topics, tmp_path)
    sequencer.start()
    out = CommandProducer(topics)
    try:
        out.send(create_conversation("c1", "ana", "bo"))
        first = attaching("c1", "ana", early)
        out.send(first)
        out.flush()
        # Written while the sequencer runs, the command sent at once: its book is behind.
        for event in ready(late, owner="ana", at=now):
            media_log.append(event)
        media_log.append(declared(unfinished, owner="ana", at=now))
        second = attaching("c1", "ana", late)
        not_ready = attaching("c1", "ana", unfinished)
        stolen = attaching("c1", "bo", early)
        for command in (second, not_ready, stolen):
            out.send(command)
        out.flush()
        outcomes = read_committed(topics.outcomes.name, expected=5, deadline_s=60)
        assert outcome_for(outcomes, second).seq == 3, sequencer.log()
        assert outcome_for(outcomes, not_ready).code is m.RejectionCode.MEDIA_NOT_READY
        assert outcome_for(outcomes, stolen).code is m.RejectionCode.NO_SUCH_MEDIA

        sequencer.kill()
        sequencer.start()  # its book is rebuilt from the media topic's window
        again = attaching("c1", "ana", early, late)
        out.send(again)
        out.flush()
        events = decoded(read_committed(topics.events.name, expected=4, deadline_s=60))
    finally:
        sequencer.stop()
        media_log.close()
    assert [e.meta.seq for e in events] == [1, 2, 3, 4]
    photo = events[1].attachments[0]
    assert (photo.media_id, photo.kind, photo.width) == (early, m.MediaKind.IMAGE, 640)
    assert photo.variants[0].object_key.startswith(f"media/{early}/")
    assert [a.media_id for a in events[3].attachments] == [early, late]
    assert "Traceback" not in sequencer.log()
