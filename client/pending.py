"""Uploads the CLI started and has not finished, kept beside the login: `parley send-file`
run again on the same file (same path, size and modification time) resumes its upload, and
only the parts the store lacks are sent."""

from __future__ import annotations

import json
import os
from pathlib import Path

PENDING_FILE = "uploads.json"


def file_key(path: Path) -> str:
    """Which bytes an upload was of: a file changed since is a new upload."""
    stat = path.stat()
    return f"{path.resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


class PendingUploads:
    def __init__(self, directory: Path) -> None:
        self.path = directory / PENDING_FILE

    def media_id(self, key: str) -> str | None:
        found = self._load().get(key)
        return found if isinstance(found, str) else None

    def started(self, key: str, media_id: str) -> None:
        self._save({**self._load(), key: media_id})

    def finished(self, key: str) -> None:
        pending = self._load()
        if pending.pop(key, None) is not None:
            self._save(pending)

    def _load(self) -> dict[str, object]:
        try:
            loaded = json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _save(self, pending: dict[str, object]) -> None:
        """Through a temporary file, so that a crash leaves the old list, never half one."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = self.path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(pending, f, indent=1)
        os.replace(temporary, self.path)
