"""Uploads straight to the real S3 server through pre-signed URLs: declare, resume, complete.

Every byte goes to s3proxy over HTTP as a client would send it; every event is read back
from the real broker.
"""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from media.errors import MediaError
from media.lifecycle import MediaStatus
from media.settings import MIB, MediaSettings
from media.uploads import UploadRequest, UploadService, UploadTicket
from schemas import models as m
from schemas.models import MediaErrorCode
from tests import media_files as f
from tests.integration.media_env import ANA, BO, MediaEnv, media_env
from tests.integration.processes import wait_until
from tests.integration.uploader import part_bytes, put, put_cut_off, send


@pytest.fixture
def env(kafka_bootstrap: str) -> Iterator[MediaEnv]:
    yield media_env()


def request(
    data: bytes, content_type: str, name: str = "file.bin", **extra: object
) -> UploadRequest:
    return UploadRequest(
        size_bytes=len(data),
        sha256=f.digest(data),
        content_type=content_type,
        file_name=name,
        **extra,
    )


def refusal(action: object) -> MediaErrorCode:
    assert callable(action)
    with pytest.raises(MediaError) as refused:
        action()
    return refused.value.code


def test_a_photo_goes_up_in_one_put_and_is_verified(env: MediaEnv) -> None:
    photo = f.camera_jpeg()
    service = env.service()
    ticket = service.declare(ANA, request(photo, "image/jpeg", "IMG_0001.JPG"))
    assert not ticket.multipart and len(ticket.parts) == 1
    assert send(ticket, photo) == [200]
    done = service.complete(ANA.user_id, ticket.media_id)
    assert (done.content_type, done.kind, done.size_bytes) == (
        "image/jpeg",
        m.MediaKind.IMAGE,
        len(photo),
    )
    declared, uploaded = env.events(expected=2)
    assert isinstance(declared, m.MediaDeclared) and isinstance(uploaded, m.MediaUploaded)
    assert declared.meta.owner_id == "ana" and declared.device_id == "ana-phone"
    assert declared.file_name == "", "the name is sealed under its owner's key"
    assert opened_name(service, declared) == "IMG_0001.JPG"
    assert uploaded.sha256 == f.digest(photo) and uploaded.kind is m.MediaKind.IMAGE


def test_an_upload_cut_off_midway_resumes_with_only_the_missing_parts_after_a_restart(
    env: MediaEnv,
) -> None:
    """The edge node that declared the upload is gone: a fresh one knows it from the media
    topic alone, asks S3 which parts it holds, and signs only the others."""
    data = os.urandom(13 * MIB)  # parts of 5, 5 and 3 MiB
    began = datetime.now(UTC) - timedelta(minutes=1)
    first = env.service()
    ticket = first.declare(ANA, request(data, "application/octet-stream", "backup.bin"))
    assert ticket.multipart and [p.size_bytes for p in ticket.parts] == [5 * MIB, 5 * MIB, 3 * MIB]
    assert send(ticket, data, only={1}) == [200]
    second_part = ticket.parts[1]
    put_cut_off(second_part.url, part_bytes(ticket, second_part, data), sent=2 * MIB)

    restarted = env.service(book=env.rebuilt_book(since=began))
    assert restarted.book.get(ticket.media_id) is not None
    resumed = resume_once_the_store_settles(restarted, ticket.media_id)
    assert [p.number for p in resumed.parts] == [2, 3]
    assert (
        refusal(lambda: restarted.complete(ANA.user_id, ticket.media_id))
        is MediaErrorCode.INCOMPLETE
    )
    assert send(resumed, data) == [200, 200]
    assert restarted.resume(ANA.user_id, ticket.media_id).parts == ()
    done = restarted.complete(ANA.user_id, ticket.media_id)
    assert done.sha256 == f.digest(data)
    assert b"".join(env.store.chunks(f"uploads/{ticket.media_id}")) == data


def resume_once_the_store_settles(service: UploadService, media_id: str) -> UploadTicket:
    """s3proxy's filesystem store answers ListParts with an error (a 500 without a code) while
    it discards a part cut off midway: the client is told STORAGE_UNAVAILABLE, which means
    "try again", and does, as a client would."""
    tickets: list[UploadTicket] = []

    def resumed() -> bool:
        try:
            tickets.append(service.resume(ANA.user_id, media_id))
        except MediaError as e:
            if not e.transient:
                raise
            return False
        return True

    wait_until(resumed, 30, "the store to list the parts it kept")
    return tickets[0]


