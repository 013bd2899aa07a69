"""The account registry's settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pydantic import Field

from kafkalog.settings import LogSettings


class AccountsSettings(LogSettings):
    """Shares the broker, topic and state variables with every process (LogSettings), so
    that one environment configures them all; only the instance and group are its own."""

    accounts_instance: str = Field(
        default="0", description="Stable per instance: its transactional id fences its zombie"
    )
    accounts_group: str = Field(default="", description="Default: <topic_prefix>-accounts")
    stuck_after_s: float = Field(
        default=12.0,
        gt=0,
        description="A Kafka call of a transaction blocked this long (its own timeout is "
        "10 s) restarts the process: streams/watchdog.py",
    )
    max_batch: int = Field(default=500, ge=1)

    @property
    def group(self) -> str:
        """Per topic set, like the sequencer's: see SequencerSettings.group."""
        return self.accounts_group or f"{self.topic_prefix}-accounts"
