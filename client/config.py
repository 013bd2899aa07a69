"""Where the CLI keeps its login between runs: one JSON file that only its owner can read."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from client.errors import ParleyError

DEFAULT_SERVER = "http://127.0.0.1:8080"
TOKEN_FILE = "token.json"


class StoredLogin(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    server: str
    username: str
    user_id: str
    device_id: str
    token: str


def config_dir(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("PARLEY_CONFIG_DIR"):
        return Path(env["PARLEY_CONFIG_DIR"])
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "parley"


def load_login(directory: Path) -> StoredLogin | None:
    path = directory / TOKEN_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ParleyError(f"cannot read {path}: {e.strerror}") from e
    try:
        return StoredLogin.model_validate_json(text)
    except ValidationError as e:
        raise ParleyError(f"{path} is damaged; run `parley login USER` again") from e


def save_login(directory: Path, login: StoredLogin) -> Path:
    """Write through a temporary file so a crash never leaves half a token behind."""
    path = directory / TOKEN_FILE
    temporary = path.with_suffix(".tmp")
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(login.model_dump_json(indent=2))
        os.replace(temporary, path)
    except OSError as e:
        raise ParleyError(f"cannot save the login to {path}: {e.strerror}") from e
    return path
