"""Where the object store is, from PARLEY_S3_* environment variables: every process that
reads or writes it, and the platform that starts the local one, take it from here."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class S3Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    s3_endpoint: str | None = Field(
        default=None, description="Any S3 (AWS, MinIO); unset: the local server infra starts"
    )
    s3_port: int = Field(default=19000, description="The local server's port")
    s3_access_key: str = "parley"
    s3_secret_key: str = "parley-local-secret"
    s3_region: str = "us-east-1"
    s3_bucket: str = "parley"

    @property
    def s3_url(self) -> str:
        return self.s3_endpoint or f"http://127.0.0.1:{self.s3_port}"
