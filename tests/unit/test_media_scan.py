"""The built-in scanner: EICAR, programs whatever they claim to be, documents that run code."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.models import MediaErrorCode
from streams.media.scan import CHUNK_BYTES, BuiltinScanner, Finding, Scanners
from tests import media_files as f

OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def scan(tmp_path: Path, data: bytes) -> Finding | None:
    path = tmp_path / "upload"
    path.write_bytes(data)
    return BuiltinScanner().scan(path)


@pytest.mark.parametrize(
    "data",
    [
        f.camera_jpeg(),
        f.image_bytes("PNG"),
        f.pdf(),
        f.zip_of({"notes.txt": b"hello", "photo.jpg": f.camera_jpeg()}),
        OLE2 + b"\x00" * 4000 + "WordDocument".encode("utf-16-le"),
        b"just some text\n" * 100,
    ],
)
def test_clean_files_pass(tmp_path: Path, data: bytes) -> None:
    assert scan(tmp_path, data) is None


def test_eicar_is_malware(tmp_path: Path) -> None:
    finding = scan(tmp_path, f.EICAR)
    assert finding is not None
    assert finding.code is MediaErrorCode.MALWARE
    assert "EICAR" in finding.reason


def test_eicar_across_a_chunk_boundary_is_found(tmp_path: Path) -> None:
    data = b"\x00" * (CHUNK_BYTES - 20) + f.EICAR + b"\x00" * 100
    finding = scan(tmp_path, data)
    assert finding is not None and finding.code is MediaErrorCode.MALWARE


def test_eicar_inside_an_archive_is_found(tmp_path: Path) -> None:
    finding = scan(tmp_path, f.zip_of({"readme.txt": b"hi", "eicar.com.txt": f.EICAR}))
    assert finding is not None and finding.code is MediaErrorCode.MALWARE


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00" + b"\x00" * 200,
        b"\x7fELF\x02\x01\x01" + b"\x00" * 200,
        b"#!/bin/sh\necho hi\n",
        f.zip_of({"invoice.pdf.exe": b"MZ..."}),
        f.zip_of({"harmless.txt": b"\x7fELF\x02\x01\x01" + b"\x00" * 64}),
        f.pdf().replace(
            b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/JavaScript/JS(app.alert(1))>>"
        ),
        f.pdf().replace(b"/Type/Catalog", b"/Type/Catalog/OpenAction<</S/Launch/F(cmd.exe)>>"),
        OLE2 + b"\x00" * 4000 + "_VBA_PROJECT".encode("utf-16-le"),
        b"PK\x03\x04 not really an archive",
    ],
    ids=[
        "exe",
        "elf",
        "script",
        "zip-exe-name",
        "zip-elf-inside",
        "pdf-js",
        "pdf-launch",
        "office-macro",
        "broken-zip",
    ],
)
def test_code_is_refused_as_a_dangerous_type(tmp_path: Path, data: bytes) -> None:
    finding = scan(tmp_path, data)
    assert finding is not None
    assert finding.code is MediaErrorCode.DANGEROUS_TYPE, finding


def test_the_first_finding_names_its_scanner(tmp_path: Path) -> None:
    path = tmp_path / "upload"
    path.write_bytes(f.EICAR)
    finding = Scanners([BuiltinScanner()]).scan(path)
    assert finding is not None and finding.reason.startswith("builtin: ")
