"""Runs a real view (history, inbox, search) as a separate process, so tests can SIGKILL and
rebuild it and read it as the edge does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, Protocol, Self, TypeVar, cast

from rocksdict import AccessType, Options, Rdict

from projections.history.query import HistoryReader
from projections.inbox.query import InboxReader
from projections.reader import ViewReader
from projections.search.documents import dump
from projections.search.projection import MessageDoc
from projections.search.query import SearchReader
from projections.store import READY_KEY
from schemas.topics import Topics
from tests.integration.processes import ParleyProcess, wait_until


class Reader(Protocol):
    """A view's query side, as the edge opens it."""

    def ready(self) -> bool: ...

    def close(self) -> None: ...


ReaderT = TypeVar("ReaderT", bound=Reader)


class ViewProcess(ParleyProcess, Generic[ReaderT]):
    """`python -m projections.<view>` for one test's topics; `start("rebuild")` rebuilds."""

    view = ""

    def __init__(
        self,
        topics: Topics,
        state_dir: Path,
        *,
        group: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.topics = topics
        self.prefix = topics.events.name.rsplit(".", 1)[0]
        super().__init__(
            f"projections.{self.view}",
            self.prefix,
            state_dir,
            log_path or state_dir / f"{self.view}.log",
            {
                "PARLEY_PARTITIONS": str(topics.events.partitions),
                "PARLEY_VIEW_GROUP": group or f"{self.prefix}-{self.view}",
            },
        )

    @classmethod
    def runs(cls, topics: Topics, work: Path) -> tuple[Self, Self, Self]:
        """One store, three runs: the live process, its restart after a kill, a rebuild."""
        state = work / cls.view
        live, restarted, rebuilt = (
            cls(topics, state, log_path=work / f"{name}.log")
            for name in ("live-1", "live-2", "rebuilt")
        )
        return live, restarted, rebuilt

    @property
    def store_path(self) -> Path:
        return self.state_dir / f"{self.prefix}-{self.view}"

    def reader(self, secondary_path: Path, deadline_s: float = 30.0) -> ReaderT:
        """A reader as the edge has one (never stale), once the process created its store."""
        wait_until(self.written, deadline_s, f"the {self.view} store")
        return self.open_reader(secondary_path)

    def written(self) -> bool:
        """The store exists (RocksDB's CURRENT is written when it is created)."""
        return (self.store_path / "CURRENT").exists()

    def open_reader(self, secondary_path: Path) -> ReaderT:
        raise NotImplementedError

    @contextmanager
    def rebuilt(self, secondary_path: Path) -> Iterator[ReaderT]:
        """`python -m projections.<view> rebuild` over an existing store: a reader once the
        rebuilt view says it is ready; the process is stopped on leaving."""
        self.start("rebuild")
        try:
            wait_until(lambda: "following" in self.log(), 30, "the rebuild to delete the store")
            fresh = self.reader(secondary_path)
            try:
                wait_until(fresh.ready, 120, "the rebuilt view to say it is ready")
                yield fresh
            finally:
                fresh.close()
        finally:
            self.stop()

    def dump(self) -> object:
        """What two stores built from the same log must agree on (read while the process is
        not running)."""
        raise NotImplementedError


class RocksViewProcess(ViewProcess[ReaderT]):
    """A view kept in RocksDB (history, inbox)."""

    def dump(self) -> dict[bytes, bytes]:
        return rocks_dump(self.store_path)


class HistoryProcess(RocksViewProcess[HistoryReader]):
    view = "history"

    def open_reader(self, secondary_path: Path) -> HistoryReader:
        return HistoryReader(self.store_path, secondary_path=secondary_path, max_staleness_s=0)


class InboxProcess(RocksViewProcess[InboxReader]):
    view = "inbox"

    def open_reader(self, secondary_path: Path) -> InboxReader:
        return InboxReader(self.store_path, secondary_path=secondary_path, max_staleness_s=0)


class SearchProcess(ViewProcess[SearchReader]):
    """The search view: a tantivy index (no secondary files: `secondary_path` is unused)."""

    view = "search"

    def written(self) -> bool:
        return (self.store_path / "meta.json").exists()

    def open_reader(self, secondary_path: Path) -> SearchReader:
        return SearchReader(self.store_path, max_staleness_s=0)

    def dump(self) -> tuple[list[MessageDoc], dict[str, int]]:
        return search_dump(self.store_path)


def rocks_dump(path: Path) -> dict[bytes, bytes]:
    """Everything a RocksDB view holds but its readiness marker, which records when it
    started (read-only: only while the process is not running)."""
    db = Rdict(str(path), Options(raw_mode=True), access_type=AccessType.read_only())
    try:
        return {cast(bytes, k): cast(bytes, v) for k, v in db.items() if k != READY_KEY}
    finally:
        db.close()


def search_dump(path: Path) -> tuple[list[MessageDoc], dict[str, int]]:
    """Every message document and every record but readiness (`documents.dump`)."""
    reader = SearchReader(path, max_staleness_s=0)
    try:
        return dump(reader.searcher())
    finally:
        reader.close()


def unread(reader: InboxReader, user_id: str, conversation_id: str) -> int | None:
    """The person's unread count in the conversation, as the inbox view answers it."""
    entry = reader.entry(user_id, conversation_id)
    return None if entry is None else entry.unread


class NamedViewProcess(ViewProcess[Reader]):
    """`python -m projections <view>` for any view in projections/__main__.py's VIEWS, read
    through its store and its log alone (no typed reader): what a test over every view
    needs, so that a view added there is covered too."""

    def __init__(
        self,
        view: str,
        topics: Topics,
        state_dir: Path,
        *,
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        self.view = view
        super().__init__(topics, state_dir, log_path=log_path)
        self.module = "projections"
        self.env.update(env or {})

    def start(self, *args: str) -> None:
        super().start(self.view, *args)

    def wait_ready(self, deadline_s: float = 120.0) -> None:
        """Until the follower says it caught up to the log as it was at its start."""
        wait_until(
            lambda: "ready: caught up" in self.log() or not self.alive(),
            deadline_s,
            f"the {self.view} view to catch up",
        )
        assert self.alive(), self.log()[-3000:]

    def wait_applied(self, ends: dict[int, int], deadline_s: float = 120.0) -> None:
        """Until the store's position reaches `ends` (offset after the last record) on
        every partition."""

        def applied() -> bool:
            if not self.written():
                return False
            held = self.positions()
            return all(held.get(p, 0) >= end for p, end in ends.items())

        wait_until(applied, deadline_s, f"the {self.view} view to apply {ends}")

    def written(self) -> bool:
        if self.view == "search":
            return (self.store_path / "meta.json").exists()
        return super().written()

    def positions(self) -> dict[int, int]:
        """Partition -> the offset after the last record the store applied."""
        if self.view == "search":
            reader = SearchReader(self.store_path, max_staleness_s=0)
            try:
                return reader.positions()
            finally:
                reader.close()
        with ViewReader(self.store_path, max_staleness_s=0) as rocks:
            return rocks.positions()

    def dump(self) -> object:
        """The search view is a tantivy index; every other view in VIEWS is RocksDB."""
        if self.view == "search":
            return search_dump(self.store_path)
        return rocks_dump(self.store_path)
