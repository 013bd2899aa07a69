"""Every message body an export shows passes through one `BodyOpener`: the one place where
a body becomes text for an officer.

- `PlainBody`: its text.
- `EncryptedBody` (end to end): the server holds no key; shown as "[end-to-end encrypted]".
- `SealedBody` (sealed at rest under a person's data key): opened by the `SealedText` the
  opener is given. Its one method has the shape of the crypto part's opener
  (`sealing.bodies.BodyOpener.text`, branch wip-comply2), so that part plugs in as it is:
  `BodyOpener(sealed=sealing_opener)` in `edge.compliance.job.opener`, over the host's
  key store. A body whose key
  was destroyed opens to None: shown as "[erased]". Without a key store (`NoKeyStore`, the
  default) a sealed body shows as "[sealed: no key store]".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeVar

from edge.protocol.compliance import OpenedText
from schemas import models as m

E2EE_MARK = "[end-to-end encrypted]"
ERASED_MARK = "[erased]"
NO_KEY_STORE_MARK = "[sealed: no key store]"

Body = m.PlainBody | m.EncryptedBody | m.SealedBody
EventT = TypeVar("EventT", bound=m.Event)


@dataclass(frozen=True, slots=True)
class BodyPlace:
    """Where a body is: what a key store needs to find its key (the sender's)."""

    conversation_id: str
    seq: int
    author: str


class SealedText(Protocol):
    def text(self, body: Body, conversation_id: str, sender: str) -> str | None:
        """The plaintext of a sealed `body`; None when its key no longer exists (its
        owner was erased, or its retention expired)."""
        ...

    def event(self, event: EventT) -> EventT:
        """The event with its body opened, as a device's page shows it."""
        ...


class NoKeyStoreError(LookupError):
    """No key store was given: a sealed body cannot be opened here."""


class NoKeyStore:
    """The sealed opener until the crypto part gives one: it can open nothing."""

    def text(self, body: Body, conversation_id: str, sender: str) -> str | None:
        raise NoKeyStoreError(conversation_id)

    def event(self, event: EventT) -> EventT:
        return event


class BodyOpener:
    def __init__(self, sealed: SealedText | None = None) -> None:
        self.sealed: SealedText = sealed or NoKeyStore()

    def event(self, event: EventT) -> EventT:
        """The event as a device's page shows it: its body opened where it was sealed."""
        return self.sealed.event(event)

    def open(self, body: Body, place: BodyPlace) -> OpenedText:
        if isinstance(body, m.PlainBody):
            return OpenedText(status="plain", text=body.text)
        if isinstance(body, m.EncryptedBody):
            return OpenedText(status="e2ee", text=E2EE_MARK)
        try:
            text = self.sealed.text(body, place.conversation_id, place.author)
        except NoKeyStoreError:
            return OpenedText(status="sealed", text=NO_KEY_STORE_MARK)
        if text is None:
            return OpenedText(status="erased", text=ERASED_MARK)
        return OpenedText(status="opened", text=text)
