"""One pass over an upload's bytes: its size, its SHA-256, what it really is, and whether it is
only that; then the verdict against what the uploader declared.

The bytes stream through in chunks (a 100 MiB video is never held in memory): the digest and
size see every byte, the first and last 64 KiB are kept for the type and polyglot checks
(media/sniff.py, media/polyglot.py), ISO media files have their boxes walked on the way
(media/boxes.py), text is checked to be UTF-8 to the last byte, and an SVG is searched
through for script.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass

from media import sniff
from media.boxes import BoxWalker
from media.errors import MediaError
from media.polyglot import (
    ACTIVE_SVG_OVERLAP,
    EDGE_BYTES,
    active_svg_markers,
    end_problem,
    foreign_markers,
)
from media.sniff import FileType
from schemas.models import MediaErrorCode, MediaKind

UNKNOWN = FileType(sniff.OCTET_STREAM, MediaKind.FILE, "bin")
"""Bytes of no known type: accepted only when declared as application/octet-stream."""


@dataclass(frozen=True)
class Declared:
    """What the uploader promised the bytes would be."""

    size: int
    sha256: str
    content_type: str


class Inspector:
    """Feed it every chunk in order with `update`, then ask `verdict`."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.size = 0
        self.head = b""
        self.tail = b""
        self.kind: FileType | None = None
        """Known once SNIFF_BYTES have arrived (or at the end of a shorter file)."""
        self.boxes: BoxWalker | None = None
        self.text: codecs.IncrementalDecoder | None = None
        self.svg_tail: bytes | None = None
        self.problems: list[tuple[MediaErrorCode, str]] = []

    def update(self, chunk: bytes) -> None:
        if not chunk:
            return
        offset = self.size
        self.digest.update(chunk)
        self.size += len(chunk)
        if len(self.head) < EDGE_BYTES:
            self.head += chunk[: EDGE_BYTES - len(self.head)]
        self.tail = (self.tail + chunk[-EDGE_BYTES:])[-EDGE_BYTES:]
        if self.kind is None and self.size >= sniff.SNIFF_BYTES:
            self._identify()
            self._typed(self.head[:offset], 0)  # catch up on what came before this chunk
        if self.kind is not None:
            self._typed(chunk, offset)

    def _identify(self) -> None:
        self.kind = sniff.identify(self.head[: sniff.SNIFF_BYTES]) or UNKNOWN
        if self.kind in (sniff.MP4, sniff.QUICKTIME, sniff.M4A):
            self.boxes = BoxWalker()
        elif self.kind is sniff.TEXT:
            self.text = codecs.getincrementaldecoder("utf-8")()
        elif self.kind is sniff.SVG:
            self.svg_tail = b""

    def _typed(self, chunk: bytes, offset: int) -> None:
        if not chunk:
            return
        if self.boxes is not None:
            self.boxes.feed(chunk, offset)
        if self.text is not None:
            self._text(chunk, offset)
        if self.svg_tail is not None:
            window = self.svg_tail + chunk
            markers = active_svg_markers(window)
            if markers:
                reason = f"an SVG with active content ({', '.join(markers)})"
                self.problems.append((MediaErrorCode.DANGEROUS_TYPE, reason))
            self.svg_tail = window[-ACTIVE_SVG_OVERLAP:]

    def _text(self, chunk: bytes, offset: int) -> None:
        assert self.text is not None
        if b"\x00" in chunk:
            self.problems.append((MediaErrorCode.CORRUPT, "a NUL byte in text"))
        try:
            self.text.decode(chunk, final=False)
        except UnicodeDecodeError as e:
            self.problems.append((MediaErrorCode.CORRUPT, f"not UTF-8 at byte {offset + e.start}"))
            self.text = None

    def verdict(self, declared: Declared) -> FileType:
        """The real type, once size, digest, type and structure all keep the declaration;
        otherwise MediaError naming the first broken promise."""
        self.verify_integrity(declared)
        if self.kind is None:  # shorter than SNIFF_BYTES: all of it is in head
            self._identify()
            self._typed(self.head, 0)
        kind = self.kind or UNKNOWN
        claim = sniff.canonical(declared.content_type)
        if kind.dangerous:
            reason = f"the bytes are {kind.content_type}, which is never accepted"
            raise MediaError(MediaErrorCode.DANGEROUS_TYPE, reason)
        if not sniff.compatible(claim, kind):
            reason = f"declared {claim}, but the bytes are {kind.content_type}"
            raise MediaError(MediaErrorCode.TYPE_MISMATCH, reason)
        for code, reason in [*self.problems, *self._structure(kind)]:
            raise MediaError(code, reason)
        return kind

    def verify_integrity(self, declared: Declared) -> None:
        """Only size and digest: all that can be checked of end-to-end encrypted bytes."""
        if self.size == 0:
            raise MediaError(MediaErrorCode.EMPTY_FILE, "the upload is empty")
        if self.size != declared.size:
            reason = f"{self.size} bytes arrived, {declared.size} were declared"
            raise MediaError(MediaErrorCode.SIZE_MISMATCH, reason)
        if self.digest.hexdigest() != declared.sha256:
            raise MediaError(MediaErrorCode.DIGEST_MISMATCH, "the bytes have another SHA-256")

    def _structure(self, kind: FileType) -> list[tuple[MediaErrorCode, str]]:
        if self.text is not None:
            try:
                self.text.decode(b"", final=True)
            except UnicodeDecodeError:
                return [(MediaErrorCode.CORRUPT, "the text ends inside a character")]
        if kind in (sniff.TEXT, UNKNOWN):
            return []
        found = []
        # An SVG is markup itself (searched for script as it streams); an archive holds other
        # files by design (its entries are the scanner's concern).
        markers = [] if kind in (sniff.SVG, sniff.ZIP) else foreign_markers(self.head, self.tail)
        if markers:
            found.append(
                (MediaErrorCode.POLYGLOT, f"{kind.content_type} carries {', '.join(markers)}")
            )
        ending = end_problem(kind, self.head, self.tail, self.size)
        walked = self.boxes.problem(self.size) if self.boxes is not None else None
        return found + [p for p in (ending, walked) if p is not None]
