"""The proof's scanner: every byte of every file under some roots, searched for a secret in
every form it could have been written in (docs/compliance.md, "The proof")."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 8 * 1024 * 1024


def text_forms(secret: str) -> dict[str, bytes]:
    """UTF-8, UTF-16 (both byte orders) and base64 of the UTF-8 at all three alignments (the
    characters fixed by the secret alone, whatever bytes precede and follow it)."""
    raw = secret.encode()
    forms = {
        "utf-8": raw,
        "utf-16-le": secret.encode("utf-16-le"),
        "utf-16-be": secret.encode("utf-16-be"),
    }
    forms.update(base64_forms(raw))
    return forms


def base64_forms(raw: bytes) -> dict[str, bytes]:
    forms = {}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        start = (shift * 4 + 2) // 3  # the first character made of the secret's bits only
        end = ((shift + len(raw)) // 3) * 4  # the last whole group of the secret's bytes
        forms[f"base64+{shift}"] = encoded[start:end]
    return forms


def key_forms(key: bytes) -> dict[str, bytes]:
    """A key's raw bytes, its hex and its base64 at every alignment."""
    return {"raw": key, "hex": key.hex().encode(), **base64_forms(key)}


def files_under(roots: Iterable[Path]) -> list[Path]:
    return sorted(p for root in roots if root.exists() for p in root.rglob("*") if p.is_file())


def scan(roots: Iterable[Path], forms: dict[str, bytes]) -> list[tuple[str, str]]:
    """(file, form) for each file holding a form. Files are read in overlapping chunks (a
    form across a chunk boundary is found too), the holes of sparse files skipped: a hole
    reads as zeros (Kafka preallocates its index files so), which hold no form."""
    overlap = max(len(f) for f in forms.values())
    names = {form: name for name, form in forms.items()}
    pattern = re.compile(b"|".join(re.escape(form) for form in forms.values()))
    hits = []
    for path in files_under(roots):
        try:
            found: set[str] = set()
            for window in _windows(path, overlap):
                found.update(names[m.group()] for m in pattern.finditer(window))
        except FileNotFoundError:
            continue  # deleted while scanning (a segment rolled, a journal removed)
        hits += [(str(path), name) for name in sorted(found)]
    return hits


def _windows(path: Path, overlap: int) -> Iterator[bytes]:
    """The file's data extents in chunks, each with the `overlap` bytes before it."""
    with path.open("rb") as stream:
        fd = stream.fileno()
        size = os.fstat(fd).st_size
        position = 0
        tail = b""
        while position < size:
            try:
                start = os.lseek(fd, position, os.SEEK_DATA)
            except OSError:
                return  # only a hole is left
            end = os.lseek(fd, start, os.SEEK_HOLE)
            if start > position:
                tail = b""  # zeros between: nothing spans them
            stream.seek(start)
            while start < end:
                chunk = stream.read(min(CHUNK, end - start))
                if not chunk:
                    return
                yield tail + chunk
                tail = chunk[-overlap:]
                start += len(chunk)
            position = end
