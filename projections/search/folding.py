"""Case, accent and width folding of message text and queries: the first step of the search
view's analysis, in Python because tantivy has no width folding and its ASCII folding would
strip more than accents.

`fold` is what the index sees and what queries are matched against: compatibility forms
are unified (NFKC: full-width A, U+FF21, is A; ﬁ is fi; ① is 1), case is folded (ß is ss),
and marks that only accent a letter are dropped (é is e; Arabic harakat and Hebrew points,
so vocalised and plain spellings match; alef with hamza or madda is plain alef), as are
invisible format characters (bidi controls, zero-width joiners, variation selectors: ❤️ is
❤). Marks that make a different letter are kept: Japanese dakuten (が is not か), Thai vowels
and tones, Indic vowel signs, because only the Latin, Greek, Cyrillic, Arabic and Hebrew
accent ranges are stripped.

`fold_with_map` gives the same text and, per folded character, the span of the original it
came from, so that highlights point into the text as the sender wrote it.
"""

from __future__ import annotations

import re
import unicodedata

_DROPPED = (
    "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"  # accents
    "\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"  # Hebrew points and cantillation
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0640"  # Arabic tatweel, a stretching stroke
    "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff"  # format
    "\ufe00-\ufe0f\U000e0000-\U000e01ef"  # variation selectors and tags
)
_DROP = re.compile(f"[{_DROPPED}]")


def fold(text: str) -> str:
    """The folded form of `text` (see the module docstring); ASCII takes a fast path that
    gives the same answer (none of its characters decompose or are dropped)."""
    if text.isascii():
        return text.lower()
    stripped = _DROP.sub("", unicodedata.normalize("NFKD", text))
    return unicodedata.normalize("NFC", stripped.casefold())


def _continues(char: str) -> bool:
    """A character that folds together with the one before it: a mark (combining class or
    category M), a dropped format character, a Hangul vowel or final jamo (which NFC
    composes with the initial before it), or a half-width (semi-)voiced sound mark (which
    NFKC turns into a combining one)."""
    return (
        unicodedata.combining(char) != 0
        or unicodedata.category(char).startswith("M")
        or _DROP.fullmatch(char) is not None
        or "\u1160" <= char <= "\u11ff"
        or char in "\uff9e\uff9f"
    )


def fold_with_map(text: str) -> tuple[str, list[int], list[int]]:
    """`fold(text)`, and for each of its characters the start and end (code points) of the
    piece of `text` it came from. Folds piece by piece (a base character and what continues
    it), which equals folding the whole for every text the tests hold; it runs only on the
    few messages of a page of results, for their snippets."""
    if text.isascii():
        return text.lower(), list(range(len(text))), list(range(1, len(text) + 1))
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    i = 0
    while i < len(text):
        j = i + 1
        while j < len(text) and _continues(text[j]):
            j += 1
        piece = fold(text[i:j])
        out.append(piece)
        starts.extend([i] * len(piece))
        ends.extend([j] * len(piece))
        i = j
    return "".join(out), starts, ends
