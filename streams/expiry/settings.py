"""The expiry processor's settings, from PARLEY_* environment variables (the key store and
the buckets' width: sealing/settings.py)."""

from __future__ import annotations

from pydantic import Field

from sealing.settings import SealingSettings


class ExpirySettings(SealingSettings):
    expiry_group: str = "parley-expiry"
    expiry_instance: str = Field(
        default="0",
        description="Stable per instance: its static member id, and the name of its store",
    )
    expiry_tick_s: float = Field(
        default=1.0, gt=0, le=60, description="How often due messages and ended buckets go"
    )
    expiry_retry_s: float = Field(
        default=5.0,
        gt=0,
        description="A message asked to expire and still in the book is asked again after this",
    )

    @property
    def group(self) -> str:
        return f"{self.topic_prefix}-{self.expiry_group}"
