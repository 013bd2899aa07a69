"""WebSocket frames of protocol version 1 that clients send: the first step of a request.

Every client frame is a JSON object with a `type` and a request `id` (1 to 64 chars,
chosen by the client); each gets exactly one `response` or `error` frame with that id
(edge/protocol/pushes.py), whose result is the frame's answer (edge/protocol/answers.py).
See docs/protocol.md for the whole protocol.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

PROTOCOL_VERSION = 1
MAX_SEQ = 2**63 - 1
"""The largest seq a frame may name: the log's seqs are Avro longs (a larger number could
only fail where the command is encoded, as `internal`)."""
MAX_REQUEST_ID = 64
RequestId = Annotated[str, Field(min_length=1, max_length=MAX_REQUEST_ID)]
ConversationId = Annotated[str, Field(min_length=1, max_length=128)]
ClientMsgId = Annotated[str, Field(min_length=1, max_length=128)]
UserId = Annotated[str, Field(min_length=1, max_length=64)]
Seq = Annotated[int, Field(ge=1, le=MAX_SEQ)]
"""A seq of the conversation: 1 is its first event."""
Cursor = Annotated[int, Field(ge=0, le=MAX_SEQ)]
"""The last seq a client holds: 0 when it holds nothing."""


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class PlainText(Frame):
    kind: Literal["plain"] = "plain"
    text: Annotated[str, Field(min_length=1)]
    """Its size limit is the log's (64 KiB of UTF-8), answered `too_large` with the size."""


class E2EECiphertext(Frame):
    """End-to-end encrypted body; bytes are base64 (standard alphabet) in JSON."""

    kind: Literal["e2ee"] = "e2ee"
    scheme: Literal["OLM_V1", "MEGOLM_V1", "MLS"]
    sender_key: str
    session_id: str
    ciphertext: str
    device_ciphertexts: dict[str, str] = Field(default_factory=dict)


Body = Annotated[PlainText | E2EECiphertext, Field(discriminator="kind")]


class Authenticate(Frame):
    """First frame when the token could not go in the handshake (browsers)."""

    type: Literal["authenticate"]
    id: RequestId
    token: Annotated[str, Field(min_length=1, max_length=512)]


class SendMessage(Frame):
    type: Literal["send"]
    id: RequestId
    conversation_id: ConversationId
    client_msg_id: ClientMsgId
    body: Body
    reply_to: Seq | None = None


class Ack(Frame):
    """Delivered (this device) or read (this person) up to a seq."""

    type: Literal["ack"]
    id: RequestId
    conversation_id: ConversationId
    kind: Literal["delivered", "read"]
    up_to: Seq


class FetchHistory(Frame):
    """A page of a conversation: before a seq (older), or after one (newer)."""

    type: Literal["fetch_history"]
    id: RequestId
    conversation_id: ConversationId
    before: Seq | None = None
    after: Cursor | None = None
    limit: int = Field(default=50, ge=1, le=200)


class EditMessage(Frame):
    """Replace the body of one's own message; the edit is an event of its own."""

    type: Literal["edit"]
    id: RequestId
    conversation_id: ConversationId
    seq: Seq
    body: Body


class DeleteMessage(Frame):
    """`for_me` hides it on one's own devices; `for_everyone` tombstones it (own message,
    or an admin's)."""

    type: Literal["delete"]
    id: RequestId
    conversation_id: ConversationId
    seq: Seq
    scope: Literal["for_me", "for_everyone"]


class React(Frame):
    type: Literal["react"]
    id: RequestId
    conversation_id: ConversationId
    seq: Seq
    emoji: Annotated[str, Field(min_length=1, max_length=32)]
    active: bool = True


class Sync(Frame):
    """Everything after the device's cursors (conversation id -> last seq it holds); a
    conversation missing from `cursors` is sent from the start (or as a snapshot)."""

    type: Literal["sync"]
    id: RequestId
    cursors: Annotated[dict[ConversationId, Cursor], Field(max_length=20_000)]
    limit: int = Field(default=500, ge=1, le=2000)
    inbox: bool = False
    """Add every inbox entry to the answer (a first round draws the list from it)."""


class GetInbox(Frame):
    """The person's inbox; from then on this device also gets `inbox` pushes."""

    type: Literal["inbox"]
    id: RequestId


MessageChange = EditMessage | DeleteMessage | React


class Typing(Frame):
    type: Literal["typing"]
    id: RequestId
    conversation_id: ConversationId
    active: bool = True


class SubscribePresence(Frame):
    type: Literal["subscribe_presence"]
    id: RequestId
    user_ids: Annotated[list[UserId], Field(max_length=500)]


class SetPresence(Frame):
    """This device is `away` (idle, in the background) or `online` again; a person is
    online while any device is, away while all connected ones are."""

    type: Literal["set_presence"]
    id: RequestId
    status: Literal["online", "away"]


class SearchParameters(Frame):
    """What to search for: the fields of the `search` frame, and the query parameters of
    `GET /v1/search`. The query's own rules (at most 512 characters, no control characters,
    balanced quotes, not only stop words) are checked by the search itself, which answers
    `invalid` with the reason; see docs/search.md for the language."""

    query: str
    """Free text: words, "quoted phrases", -exclusions, and filters in:<conversation>
    from:<user> before:<YYYY-MM-DD> after:<YYYY-MM-DD> has:link has:file."""
    conversation_id: Annotated[str, Field(max_length=128)] | None = None
    """Only this conversation (as in:)."""
    sender: Annotated[str, Field(max_length=64)] | None = None
    """Only messages this user sent (as from:)."""
    before: date | None = None
    """Only messages sent before this UTC day."""
    after: date | None = None
    """Only messages sent after this UTC day."""
    has_link: bool = False
    has_file: bool = False
    order: Literal["relevance", "newest"] = "relevance"
    limit: int = Field(default=20, ge=1, le=50)
    cursor: str | None = None
    """`next_cursor` of the page before, with the same parameters otherwise."""


class Search(SearchParameters):
    """Messages you may read now that match, with highlighted snippets. End-to-end
    encrypted messages are never found: the server cannot read them."""

    type: Literal["search"]
    id: RequestId


class Ping(Frame):
    type: Literal["ping"]
    id: RequestId


Request = (
    Authenticate
    | SendMessage
    | Ack
    | FetchHistory
    | Sync
    | GetInbox
    | EditMessage
    | DeleteMessage
    | React
    | Typing
    | SubscribePresence
    | SetPresence
    | Search
    | Ping
)
ClientFrame = Annotated[Request, Field(discriminator="type")]
CLIENT_FRAME: TypeAdapter[Request] = TypeAdapter(ClientFrame)
