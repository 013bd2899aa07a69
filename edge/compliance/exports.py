"""Where exports live: the object store, under `<root>/<prefix>/exports/<export id>/`.

Each export has `status.json` (its `ExportStatus`, rewritten as it progresses: any edge
node answers a status request from it, whichever node runs the job) and, once done, its
three files. Files are handed out only as pre-signed GETs valid for minutes, as
attachments. An export holds readable history, so it does not stay: `sweep` deletes every
export past its `expires_at_ms` (each new export sweeps first), and the crypto part's
erasure deletes those about an erased person (docs/compliance.md, "Exports").
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from pydantic import ValidationError

from edge.compliance.files import CONTENT_TYPES
from edge.protocol.compliance import ExportFile, ExportStatus
from objectstore.store import ObjectStore

EXPORT_ID = re.compile(r"^[0-9a-f]{32}$")
STATUS = "status.json"
STATUS_READS = 4
STATUS_REREAD_S = 0.2


class ExportStore:
    def __init__(self, objects: ObjectStore, prefix: str) -> None:
        self.objects = objects
        self.prefix = prefix

    def key(self, export_id: str, name: str) -> str:
        if not EXPORT_ID.match(export_id):
            raise ValueError(f"not an export id: {export_id!r}")
        return f"{self.prefix}{export_id}/{name}"

    def put_status(self, status: ExportStatus) -> None:
        self.objects.put_bytes(
            self.key(status.export_id, STATUS), status.model_dump_json().encode()
        )

    def status(self, export_id: str) -> ExportStatus | None:
        """None for an id that names no export (or not the form of one). A status found
        missing or unreadable is read again a few times: the job process replaces it as the
        export runs, and s3proxy's file store (tests, `make run`) replaces an object
        non-atomically, so a read in between found no object (seen in `make test`: 404 for
        a running export). S3 itself replaces atomically; an unknown id costs 0.6 s."""
        if not EXPORT_ID.match(export_id):
            return None
        for attempt in range(STATUS_READS):
            if attempt:
                time.sleep(STATUS_REREAD_S)
            raw = self.objects.get_if_exists(self.key(export_id, STATUS))
            if raw is None:
                continue
            try:
                return ExportStatus.model_validate_json(raw)
            except ValidationError:
                continue
        return None

    def upload(self, export_id: str, path: Path) -> None:
        key = self.key(export_id, path.name)
        content_type = CONTENT_TYPES.get(path.name, "application/octet-stream")
        size = path.stat().st_size
        if size <= self.objects.part_bytes:
            body = path.read_bytes()
            self.objects.retrying(
                f"put {key}",
                lambda: self.objects.client.put_object(
                    Bucket=self.objects.bucket, Key=key, Body=body, ContentType=content_type
                ),
            )
        else:
            self.objects.upload(key, path)

    def with_links(self, status: ExportStatus, ttl_s: int, now_ms: int) -> ExportStatus:
        """The status with a pre-signed GET for each file, valid `ttl_s` seconds."""
        files = [
            file.model_copy(update={"url": self._presign(status.export_id, file, ttl_s)})
            for file in status.files
        ]
        expiry = now_ms + ttl_s * 1000
        return status.model_copy(update={"files": files, "urls_expire_at_ms": expiry})

    def sweep(self, now_ms: int) -> int:
        """Deletes every export that has expired; returns how many."""
        swept = 0
        for listed in self.objects.list_keys(self.prefix):
            if not listed.key.endswith("/" + STATUS):
                continue
            export_id = listed.key[len(self.prefix) :].split("/", 1)[0]
            status = self.status(export_id)
            if status is not None and status.expires_at_ms <= now_ms:
                self.delete(export_id)
                swept += 1
        return swept

    def delete(self, export_id: str) -> None:
        """The files first, the status last: a status without files is an expired export."""
        keys = [listed.key for listed in self.objects.list_keys(self.key(export_id, ""))]
        status_key = self.key(export_id, STATUS)
        self.objects.delete([k for k in keys if k != status_key])
        self.objects.delete([k for k in keys if k == status_key])

    def _presign(self, export_id: str, file: ExportFile, ttl_s: int) -> str:
        url: str = self.objects.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.objects.bucket,
                "Key": self.key(export_id, file.name),
                "ResponseContentDisposition": f'attachment; filename="{file.name}"',
            },
            ExpiresIn=ttl_s,
        )
        return url
