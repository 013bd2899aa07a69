"""Every message body an export shows passes through one `BodyOpener`: the one place where
a body becomes text for an officer.

- `PlainBody`: its text.
- `EncryptedBody` (end to end): the server holds no key; shown as "[end-to-end encrypted]".
- `SealedBody` (sealed at rest under a person's data key): opened by the `SealedOpener` the
  opener is given. Until the key store exists (the crypto part of docs/compliance.md), the
  default opener has no keys, and a sealed body shows as "[sealed: no key store]". A key
  that erasure destroyed opens to nothing: "[erased]".

The crypto part plugs in by implementing `SealedOpener.open`; nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from edge.protocol.compliance import OpenedText
from schemas import models as m

E2EE_MARK = "[end-to-end encrypted]"
ERASED_MARK = "[erased]"
NO_KEY_STORE_MARK = "[sealed: no key store]"

Body = m.PlainBody | m.EncryptedBody | m.SealedBody


@dataclass(frozen=True, slots=True)
class BodyPlace:
    """Where a body is: what a key store may need to find its key (and to audit the use)."""

    conversation_id: str
    seq: int
    author: str


class KeyGoneError(Exception):
    """The body's key no longer exists: its owner was erased, or its retention expired."""


class SealedOpener(Protocol):
    def open(self, body: m.SealedBody, place: BodyPlace) -> str:
        """The plaintext of `body`; raises `KeyGoneError` when its key was destroyed."""
        ...


class NoKeyStore:
    """The sealed opener until the crypto part gives one: it can open nothing."""

    def open(self, body: m.SealedBody, place: BodyPlace) -> str:
        raise LookupError(f"no key store to open key {body.key_id}")


class BodyOpener:
    def __init__(self, sealed: SealedOpener | None = None) -> None:
        self.sealed: SealedOpener = sealed or NoKeyStore()

    def open(self, body: Body, place: BodyPlace) -> OpenedText:
        if isinstance(body, m.PlainBody):
            return OpenedText(status="plain", text=body.text)
        if isinstance(body, m.EncryptedBody):
            return OpenedText(status="e2ee", text=E2EE_MARK)
        try:
            return OpenedText(status="opened", text=self.sealed.open(body, place))
        except KeyGoneError:
            return OpenedText(status="erased", text=ERASED_MARK)
        except LookupError:
            return OpenedText(status="sealed", text=NO_KEY_STORE_MARK)
