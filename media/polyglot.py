"""Is a file one thing only? The checks that refuse polyglots: bytes that are two formats at once.

A polyglot is read as a harmless image by one program and as a ZIP, a web page or a script
by another: a JPEG with a ZIP or HTML appended, a GIF whose header opens a JavaScript comment
(`GIF89a/*`), a video with an archive behind its last box. Other parsers look for their
format at the start of a file (HTML and script sniffing, PDF) or at its end (ZIP reads its
central directory from the end), so the checks look there: every accepted format must end
where its own structure says it ends, and neither end may carry another format's markers.
"""

from __future__ import annotations

import re
import struct

from media import sniff
from media.sniff import FileType
from schemas.models import MediaErrorCode

Problem = tuple[MediaErrorCode, str]
"""A refusal's code and reason."""

EDGE_BYTES = 64 * 1024 + 22
"""How much of each end is kept and searched: a ZIP's end record lies within the last 64 KiB
and 22 bytes (its comment is at most 65,535 bytes)."""
ZIP_END = b"PK\x05\x06"
_FOREIGN = re.compile(
    rb"<script|<html|<!doctype\s+html|<\?php|<iframe|<body|<svg|javascript:|<%@|<jsp:",
    re.IGNORECASE,
)
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_ACTIVE_SVG = re.compile(
    rb"<script|javascript:|<foreignobject|<iframe|<embed|<object|\son[a-z]+\s*=", re.IGNORECASE
)
ACTIVE_SVG_OVERLAP = 32
"""Bytes kept from one chunk to the next so that a marker split across them is found."""


def foreign_markers(head: bytes, tail: bytes) -> list[str]:
    """Markers of web pages, scripts and archives at either end of a non-text file."""
    found = sorted({m.group().decode("latin-1").lower() for m in _FOREIGN.finditer(head + tail)})
    return found + (["zip end record"] if ZIP_END in tail else [])


def active_svg_markers(data: bytes) -> list[str]:
    """Script, event handlers and embedded documents: what makes an SVG run code when opened."""
    return sorted({m.group().decode("latin-1").strip().lower() for m in _ACTIVE_SVG.finditer(data)})


def end_problem(kind: FileType, head: bytes, tail: bytes, size: int) -> Problem | None:
    """Why the file does not end where its format says it must; None when it does."""
    trailing = MediaErrorCode.POLYGLOT
    if kind is sniff.JPEG:
        ended = tail.rstrip(b"\x00").endswith(b"\xff\xd9")
        return None if ended else (trailing, "data after the JPEG's end")
    if kind is sniff.PNG:
        return None if tail.endswith(_PNG_END) else (trailing, "data after the PNG's IEND chunk")
    if kind is sniff.GIF:
        if head[6:8] == b"/*":
            return trailing, "the GIF header opens a script comment (GIF/JavaScript polyglot)"
        return None if tail.endswith(b";") else (trailing, "data after the GIF's trailer")
    if kind in (sniff.WEBP, sniff.WAV):
        declared = struct.unpack("<I", head[4:8])[0] + 8
        declared += declared % 2  # RIFF pads an odd chunk to an even length
        return None if declared == size else (trailing, "the RIFF length disagrees with the file")
    if kind is sniff.PDF:
        return None if b"%%EOF" in tail[-1024:] else (trailing, "no %%EOF at the end of the PDF")
    if kind is sniff.ZIP:
        return None if ZIP_END in tail else (MediaErrorCode.CORRUPT, "no ZIP end record")
    if kind in (sniff.WEBM, sniff.MATROSKA):
        return _ebml_problem(head, size)
    return None


def _ebml_problem(head: bytes, size: int) -> Problem | None:
    """An EBML header and a Segment of known length must be the whole file."""
    try:
        header_size, at = _vint(head, 4)
        at += header_size
        if head[at : at + 4] != b"\x18\x53\x80\x67":
            return MediaErrorCode.CORRUPT, "no Segment after the EBML header"
        segment_size, body = _vint(head, at + 4)
    except IndexError:
        return MediaErrorCode.CORRUPT, "the EBML header is cut short"
    unknown = segment_size == (1 << (7 * (body - at - 4))) - 1
    if unknown or body + segment_size == size:
        return None
    if body + segment_size < size:
        return MediaErrorCode.POLYGLOT, "data after the Segment"
    return MediaErrorCode.CORRUPT, "the Segment runs past the end of the file"


def _vint(data: bytes, at: int) -> tuple[int, int]:
    """An EBML variable-length integer at `at`: its value and the offset after it."""
    first = data[at]
    length = next((i + 1 for i in range(8) if first & (0x80 >> i)), 0)
    if length == 0:
        raise IndexError("invalid EBML length")
    value = first & (0xFF >> length)
    for byte in data[at + 1 : at + length]:
        value = (value << 8) | byte
    if at + length > len(data):
        raise IndexError("EBML integer past the data")
    return value, at + length
