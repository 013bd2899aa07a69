"""Runs the real history view as a separate process, so tests can SIGKILL and rebuild it."""

from __future__ import annotations

from pathlib import Path

from projections.history.query import HistoryReader
from schemas.topics import Topics
from tests.integration.processes import ParleyProcess, wait_until


class HistoryProcess(ParleyProcess):
    """`python -m projections.history` for one test's topics; `start("rebuild")` rebuilds."""

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
            "projections.history",
            self.prefix,
            state_dir,
            log_path or state_dir / "history.log",
            {
                "PARLEY_PARTITIONS": str(topics.events.partitions),
                "PARLEY_VIEW_GROUP": group or f"{self.prefix}-history",
            },
        )

    @property
    def store_path(self) -> Path:
        return self.state_dir / f"{self.prefix}-history"

    def reader(self, secondary_path: Path, deadline_s: float = 30.0) -> HistoryReader:
        """A reader, once the process has created its store."""
        current = self.store_path / "CURRENT"
        wait_until(current.exists, deadline_s, "the history store")
        return HistoryReader(self.store_path, secondary_path=secondary_path, max_staleness_s=0)
