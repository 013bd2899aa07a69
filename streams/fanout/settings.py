"""The fan-out's settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pydantic import Field

from kafkalog.settings import LogSettings


class FanOutSettings(LogSettings):
    fanout_group: str = "parley-fanout"
    fanout_instance: str = Field(
        default="0",
        description="Stable per instance: its static member id, and the name of its store",
    )

    @property
    def group(self) -> str:
        return f"{self.topic_prefix}-{self.fanout_group}"
