"""File names as a person gave them, made safe to store, show and offer for download.

A name is only a label: it never becomes a path or a key (object keys are built from media
ids), but it is shown to other people and becomes a download's file name, so it is cleaned:
any directory part is dropped (`../../etc/passwd` is `passwd`, `C:\\x\\a.txt` is `a.txt`),
control characters and bidirectional overrides (which make `gpj.exe` read as `exe.jpg`) are
removed, and it is put in Unicode NFC form. Letters of every script are kept. A name that is
empty once cleaned, or absurdly long before, is refused.
"""

from __future__ import annotations

import unicodedata

from media.errors import MediaError
from schemas.models import MediaErrorCode

MAX_INPUT_CHARS = 1024
MAX_NAME_BYTES = 255
"""What most file systems accept for one name, in UTF-8."""
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
RESERVED = frozenset(
    {"con", "prn", "aux", "nul"}
    | {f"com{i}" for i in range(1, 10)}
    | {f"lpt{i}" for i in range(1, 10)}
)
"""Windows device names: a download saved as `CON.txt` goes nowhere."""


def clean_file_name(raw: str) -> str:
    """The name to store and show; raises MediaError(BAD_FILE_NAME) when nothing usable remains."""
    if len(raw) > MAX_INPUT_CHARS:
        raise MediaError(MediaErrorCode.BAD_FILE_NAME, f"longer than {MAX_INPUT_CHARS} characters")
    text = unicodedata.normalize("NFC", raw)
    text = "".join(c for c in text if _kept(c))
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    base = base.strip().strip(".").strip()
    if not base:
        raise MediaError(MediaErrorCode.BAD_FILE_NAME, "no name is left once cleaned")
    if base.partition(".")[0].rstrip().lower() in RESERVED:
        base = f"_{base}"
    return _truncated(base)


def _kept(c: str) -> bool:
    """Letters, marks, emoji (their joiners too) stay; controls and lone surrogates go."""
    return unicodedata.category(c) not in ("Cc", "Cs") and c not in BIDI_CONTROLS


def _truncated(name: str) -> str:
    """At most MAX_NAME_BYTES of UTF-8, cut before the extension so that it survives."""
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension.encode()) > 16:
        stem, extension = name, ""
    budget = MAX_NAME_BYTES - len(extension.encode()) - len(dot)
    kept = stem.encode()[:budget].decode(errors="ignore")
    return f"{kept}{dot}{extension}" if extension else kept
