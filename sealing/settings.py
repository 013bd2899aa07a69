"""Sealing's settings, from PARLEY_* environment variables, and the one way a process opens
its key store and sealer from them."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from kafkalog.settings import LogSettings
from sealing.envelope import Expiry, Sealer
from sealing.keystore import SqliteKeyStore
from sealing.ring import DEFAULT_TTL_S, KeyRing


class SealingSettings(LogSettings):
    sealing: Literal["on", "off"] = Field(
        default="on",
        description="off: the edge sends plain bodies. Only for the benchmark that compares "
        "the send path with and without sealing (docs/compliance.md); never deploy it",
    )
    key_store: Path | None = Field(
        default=None,
        description="The local key store's SQLite file; unset: <state dir>/<prefix>-keys.sqlite",
    )
    key_cache_s: float = Field(
        default=DEFAULT_TTL_S, gt=0, description="How long a process keeps a key it read"
    )
    expiry_bucket_s: int = Field(
        default=30, ge=1, le=3600, description="Width of the expiry buckets' keys"
    )
    expiry_grace_s: float = Field(
        default=2.0, ge=0, description="A bucket dies this long after its last message's time"
    )

    @property
    def key_store_path(self) -> Path:
        return self.key_store or self.state_dir / f"{self.topic_prefix}-keys.sqlite"

    def expiry(self) -> Expiry:
        return Expiry(bucket_width_s=self.expiry_bucket_s, grace_s=self.expiry_grace_s)

    def open_sealer(self) -> Sealer:
        """A sealer over this host's key store (the file is made on first use)."""
        store = SqliteKeyStore(self.key_store_path)
        return Sealer(KeyRing(store, ttl_s=self.key_cache_s), expiry=self.expiry())
