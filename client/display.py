"""How conversation events read in a terminal: one line each, keyed by the event's type."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from client.models import ConversationEvent


def _body(body: Any) -> str:
    if isinstance(body, dict) and body.get("kind") == "plain":
        return str(body.get("text", ""))
    return "[encrypted]"


def _sent(e: ConversationEvent, who: str) -> str:
    reply = e.event.get("reply_to_seq")
    prefix = f"(re #{reply}) " if reply else ""
    return f"{who}: {prefix}{_body(e.event.get('body'))}"


def _created(e: ConversationEvent, who: str) -> str:
    name = e.event.get("name")
    kind = str(e.event.get("kind", "")).lower()
    return f"* {who} created the {kind} conversation" + (f" {name!r}" if name else "")


def _removed(e: ConversationEvent, who: str) -> str:
    user = e.event.get("user_id")
    return f"* {user} left" if e.event.get("left") else f"* {user} was removed by {who}"


def _other(e: ConversationEvent, who: str) -> str:
    return f"* {who}: {e.type or 'an unknown event'}"


_LINES: dict[str, Callable[[ConversationEvent, str], str]] = {
    "MessageSent": _sent,
    "MessageEdited": lambda e, who: (
        f"{who} edited #{e.event.get('target_seq')}: {_body(e.event.get('body'))}"
    ),
    "MessageDeleted": lambda e, who: f"* {who} deleted #{e.event.get('target_seq')}",
    "MessageRedacted": lambda e, who: f"* {who} redacted #{e.event.get('target_seq')}",
    "ReactionAdded": lambda e, who: (
        f"* {who} reacted {e.event.get('emoji')} to #{e.event.get('target_seq')}"
    ),
    "ReactionRemoved": lambda e, who: (
        f"* {who} took back {e.event.get('emoji')} on #{e.event.get('target_seq')}"
    ),
    "ConversationCreated": _created,
    "MemberAdded": lambda e, who: f"* {e.event.get('user_id')} was added by {who}",
    "MemberRemoved": _removed,
    "MemberRoleChanged": lambda e, who: (
        f"* {who} made {e.event.get('user_id')} {str(e.event.get('role', '')).lower()}"
    ),
}
# Receipts matter to the sender's ticks, not to a transcript.
HIDDEN = frozenset({"ReadWatermarkAdvanced", "DeliveredWatermarkAdvanced"})


def describe(event: ConversationEvent) -> str | None:
    """The line for an event, or None for events a transcript leaves out."""
    if event.type in HIDDEN:
        return None
    who = event.sender or "?"
    render = _LINES.get(event.type, _other)
    line = render(event, who)
    at = event.event.get("occurred_at_ms")
    clock = datetime.fromtimestamp(at / 1000).strftime("%H:%M ") if isinstance(at, int) else ""
    return f"#{event.seq} {clock}{line}"
