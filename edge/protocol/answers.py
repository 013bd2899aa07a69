"""What the edge answers: the `result` of each data-plane request, and the bodies of the
control plane's (REST) answers. `ANSWERS` names the answer of every client frame.

A field marked "absent when null" is left out of the JSON rather than sent as `null`
(receipts of a large group, the inbox in a sync that did not ask for it).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from edge.protocol import frames as f
from edge.protocol.events import Body, EventView, ServerModel


def _absent(value: Any) -> bool:
    return value is None


class Identity(ServerModel):
    """Whom a token belongs to: the answer to `authenticate`."""

    user_id: str
    device_id: str


class Session(Identity):
    """A logged-in device; the bearer token is shown this once."""

    token: str


class Account(ServerModel):
    user_id: str


class Profile(ServerModel):
    user_id: str
    display_name: str


class Device(ServerModel):
    device_id: str
    device_name: str
    revoked: bool = False


class DeviceList(ServerModel):
    devices: list[Device]


class ConversationSummary(ServerModel):
    """A conversation one is a member of: who is in it, and how far its log goes."""

    conversation_id: str
    members: list[str] = Field(default_factory=list)
    last_seq: int = 0


class ConversationList(ServerModel):
    conversations: list[ConversationSummary]


class CreatedConversation(ServerModel):
    conversation_id: str
    seq: int | None = None


class Sequenced(ServerModel):
    """The seq of the event a change wrote (`ack`, `edit`, `delete`, `react`, a member
    added or removed); null when it changed nothing (an ack below the watermark)."""

    seq: int | None = None


class SendResult(ServerModel):
    """`duplicate`: this `client_msg_id` was sent before; `seq` is the first send's."""

    seq: int
    duplicate: bool = False


class Edit(ServerModel):
    """The latest edit of a message: the `MessageEdited` event's seq and body."""

    seq: int
    body: Body


class ConversationEvent(ServerModel):
    """One event at its seq, as history and sync show it: a message as it is now, with
    its latest edit and its reactions (emoji -> user ids), each absent when there is none."""

    conversation_id: str
    seq: int
    event: EventView
    edited: Edit | None = Field(default=None, exclude_if=_absent)
    reactions: dict[str, list[str]] | None = Field(default=None, exclude_if=_absent)

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def sender(self) -> str | None:
        actor = getattr(self.event, "actor", None)
        return actor.user_id if actor is not None else None

    @property
    def text(self) -> str | None:
        """The plain text of a message; None for ciphertext and other events."""
        body = getattr(self.event, "body", None)
        return body.text if isinstance(body, f.PlainText) else None


class HistoryPage(ServerModel):
    """Events in ascending seq order; `last_seq` is the conversation's latest seq as the
    history view knows it (a hint: clients page on until a page comes back empty)."""

    events: list[ConversationEvent]
    last_seq: int | None = None

    @field_validator("events")
    @classmethod
    def _by_seq(cls, events: list[ConversationEvent]) -> list[ConversationEvent]:
        return sorted(events, key=lambda e: e.seq)


class SyncedConversation(ServerModel):
    """`snapshot`: only the conversation's latest page (older ones by `fetch_history`);
    `complete`: nothing after these events is owed."""

    conversation_id: str
    events: list[ConversationEvent]
    last_seq: int
    snapshot: bool = False
    complete: bool = True


class Preview(ServerModel):
    """The last message as an inbox shows it; `text` is null for ciphertext, sealed bodies
    and deleted messages."""

    seq: int
    sender_id: str
    kind: str
    text: str | None = None
    edited: bool = False


class InboxEntry(ServerModel):
    """One conversation of a person's inbox. `member` is false once they were removed (the
    entry then stays as it was then). `members`, `read` and `delivered` (user id -> seq)
    come for conversations of at most 64 members, and are absent for larger ones."""

    conversation_id: str
    kind: str
    name: str | None = None
    role: str
    member: bool = True
    last_seq: int
    last_activity_ms: int
    preview: Preview | None = None
    unread: int
    unread_capped: bool = False
    mentions: int = 0
    read_up_to: int = 0
    member_count: int = 0
    members: list[str] | None = Field(default=None, exclude_if=_absent)
    read: dict[str, int] | None = Field(default=None, exclude_if=_absent)
    delivered: dict[str, int] | None = Field(default=None, exclude_if=_absent)


class SyncAnswer(ServerModel):
    """`more`: ask again with the cursors advanced. `inbox`: every entry, when asked for
    (absent otherwise)."""

    conversations: list[SyncedConversation]
    more: bool = False
    inbox: list[InboxEntry] | None = Field(default=None, exclude_if=_absent)


class Inbox(ServerModel):
    """The person's conversations, most recent activity first."""

    entries: list[InboxEntry]


class PresenceStatus(ServerModel):
    user_id: str
    status: Literal["online", "away", "offline"]
    last_seen_ms: int | None = None


class PresenceList(ServerModel):
    """Those of the asked-for people who share a conversation with you."""

    presence: list[PresenceStatus]


class Highlight(ServerModel):
    """A match in a snippet: [start, end), in UTF-16 code units (JavaScript's string
    indices; `snippet.slice(start, end)` is the match)."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)


class SearchHit(ServerModel):
    """A message you may read that matches, as it reads now (its latest edit)."""

    conversation_id: str
    seq: int
    sender: str
    sent_at_ms: int
    """When it was sent, milliseconds since the epoch (as `occurred_at_ms`)."""
    edited: bool
    """The text is the message's latest edit."""
    snippet: str
    """The text around the first match (the whole text when short), as sent."""
    snippet_offset: int = Field(ge=0)
    """Where the snippet starts in the message's text, in UTF-16 code units."""
    highlights: list[Highlight]
    score: float | None = None
    """Relevance (BM25) when ordered by relevance; null when newest first."""


class SearchPage(ServerModel):
    """One page of a search: `estimated_total` counts the matches in the conversations you
    may read (an estimate: each hit is checked again on the way out); `next_cursor` asks for
    the next page (null on the last)."""

    hits: list[SearchHit]
    estimated_total: int = Field(ge=0)
    next_cursor: str | None = None


class Empty(ServerModel):
    """A request that has nothing to answer but that it was done."""


class Pong(ServerModel):
    pong: bool = True


class ErrorDetail(ServerModel):
    """`code` is stable (see the error codes in docs/protocol.md); `message` is for people."""

    code: str
    message: str


class ErrorAnswer(ServerModel):
    """The body of every control-plane error."""

    error: ErrorDetail


class Health(ServerModel):
    """An edge node's liveness: open connections, events pushed since it started."""

    connections: int
    delivered: int


ANSWERS: dict[type[f.Frame], type[ServerModel]] = {
    f.Authenticate: Identity,
    f.SendMessage: SendResult,
    f.Ack: Sequenced,
    f.FetchHistory: HistoryPage,
    f.Sync: SyncAnswer,
    f.GetInbox: Inbox,
    f.EditMessage: Sequenced,
    f.DeleteMessage: Sequenced,
    f.React: Sequenced,
    f.Typing: Empty,
    f.SubscribePresence: PresenceList,
    f.SetPresence: Empty,
    f.Search: SearchPage,
    f.Ping: Pong,
}
"""The `result` of the `response` to each client frame."""
