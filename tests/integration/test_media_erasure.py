"""The media side of an erasure on the real broker and S3 server: `AccountErased` on the
accounts topic makes the sweeper delete every object of the person's media and append
`MediaDeleted(ERASED)`; a sweeper that dies midway is finished by the next one, which finds
some objects already gone and neither fails nor writes an event twice."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Message, Producer

from media.keys import media_prefix, new_media_id, upload_key
from media.lifecycle import event_meta
from media.log import KafkaMediaLog, MediaLog
from schemas import codec
from schemas import models as m
from schemas.partitioning import partition_for
from streams.media.sweeper import Sweeper
from tests import media_files as f
from tests.integration.log import BOOTSTRAP
from tests.integration.media_env import ANA, BO, SMALL_PARTS, MediaEnv, media_env
from tests.media_events import account_erased


class DiesAfter:
    """The media log of a sweeper killed after `appends` events: what a kill -9 between
    deleting a media's objects and appending its event leaves behind."""

    def __init__(self, log: KafkaMediaLog, appends: int) -> None:
        self.log = log
        self.left = appends

    def append(self, event: m.MediaEvent) -> tuple[int, int]:
        if self.left == 0:
            raise SystemExit("killed")
        self.left -= 1
        return self.log.append(event)

    def append_all(self, events: Sequence[m.MediaEvent]) -> list[Message]:
        raise NotImplementedError("a sweeper appends its events one by one")


@pytest.fixture
def env(kafka_bootstrap: str) -> Iterator[MediaEnv]:
    yield media_env()


def published(env: MediaEnv, tmp_path: Path, owner: m.Actor) -> str:
    """A photo of `owner`'s, processed: its renditions are under media/<id>/."""
    ticket, _ = env.upload(f.image_bytes("PNG", 300, 200), "image/png", owner=owner)
    book = env.rebuilt_book(datetime.now(UTC) - timedelta(hours=1))
    job = book.records[ticket.media_id].uploaded
    assert job is not None
    outcome = env.job(tmp_path / "work").run(job)
    assert isinstance(outcome, m.MediaProcessed)
    KafkaMediaLog(BOOTSTRAP, env.topics.media).append(outcome)
    return ticket.media_id


def erase(env: MediaEnv, user: str) -> None:
    """`AccountErased` on the accounts topic, as the accounts processor writes it."""
    event = account_erased(user, datetime.now(UTC))
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    producer.produce(env.topics.accounts.name, key=user.encode(), value=codec.encode(event))
    assert producer.flush(10) == 0


def sweeper(env: MediaEnv, log: MediaLog) -> Sweeper:
    return Sweeper(
        bootstrap=BOOTSTRAP,
        topics=env.topics,
        store=env.store,
        log_out=log,
        settings=SMALL_PARTS,
    )


def objects(env: MediaEnv, media_id: str) -> list[str]:
    found = []
    for prefix in (upload_key(media_id), media_prefix(media_id)):
        listed = env.store.client.list_objects_v2(Bucket=env.store.bucket, Prefix=prefix)
        found += [o["Key"] for o in listed.get("Contents", [])]
    return found


def in_progress(env: MediaEnv, media_id: str) -> list[str]:
    """The unfinished multipart uploads of the media (their parts are no objects yet)."""
    listed = env.store.client.list_multipart_uploads(
        Bucket=env.store.bucket, Prefix=upload_key(media_id)
    )
    return [u["UploadId"] for u in listed.get("Uploads", [])]


