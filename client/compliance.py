"""The compliance officers' REST calls (/v1/compliance/...), and downloading an export's files
with their digests checked: what `parley-compliance` runs on."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlencode

import aiohttp

from client.errors import ProtocolError, ServerUnavailableError
from client.models import parse_answer
from client.rest import RestApi
from edge.protocol.answers import Sequenced
from edge.protocol.compliance import (
    AuditPage,
    AuditQuery,
    ErasureReport,
    ErasureRequest,
    ErasureStatus,
    ExportFile,
    ExportRequest,
    ExportStatus,
    Manifest,
    RedactionRequest,
    RetentionRequest,
)

CHUNK_BYTES = 1 << 20
ERASE_TIMEOUT_S = 300.0
"""An erasure answers once every conversation of the person has its `SenderContentErased`."""


class DigestMismatchError(ProtocolError):
    """A downloaded file's SHA-256 is not the one the server recorded for it."""


class ComplianceApi(RestApi):
    async def start_export(self, request: ExportRequest) -> ExportStatus:
        body = request.model_dump(exclude_none=True)
        data = await self._call("POST", "/v1/compliance/exports", body)
        return parse_answer(ExportStatus, data, what="start an export")

    async def export_status(self, export_id: str) -> ExportStatus:
        data = await self._call("GET", f"/v1/compliance/exports/{quote(export_id, safe='')}")
        return parse_answer(ExportStatus, data, what="an export's status")

    async def audit(self, query: AuditQuery) -> AuditPage:
        parameters = urlencode(query.model_dump(exclude_none=True))
        data = await self._call("GET", f"/v1/compliance/audit?{parameters}")
        return parse_answer(AuditPage, data, what="read the audit")

    async def erase(self, request: ErasureRequest) -> ErasureReport:
        body = request.model_dump(exclude_none=True)
        data = await self._call("POST", "/v1/compliance/erasures", body, timeout=ERASE_TIMEOUT_S)
        return parse_answer(ErasureReport, data, what="erase a person")

    async def erasure_status(self, erasure_id: str) -> ErasureStatus:
        data = await self._call("GET", f"/v1/compliance/erasures/{quote(erasure_id, safe='')}")
        return parse_answer(ErasureStatus, data, what="an erasure's report")

    async def redact(self, request: RedactionRequest) -> Sequenced:
        data = await self._call("POST", "/v1/compliance/redactions", request.model_dump())
        return parse_answer(Sequenced, data, what="redact a message")

    async def set_retention(self, conversation_id: str, request: RetentionRequest) -> Sequenced:
        path = f"/v1/compliance/retention/{quote(conversation_id, safe='')}"
        data = await self._call("PUT", path, request.model_dump())
        return parse_answer(Sequenced, data, what="set a retention")


async def download(
    http: Callable[[], aiohttp.ClientSession], file: ExportFile, directory: Path
) -> Path:
    """Fetch one file from its pre-signed URL into `directory`, a megabyte at a time, and
    check its SHA-256 and size against what the export recorded."""
    if file.url is None:
        raise ProtocolError(f"{file.name} came without a download URL")
    if "/" in file.name or file.name.startswith("."):
        raise ProtocolError(f"refusing a file name that is a path: {file.name!r}")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / file.name
    digest = hashlib.sha256()
    size = 0
    try:
        async with http().get(file.url) as response:
            if response.status != 200:
                raise ProtocolError(f"downloading {file.name}: HTTP {response.status}")
            with target.open("wb") as out:
                async for chunk in response.content.iter_chunked(CHUNK_BYTES):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
    except aiohttp.ClientError as e:
        raise ServerUnavailableError(f"downloading {file.name}: {e}") from e
    if digest.hexdigest() != file.sha256 or size != file.size_bytes:
        raise DigestMismatchError(f"{file.name}: its SHA-256 or size is not the recorded one")
    return target


def check_manifest(directory: Path, manifest_name: str = "manifest.json") -> Manifest:
    """The manifest's files are on disk with the digests it lists."""
    manifest = Manifest.model_validate_json((directory / manifest_name).read_text())
    for listed in manifest.files:
        digest = hashlib.sha256()
        with (directory / listed.name).open("rb") as f:
            for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
                digest.update(chunk)
        if digest.hexdigest() != listed.sha256:
            raise DigestMismatchError(f"{listed.name} does not match the manifest")
    return manifest