def test_a_large_multipart_upload_is_verified_without_holding_it_in_memory(env: MediaEnv) -> None:
    data = os.urandom(64 * MIB)
    service = env.service(MediaSettings())  # the default 8 MiB parts
    ticket = service.declare(ANA, request(data, "application/octet-stream", "big.bin"))
    assert len(ticket.parts) == 8
    assert send(ticket, data) == [200] * 8
    tracemalloc.start()
    try:
        done = service.complete(ANA.user_id, ticket.media_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert done.sha256 == f.digest(data)
    assert peak < 16 * MIB, f"completing held {peak / MIB:.0f} MiB at once"


def test_an_expired_pre_signed_url_is_refused_by_the_store(
    env: MediaEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed two hours ago for one hour: s3proxy itself refuses it."""
    signed_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda **_: signed_at)
    photo = f.camera_jpeg()
    ticket = env.service().declare(ANA, request(photo, "image/jpeg"))
    monkeypatch.undo()
    answer = put(ticket.parts[0].url, photo, ticket.headers)
    assert answer.status == 403
    assert b"expired" in answer.body.lower()


def test_a_pre_signed_url_takes_only_the_declared_length_and_type(env: MediaEnv) -> None:
    photo = f.camera_jpeg()
    ticket = env.service().declare(ANA, request(photo, "image/jpeg"))
    assert put(ticket.parts[0].url, photo + b"more", ticket.headers).status == 403
    assert put(ticket.parts[0].url, photo, {"Content-Type": "text/html"}).status == 403


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ((0, "a" * 64, "image/jpeg", "a.jpg"), MediaErrorCode.EMPTY_FILE),
        ((100 * MIB + 1, "a" * 64, "video/mp4", "a.mp4"), MediaErrorCode.TOO_LARGE),
        ((10, "not-a-digest", "image/jpeg", "a.jpg"), MediaErrorCode.BAD_DIGEST),
        ((10, "a" * 64, "text/html", "a.html"), MediaErrorCode.UNSUPPORTED_TYPE),
        ((10, "a" * 64, "image/svg+xml; charset=utf-8", "../.."), MediaErrorCode.BAD_FILE_NAME),
        ((10, "a" * 64, "image/jpeg", "\x00\x01\x1b"), MediaErrorCode.BAD_FILE_NAME),
    ],
)
def test_bad_declarations_are_refused_with_their_code(
    env: MediaEnv, bad: tuple[int, str, str, str], code: MediaErrorCode
) -> None:
    size, sha256, content_type, name = bad
    declared = UploadRequest(
        size_bytes=size, sha256=sha256, content_type=content_type, file_name=name
    )
    assert refusal(lambda: env.service(MediaSettings()).declare(ANA, declared)) is code


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("../../../etc/cron.d/evil.jpg", "evil.jpg"),
        ("C:\\Windows\\photo.jpg", "photo.jpg"),
        ("pho\x07to\r\n.jpg", "photo.jpg"),
        ("holiday\u202egpj.exe", "holidaygpj.exe"),
        ("Straße 東京 🌸.jpg", "Straße 東京 🌸.jpg"),
    ],
)
def test_file_names_are_stored_cleaned_and_unicode_is_kept(
    env: MediaEnv, given: str, stored: str
) -> None:
    photo = f.camera_jpeg()
    service = env.service()
    ticket = service.declare(ANA, request(photo, "image/jpeg", given))
    (declared,) = env.events(expected=1)
    assert declared.meta.media_id == ticket.media_id
    assert opened_name(service, declared) == stored


def opened_name(service: UploadService, declared: m.MediaDeclared) -> str:
    """The declared name as the edge shows it: sealed on the topic, opened with the key."""
    assert declared.sealed_file_name is not None
    return service.names.open_file_name(
        declared.meta.owner_id,
        declared.meta.media_id,
        declared.file_name,
        declared.sealed_file_name,
    )


def complete_refusal(
    env: MediaEnv, data: bytes, declared: bytes, content_type: str
) -> MediaErrorCode:
    """Declare `declared`, send `data` in its place, complete; the refusal's code."""
    service = env.service()
    ticket = service.declare(ANA, request(declared, content_type))
    assert send(ticket, data) == [200]
    code = refusal(lambda: service.complete(ANA.user_id, ticket.media_id))
    assert env.store.size_of(f"uploads/{ticket.media_id}") is None, "refused bytes are deleted"
    record = service.book.get(ticket.media_id)
    assert record is not None and record.status is MediaStatus.REJECTED
    events = env.events(expected=2)
    assert isinstance(events[-1], m.MediaRejected) and events[-1].code is code
    assert refusal(lambda: service.complete(ANA.user_id, ticket.media_id)) is code
    return code


def test_other_bytes_of_the_same_length_fail_the_digest(env: MediaEnv) -> None:
    photo = f.camera_jpeg()
    tampered = photo[:-3] + b"\x00\xff\xd9"
    assert complete_refusal(env, tampered, photo, "image/jpeg") is MediaErrorCode.DIGEST_MISMATCH


def test_a_fake_jpeg_is_refused(env: MediaEnv) -> None:
    fake = b"GIF89a? no, just text pretending to be a JPEG\n" * 50
    assert complete_refusal(env, fake, fake, "image/jpeg") is MediaErrorCode.TYPE_MISMATCH


def test_a_jpeg_with_a_zip_behind_it_is_refused(env: MediaEnv) -> None:
    polyglot = f.camera_jpeg() + f.zip_of({"payload.js": b"alert(document.cookie)"})
    assert complete_refusal(env, polyglot, polyglot, "image/jpeg") is MediaErrorCode.POLYGLOT


def test_a_gif_that_is_also_javascript_is_refused(env: MediaEnv) -> None:
    polyglot = f.gif_javascript_polyglot()
    assert complete_refusal(env, polyglot, polyglot, "image/gif") is MediaErrorCode.POLYGLOT


def test_an_object_of_another_size_than_declared_is_refused(env: MediaEnv) -> None:
    """The signed length stops a client at the URL; an object written some other way (or a
    store that does not check lengths) is still caught at completion."""
    photo = f.camera_jpeg()
    service = env.service()
    ticket = service.declare(ANA, request(photo, "image/jpeg"))
    env.store.client.put_object(
        Bucket=env.store.bucket, Key=f"uploads/{ticket.media_id}", Body=photo[:-1]
    )
    assert (
        refusal(lambda: service.complete(ANA.user_id, ticket.media_id))
        is MediaErrorCode.SIZE_MISMATCH
    )


def test_the_daily_quota_counts_what_a_person_declared(env: MediaEnv) -> None:
    service = env.service(MediaSettings(quota_bytes_per_day=1 * MIB))
    half = os.urandom(600 * 1024)
    service.declare(ANA, request(half, "application/octet-stream"))
    assert refusal(lambda: service.declare(ANA, request(half, "application/octet-stream"))) is (
        MediaErrorCode.OVER_QUOTA
    )
    service.declare(BO, request(half, "application/octet-stream"))  # someone else's quota


def test_a_day_later_the_quota_is_free_again_and_the_upload_is_closed(env: MediaEnv) -> None:
    now = [datetime.now(UTC)]
    service = env.service(MediaSettings(quota_bytes_per_day=1 * MIB), clock=lambda: now[0])
    half = os.urandom(600 * 1024)
    ticket = service.declare(ANA, request(half, "application/octet-stream"))
    now[0] += timedelta(hours=24, seconds=1)
    service.declare(ANA, request(half, "application/octet-stream"))
    assert refusal(lambda: service.resume(ANA.user_id, ticket.media_id)) is MediaErrorCode.EXPIRED
    assert refusal(lambda: service.complete(ANA.user_id, ticket.media_id)) is MediaErrorCode.EXPIRED


def test_someone_elses_upload_is_not_found(env: MediaEnv) -> None:
    photo = f.camera_jpeg()
    service = env.service()
    ticket = service.declare(ANA, request(photo, "image/jpeg"))
    send(ticket, photo)
    assert refusal(lambda: service.resume(BO.user_id, ticket.media_id)) is MediaErrorCode.NOT_FOUND
    assert (
        refusal(lambda: service.complete(BO.user_id, ticket.media_id)) is MediaErrorCode.NOT_FOUND
    )
    assert (
        refusal(lambda: service.complete(ANA.user_id, "m" + "0" * 32)) is MediaErrorCode.NOT_FOUND
    )
    outside = "../uploads/x"
    assert refusal(lambda: service.resume(ANA.user_id, outside)) is MediaErrorCode.NOT_FOUND


def test_complete_before_any_byte_is_incomplete_and_twice_answers_alike(env: MediaEnv) -> None:
    photo = f.camera_jpeg()
    service = env.service()
    ticket = service.declare(ANA, request(photo, "image/jpeg"))
    assert (
        refusal(lambda: service.complete(ANA.user_id, ticket.media_id)) is MediaErrorCode.INCOMPLETE
    )
    send(ticket, photo)
    first = service.complete(ANA.user_id, ticket.media_id)
    assert service.complete(ANA.user_id, ticket.media_id) == first
    assert (
        refusal(lambda: service.resume(ANA.user_id, ticket.media_id))
        is MediaErrorCode.ALREADY_COMPLETED
    )
    assert len(env.events(expected=2)) == 2


def test_encrypted_bytes_are_checked_for_size_and_digest_only(env: MediaEnv) -> None:
    ciphertext = os.urandom(3000)
    service = env.service()
    ticket = service.declare(ANA, request(ciphertext, "image/jpeg", "x", encrypted=True))
    assert ticket.headers == {"Content-Type": "application/octet-stream"}
    send(ticket, ciphertext)
    done = service.complete(ANA.user_id, ticket.media_id)
    assert (done.kind, done.content_type) == (m.MediaKind.ENCRYPTED, "application/octet-stream")


def test_a_complete_interrupted_after_assembling_the_parts_is_finished_by_the_next(
    env: MediaEnv,
) -> None:
    """The first complete put the parts together in S3 and died before its event: the retry
    finds no parts but the whole object, and verifies that."""
    data = os.urandom(11 * MIB)
    service = env.service()
    ticket = service.declare(ANA, request(data, "application/octet-stream"))
    send(ticket, data)
    key = f"uploads/{ticket.media_id}"
    upload_id = service.book.records[ticket.media_id].declared.upload_id
    assert upload_id is not None
    env.store.complete_multipart(key, upload_id, env.store.list_parts(key, upload_id))
    assert service.resume(ANA.user_id, ticket.media_id).parts == ()
    assert service.complete(ANA.user_id, ticket.media_id).sha256 == f.digest(data)