def test_a_sweeper_killed_midway_through_an_erasure_is_finished_by_the_next(
    env: MediaEnv, tmp_path: Path
) -> None:
    photo = published(env, tmp_path, ANA)
    half_sent = env.upload(
        os.urandom(11 * 1024 * 1024), "application/octet-stream", complete=False
    )[0].media_id
    kept = published(env, tmp_path, BO)
    assert objects(env, photo) and in_progress(env, half_sent)
    log = KafkaMediaLog(BOOTSTRAP, env.topics.media)
    assert sweeper(env, log).erase() == [], "nobody is erased yet"
    erase(env, ANA.user_id)

    with pytest.raises(SystemExit):
        sweeper(env, DiesAfter(log, appends=1)).erase()
    first = [e for e in env.events(expected=8) if isinstance(e, m.MediaDeleted)]
    assert len(first) == 1, "killed after one media's event, during the other's"

    again = sweeper(env, log)
    assert again.erase() == [m_id for m_id in (photo, half_sent) if m_id != first[0].meta.media_id]
    assert again.erase() == [], "nothing is left to do"
    assert objects(env, photo) == [] and objects(env, half_sent) == []
    assert in_progress(env, half_sent) == [], "the half-sent multipart upload is aborted"
    assert len([k for k in objects(env, kept) if k.startswith(media_prefix(kept))]) == 3, (
        "bo's renditions stay"
    )
    deleted = [e for e in env.events(expected=9) if isinstance(e, m.MediaDeleted)]
    assert sorted(e.meta.media_id for e in deleted) == sorted([photo, half_sent]), "once each"
    assert {e.reason for e in deleted} == {m.MediaDeletionReason.ERASED}


class AppendsFirst:
    """A media log that, on the sweeper's first append, lets another writer's record land
    first in the same partition: what an edge appending a request meanwhile does."""

    def __init__(self, log: KafkaMediaLog, first: m.MediaEvent) -> None:
        self.log = log
        self.first: m.MediaEvent | None = first

    def append(self, event: m.MediaEvent) -> tuple[int, int]:
        if self.first is not None:
            self.log.append(self.first)
            self.first = None
        return self.log.append(event)

    def append_all(self, events: Sequence[m.MediaEvent]) -> list[Message]:
        raise NotImplementedError("a sweeper appends its events one by one")


def old_media(env: MediaEnv, partition: int) -> str:
    """A media published before the media topic's retention: its renditions are in the
    bucket, and the topic holds nothing of it."""
    while partition_for(media_id := new_media_id(), env.topics.media.partitions) != partition:
        pass
    for name in ("original.png", "thumb-small.webp"):
        env.store.client.put_object(
            Bucket=env.store.bucket,
            Key=media_prefix(media_id) + name,
            Body=b"bytes of " + name.encode(),
        )
    return media_id


def requested(media_id: str, owner: m.Actor) -> m.MediaErasureRequested:
    meta = event_meta(media_id, owner.user_id, datetime.now(UTC))
    return m.MediaErasureRequested(meta=meta, erasure_id="erasure-1")


def test_files_older_than_the_media_topic_are_deleted_when_an_erasure_asks(
    env: MediaEnv,
) -> None:
    """The sweeper's own fold of the media topic cannot find media declared before its 7
    days of retention: the erasure names them (`MediaErasureRequested`), and the sweeper
    deletes every object and answers `MediaDeleted(ERASED)`, once each, however the request
    interleaves with its own appends."""
    first, second, kept = old_media(env, 0), old_media(env, 0), old_media(env, 0)
    log = KafkaMediaLog(BOOTSTRAP, env.topics.media)
    log.append(requested(first, ANA))
    erasing = sweeper(env, AppendsFirst(log, requested(second, ANA)))

    assert erasing.erase() == [first]
    assert objects(env, first) == []
    assert erasing.erase() == [second], "a request that landed before the sweeper's own event"
    assert erasing.erase() == []
    assert objects(env, second) == []
    assert len(objects(env, kept)) == 2, "a media nobody asked for stays"
    deleted = [e for e in env.events(expected=4) if isinstance(e, m.MediaDeleted)]
    assert [(e.meta.media_id, e.meta.owner_id, e.reason) for e in deleted] == [
        (first, ANA.user_id, m.MediaDeletionReason.ERASED),
        (second, ANA.user_id, m.MediaDeletionReason.ERASED),
    ]
    assert sweeper(env, log).erase() == [], "a restarted sweeper finds every request answered"
