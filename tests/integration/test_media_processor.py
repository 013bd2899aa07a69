"""The media processor as a process on the real broker and S3 server: jobs in, outcomes out,
bad records parked, positions kept across a restart; and the sweeper on an injected clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from media.keys import media_prefix, upload_key
from media.log import KafkaMediaLog
from schemas import codec
from schemas import models as m
from schemas.models import MediaErrorCode
from streams.media.sweeper import Sweeper
from tests import media_files as f
from tests.integration.log import BOOTSTRAP, read_committed
from tests.integration.media_env import SMALL_PARTS, MediaEnv, media_env
from tests.integration.processes import ParleyProcess, wait_until
from tests.integration.test_media_processing import make_video


@pytest.fixture
def env(kafka_bootstrap: str) -> Iterator[MediaEnv]:
    yield media_env()


def upload(env: MediaEnv, data: bytes, content_type: str, *, complete: bool = True) -> str:
    return env.upload(data, content_type, complete=complete)[0].media_id


def outcomes(env: MediaEnv, records: int) -> dict[str, list[Any]]:
    """Per media id, the processor's events (MediaProcessed, MediaRejected), read once the
    media topic holds `records` records in all."""
    found: dict[str, list[Any]] = {}
    for record in read_committed(env.topics.media.name, expected=records, deadline_s=120):
        if record.value == b"not avro":
            continue
        event = codec.decode(record.value)
        if isinstance(event, m.MediaProcessed | m.MediaRejected):
            found.setdefault(event.meta.media_id, []).append(event)
    return found


def processor(env: MediaEnv, tmp_path: Path) -> ParleyProcess:
    return ParleyProcess(
        "streams.media",
        env.topics.media.name.rsplit(".", 1)[0],
        tmp_path / "state",
        tmp_path / "processor.log",
        {"PARLEY_PARTITIONS": str(env.topics.media.partitions)},
    )


def test_the_processor_serves_jobs_parks_bad_records_and_resumes_where_it_stopped(
    env: MediaEnv, tmp_path: Path
) -> None:
    garbage = Producer({"bootstrap.servers": BOOTSTRAP})
    garbage.produce(env.topics.media.name, key=b"m?", value=b"not avro", partition=0)
    garbage.flush(10)
    photo = upload(env, f.camera_jpeg(), "image/jpeg")
    virus = upload(env, f.EICAR, "application/octet-stream")
    worker = processor(env, tmp_path)
    worker.start("process")
    try:
        done = outcomes(env, records=7)  # garbage, 2 x (declared, uploaded, outcome)
        assert [type(e) for e in done[photo]] == [m.MediaProcessed], worker.log()
        assert done[virus][0].code is MediaErrorCode.MALWARE
        assert env.store.size_of(upload_key(photo)) is None, "staging deleted once served"
        (parked,) = read_committed(env.topics.dead_letters.name, expected=1, deadline_s=30)
        assert parked.value == b"not avro"
        assert parked.headers["source-topic"] == env.topics.media.name.encode()
        assert parked.headers["source-offset"] == b"0"
        assert worker.stop() == 0
        later = upload(env, f.image_bytes("PNG", 300, 200), "image/png")
        worker.start("process")
        done = outcomes(env, records=10)
        assert done[later][0].width == 300
        assert len(done[photo]) == 1, "a committed job is not run again after a restart"
    finally:
        worker.stop()


def test_the_sweeper_deletes_what_no_message_attached_a_day_later(
    env: MediaEnv, tmp_path: Path
) -> None:
    """A clock a day and an hour ahead stands in for waiting: every other part is real."""
    kept = upload(env, f.camera_jpeg(), "image/jpeg")
    job = env.rebuilt_book(datetime.now(UTC) - timedelta(hours=1)).records[kept].uploaded
    assert job is not None
    outcome = env.job(tmp_path / "work").run(job)
    assert isinstance(outcome, m.MediaProcessed)
    log = KafkaMediaLog(BOOTSTRAP, env.topics.media)
    log.append(outcome)
    abandoned = upload(env, f.camera_jpeg(), "image/jpeg")
    half_sent = upload(
        env, os.urandom(11 * 1024 * 1024), "application/octet-stream", complete=False
    )
    attach(env, kept)

    day_later = datetime.now(UTC) + timedelta(hours=25, minutes=1)
    sweeper = Sweeper(
        bootstrap=BOOTSTRAP,
        topics=env.topics,
        store=env.store,
        log_out=log,
        settings=SMALL_PARTS,
        clock=lambda: day_later,
    )
    assert sorted(sweeper.sweep()) == sorted([abandoned, half_sent])
    assert env.store.size_of(upload_key(abandoned)) is None
    unfinished = env.store.client.list_multipart_uploads(
        Bucket=env.store.bucket, Prefix=upload_key(half_sent)
    )
    assert unfinished.get("Uploads", []) == [], "the half-sent multipart upload is aborted"
    listed = env.store.client.list_objects_v2(Bucket=env.store.bucket, Prefix=media_prefix(kept))
    assert listed["KeyCount"] == 3, "the attached photo's renditions stay"
    assert env.store.size_of(upload_key(kept)) is None, "its staging copy goes once URLs expired"
    events = env.events(expected=8)  # 3 + 2 + 1 declared, uploaded or processed; 2 deleted
    deleted = [e for e in events if isinstance(e, m.MediaDeleted)]
    assert sorted(e.meta.media_id for e in deleted) == sorted([abandoned, half_sent])
    assert {e.reason for e in deleted} == {m.MediaDeletionReason.UNATTACHED}
    assert sweeper.sweep() == [], "a second sweep finds nothing more"


def attach(env: MediaEnv, media_id: str) -> None:
    """A message attaching the media, on the events topic as the sequencer writes it."""
    event = f.message_attaching(media_id)
    producer = Producer({"bootstrap.servers": BOOTSTRAP})
    producer.produce(env.topics.events.name, key=b"dm-ana-bo", value=codec.encode(event))
    assert producer.flush(10) == 0


def test_a_processor_killed_mid_job_does_the_job_once_after_its_restart(
    env: MediaEnv, tmp_path: Path
) -> None:
    """kill -9 while a video is being transcoded: nothing of the job was written, so the
    restarted processor runs it again from its uncommitted offset. The outcome is then
    written once (had the kill come between writing MediaProcessed and committing the
    offset, it would be written twice, alike: every reader's fold takes the first); every
    published rendition is whole and named in it, nothing else lies under the media's
    prefix; the staging object lives until the outcome is written, and the killed job's
    files are cleared at the restart."""
    video = make_video(tmp_path / "clip.mkv", seconds=8)
    media_id = upload(env, video, "video/x-matroska")
    worker = processor(env, tmp_path)
    work = tmp_path / "state" / f"{env.topics.media.name.rsplit('.', 1)[0]}-media-work-all-0"
    worker.start("process")
    try:

        def transcoding() -> bool:
            """The job has fetched the whole upload and moved on to rendering it."""
            return any(
                (d / "upload").exists() and (d / "upload").stat().st_size == len(video)
                for d in work.glob("job-*")
            ) and any(p.name != "upload" for d in work.glob("job-*") for p in d.iterdir())

        wait_until(transcoding, 120, "the job to be transcoding")
        worker.kill()
        assert env.store.size_of(upload_key(media_id)) == len(video), "kept for the re-run"
        assert outcomes(env, records=2) == {}, "killed before any outcome"
        assert list(work.glob("job-*")), "a killed job leaves its files behind"

        worker.start("process")
        done = outcomes(env, records=3)[media_id]
        assert [type(e) for e in done] == [m.MediaProcessed], worker.log()
    finally:
        worker.stop()
    (processed,) = done
    listed = env.store.client.list_objects_v2(
        Bucket=env.store.bucket, Prefix=media_prefix(media_id)
    )
    stored = {o["Key"]: o["Size"] for o in listed.get("Contents", [])}
    assert stored == {v.object_key: v.size_bytes for v in processed.variants}
    for variant in processed.variants:
        body = b"".join(env.store.chunks(variant.object_key))
        assert f.digest(body) == variant.sha256, variant.name
    assert env.store.size_of(upload_key(media_id)) is None, "staging deleted once served"
    assert not list(work.glob("job-*")), "the killed job's files were cleared"
    assert "cleared 1 jobs' files" in worker.log()
