"""The media's object store: pre-signed URLs, multipart uploads and streamed reads over boto3.

Works against any S3 (the local s3proxy, MinIO, AWS), through the project's one client
(objectstore/client.py: SigV4, checksums only where S3 requires them). Library errors
become MediaError: a missing object or upload is NOT_FOUND,
anything else is STORAGE_UNAVAILABLE, which callers may retry.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from media.errors import MediaError
from media.keys import CACHE_CONTROL
from schemas.models import MediaErrorCode

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

CHUNK_BYTES = 1024 * 1024
MISSING = frozenset({"404", "NoSuchKey", "NoSuchUpload", "NotFound"})


@dataclass(frozen=True)
class StoredPart:
    number: int
    size: int
    etag: str


class ObjectStore:
    """One bucket, seen by the upload service and the processor."""

    def __init__(self, client: S3Client, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    def presign_put(self, key: str, size: int, content_type: str, ttl_s: int) -> str:
        """A PUT of exactly `size` bytes with this Content-Type; S3 refuses any other."""
        params = {"Bucket": self.bucket, "Key": key, "ContentLength": size}
        return self._presign("put_object", params | {"ContentType": content_type}, ttl_s)

    def presign_part(self, key: str, upload_id: str, number: int, size: int, ttl_s: int) -> str:
        params = {"Bucket": self.bucket, "Key": key, "UploadId": upload_id}
        return self._presign(
            "upload_part", params | {"PartNumber": number, "ContentLength": size}, ttl_s
        )

    def presign_get(self, key: str, ttl_s: int, disposition: str | None = None) -> str:
        """A short-lived GET, handed out only after authorization; `disposition` names the
        download (the object itself carries no file name)."""
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if disposition is not None:
            params["ResponseContentDisposition"] = disposition
        return self._presign("get_object", params, ttl_s)

    def _presign(self, operation: str, params: dict[str, Any], ttl_s: int) -> str:
        url: str = self.client.generate_presigned_url(operation, Params=params, ExpiresIn=ttl_s)
        return url

    def create_multipart(self, key: str, content_type: str) -> str:
        with _translated(key):
            answer = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ContentType=content_type
            )
        upload_id: str = answer["UploadId"]
        return upload_id

    def list_parts(self, key: str, upload_id: str) -> list[StoredPart]:
        """The parts S3 holds, by number; an unknown or finished upload is NOT_FOUND."""
        parts: list[StoredPart] = []
        marker = 0
        truncated = True
        while truncated:
            with _translated(key):
                page = self.client.list_parts(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumberMarker=marker
                )
            if "UploadId" not in page:  # s3proxy answers so for an upload no longer there
                raise MediaError(MediaErrorCode.NOT_FOUND, f"no upload in progress at {key}")
            parts += [
                StoredPart(p["PartNumber"], p["Size"], p["ETag"]) for p in page.get("Parts", [])
            ]
            truncated = page.get("IsTruncated", False)
            marker = page.get("NextPartNumberMarker", 0)
        return parts

    def complete_multipart(self, key: str, upload_id: str, parts: list[StoredPart]) -> None:
        listed: Any = {"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]}
        with _translated(key):
            self.client.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload=listed
            )

    def abort_multipart(self, key: str, upload_id: str) -> None:
        with _translated(key, missing_ok=True):
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    def size_of(self, key: str) -> int | None:
        """The object's length, or None when there is no object."""
        try:
            with _translated(key):
                size: int = self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except MediaError as e:
            if e.code is MediaErrorCode.NOT_FOUND:
                return None
            raise
        return size

    def chunks(self, key: str, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The object's bytes in order, a chunk at a time: never all of it in memory."""
        with _translated(key):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                yield from body.iter_chunks(chunk_bytes)
            finally:
                body.close()

    def publish(self, key: str, path: Path, content_type: str, disposition: str) -> None:
        """Writes a served object: immutable, so cached for a year by whoever may."""
        with _translated(key), path.open("rb") as body:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType=content_type,
                ContentDisposition=disposition,
                CacheControl=CACHE_CONTROL,
            )

    def holds(self, prefix: str) -> bool:
        """Some object's key starts with `prefix`."""
        with _translated(prefix):
            listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=prefix, MaxKeys=1)
        return bool(listed.get("Contents"))

    def delete(self, key: str) -> None:
        with _translated(key, missing_ok=True):
            self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under `prefix` (a media's few renditions); returns how many
        there were. One DELETE per object, not a batched DeleteObjects: S3 requires that
        request to carry a checksum, which boto3 sends as CRC32, and s3proxy refuses that
        header (`NotImplemented`); a media has at most five objects."""
        deleted = 0
        with _translated(prefix):
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for listed in page.get("Contents", []):
                    self.delete(listed["Key"])
                    deleted += 1
        return deleted


@contextmanager
def _translated(key: str, *, missing_ok: bool = False) -> Iterator[None]:
    """Library errors as media errors, with the library's error kept as the cause."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code", ""))
        if code not in MISSING:
            raise MediaError(MediaErrorCode.STORAGE_UNAVAILABLE, f"{key}: {code}") from e
        if not missing_ok:
            raise MediaError(MediaErrorCode.NOT_FOUND, f"nothing at {key}") from e
    except BotoCoreError as e:
        reason = f"{key}: {type(e).__name__}"
        raise MediaError(MediaErrorCode.STORAGE_UNAVAILABLE, reason) from e
