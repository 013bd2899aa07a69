"""A bucket for background workers (the archive writer, its readers): list, upload
(multipart when large), read, delete, each call retried through S3's bad moments.

Error policy: S3's throttling and server errors, and a server that does not answer, are
transient: retried with capped exponential backoff for up to `retry_for_s` (boto3's own
retries come first). Anything else (access denied, no such bucket) raises at once as
`ObjectStoreError`, and so does a transient error that outlasts the budget. A multipart
upload that fails is aborted; one cut short by a crash is aborted by the next start
(`abort_uploads`), and a bucket lifecycle rule should abort stragglers in production.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CompletedPartTypeDef

log = logging.getLogger("parley.objectstore")

T = TypeVar("T")
PART_BYTES = 8 * 1024 * 1024
"""Multipart part size, and the size above which an object goes up in parts."""
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "Throttling",
        "ThrottlingException",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "InternalError",
        "ServiceUnavailable",
        "503",
        "500",
    }
)
UNREACHABLE = (
    EndpointConnectionError,
    ConnectionClosedError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ResponseStreamingError,
)
"""Worth another try. A body cut short (`ResponseStreamingError`) is one: s3proxy's file
store, under tests and `make run`, serves an object being replaced cut short."""


class ObjectStoreError(RuntimeError):
    """S3 refused an operation, or stayed unreachable past the retry budget."""


def transient(error: Exception) -> bool:
    if isinstance(error, UNREACHABLE):
        return True
    if isinstance(error, ClientError):
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in TRANSIENT_CODES or status >= 500 or status == 429
    return False


@dataclass(frozen=True)
class Listed:
    key: str
    size: int


class ObjectStore:
    """One bucket, with the retry policy above around every call."""

    def __init__(
        self,
        client: S3Client,
        bucket: str,
        *,
        retry_for_s: float = 600.0,
        part_bytes: int = PART_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.retry_for_s = retry_for_s
        self.part_bytes = part_bytes
        self.sleep = sleep

    def retrying(self, what: str, call: Callable[[], T]) -> T:
        deadline = time.monotonic() + self.retry_for_s
        pause = 0.1
        while True:
            try:
                return call()
            except Exception as e:
                if not transient(e):
                    raise ObjectStoreError(f"{what}: {e}") from e
                if time.monotonic() + pause > deadline:
                    raise ObjectStoreError(
                        f"{what}: still failing after {self.retry_for_s:.0f} s: {e}"
                    ) from e
                log.warning("%s: %s; retrying in %.1f s", what, e, pause)
                self.sleep(pause)
                pause = min(pause * 2, 5.0)

    def list_keys(self, prefix: str) -> list[Listed]:
        def page() -> list[Listed]:
            found: list[Listed] = []
            for part in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                # Keys ending in "/" are the directories some servers (s3proxy's
                # filesystem backend) list: no object of ours.
                found += [
                    Listed(o["Key"], o["Size"])
                    for o in part.get("Contents", [])
                    if not o["Key"].endswith("/")
                ]
            return found

        return self.retrying(f"list {prefix}", page)

    def upload(self, key: str, path: Path) -> int:
        """Puts the file at `key` (atomically: readers see all of it or nothing); returns
        its size. Above `part_bytes` it goes up in parts."""
        size = path.stat().st_size
        if size <= self.part_bytes:
            body = path.read_bytes()
            self.retrying(
                f"put {key}",
                lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=body),
            )
        else:
            self.retrying(f"multipart upload {key}", lambda: self._multipart(key, path))
        return size

    def _multipart(self, key: str, path: Path) -> None:
        upload_id = self.client.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        try:
            parts: list[CompletedPartTypeDef] = []
            with path.open("rb") as f:
                for number, chunk in enumerate(iter(lambda: f.read(self.part_bytes), b""), 1):
                    etag = self.client.upload_part(
                        Bucket=self.bucket,
                        Key=key,
                        UploadId=upload_id,
                        PartNumber=number,
                        Body=chunk,
                    )["ETag"]
                    parts.append({"ETag": etag, "PartNumber": number})
            self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(key, upload_id)
            raise

    def _abort(self, key: str, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
        except Exception as e:
            log.warning("could not abort the upload of %s (the next start will): %s", key, e)

    def abort_uploads(self, prefix: str, which: Callable[[str], bool] = lambda key: True) -> int:
        """Aborts the multipart uploads under `prefix` whose key `which` accepts: those a
        writer that died left behind (another live writer's are not `which`)."""

        def uploads() -> list[tuple[str, str]]:
            found: list[tuple[str, str]] = []
            for page in self.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                found += [(u["Key"], u["UploadId"]) for u in page.get("Uploads", [])]
            return found

        left = [(k, u) for k, u in self.retrying(f"list uploads {prefix}", uploads) if which(k)]
        for key, upload_id in left:
            self.retrying(
                f"abort {key}",
                lambda k=key, u=upload_id: self.client.abort_multipart_upload(  # type: ignore[misc]
                    Bucket=self.bucket, Key=k, UploadId=u
                ),
            )
        return len(left)

    def put_bytes(self, key: str, body: bytes) -> None:
        self.retrying(
            f"put {key}", lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=body)
        )

    def get(self, key: str) -> bytes:
        def read() -> bytes:
            data: bytes = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return data

        return self.retrying(f"get {key}", read)

    def get_if_exists(self, key: str) -> bytes | None:
        try:
            return self.get(key)
        except ObjectStoreError as e:
            cause: Any = e.__cause__
            if isinstance(cause, ClientError) and cause.response.get("Error", {}).get("Code") in (
                "NoSuchKey",
                "404",
            ):
                return None
            raise

    def delete(self, keys: list[str]) -> None:
        # One DeleteObject per key: the multi-object delete needs a Content-MD5 that
        # boto3 leaves out with checksums "when_required", and deletes here are few.
        for key in keys:
            self.retrying(
                f"delete {key}",
                lambda k=key: self.client.delete_object(Bucket=self.bucket, Key=k),  # type: ignore[misc]
            )
