"""Frames the edge sends on a device's WebSocket: the answer to a request (`response` or
`error`, with its id) and pushes, which carry no request id (`event`, `resync`, `typing`,
`presence`, `inbox`, `goodbye`)."""

from __future__ import annotations

from typing import Generic, Literal, TypeVar

from pydantic import SerializeAsAny

from edge.protocol.answers import InboxEntry, PresenceStatus
from edge.protocol.events import EventView, ServerModel

ResultT = TypeVar("ResultT")


class Response(ServerModel, Generic[ResultT]):
    """The answer to the request `id`; `result` is that frame's answer (see `ANSWERS`)."""

    type: Literal["response"] = "response"
    id: str
    result: SerializeAsAny[ResultT]


class ErrorFrame(ServerModel):
    """A refused request (`id`), or a connection-level error (`id` null)."""

    type: Literal["error"] = "error"
    id: str | None
    code: str
    message: str


class EventPush(ServerModel):
    """One event of a conversation, in seq order per conversation."""

    type: Literal["event"] = "event"
    conversation_id: str
    seq: int
    event: EventView


class Resync(ServerModel):
    """Pushes were dropped (slow reader, or the edge lost its feed): sync from your cursors;
    nothing is lost in the log."""

    type: Literal["resync"] = "resync"
    reason: str


class TypingPush(ServerModel):
    """A member is typing (or stopped); `active: false` comes on its own when a typist's
    signal is not renewed within `expires_in_ms`."""

    type: Literal["typing"] = "typing"
    conversation_id: str
    user_id: str
    active: bool
    expires_in_ms: int


class PresencePush(PresenceStatus):
    """Someone you subscribed to went online, away or offline."""

    type: Literal["presence"] = "presence"


class InboxPush(ServerModel):
    """One conversation of the person's inbox changed."""

    type: Literal["inbox"] = "inbox"
    entry: InboxEntry


class Goodbye(ServerModel):
    """The edge is going away; reconnect (to any edge) after the given delay."""

    type: Literal["goodbye"] = "goodbye"
    reason: str
    reconnect_after_ms: int


Push = EventPush | Resync | TypingPush | PresencePush | InboxPush
SERVER_FRAMES: dict[str, type[ServerModel]] = {
    "response": Response,
    "error": ErrorFrame,
    "event": EventPush,
    "resync": Resync,
    "typing": TypingPush,
    "presence": PresencePush,
    "inbox": InboxPush,
    "goodbye": Goodbye,
}
"""Every frame the edge sends, by its `type`."""
