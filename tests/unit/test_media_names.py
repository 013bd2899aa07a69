"""File names: no path, no control characters, every script kept."""

from __future__ import annotations

import pytest

from media.errors import MediaError
from media.names import MAX_NAME_BYTES, clean_file_name
from schemas.models import MediaErrorCode


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\System32\\cmd.exe", "cmd.exe"),
        ("/var/www/photo.jpg", "photo.jpg"),
        ("C:\\Users\\ana\\holiday.png", "holiday.png"),
        ("report\x00.pdf", "report.pdf"),
        ("line\nbreak\r.txt", "linebreak.txt"),
        ("\x1b[31mred.txt", "[31mred.txt"),
        ("photo\u202egpj.exe", "photogpj.exe"),
        ("  spaced out .txt  ", "spaced out .txt"),
        ("...hidden", "hidden"),
        ("CON.txt", "_CON.txt"),
        ("lpt1", "_lpt1"),
    ],
)
def test_paths_and_control_characters_are_stripped(raw: str, clean: str) -> None:
    assert clean_file_name(raw) == clean


@pytest.mark.parametrize(
    "name",
    ["Größe.jpg", "照片 2026.png", "фото.gif", "صورة.webp", "🎉 party 👩‍👩‍👧.mp4", "नमस्ते.txt"],
)
def test_unicode_names_are_kept(name: str) -> None:
    assert clean_file_name(name) == name


def test_names_are_stored_in_nfc() -> None:
    assert clean_file_name("Cafe\u0301.jpg") == "Caf\u00e9.jpg"


@pytest.mark.parametrize("raw", ["", "..", "/", "../..", "\x00\x01\x02", "   ", "a/b/", "x" * 1025])
def test_names_with_nothing_left_are_refused(raw: str) -> None:
    with pytest.raises(MediaError) as refused:
        clean_file_name(raw)
    assert refused.value.code is MediaErrorCode.BAD_FILE_NAME


def test_long_names_keep_their_extension_within_the_byte_limit() -> None:
    clean = clean_file_name("é" * 300 + ".jpeg")
    assert clean.endswith(".jpeg")
    assert len(clean.encode()) <= MAX_NAME_BYTES
    assert set(clean.removesuffix(".jpeg")) == {"é"}
