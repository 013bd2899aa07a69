"""The projections this edge reads, opened when they exist.

The edge may start before a projection has written its first byte; until then its queries
answer `unavailable` instead of the edge failing to start.
"""

from __future__ import annotations

from pathlib import Path

from edge.errors import NOT_READY
from projections.history.query import HistoryReader, HistoryUnavailableError


class LazyHistory:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._reader: HistoryReader | None = None

    def _open(self) -> HistoryReader:
        if self._reader is None:
            try:
                self._reader = HistoryReader(self.path)
            except HistoryUnavailableError as e:
                raise NOT_READY from e
        return self._reader

    def page(
        self, conversation_id: str, *, before: int | None, after: int | None, limit: int
    ) -> list[bytes]:
        return self._open().page(conversation_id, before=before, after=after, limit=limit)

    def last_seq(self, conversation_id: str) -> int:
        return self._open().last_seq(conversation_id)

    def members(self, conversation_id: str) -> dict[str, str]:
        return self._open().members(conversation_id)

    def conversations_of(self, user_id: str) -> list[str]:
        return self._open().conversations_of(user_id)

    def can_read(self, user_id: str, conversation_id: str, seq: int) -> bool:
        return self._open().can_read(user_id, conversation_id, seq)

    def is_member(self, user_id: str, conversation_id: str) -> bool:
        return self._open().is_member(user_id, conversation_id)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
