"""The account registry's settings, from PARLEY_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[2]


class AccountsSettings(BaseSettings):
    """Shares the sequencer's variables for the broker, topics and state directory, so that
    one environment configures both processes; only the instance and group are its own."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = "parley"
    partitions: int = Field(default=8, ge=1)
    state_dir: Path = REPO_ROOT / ".parley" / "state"
    accounts_instance: str = Field(
        default="0", description="Stable per instance: its transactional id fences its zombie"
    )
    accounts_group: str = Field(default="", description="Default: <topic_prefix>-accounts")
    stuck_after_s: float = Field(default=30.0, gt=0, description="See streams/watchdog.py")
    max_batch: int = Field(default=500, ge=1)

    @property
    def group(self) -> str:
        """Per topic set, like the sequencer's: see SequencerSettings.group."""
        return self.accounts_group or f"{self.topic_prefix}-accounts"
