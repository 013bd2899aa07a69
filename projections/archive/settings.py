"""The archive's settings, from PARLEY_* environment variables (the same names as infra's)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from projections.archive.cuts import CutLimits
from projections.archive.objects import ObjectStore, connect

REPO_ROOT = Path(__file__).resolve().parents[2]
ARCHIVED_TOPICS = ("events", "accounts")
"""The topic roles the archive keeps: every conversation event and every account event."""


class S3Settings(BaseSettings):
    """Where the object store is: every process that reads or writes it (the archive, the
    analysts, the platform that starts the local one) takes it from the same variables."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    s3_endpoint: str | None = Field(default=None, description="Any S3; unset: the local one")
    s3_port: int = 19000
    s3_access_key: str = "parley"
    s3_secret_key: str = "parley-local-secret"
    s3_region: str = "us-east-1"
    s3_bucket: str = "parley"

    @property
    def s3_url(self) -> str:
        return self.s3_endpoint or f"http://127.0.0.1:{self.s3_port}"


class ArchiveSettings(S3Settings):
    archive_root: str = Field(default="archive", description="Key prefix of every object")
    archive_max_age_s: float = Field(default=60.0, gt=0)
    archive_max_bytes: int = Field(default=128 * 1024 * 1024, ge=1)
    archive_max_records: int = Field(default=1_000_000, ge=1)
    archive_part_bytes: int = Field(default=8 * 1024 * 1024, ge=5 * 1024 * 1024)
    archive_compact_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="A closed day's objects merge up to this"
    )
    state_dir: Path = REPO_ROOT / ".parley" / "state"

    @property
    def limits(self) -> CutLimits:
        return CutLimits(
            max_bytes=self.archive_max_bytes,
            max_records=self.archive_max_records,
            max_age_s=self.archive_max_age_s,
        )

    @property
    def spool_dir(self) -> Path:
        return self.state_dir / "archive-spool"

    def object_store(self) -> ObjectStore:
        client = connect(self.s3_url, self.s3_access_key, self.s3_secret_key, self.s3_region)
        return ObjectStore(client, self.s3_bucket, part_bytes=self.archive_part_bytes)
