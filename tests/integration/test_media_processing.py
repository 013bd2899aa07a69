"""The media processor's job on the real S3 server, with Pillow and Debian's ffmpeg: what is
served, how it is cached, and what is refused."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from media.keys import CACHE_CONTROL, media_prefix
from schemas import models as m
from schemas.models import MediaErrorCode, MediaVariantName
from tests import media_files as f
from tests.integration.media_env import MediaEnv, media_env
from tests.integration.uploader import put


@pytest.fixture
def env(kafka_bootstrap: str) -> Iterator[MediaEnv]:
    yield media_env()


def need_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        pytest.fail("ffmpeg is not installed: run infra/setup.sh as root (apt-get install ffmpeg)")


def uploaded(
    env: MediaEnv, data: bytes, content_type: str, *, encrypted: bool = False
) -> m.MediaUploaded:
    """Declared, sent and completed as a client would; the job the processor then gets."""
    _, record = env.upload(data, content_type, encrypted=encrypted)
    assert record.uploaded is not None
    return record.uploaded


def processed(env: MediaEnv, tmp_path: Path, job: m.MediaUploaded) -> m.MediaProcessed:
    outcome = env.job(tmp_path / "work").run(job)
    assert isinstance(outcome, m.MediaProcessed), outcome
    return outcome


def rejected(env: MediaEnv, tmp_path: Path, job: m.MediaUploaded) -> m.MediaRejected:
    outcome = env.job(tmp_path / "work").run(job)
    assert isinstance(outcome, m.MediaRejected), outcome
    assert (
        list(
            env.store.client.list_objects_v2(
                Bucket=env.store.bucket, Prefix=media_prefix(job.meta.media_id)
            ).get("Contents", [])
        )
        == []
    ), "nothing of a refused upload is published"
    return outcome


def download(env: MediaEnv, variant: m.MediaVariant) -> tuple[bytes, dict[str, str]]:
    """Through a short-lived pre-signed GET, as a member's client would (phase 2 hands it out)."""
    url = env.store.presign_get(variant.object_key, 60, 'attachment; filename="x"')
    with urllib.request.urlopen(url) as answer:
        return answer.read(), {k.lower(): v for k, v in answer.headers.items()}


def by_name(done: m.MediaProcessed) -> dict[MediaVariantName, m.MediaVariant]:
    return {v.name: v for v in done.variants}


def test_a_photo_is_served_upright_clean_in_two_sizes_on_immutable_keys(
    env: MediaEnv, tmp_path: Path
) -> None:
    job = uploaded(env, f.camera_jpeg(1600, 1200, orientation=6), "image/jpeg")
    done = processed(env, tmp_path, job)
    assert (done.kind, done.width, done.height) == (m.MediaKind.IMAGE, 1200, 1600)
    assert done.placeholder is not None and len(done.placeholder) == 28
    variants = by_name(done)
    assert set(variants) == {
        MediaVariantName.ORIGINAL,
        MediaVariantName.THUMBNAIL,
        MediaVariantName.PREVIEW,
    }
    for variant in variants.values():
        body, headers = download(env, variant)
        assert f.digest(body) == variant.sha256 and variant.sha256 in variant.object_key
        assert variant.object_key.startswith(media_prefix(job.meta.media_id))
        assert headers["cache-control"] == CACHE_CONTROL
        assert headers["content-type"] == variant.content_type
        image = Image.open(io.BytesIO(body))
        assert image.size == (variant.width, variant.height)
        assert dict(image.getexif()) == {} and b"ParleyCam" not in body
    assert (
        variants[MediaVariantName.THUMBNAIL].width,
        variants[MediaVariantName.THUMBNAIL].height,
    ) == (240, 320)
    assert (
        variants[MediaVariantName.PREVIEW].width,
        variants[MediaVariantName.PREVIEW].height,
    ) == (960, 1280)


def test_an_expired_download_url_is_refused(
    env: MediaEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    done = processed(env, tmp_path, uploaded(env, f.camera_jpeg(), "image/jpeg"))
    thumbnail = by_name(done)[MediaVariantName.THUMBNAIL]
    signed_at = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda **_: signed_at)
    url = env.store.presign_get(thumbnail.object_key, 300)
    monkeypatch.undo()
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url)
    refused.value.close()
    assert refused.value.code == 403


def test_eicar_is_refused_and_never_served(env: MediaEnv, tmp_path: Path) -> None:
    outcome = rejected(env, tmp_path, uploaded(env, f.EICAR, "text/plain"))
    assert outcome.code is MediaErrorCode.MALWARE


def test_a_decompression_bomb_is_refused(env: MediaEnv, tmp_path: Path) -> None:
    outcome = rejected(env, tmp_path, uploaded(env, f.png_bomb(10_000), "image/png"))
    assert outcome.code is MediaErrorCode.DECOMPRESSION_BOMB


