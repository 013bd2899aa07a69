"""Snippets: the text around a hit's first match, with every match marked, in offsets of the
text as it was sent (UTF-16 code units, as the web client's JavaScript counts).

Matches are found in the folded text exactly as the index cut it (the `words` tokens whose
stem the query asked for; the substring-script runs it asked for) and mapped back through
`fold_with_map`, so a match on "cafe" marks "Café" and one on "a" marks a
full-width A (U+FF21).
"""

from __future__ import annotations

from projections.search import analyzers
from projections.search.answers import Highlight, utf16_length
from projections.search.folding import fold_with_map
from projections.search.scripts import split

SNIPPET_CHARS = 200
LEAD_CHARS = 40
"""Context kept before the first match when the text is cut."""


def matches(text: str, terms: frozenset[str], runs: tuple[str, ...]) -> list[tuple[int, int]]:
    """The matched spans of `text`, in code points, in order and merged."""
    folded, starts, ends = fold_with_map(text)
    spans: list[tuple[int, int]] = []
    if terms:
        words_text, _ = split(folded)
        at = 0
        for token in analyzers.tokens(words_text):
            found = words_text.find(token, at)
            if found < 0:
                continue
            at = found + len(token)
            if analyzers.term(token) in terms:
                spans.append((found, at))
    for run in runs:
        found = folded.find(run)
        while found >= 0:
            spans.append((found, found + len(run)))
            found = folded.find(run, found + 1)
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return [(starts[a], ends[b - 1]) for a, b in merged]


def snippet(
    text: str, terms: frozenset[str], runs: tuple[str, ...]
) -> tuple[str, int, tuple[Highlight, ...]]:
    """The snippet, its offset in `text` and its highlights (UTF-16 code units)."""
    spans = matches(text, terms, runs)
    begin, end = 0, len(text)
    if len(text) > SNIPPET_CHARS:
        first = spans[0][0] if spans else 0
        begin = max(0, first - LEAD_CHARS)
        space = text.rfind(" ", max(0, begin - 10), begin) if begin else -1
        begin = space + 1 if space >= 0 else begin
        end = min(len(text), begin + SNIPPET_CHARS)
    cut = text[begin:end]
    highlights = tuple(
        Highlight(
            start=utf16_length(text[begin : max(start, begin)]),
            end=utf16_length(text[begin : min(stop, end)]),
        )
        for start, stop in spans
        if start < end and stop > begin
    )
    return cut, utf16_length(text[:begin]), highlights
