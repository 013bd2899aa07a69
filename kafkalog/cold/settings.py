"""Where one deployment's archive is: the object store (objectstore/settings.py) and a key
prefix of its own, so that two deployments (or two tests) sharing a bucket never mix."""

from __future__ import annotations

from pydantic import Field

from objectstore.settings import S3Settings


class ArchiveLocation(S3Settings):
    topic_prefix: str = Field(default="parley", description="Topics are <prefix>.<role>")
    archive_root: str | None = Field(
        default=None, description="Key prefix of every archive object; unset: archive/<prefix>"
    )

    @property
    def archive_prefix(self) -> str:
        return self.archive_root or f"archive/{self.topic_prefix}"
