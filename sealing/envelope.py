"""AES-256-GCM under a content key, with associated data that binds the ciphertext to where it
belongs: a sealed body moved to another conversation, sender, field or key id fails to open
(docs/compliance.md, "Sealing")."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from cryptography.exceptions import InvalidTag

from schemas import models as m
from sealing.keyids import BadKeyIdError, ContentKeyId, bucket_for
from sealing.keystore import KeyDestroyedError
from sealing.ring import KeyRing, UnknownKeyError

ALGORITHM = "AES-256-GCM+HKDF-SHA256"
NONCE_BYTES = 12
TAG_BYTES = 16
AAD_VERSION = b"parley/v1"


class Purpose(StrEnum):
    """Which field a sealed value is: part of the associated data."""

    MESSAGE = "message"
    DISPLAY_NAME = "display_name"
    DEVICE_NAME = "device_name"
    FILE_NAME = "file_name"


@dataclass(frozen=True)
class Context:
    """Where a sealed value belongs. `scope`: the conversation of a message, the device of a
    device name, the media of a file name, the account of a display name; `owner`: the
    person whose key seals it (the sender, the account)."""

    purpose: Purpose
    scope: str
    owner: str

    def associated_data(self, key_id: str) -> bytes:
        parts = (
            AAD_VERSION,
            self.purpose.value.encode(),
            self.scope.encode(),
            self.owner.encode(),
            key_id.encode(),
        )
        return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


class UnreadableError(LookupError):
    """A sealed value that does not open: its key destroyed (erased, expired), unknown here,
    or its bytes not what was sealed in this context. Callers show it as removed."""


class MissingKeyError(UnreadableError):
    """The key store never made the key: not an erasure but a process pointed at the wrong
    key store (or another deployment's bytes). Unreadable all the same; openers say so."""


@dataclass(frozen=True)
class Expiry:
    """How a message's expiry picks its bucket key."""

    bucket_width_s: int = 30
    grace_s: float = 2.0


class Sealer:
    """Seals and opens values under their owner's key (and an expiry bucket's)."""

    def __init__(
        self,
        ring: KeyRing,
        *,
        expiry: Expiry = Expiry(),
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ring = ring
        self.expiry = expiry
        self.wall = wall

    def seal(
        self, text: str, context: Context, *, expires_after_ms: int | None = None
    ) -> m.SealedBody:
        """`expires_after_ms` from now: the value is also sealed under the bucket key that
        dies after it (and so becomes noise then, whatever copy of it remains)."""
        bucket = None
        if expires_after_ms is not None:
            bucket = bucket_for(
                self.wall() + expires_after_ms / 1000,
                width_s=self.expiry.bucket_width_s,
                grace_s=self.expiry.grace_s,
            )
        key_id = ContentKeyId(context.owner, bucket)
        name = str(key_id)
        nonce = os.urandom(NONCE_BYTES)
        cipher = self.ring.cipher(key_id, create=True)
        sealed = cipher.encrypt(nonce, text.encode(), context.associated_data(name))
        return m.SealedBody(key_id=name, algorithm=ALGORITHM, nonce=nonce, ciphertext=sealed)

    def open(self, body: m.SealedBody, context: Context) -> str:
        if body.algorithm != ALGORITHM:
            raise UnreadableError(f"unknown sealing algorithm {body.algorithm!r}")
        try:
            key_id = ContentKeyId.parse(body.key_id)
            if key_id.user_id != context.owner:
                raise UnreadableError(f"{body.key_id} is not {context.owner}'s key")
            cipher = self.ring.cipher(key_id, create=False)
            associated = context.associated_data(body.key_id)
            plain = cipher.decrypt(body.nonce, body.ciphertext, associated)
        except UnknownKeyError as e:
            raise MissingKeyError(f"{body.key_id}: not in this key store") from e
        except (KeyDestroyedError, BadKeyIdError, InvalidTag) as e:
            raise UnreadableError(f"{body.key_id}: {type(e).__name__}") from e
        return plain.decode()
