"""The media side of an erasure on the real broker and S3 server: `AccountErased` on the
accounts topic makes the sweeper delete every object of the person's media and append
`MediaDeleted(ERASED)`; a sweeper that dies midway is finished by the next one, which finds
some objects already gone and neither fails nor writes an event twice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from confluent_kafka import Producer

from media.keys import media_prefix, upload_key
from media.log import KafkaMediaLog
from schemas import codec
from schemas import models as m
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


def sweeper(env: MediaEnv, log: KafkaMediaLog | DiesAfter) -> Sweeper:
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
