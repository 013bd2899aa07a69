"""Walks the top-level boxes of an ISO media file (MP4, MOV, M4A) as its bytes stream past.

The boxes must tile the file exactly: each box's header gives its length, the next box starts
where it ends, and the last one ends at the last byte. Anything after the last box (an archive,
a page) or a box claiming bytes the file does not have makes the file two things at once or
a broken one, and it is refused (media/polyglot.py says why that matters).
"""

from __future__ import annotations

import struct

from schemas.models import MediaErrorCode

MAX_BOXES = 4096
"""A real file has a handful of top-level boxes (fragmented MP4 a few thousand)."""


class BoxWalker:
    """Fed every chunk in order; `problem()` at the end says what is wrong, if anything."""

    def __init__(self) -> None:
        self.next_box = 0
        self.pending = b""
        """The first bytes of a header split across two chunks."""
        self.boxes = 0
        self.to_end = False
        self.error: str | None = None

    def feed(self, chunk: bytes, offset: int) -> None:
        """`chunk` holds the file's bytes from `offset` on; chunks arrive in order."""
        while self.error is None and not self.to_end:
            if self.pending:
                at = 0  # this chunk continues a header begun in the last one
            elif self.next_box < offset + len(chunk):
                at = self.next_box - offset
            else:
                return
            self.pending += chunk[at : at + 16 - len(self.pending)]
            if len(self.pending) < 16:
                return  # the rest of the header, or the end of the file, comes next
            header, self.pending = self.pending, b""
            self._box(header)

    def _box(self, header: bytes) -> None:
        size = struct.unpack(">I", header[:4])[0]
        kind = header[4:8]
        if not all(32 <= c < 127 for c in kind):
            self.error = f"box at {self.next_box} has no type"
            return
        self.boxes += 1
        if self.boxes > MAX_BOXES:
            self.error = "too many top-level boxes"
        elif size == 0:
            self.to_end = True
        elif size == 1:
            large = struct.unpack(">Q", header[8:16])[0]
            if large < 16:
                self.error = f"box {kind!r} is {large} bytes long"
            self.next_box += large
        elif size < 8:
            self.error = f"box {kind!r} is {size} bytes long"
        else:
            self.next_box += size

    def problem(self, size: int) -> tuple[MediaErrorCode, str] | None:
        if self.pending and self.error is None and not self.to_end:
            # The file ends within 16 bytes of the last box's start: a short last box.
            if len(self.pending) < 8 or self.pending[:4] == b"\x00\x00\x00\x01":
                return MediaErrorCode.CORRUPT, "a box header is cut short"
            self._box(self.pending.ljust(16, b"\x00"))
            self.pending = b""
        if self.error is not None:
            return MediaErrorCode.CORRUPT, self.error
        if self.to_end or self.next_box == size:
            return None
        if self.next_box > size:
            return MediaErrorCode.CORRUPT, "the last box runs past the end of the file"
        return MediaErrorCode.POLYGLOT, "data after the last box"
