"""Files encrypted end to end, before they leave the device: AES-256-GCM under a fresh key per
file. The server then stores and serves opaque bytes (docs/protocol.md, "End-to-end encrypted
attachments"); the key goes only inside the message's encrypted body, to the recipients."""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from client.errors import ParleyError

NONCE_BYTES = 12


class BadSealError(ParleyError):
    """The bytes are not what was sealed under this key (wrong key, or altered)."""


@dataclass(frozen=True)
class SealedFile:
    ciphertext: bytes
    """The nonce, then the ciphertext and its tag: what is uploaded."""
    key: bytes
    """32 random bytes, for the encrypted body only."""


def seal(data: bytes) -> SealedFile:
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(NONCE_BYTES)
    return SealedFile(nonce + AESGCM(key).encrypt(nonce, data, None), key)


def unseal(ciphertext: bytes, key: bytes) -> bytes:
    nonce, body = ciphertext[:NONCE_BYTES], ciphertext[NONCE_BYTES:]
    try:
        return AESGCM(key).decrypt(nonce, body, None)
    except (InvalidTag, ValueError) as e:
        raise BadSealError("the file does not open with this key") from e
