"""An export's files, written front to back as its lines come, each hashed on the way: the
JSON Lines export, the HTML transcript of the same lines, and the manifest of both (their
sizes and SHA-256 digests). Nothing is held but the line being written."""

from __future__ import annotations

import hashlib
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from edge.compliance import transcript
from edge.protocol.compliance import (
    ExportConversation,
    ExportEnd,
    ExportEvent,
    ExportHeader,
    Manifest,
    ManifestFile,
)

JSONL = "export.jsonl"
HTML = "transcript.html"
MANIFEST = "manifest.json"
CONTENT_TYPES = {
    JSONL: "application/x-ndjson",
    HTML: "text/html",  # the page says utf-8 itself (s3proxy signs no "; charset")
    MANIFEST: "application/json",
}


def sha256_of(path: Path) -> str:
    """A file's digest, read a megabyte at a time."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class HashedFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.out: BinaryIO = path.open("wb")
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, text: str) -> None:
        data = text.encode()
        self.out.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> ManifestFile:
        self.out.close()
        return ManifestFile(
            name=self.path.name, size_bytes=self.size, sha256=self.digest.hexdigest()
        )


class ExportFiles:
    def __init__(self, directory: Path, head: ExportHeader) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.head = head
        self.jsonl = HashedFile(directory / JSONL)
        self.html = HashedFile(directory / HTML)
        self.conversations = 0
        self.events = 0
        self._line(head)
        self.html.write(transcript.header(head))

    def conversation(self, opened: ExportConversation) -> None:
        self._line(opened)
        self.html.write(transcript.conversation(opened, first=self.conversations == 0))
        self.conversations += 1

    def event(self, line: ExportEvent) -> None:
        self._line(line)
        self.html.write(transcript.event(line))
        self.events += 1

    def finish(self, generated_at_ms: int) -> list[ManifestFile]:
        """Ends both files and writes the manifest; the three files, manifest last."""
        end = ExportEnd(conversations=self.conversations, events=self.events)
        self._line(end)
        self.html.write(transcript.footer(end, any_conversation=self.conversations > 0))
        listed = [self.jsonl.close(), self.html.close()]
        head = self.head
        manifest = Manifest(
            export_id=head.export_id,
            case=head.case,
            subject=head.subject,
            mode=head.mode,
            as_of_ms=head.as_of_ms,
            generated_at_ms=generated_at_ms,
            files=listed,
        )
        written = HashedFile(self.directory / MANIFEST)
        written.write(manifest.model_dump_json(indent=1) + "\n")
        return [*listed, written.close()]

    def close(self) -> None:
        """Idempotent: after `finish`, or on the way out of a failed export."""
        for hashed in (self.jsonl, self.html):
            hashed.out.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _line(self, model: ExportHeader | ExportConversation | ExportEvent | ExportEnd) -> None:
        self.jsonl.write(model.model_dump_json() + "\n")
