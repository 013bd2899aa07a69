"""The projections this edge reads, opened when they exist.

The edge may start before a projection has written its first byte; until then its queries
answer `unavailable` instead of the edge failing to start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from tantivy import Searcher

from edge.errors import NOT_READY
from projections.history.layout import Lifetime, Tenures
from projections.history.query import HistoryReader, Overlay
from projections.inbox.query import InboxConversation, InboxReader
from projections.reader import ViewUnavailableError
from projections.search.query import SearchReader


class Reader(Protocol):
    """A view's query side: opened when its view has written, closed with the edge."""

    def close(self) -> None: ...


R = TypeVar("R", bound=Reader)


class LazyView(Generic[R]):
    def __init__(self, path: Path, open_reader: Callable[[Path], R]) -> None:
        self.path = path
        self._open_reader = open_reader
        self._reader: R | None = None

    def open(self) -> R:
        if self._reader is None:
            try:
                self._reader = self._open_reader(self.path)
            except ViewUnavailableError as e:
                raise NOT_READY from e
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


class LazyHistory(LazyView[HistoryReader]):
    def __init__(self, path: Path) -> None:
        super().__init__(path, HistoryReader)

    def page(
        self, conversation_id: str, *, before: int | None, after: int | None, limit: int
    ) -> list[bytes]:
        return self.open().page(conversation_id, before=before, after=after, limit=limit)

    def last_seq(self, conversation_id: str) -> int:
        return self.open().last_seq(conversation_id)

    def members(self, conversation_id: str) -> dict[str, str]:
        return self.open().members(conversation_id)

    def conversations_of(self, user_id: str) -> list[str]:
        return self.open().conversations_of(user_id)

    def can_read(self, user_id: str, conversation_id: str, seq: int) -> bool:
        return self.open().can_read(user_id, conversation_id, seq)

    def is_member(self, user_id: str, conversation_id: str) -> bool:
        return self.open().is_member(user_id, conversation_id)

    def tenures_in(self, user_id: str, conversation_id: str) -> Tenures | None:
        return self.open().tenures_in(user_id, conversation_id)

    def tenures(self, user_id: str) -> dict[str, Tenures]:
        return self.open().tenures(user_id)

    def overlay(self, conversation_id: str, seq: int) -> Overlay:
        return self.open().overlay(conversation_id, seq)

    def hidden_for(self, user_id: str, conversation_id: str, seq: int) -> bool:
        return self.open().hidden_for(user_id, conversation_id, seq)

    def event(self, conversation_id: str, seq: int) -> bytes | None:
        return self.open().event(conversation_id, seq)

    def attached_in(self, media_id: str) -> list[tuple[str, int]]:
        return self.open().attached_in(media_id)

    def media_sent_by(self, user_id: str, conversation_id: str) -> set[str]:
        return self.open().media_sent_by(user_id, conversation_id)

    def content_of(self, user_id: str, conversation_id: str) -> int:
        return self.open().content_of(user_id, conversation_id)

    def lifetime(self, conversation_id: str) -> Lifetime:
        return self.open().lifetime(conversation_id)

    def refresh(self) -> None:
        self.open().refresh()


class LazyInbox(LazyView[InboxReader]):
    def __init__(self, path: Path) -> None:
        super().__init__(path, InboxReader)

    def entries(self, user_id: str) -> list[InboxConversation]:
        return self.open().entries(user_id)

    def activity(self, user_id: str) -> list[tuple[str, int]]:
        return self.open().activity(user_id)

    def entry(self, user_id: str, conversation_id: str) -> InboxConversation | None:
        return self.open().entry(user_id, conversation_id)

    def refresh(self) -> None:
        self.open().refresh()


class LazySearch(LazyView[SearchReader]):
    def __init__(self, path: Path) -> None:
        super().__init__(path, SearchReader)

    def searcher(self) -> Searcher:
        return self.open().searcher()
