"""A process's keys in memory: content keys derived from the key store's keys, each kept at
most `ttl_s`, dropped at once when the process reads that they were destroyed, and never
read again from the store once it has read the person's erasure (the store may still hold
the key for a moment: the erasure destroys it after `AccountErased` is in the log).

A content key is HKDF-SHA256 over the person key and, for a message that expires, its
bucket key: destroying either one makes the body unreadable (docs/compliance.md,
"Sealing"). A bucket key counts as destroyed the moment its end passes, by this process's
clock, whether or not the expiry processor has deleted it yet.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from sealing.keyids import ContentKeyId, person_key_id
from sealing.keystore import KeyDestroyedError, KeyStore

CONTENT_INFO = b"parley/content/v1|"
DEFAULT_TTL_S = 60.0
MAX_CACHED = 100_000


class UnknownKeyError(LookupError):
    """A sealed body names a key the store never made (not ours, or another deployment's)."""


@dataclass(frozen=True)
class _Cached:
    cipher: AESGCM
    until: float


class KeyRing:
    """Thread-safe: the edge seals on its event loop and opens on its history thread."""

    def __init__(
        self,
        store: KeyStore,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.ttl_s = ttl_s
        self.clock = clock
        self.wall = wall
        self._cache: dict[str, _Cached] = {}
        self._erased: set[str] = set()
        self._lock = threading.Lock()

    def cipher(self, key_id: ContentKeyId, *, create: bool) -> AESGCM:
        """The content key's cipher. `create`: make missing keys (the sealing side); an opener
        never makes one. Raises `KeyDestroyedError` (erased, expired) or `UnknownKeyError`."""
        if key_id.bucket_end_s is not None and key_id.bucket_end_s <= self.wall():
            raise KeyDestroyedError(f"{key_id}: its bucket has ended")
        name = str(key_id)
        now = self.clock()
        with self._lock:
            if not self._erased.isdisjoint(key_id.parts):
                raise KeyDestroyedError(f"{key_id}: its person was erased")
            cached = self._cache.get(name)
        if cached is not None and cached.until > now:
            return cached.cipher
        material = b"".join(self._material(part, create=create) for part in key_id.parts)
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=CONTENT_INFO + name.encode()
        ).derive(material)
        cipher = AESGCM(derived)
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[name] = _Cached(cipher, now + self.ttl_s)
        return cipher

    def forget_person(self, user_id: str) -> None:
        """The person was erased (this process read `AccountErased`): nothing derived from
        their key stays here, and their key is not read from the store again, even before
        the erasure has destroyed it there. Regression (found by bench erasure): a page
        opened between the two read the key again and kept it for `ttl_s`."""
        person = person_key_id(user_id)
        with self._lock:
            self._erased.add(person)
            for name in [n for n in self._cache if n == person or n.startswith(person + "+")]:
                del self._cache[name]

    def _material(self, part: str, *, create: bool) -> bytes:
        material = self.store.create(part) if create else self.store.get(part)
        if material is None:
            raise UnknownKeyError(f"no key {part} in this deployment's key store")
        return material


__all__ = ["KeyDestroyedError", "KeyRing", "UnknownKeyError"]
