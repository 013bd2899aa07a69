"""What a file really is, from its first bytes: the types Parley accepts and those it refuses.

The declared content type is a claim; this table of signatures is what it is checked against
(media/inspect.py). A type is accepted only if it is here; executables, scripts and HTML are
recognised so that they can be refused by name rather than slip through as unknown bytes.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from schemas.models import MediaKind

OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 4096
"""Every signature below lies within this many leading bytes."""


@dataclass(frozen=True)
class FileType:
    content_type: str
    kind: MediaKind
    extension: str
    dangerous: bool = False
    """Never accepted: runs code where it is opened (an executable, a script, a web page)."""


JPEG = FileType("image/jpeg", MediaKind.IMAGE, "jpg")
PNG = FileType("image/png", MediaKind.IMAGE, "png")
GIF = FileType("image/gif", MediaKind.IMAGE, "gif")
WEBP = FileType("image/webp", MediaKind.IMAGE, "webp")
SVG = FileType("image/svg+xml", MediaKind.FILE, "svg")
MP4 = FileType("video/mp4", MediaKind.VIDEO, "mp4")
QUICKTIME = FileType("video/quicktime", MediaKind.VIDEO, "mov")
M4A = FileType("audio/mp4", MediaKind.AUDIO, "m4a")
WEBM = FileType("video/webm", MediaKind.VIDEO, "webm")
MATROSKA = FileType("video/x-matroska", MediaKind.VIDEO, "mkv")
MP3 = FileType("audio/mpeg", MediaKind.AUDIO, "mp3")
OGG = FileType("audio/ogg", MediaKind.AUDIO, "ogg")
WAV = FileType("audio/wav", MediaKind.AUDIO, "wav")
FLAC = FileType("audio/flac", MediaKind.AUDIO, "flac")
PDF = FileType("application/pdf", MediaKind.FILE, "pdf")
ZIP = FileType("application/zip", MediaKind.FILE, "zip")
OLE2 = FileType("application/x-ole-storage", MediaKind.FILE, "doc")
TEXT = FileType("text/plain", MediaKind.FILE, "txt")
EXECUTABLE = FileType("application/x-executable", MediaKind.FILE, "bin", dangerous=True)
SCRIPT = FileType("text/x-script", MediaKind.FILE, "sh", dangerous=True)
HTML = FileType("text/html", MediaKind.FILE, "html", dangerous=True)

IMAGES = (JPEG, PNG, GIF, WEBP, SVG)
AUDIO_VIDEO = (MP4, QUICKTIME, M4A, WEBM, MATROSKA, MP3, OGG, WAV, FLAC)
ACCEPTED = (*IMAGES, *AUDIO_VIDEO, PDF, ZIP, OLE2, TEXT)
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "audio/mp3": "audio/mpeg",
    "audio/x-wav": "audio/wav",
    "audio/wave": "audio/wav",
    "audio/x-flac": "audio/flac",
    "audio/x-m4a": "audio/mp4",
    "video/x-m4v": "video/mp4",
    "application/x-zip-compressed": "application/zip",
    "application/msword": "application/x-ole-storage",
    "application/vnd.ms-excel": "application/x-ole-storage",
    "application/vnd.ms-powerpoint": "application/x-ole-storage",
}
SAME_CONTAINER = (
    frozenset({"video/mp4", "video/quicktime", "audio/mp4"}),
    frozenset({"video/webm", "video/x-matroska"}),
)
"""Declared and sniffed types that differ only in a brand of one container format."""
DECLARABLE = frozenset({t.content_type for t in ACCEPTED} | set(ALIASES) | {OCTET_STREAM})
EXTENSIONS = {t.content_type: t.extension for t in ACCEPTED}

_HTML_START = re.compile(
    rb"\s*<(!doctype\s+html|html|head|body|script|iframe|style|title|table|div|a\s|p\s|br|"
    rb"b\s|h1|font|!--|\?php)",
    re.IGNORECASE,
)
_MACHO = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe")
_ISO_BRANDS = {b"qt  ": QUICKTIME, b"M4A ": M4A, b"M4B ": M4A}


def canonical(content_type: str) -> str:
    """`image/JPG; q=1` is `image/jpeg`: lower case, no parameters, aliases resolved."""
    bare = content_type.split(";", 1)[0].strip().lower()
    return ALIASES.get(bare, bare)


def compatible(declared: str, sniffed: FileType) -> bool:
    """Whether bytes of type `sniffed` keep the promise of a `declared` content type."""
    claim = canonical(declared)
    if claim in (OCTET_STREAM, sniffed.content_type):
        return True
    return any(claim in group and sniffed.content_type in group for group in SAME_CONTAINER)


def identify(head: bytes) -> FileType | None:
    """The type whose signature `head` (the first SNIFF_BYTES) carries; None for unknown bytes."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE"):
        return WEBP if head[8:12] == b"WEBP" else WAV
    if head[4:8] == b"ftyp":
        return _iso_media(head)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return WEBM if b"webm" in head[:64] else MATROSKA
    return _audio(head) or _document(head) or _program(head) or _text(head)


def _iso_media(head: bytes) -> FileType:
    return _ISO_BRANDS.get(head[8:12], MP4)


def _audio(head: bytes) -> FileType | None:
    frame_sync = len(head) > 1 and head[0] == 0xFF and head[1] in b"\xfb\xf3\xf2\xfa"
    if head.startswith(b"ID3") or frame_sync:
        return MP3
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"fLaC"):
        return FLAC
    return None


def _document(head: bytes) -> FileType | None:
    if head.startswith(b"%PDF-"):
        return PDF
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return ZIP
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE2
    return None


def _program(head: bytes) -> FileType | None:
    if head.startswith((b"MZ", b"\x7fELF", b"\xca\xfe\xba\xbe", *_MACHO)):
        return EXECUTABLE
    if head.startswith(b"#!"):
        return SCRIPT
    return None


def _text(head: bytes) -> FileType | None:
    """UTF-8 text without NUL; HTML, XHTML and SVG are told apart, since browsers run them."""
    body = head.removeprefix(codecs.BOM_UTF8)
    if _HTML_START.match(body):
        return HTML  # in any encoding: a browser would render it
    if b"\x00" in body:
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        return None
    lowered = body.lower()
    if lowered.lstrip().startswith((b"<svg", b"<?xml", b"<!doctype svg")):
        if b"<svg" in lowered:
            return SVG
        if b"<html" in lowered:
            return HTML
    return TEXT
