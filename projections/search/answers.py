"""A search request and its answer: the typed models the edge's API and the SDK use.

Offsets in answers count UTF-16 code units, as JavaScript strings index (the web client slices
`snippet` with them); the Python SDK converts with `utf16_slice`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_LIMIT = 50
Order = Literal["relevance", "newest"]


class SearchRequest(BaseModel):
    """`query` is free text with phrases ("..."), exclusions (-word) and inline filters
    (in:<conversation> from:<user> before:<date> after:<date> has:link has:file); the fields
    below filter too, and both must hold. Dates are UTC days: before: excludes its day,
    after: starts the day after."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    query: str
    conversation_id: str | None = None
    sender: str | None = None
    before: date | None = None
    after: date | None = None
    has_link: bool = False
    has_file: bool = False
    order: Order = "relevance"
    limit: int = Field(default=20, ge=1, le=MAX_LIMIT)
    cursor: str | None = None


class Highlight(BaseModel):
    """A match in the snippet: [start, end) in UTF-16 code units."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class SearchHit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    conversation_id: str
    seq: int
    sender: str
    sent_at: datetime
    edited: bool
    """The text is the message's latest edit."""
    snippet: str
    """The text around the first match (the whole text when short), as sent."""
    snippet_offset: int = Field(ge=0)
    """Where the snippet starts in the message's text, in UTF-16 code units."""
    highlights: tuple[Highlight, ...]
    score: float | None
    """Relevance (BM25) when ordered by relevance."""


class SearchPage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hits: tuple[SearchHit, ...]
    estimated_total: int = Field(ge=0)
    """Messages matching the words and filters in the conversations the person may read;
    an estimate because each hit is checked again on the way out (deleted for them, quoted
    phrase exactly, history view caught up)."""
    next_cursor: str | None
    """Pass as `cursor` with the same request for the next page; None on the last."""


def utf16_slice(text: str, start: int, end: int) -> str:
    """`text[start:end]` with UTF-16 offsets, as a JavaScript client would slice it."""
    encoded = text.encode("utf-16-le")
    return encoded[2 * start : 2 * end].decode("utf-16-le")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2
