"""The proof's scanner finds a secret in every form it looks for: across chunk boundaries,
past the holes of sparse files, in UTF-16 and in base64 at each alignment (so that its 0
hits in tests/e2e/test_compliance_erasure.py mean something)."""

from __future__ import annotations

import base64
from pathlib import Path

from tests.e2e.scan import CHUNK, key_forms, scan, text_forms

SECRET = "canaryabc123def456"


def test_every_form_is_found_where_it_was_written(tmp_path: Path) -> None:
    raw = SECRET.encode()
    (tmp_path / "u16le").write_bytes(b"xx" + SECRET.encode("utf-16-le") + b"yy")
    (tmp_path / "u16be").write_bytes(SECRET.encode("utf-16-be"))
    for shift in range(3):
        encoded = base64.b64encode(b"q" * shift + raw + b"r")
        (tmp_path / f"b64-{shift}").write_bytes(b"<" + encoded + b">")
    with (tmp_path / "sparse").open("wb") as f:
        f.truncate(3 * CHUNK)
        f.seek(2 * CHUNK + 17)
        f.write(b"pre" + raw)
    (tmp_path / "boundary").write_bytes(b"\0" * (CHUNK - 5) + raw)
    (tmp_path / "clean").write_bytes(b"canaryabc123def45" * 1000)
    assert sorted(scan([tmp_path], text_forms(SECRET))) == sorted(
        [
            (str(tmp_path / "u16le"), "utf-16-le"),
            (str(tmp_path / "u16be"), "utf-16-be"),
            (str(tmp_path / "b64-0"), "base64+0"),
            (str(tmp_path / "b64-1"), "base64+1"),
            (str(tmp_path / "b64-2"), "base64+2"),
            (str(tmp_path / "sparse"), "utf-8"),
            (str(tmp_path / "boundary"), "utf-8"),
        ]
    )


def test_a_key_is_found_raw_in_hex_and_in_base64(tmp_path: Path) -> None:
    key = bytes(range(32))
    (tmp_path / "raw").write_bytes(b"..." + key)
    (tmp_path / "hex").write_text(f"key={key.hex()}")
    (tmp_path / "b64").write_bytes(base64.b64encode(b"p" + key))
    found = scan([tmp_path], key_forms(key))
    assert sorted(found) == [
        (str(tmp_path / "b64"), "base64+1"),
        (str(tmp_path / "hex"), "hex"),
        (str(tmp_path / "raw"), "raw"),
    ]
