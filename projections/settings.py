"""A view process's settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from kafkalog.settings import LogSettings


class ViewSettings(LogSettings):
    view_group: str | None = Field(
        default=None,
        description="Consumer group; `<prefix>-<view>` when unset. Instances in one group "
        "share the partitions, so each host that serves a whole view needs its own.",
    )
    view_instance: str = Field(
        default="0",
        description="Stable per instance: as the group's static member id, it lets a restarted "
        "instance take its partitions back at once instead of after the session timeout",
    )
    max_batch: int | None = Field(
        default=None,
        ge=1,
        description="Records per batch at most; each view has its own default (1,000; the "
        "search view 5,000, as each tantivy commit has a fixed cost)",
    )

    def group_id(self, view: str) -> str:
        return self.view_group or f"{self.topic_prefix}-{view}"

    def member_id(self, view: str) -> str:
        return f"{self.group_id(view)}-{self.view_instance}"

    def store_path(self, view: str) -> Path:
        return self.state_dir / f"{self.topic_prefix}-{view}"
