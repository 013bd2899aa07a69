"""Which characters are searched by substring rather than by word, and the split between them.

Chinese, Japanese and Thai (and Lao, Khmer, Myanmar) write without spaces, and Korean glues
particles to its words (학교에서, "at school"), so a word tokenizer either sees one token per
sentence or misses the word people type. Their characters are indexed as n-grams instead:
every character and every pair of neighbours (`analyzers.py`), so any substring is found,
a two-character query exactly by its one bigram. Emoji and pictographic symbols go the same
way: each is a unit of its own that a word tokenizer would drop.

A dictionary segmenter (jieba, pythainlp) was not chosen: each covers one language, needs its
dictionary at run time, and misses words it does not know (names, slang), where n-grams find
every substring in every one of these scripts with one rule. The cost is index size (about
two terms per character of these scripts) and a verification step for longer queries.
"""

from __future__ import annotations

import re

SUBSTRING_CLASS = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff"  # Hangul
    "\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u303b"  # CJK radicals, 々〆〇
    "\u3040-\u30ff\u31f0-\u31ff"  # kana
    "\u3100-\u312f\u31a0-\u31bf"  # bopomofo
    "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"  # Han
    "\u00a9\u00ae\u203c\u2049\u2300-\u23ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"  # symbols
    "\u3297\u3299\U0001f000-\U0001faff"  # emoji
)
_SUBSTRING_CHAR = re.compile(f"[{SUBSTRING_CLASS}]")
_SUBSTRING_RUN = re.compile(f"[{SUBSTRING_CLASS}]+")
_UNIT = re.compile(f"[{SUBSTRING_CLASS}]|[^\\W_{SUBSTRING_CLASS}]+")


def split(folded: str) -> tuple[str, list[str]]:
    """The text for the word field (each substring-script character replaced by a space, so
    offsets stay those of `folded`) and the runs of substring-script characters."""
    if folded.isascii():
        return folded, []
    return _SUBSTRING_CHAR.sub(" ", folded), _SUBSTRING_RUN.findall(folded)


def units(folded: str) -> str:
    """Words and substring-script characters, one space apart: the form in which a quoted
    phrase must appear in a message, so that "fox" is not found in "foxes" nor "京烤" across
    a line break, and punctuation and spacing do not count."""
    return " ".join(_UNIT.findall(folded))
