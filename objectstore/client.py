"""The one boto3 S3 client configuration Parley uses, whatever the S3 behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from objectstore.settings import S3Settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def connect(settings: S3Settings, *, max_attempts: int = 3) -> S3Client:
    """A client for the configured endpoint. SigV4 (s3proxy refuses SigV2 pre-signed part
    uploads); checksums only where an operation requires them (s3proxy does not know the
    CRC headers newer boto3 sends by default); path-style addressing (no DNS per bucket);
    short connect and read timeouts, so an unreachable server is retried by the caller's
    policy rather than waited on for a minute."""
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        s3={"addressing_style": "path"},
        retries={"max_attempts": max_attempts, "mode": "standard"},
        connect_timeout=5,
        read_timeout=30,
    )
    client: S3Client = boto3.client(
        "s3",
        endpoint_url=settings.s3_url,
        aws_access_key_id=settings.s3_access_key,
        aws_secret_access_key=settings.s3_secret_key,
        region_name=settings.s3_region,
        config=config,
    )
    return client
