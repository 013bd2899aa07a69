"""The query language: a request's text and fields, parsed into clauses and filters, or a
typed `invalid` with the reason.

    budget trip "new york" -cancelled in:<conversation> from:<user> has:link after:2024-05-01

Words and quoted phrases must all match; `-` before either excludes it. Filters: `in:` (or
`conversation:`), `from:` (or `sender:`), `before:` and `after:` (UTC dates, YYYY-MM-DD;
before excludes its day, after starts the day after), `has:link`, `has:file`. A word with a
colon and another prefix ("10:30", "re:") is text. Wildcards are not supported.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta

from projections.search import layout as f
from projections.search.answers import SearchRequest
from projections.search.errors import InvalidSearchError

MAX_QUERY_CHARS = 512
MAX_CLAUSES = 32
HAS = {"link": f.LINK, "file": f.FILE}
CONVERSATION_KEYS = frozenset({"in", "conversation"})
SENDER_KEYS = frozenset({"from", "sender"})
DATE_KEYS = frozenset({"before", "after"})
FILTER_KEYS = CONVERSATION_KEYS | SENDER_KEYS | DATE_KEYS | {"has"}


@dataclass(frozen=True)
class Clause:
    text: str
    phrase: bool
    negated: bool


@dataclass
class Filters:
    conversation_id: str | None = None
    sender: str | None = None
    before: date | None = None
    after: date | None = None
    tags: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class ParsedQuery:
    clauses: tuple[Clause, ...]
    filters: Filters

    @property
    def filtered(self) -> bool:
        given = self.filters
        return bool(
            given.conversation_id or given.sender or given.before or given.after or given.tags
        )


def parse(request: SearchRequest) -> ParsedQuery:
    _unicode(request)
    text = request.query
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidSearchError(f"the query is {len(text)} characters; at most {MAX_QUERY_CHARS}")
    if any(unicodedata.category(c) == "Cc" for c in text):
        raise InvalidSearchError("the query holds control characters")
    if text.strip() and not text.strip().strip("*"):
        raise InvalidSearchError("a lone * would match every message; wildcards are not supported")
    filters = Filters()
    clauses = _clauses(text, filters)
    if len(clauses) > MAX_CLAUSES:
        raise InvalidSearchError(f"the query has {len(clauses)} terms; at most {MAX_CLAUSES}")
    _merge(filters, request)
    return ParsedQuery(tuple(clauses), filters)


def _unicode(request: SearchRequest) -> None:
    """Every text field is Unicode text: a lone surrogate (which JSON's \\ud800 escapes can
    carry) is none, and neither the index nor an answer could hold it. Checked first, so no
    reason ever quotes one."""
    texts = {
        "query": request.query,
        "conversation_id": request.conversation_id,
        "sender": request.sender,
        "cursor": request.cursor,
    }
    for name, value in texts.items():
        if value is not None and any("\ud800" <= c <= "\udfff" for c in value):
            raise InvalidSearchError(f"the {name} holds a lone surrogate: it is not Unicode text")


def _clauses(text: str, filters: Filters) -> list[Clause]:
    found: list[Clause] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        if negated:
            i += 1
        if text[i] == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise InvalidSearchError('unbalanced quotes: a phrase opened with " is not closed')
            found.append(Clause(text[i + 1 : end], phrase=True, negated=negated))
            i = end + 1
            continue
        end = i
        while end < n and not text[end].isspace() and text[end] != '"':
            end += 1
        word = text[i:end]
        i = end
        key, colon, value = word.partition(":")
        if colon and key.lower() in FILTER_KEYS:
            if negated:
                raise InvalidSearchError(f"a filter cannot be excluded: -{word}")
            _filter(filters, key.lower(), value)
        elif word != "-":
            found.append(Clause(word, phrase=False, negated=negated))
    return found


def _filter(filters: Filters, key: str, value: str) -> None:
    if not value:
        raise InvalidSearchError(f"{key}: needs a value")
    if key in CONVERSATION_KEYS:
        filters.conversation_id = _one(filters.conversation_id, value, "conversation")
    elif key in SENDER_KEYS:
        filters.sender = _one(filters.sender, value, "sender")
    elif key in DATE_KEYS:
        day = _date(key, value)
        if key == "before":
            filters.before = min(filters.before or day, day)
        else:
            filters.after = max(filters.after or day, day)
    else:
        tag = HAS.get(value.lower())
        if tag is None:
            raise InvalidSearchError(f"has:{value} is unknown; has:link or has:file")
        filters.tags.add(tag)


def _one(current: str | None, value: str, what: str) -> str:
    if current is not None and current != value:
        raise InvalidSearchError(f"two different {what} filters: {current} and {value}")
    return value


def _date(key: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as e:
        raise InvalidSearchError(f"{key}:{value} is not a date (YYYY-MM-DD)") from e


def _merge(filters: Filters, request: SearchRequest) -> None:
    """The request's own fields: both they and the inline filters must hold."""
    if request.conversation_id is not None:
        filters.conversation_id = _one(
            filters.conversation_id, request.conversation_id, "conversation"
        )
    if request.sender is not None:
        filters.sender = _one(filters.sender, request.sender, "sender")
    if request.before is not None:
        filters.before = min(filters.before or request.before, request.before)
    if request.after is not None:
        filters.after = max(filters.after or request.after, request.after)
    if request.has_link:
        filters.tags.add(f.LINK)
    if request.has_file:
        filters.tags.add(f.FILE)
    if filters.before and filters.after and filters.before <= filters.after + timedelta(days=1):
        raise InvalidSearchError(
            f"no day is both after {filters.after} and before {filters.before}"
        )
