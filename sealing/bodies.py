"""Message bodies, sealed on the way into the log and opened on the way out.

`MessageSealing` is the edge's one seal step (docs/compliance.md): a `PlainBody` becomes a
`SealedBody` under the sender's key (and the expiry bucket's); an end-to-end encrypted body
passes untouched. `BodyOpener` is the other way, for whoever answers with content (the
edge's pages and pushes, the search view, replay and export): a sealed body comes back as
its `PlainBody`, or stays sealed when its key is gone.
"""

from __future__ import annotations

import logging
from typing import Protocol, TypeVar

from schemas import models as m
from sealing.envelope import Context, MissingKeyError, Purpose, Sealer, UnreadableError
from sealing.names import Names

Body = m.PlainBody | m.SealedBody | m.EncryptedBody
EventT = TypeVar("EventT", bound=m.Event)
log = logging.getLogger("parley.sealing")


def message_context(conversation_id: str, sender: str) -> Context:
    return Context(Purpose.MESSAGE, conversation_id, sender)


class MessageSealing(Protocol):
    def seal(
        self, body: Body, conversation_id: str, sender: str, expires_after_ms: int | None
    ) -> Body: ...


class SealedMessages:
    """What every deployment runs: plain text is sealed."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer

    def seal(
        self, body: Body, conversation_id: str, sender: str, expires_after_ms: int | None
    ) -> Body:
        if not isinstance(body, m.PlainBody):
            return body
        context = message_context(conversation_id, sender)
        return self.sealer.seal(body.text, context, expires_after_ms=expires_after_ms)


class PlainMessages:
    """Sealing off (`PARLEY_SEALING=off`): only for the benchmark that measures what sealing
    costs, side by side; never in a deployment (docs/compliance.md)."""

    def seal(
        self, body: Body, conversation_id: str, sender: str, expires_after_ms: int | None
    ) -> Body:
        return body


class BodyOpener:
    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer
        self.names = Names(sealer)
        self.missing_said = False

    def text(self, body: Body, conversation_id: str, sender: str) -> str | None:
        """The body's text; None for end-to-end ciphertext and for a body that no longer
        opens (erased, expired)."""
        if isinstance(body, m.PlainBody):
            return body.text
        if isinstance(body, m.SealedBody):
            try:
                return self.sealer.open(body, message_context(conversation_id, sender))
            except MissingKeyError as e:
                self._missing(e)
                return None
            except UnreadableError:
                return None
        return None

    def _missing(self, error: MissingKeyError) -> None:
        """A key the store never made: this process reads another key store than the one
        that sealed (PARLEY_KEY_STORE, PARLEY_STATE_DIR), and would show or index nothing
        of those bodies. Said once per process, loudly; an erased key is not this."""
        if not self.missing_said:
            self.missing_said = True
            log.error("a sealed body names a key this key store never made: %s", error)

    def body(self, body: Body, conversation_id: str, sender: str) -> Body:
        """A sealed body opened to its `PlainBody`; anything else as it is."""
        if not isinstance(body, m.SealedBody):
            return body
        text = self.text(body, conversation_id, sender)
        return body if text is None else m.PlainBody(text=text)

    def forget(self, user_id: str) -> None:
        """The person was erased: nothing derived from their key stays in this process."""
        self.sealer.ring.forget_person(user_id)

    def attachment(self, attachment: m.Attachment, owner: str) -> m.Attachment:
        """The attachment with its file name opened (empty once `owner`'s key is gone)."""
        if attachment.sealed_file_name is None:
            return attachment
        name = self.names.open_file_name(
            owner, attachment.media_id, attachment.file_name, attachment.sealed_file_name
        )
        return attachment.model_copy(update={"file_name": name, "sealed_file_name": None})

    def event(self, event: EventT) -> EventT:
        """The event with its body and its attachments' names opened (a send or an edit);
        any other event as it is."""
        if not isinstance(event, m.MessageSent | m.MessageEdited):
            return event
        meta = event.meta
        update: dict[str, object] = {}
        if isinstance(event.body, m.SealedBody):
            opened = self.body(event.body, meta.conversation_id, meta.actor.user_id)
            if opened is not event.body:
                update["body"] = opened
        if isinstance(event, m.MessageSent) and any(
            a.sealed_file_name is not None for a in event.attachments
        ):
            sender = meta.actor.user_id
            update["attachments"] = tuple(self.attachment(a, sender) for a in event.attachments)
        return event.model_copy(update=update) if update else event  # type: ignore[return-value]


__all__ = [
    "Body",
    "BodyOpener",
    "MessageSealing",
    "PlainMessages",
    "SealedMessages",
    "message_context",
]
