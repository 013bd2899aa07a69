"""Media limits and processing knobs: PARLEY_MEDIA_* environment variables, and PARLEY_CLAMD."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
MIN_PART_BYTES = 5 * MIB
"""S3's smallest part (every part but the last)."""


class MediaSettings(BaseSettings):
    """One environment configures the edge's upload service and the processor alike."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_MEDIA_", extra="ignore")

    max_bytes: int = Field(default=100 * MIB, ge=1, description="Largest upload (100 MiB)")
    quota_bytes_per_day: int = Field(
        default=1024 * MIB, ge=0, description="Bytes a person may declare in any 24 hours"
    )
    part_bytes: int = Field(
        default=8 * MIB,
        ge=MIN_PART_BYTES,
        description="Multipart part size; files up to this size go in one PUT",
    )
    upload_url_ttl_s: int = Field(default=3600, ge=1, description="Pre-signed PUT lifetime")
    download_url_ttl_s: int = Field(default=300, ge=1, description="Pre-signed GET lifetime")
    unattached_ttl_s: int = Field(
        default=24 * 3600, ge=1, description="An upload no message attached is deleted after this"
    )
    sweep_grace_s: int = Field(
        default=3600,
        ge=0,
        description="Margin after the attach window before deleting (clock skew, follower lag)",
    )
    max_image_pixels: int = Field(default=64_000_000, ge=1, description="Decompression-bomb guard")
    max_image_side: int = Field(default=20_000, ge=1)
    max_frames: int = Field(default=500, ge=1, description="Frames of an animated image")
    thumbnail_px: int = Field(default=320, ge=16, description="Longest side of the thumbnail")
    preview_px: int = Field(default=1280, ge=16, description="Longest side of the preview")
    ffmpeg: str = Field(default="ffmpeg", description="ffmpeg executable (Debian's)")
    ffprobe: str = Field(default="ffprobe")
    transcode_timeout_s: float = Field(default=600.0, gt=0)
    clamd: str | None = Field(
        default=None,
        validation_alias="PARLEY_CLAMD",
        description="clamd's address: a Unix socket path or host:port; unset: built-in scan only",
    )