def test_bytes_replaced_after_completion_are_never_published(env: MediaEnv, tmp_path: Path) -> None:
    """The pre-signed PUT outlives `complete`: the processor checks the digest again."""
    photo = f.camera_jpeg()
    ticket, record = env.upload(photo, "image/jpeg")
    swapped = photo[:-3] + b"\x01\xff\xd9"
    assert put(ticket.parts[0].url, swapped, ticket.headers).status == 200
    assert record.uploaded is not None
    assert rejected(env, tmp_path, record.uploaded).code is MediaErrorCode.DIGEST_MISMATCH


def test_a_document_is_served_as_uploaded_for_download(env: MediaEnv, tmp_path: Path) -> None:
    document = f.pdf()
    done = processed(env, tmp_path, uploaded(env, document, "application/pdf"))
    (original,) = done.variants
    body, headers = download(env, original)
    assert body == document and original.name is MediaVariantName.ORIGINAL
    assert headers["content-type"] == "application/pdf"
    assert headers["content-disposition"].startswith("attachment")


def test_encrypted_media_is_stored_and_served_as_opaque_bytes(
    env: MediaEnv, tmp_path: Path
) -> None:
    ciphertext = os.urandom(50_000)
    done = processed(env, tmp_path, uploaded(env, ciphertext, "image/jpeg", encrypted=True))
    assert done.kind is m.MediaKind.ENCRYPTED and done.placeholder is None and done.width is None
    (original,) = done.variants
    body, headers = download(env, original)
    assert body == ciphertext
    assert headers["content-type"] == "application/octet-stream"


def make_video(path: Path, seconds: int = 3) -> bytes:
    need_ffmpeg()
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
         "-f", "lavfi", "-i", "sine=frequency=440",
         "-t", str(seconds), "-c:v", "mpeg4", "-c:a", "libvorbis",
         "-metadata", "location=+48.8577+002.2950/", "-metadata", "title=secret trip",
         str(path)],
        check=True,
    )  # fmt: skip
    return path.read_bytes()


def ffprobe(data: bytes, tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "probe"
    path.write_bytes(data)
    output = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            str(path),
        ],
        check=True,
        capture_output=True,
    ).stdout
    found: dict[str, Any] = json.loads(output)
    return found


def test_a_video_gets_a_poster_a_web_playable_copy_and_its_duration(
    env: MediaEnv, tmp_path: Path
) -> None:
    video = make_video(tmp_path / "trip.mkv")  # MPEG-4 Part 2 and Vorbis: no browser plays it
    done = processed(env, tmp_path, uploaded(env, video, "video/x-matroska"))
    assert done.kind is m.MediaKind.VIDEO
    assert done.duration_ms is not None and abs(done.duration_ms - 3000) < 100
    assert (done.width, done.height) == (640, 360)
    assert done.placeholder is not None
    variants = by_name(done)
    assert set(variants) == {
        MediaVariantName.POSTER,
        MediaVariantName.THUMBNAIL,
        MediaVariantName.PLAYBACK,
    }
    poster, _ = download(env, variants[MediaVariantName.POSTER])
    assert Image.open(io.BytesIO(poster)).size == (640, 360)
    playable, headers = download(env, variants[MediaVariantName.PLAYBACK])
    assert headers["content-type"] == "video/mp4"
    probe = ffprobe(playable, tmp_path)
    codecs = {s["codec_type"]: s["codec_name"] for s in probe["streams"]}
    assert codecs == {"video": "h264", "audio": "aac"}
    assert abs(float(probe["format"]["duration"]) - 3.0) < 0.1
    tags = json.dumps(probe["format"].get("tags", {})).lower()
    assert "48.8577" not in tags and "secret" not in tags
    assert b"48.8577" not in playable and b"secret trip" not in playable
    assert playable.index(b"moov") < playable.index(b"mdat"), "index first: plays while loading"


def test_audio_becomes_aac_with_its_duration(env: MediaEnv, tmp_path: Path) -> None:
    need_ffmpeg()
    path = tmp_path / "note.ogg"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         "sine=frequency=330", "-t", "2", "-c:a", "libvorbis", str(path)],
        check=True,
    )  # fmt: skip
    done = processed(env, tmp_path, uploaded(env, path.read_bytes(), "audio/ogg"))
    assert done.kind is m.MediaKind.AUDIO
    assert done.duration_ms is not None and abs(done.duration_ms - 2000) < 100
    (playback,) = done.variants
    body, _ = download(env, playback)
    assert {s["codec_name"] for s in ffprobe(body, tmp_path)["streams"]} == {"aac"}


def test_a_video_that_does_not_decode_is_corrupt(env: MediaEnv, tmp_path: Path) -> None:
    need_ffmpeg()
    broken = f.iso_media(200_000)  # an MP4's boxes around nothing playable
    outcome = rejected(env, tmp_path, uploaded(env, broken, "video/mp4"))
    assert outcome.code is MediaErrorCode.CORRUPT
