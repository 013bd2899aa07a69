"""Where media lives in the bucket: a private staging key per upload, immutable served keys.

`uploads/<media id>` receives the client's bytes and is never served. What is served lives
under `media/<media id>/` and is named by its own SHA-256 (`thumbnail-<digest>.webp`): a key's
bytes never change, so a CDN or browser may cache it for a year (`Cache-Control: public,
max-age=31536000, immutable`). Served keys are per media rather than shared by everyone
who uploads the same bytes: deleting one person's media (24-hour sweep, erasure) then needs
no reference count, and nobody learns that someone else holds the same file.
"""

from __future__ import annotations

import secrets

from schemas.models import MediaVariantName

CACHE_CONTROL = "public, max-age=31536000, immutable"
UPLOADS = "uploads/"
SERVED = "media/"


def new_media_id() -> str:
    """128 random bits: unguessable, so a key alone never finds another person's file."""
    return f"m{secrets.token_hex(16)}"


def upload_key(media_id: str) -> str:
    return f"{UPLOADS}{media_id}"


def media_prefix(media_id: str) -> str:
    return f"{SERVED}{media_id}/"


def variant_key(media_id: str, name: MediaVariantName, sha256: str, extension: str) -> str:
    return f"{media_prefix(media_id)}{name.value.lower()}-{sha256}.{extension}"


def is_media_id(value: str) -> bool:
    return len(value) == 33 and value[0] == "m" and all(c in "0123456789abcdef" for c in value[1:])
