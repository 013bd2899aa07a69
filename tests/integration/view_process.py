"""Runs a real view (history, inbox) as a separate process, so tests can SIGKILL and
rebuild it and read it as the edge does."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from rocksdict import AccessType, Options, Rdict

from projections.history.query import HistoryReader
from projections.inbox.query import InboxReader
from projections.store import READY_KEY
from schemas.topics import Topics
from tests.integration.processes import ParleyProcess, wait_until


class ViewProcess(ParleyProcess):
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

    @property
    def store_path(self) -> Path:
        return self.state_dir / f"{self.prefix}-{self.view}"

    def wait_for_store(self, deadline_s: float = 30.0) -> None:
        current = self.store_path / "CURRENT"
        wait_until(current.exists, deadline_s, f"the {self.view} store")

    def dump(self) -> dict[bytes, bytes]:
        """Everything the store holds but its readiness marker, which records when it
        started (read-only: only while the process is not running)."""
        db = Rdict(str(self.store_path), Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            return {cast(bytes, k): cast(bytes, v) for k, v in db.items() if k != READY_KEY}
        finally:
            db.close()


class HistoryProcess(ViewProcess):
    view = "history"

    def reader(self, secondary_path: Path, deadline_s: float = 30.0) -> HistoryReader:
        """A reader, once the process has created its store."""
        self.wait_for_store(deadline_s)
        return HistoryReader(self.store_path, secondary_path=secondary_path, max_staleness_s=0)


class InboxProcess(ViewProcess):
    view = "inbox"

    def reader(self, secondary_path: Path, deadline_s: float = 30.0) -> InboxReader:
        self.wait_for_store(deadline_s)
        return InboxReader(self.store_path, secondary_path=secondary_path, max_staleness_s=0)


def unread(reader: InboxReader, user_id: str, conversation_id: str) -> Any:
    """The person's unread count in the conversation, as the inbox view answers it."""
    entry = reader.entry(user_id, conversation_id)
    return None if entry is None else entry["unread"]
