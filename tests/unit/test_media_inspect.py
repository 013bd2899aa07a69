"""Completing an upload: size, digest and real type against the declaration; polyglots refused."""

from __future__ import annotations

import pytest

from media.errors import MediaError
from media.inspect import Declared, Inspector
from schemas.models import MediaErrorCode, MediaKind
from tests import media_files as f

CHUNKS = [7, 4096, 1024 * 1024]
"""Odd, sniff-sized and the store's own chunk size: every boundary case of the streaming pass."""


def inspect(data: bytes, content_type: str, *, chunk: int = 4096, size: int | None = None) -> str:
    inspector = Inspector()
    for at in range(0, len(data), chunk):
        inspector.update(data[at : at + chunk])
    declared = Declared(len(data) if size is None else size, f.digest(data), content_type)
    return inspector.verdict(declared).content_type


def refused(data: bytes, content_type: str, **options: int) -> MediaErrorCode:
    with pytest.raises(MediaError) as error:
        inspect(data, content_type, **options)
    return error.value.code


ACCEPTED = [
    (f.camera_jpeg(), "image/jpeg", "image/jpeg"),
    (f.camera_jpeg(), "image/jpg", "image/jpeg"),
    (f.image_bytes("PNG"), "image/png", "image/png"),
    (f.image_bytes("GIF"), "image/gif", "image/gif"),
    (f.animated_gif(), "image/gif", "image/gif"),
    (f.image_bytes("WEBP"), "image/webp", "image/webp"),
    (f.iso_media(), "video/mp4", "video/mp4"),
    (f.iso_media(), "video/quicktime", "video/mp4"),
    (f.pdf(), "application/pdf", "application/pdf"),
    (f.zip_of({"notes.txt": b"hello"}), "application/zip", "application/zip"),
    ("plain text, ünïcödé ✓\n".encode() * 500, "text/plain", "text/plain"),
    (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="1"/></svg>',
        "image/svg+xml",
        "image/svg+xml",
    ),
    (f.camera_jpeg(), "application/octet-stream", "image/jpeg"),
    (bytes(range(256)) * 40, "application/octet-stream", "application/octet-stream"),
]


@pytest.mark.parametrize(("data", "declared", "real"), ACCEPTED)
@pytest.mark.parametrize("chunk", CHUNKS)
def test_real_files_are_accepted_as_what_they_are(
    data: bytes, declared: str, real: str, chunk: int
) -> None:
    assert inspect(data, declared, chunk=chunk) == real


def test_the_kind_follows_the_bytes() -> None:
    inspector = Inspector()
    inspector.update(f.iso_media())
    kind = inspector.verdict(Declared(len(f.iso_media()), f.digest(f.iso_media()), "video/mp4"))
    assert kind.kind is MediaKind.VIDEO


def test_an_empty_file_is_refused() -> None:
    assert refused(b"", "image/jpeg") is MediaErrorCode.EMPTY_FILE


def test_a_size_other_than_declared_is_refused() -> None:
    data = f.camera_jpeg()
    assert refused(data, "image/jpeg", size=len(data) + 1) is MediaErrorCode.SIZE_MISMATCH


def test_other_bytes_than_the_digest_promised_are_refused() -> None:
    inspector = Inspector()
    data = f.camera_jpeg()
    inspector.update(data)
    with pytest.raises(MediaError) as error:
        inspector.verdict(Declared(len(data), f.digest(data + b"x"), "image/jpeg"))
    assert error.value.code is MediaErrorCode.DIGEST_MISMATCH


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"this is not a photo at all\n" * 100, "image/jpeg"),
        (f.image_bytes("PNG"), "image/jpeg"),
        (f.camera_jpeg(), "video/mp4"),
        (bytes(range(256)) * 40, "image/png"),
        (f.zip_of({"a.txt": b"a"}), "application/pdf"),
    ],
)
def test_a_file_that_is_not_what_it_claims_is_refused(data: bytes, declared: str) -> None:
    assert refused(data, declared) is MediaErrorCode.TYPE_MISMATCH


POLYGLOTS = {
    "jpeg+zip": (f.camera_jpeg() + f.zip_of({"x.js": b"alert(1)"}), "image/jpeg"),
    "jpeg+html": (f.camera_jpeg() + b"<html><script>alert(1)</script></html>", "image/jpeg"),
    "jpeg+zip+jpeg end": (f.camera_jpeg() + f.zip_of({"a": b"b"}) + b"\xff\xd9", "image/jpeg"),
    "png+trailer": (f.image_bytes("PNG") + b"MZ\x90\x00 hidden program", "image/png"),
    "gif/javascript": (f.gif_javascript_polyglot(), "image/gif"),
    "gif+html": (f.image_bytes("GIF") + b"<script>alert(1)</script>;", "image/gif"),
    "webp+zip": (f.image_bytes("WEBP") + f.zip_of({"a": b"b"}), "image/webp"),
    "mp4+zip": (f.iso_media() + f.zip_of({"a": b"b"}), "video/mp4"),
    "mp4+html": (f.iso_media() + b"<html><body>hi</body></html>", "video/mp4"),
    "pdf+zip": (f.pdf() + f.zip_of({"a": b"b"}), "application/pdf"),
}


@pytest.mark.parametrize("name", sorted(POLYGLOTS))
@pytest.mark.parametrize("chunk", CHUNKS)
def test_polyglots_are_refused(name: str, chunk: int) -> None:
    data, declared = POLYGLOTS[name]
    assert refused(data, declared, chunk=chunk) is MediaErrorCode.POLYGLOT


def test_a_box_that_claims_more_than_the_file_holds_is_corrupt() -> None:
    data = f.iso_media()[:-10]
    assert refused(data, "video/mp4") is MediaErrorCode.CORRUPT


@pytest.mark.parametrize(
    ("data", "declared"),
    [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "text/plain"),
        (b"  <script>alert(1)</script>", "application/octet-stream"),
        (b"MZ\x90\x00\x03" + b"\x00" * 100, "application/octet-stream"),
        (b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "application/octet-stream"),
        (b"#!/bin/sh\nrm -rf /\n", "text/plain"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "image/svg+xml",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml"),
    ],
)
def test_dangerous_types_are_refused_whatever_they_claim(data: bytes, declared: str) -> None:
    assert refused(data, declared) is MediaErrorCode.DANGEROUS_TYPE


def test_script_deep_inside_a_large_svg_is_found() -> None:
    """The SVG check reads every chunk, not only the ends."""
    body = b'<svg xmlns="http://www.w3.org/2000/svg">' + b"<rect/>" * 50_000
    data = body + b"<scr" + b"ipt>x</script>" + b"<rect/>" * 50_000 + b"</svg>"
    assert refused(data, "image/svg+xml", chunk=4096) is MediaErrorCode.DANGEROUS_TYPE


def test_text_that_stops_being_utf8_late_is_corrupt() -> None:
    data = b"fine text\n" * 10_000 + b"\xff\xfe broken"
    assert refused(data, "text/plain") is MediaErrorCode.CORRUPT
