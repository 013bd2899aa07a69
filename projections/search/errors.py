"""What a search can refuse, in the contract's words: a stable code and a reason, no HTTP or
WebSocket codes (the edge maps them in its one table)."""

from __future__ import annotations

from typing import ClassVar

from schemas.errors import ParleyError


class SearchError(ParleyError):
    code: ClassVar[str]

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InvalidSearchError(SearchError):
    """The request cannot be run as it is: the reason says what to change."""

    code = "invalid"


class SearchTimeoutError(SearchError):
    """The search ran past its time budget, or waited too long for a free searcher."""

    code = "timeout"
