"""Compliance's settings, from PARLEY_* environment variables: the log's (broker, topics,
state directory, and where its archive is: history older than the log comes from there),
the object store's (where exports go), and its own."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from kafkalog.settings import LogSettings
from objectstore.client import connect
from objectstore.store import ObjectStore


class ComplianceSettings(LogSettings):
    compliance_root: str = Field(
        default="compliance", description="Key prefix of exports in the bucket"
    )
    export_ttl_s: int = Field(
        default=24 * 3600, ge=60, description="An export's files are deleted after this"
    )
    export_url_ttl_s: int = Field(
        default=300, ge=10, le=3600, description="Lifetime of an export's download URLs"
    )
    read_archive: bool = Field(
        default=True, description="Replay the archive before the log (false: the log alone)"
    )

    def object_store(self) -> ObjectStore:
        """One S3 client for the archive's reads and the exports."""
        return ObjectStore(connect(self), self.s3_bucket)

    @property
    def scratch_dir(self) -> Path:
        """Where exports build their scratch views: on this host's disk, only while they run."""
        return self.state_dir / f"{self.topic_prefix}-compliance-scratch"

    @property
    def exports_prefix(self) -> str:
        """Per topic set, like every other name, so deployments sharing a bucket never mix."""
        return f"{self.compliance_root}/{self.topic_prefix}/exports/"
