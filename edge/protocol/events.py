"""Events as clients see them: every event of a conversation's log as a JSON object.

Each names its type (the Avro record's name), its place (`seq`, `conversation_id`), who
caused it (`actor`, `client_msg_id`), when (`occurred_at_ms`), then the record's own fields:
bytes as base64, enums by name, a body as `{"kind": "plain" | "e2ee" | "sealed", ...}`.
The edge builds them from the log's records (edge/event_views.py); a test holds their
fields to the Avro schemas'. A client meets `UnknownEvent` for a type newer than itself.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from edge.protocol.frames import E2EECiphertext, PlainText


class ServerModel(BaseModel):
    """Everything the edge sends is frozen; a field a newer edge adds is ignored by an older
    client, so adding one never breaks it."""

    model_config = ConfigDict(frozen=True, extra="ignore", use_attribute_docstrings=True)


class SealedText(ServerModel):
    """A body encrypted at rest with a server key; only `key_id` reaches clients."""

    kind: Literal["sealed"] = "sealed"
    key_id: str


Body = Annotated[PlainText | E2EECiphertext | SealedText, Field(discriminator="kind")]


class Actor(ServerModel):
    user_id: str
    device_id: str


class Member(ServerModel):
    user_id: str
    role: Literal["OWNER", "ADMIN", "MEMBER"]


MediaKind = Literal["FILE", "IMAGE", "VIDEO", "AUDIO", "ENCRYPTED"]


class Variant(ServerModel):
    """One served rendition of an attachment; its bytes come from a short-lived URL that
    `GET /v1/media/{media_id}/download` hands to members of the conversation."""

    name: Literal["ORIGINAL", "THUMBNAIL", "PREVIEW", "POSTER", "PLAYBACK"]
    content_type: str
    size_bytes: int
    sha256: str
    width: int | None = None
    height: int | None = None


class Attachment(ServerModel):
    """A file a message carries, as the server checked it (never the sender's word): its
    kind, name and layout (`width`, `height`, `duration_ms`, and `placeholder`, a BlurHash
    to paint before anything is downloaded), and its renditions. `ENCRYPTED` files are
    opaque to the server: their key, real type and thumbnail are in the encrypted body."""

    media_id: str
    content_type: str
    size_bytes: int
    sha256: str
    kind: MediaKind = "FILE"
    file_name: str = ""
    width: int | None = None
    height: int | None = None
    duration_ms: int | None = None
    placeholder: str | None = None
    variants: list[Variant] = Field(default_factory=list)


class Event(ServerModel):
    """What every event carries; its subclasses add the record's own fields."""

    type: str
    seq: int
    conversation_id: str
    actor: Actor
    client_msg_id: str
    occurred_at_ms: int


class ConversationCreated(Event):
    type: Literal["ConversationCreated"] = "ConversationCreated"
    kind: Literal["DIRECT", "GROUP"]
    name: str | None = None
    members: list[Member]
    home_region: str = "local"


class MemberAdded(Event):
    type: Literal["MemberAdded"] = "MemberAdded"
    user_id: str
    role: Literal["OWNER", "ADMIN", "MEMBER"] = "MEMBER"


class MemberRemoved(Event):
    """`left`: the member removed themselves."""

    type: Literal["MemberRemoved"] = "MemberRemoved"
    user_id: str
    left: bool = False


class MemberRoleChanged(Event):
    type: Literal["MemberRoleChanged"] = "MemberRoleChanged"
    user_id: str
    role: Literal["OWNER", "ADMIN", "MEMBER"]


class MessageSent(Event):
    type: Literal["MessageSent"] = "MessageSent"
    body: Body
    reply_to_seq: int | None = None
    attachments: list[Attachment] = Field(default_factory=list)
    mentions: list[str] = Field(default_factory=list)
    expires_after_ms: int | None = None


class AboutMessage(Event):
    """An event about the message at `target_seq`."""

    target_seq: int


class MessageEdited(AboutMessage):
    type: Literal["MessageEdited"] = "MessageEdited"
    body: Body


class MessageDeleted(AboutMessage):
    type: Literal["MessageDeleted"] = "MessageDeleted"
    scope: Literal["FOR_ME", "FOR_EVERYONE"]


class MessageRedacted(AboutMessage):
    type: Literal["MessageRedacted"] = "MessageRedacted"
    reason: str


class Reaction(AboutMessage):
    emoji: str


class ReactionAdded(Reaction):
    type: Literal["ReactionAdded"] = "ReactionAdded"


class ReactionRemoved(Reaction):
    type: Literal["ReactionRemoved"] = "ReactionRemoved"


class Watermark(Event):
    up_to_seq: int


class ReadWatermarkAdvanced(Watermark):
    """The actor has read everything up to `up_to_seq`."""

    type: Literal["ReadWatermarkAdvanced"] = "ReadWatermarkAdvanced"


class DeliveredWatermarkAdvanced(Watermark):
    """The actor's device has received everything up to `up_to_seq`."""

    type: Literal["DeliveredWatermarkAdvanced"] = "DeliveredWatermarkAdvanced"


class SenderContentErased(Event):
    """`user_id` was erased (right to be forgotten): every message they sent before this
    event has no content any more; show each as removed. Their later events never come."""

    type: Literal["SenderContentErased"] = "SenderContentErased"
    user_id: str
    erasure_id: str


class MessagesExpired(Event):
    """These messages reached the end of their lifetime: drop them."""

    type: Literal["MessagesExpired"] = "MessagesExpired"
    seqs: list[int]


class DisappearingMessagesSet(Event):
    """From here on, new messages live `after_ms` from their sending (null: for ever)."""

    type: Literal["DisappearingMessagesSet"] = "DisappearingMessagesSet"
    after_ms: int | None = None


class RetentionSet(Event):
    """From here on, new messages are kept `keep_days` (null: no limit of the conversation's)."""

    type: Literal["RetentionSet"] = "RetentionSet"
    keep_days: int | None = None


class Hidden(ServerModel):
    """In place of an event the reader may not see (a deletion "for me" by someone else,
    a message they deleted for themselves): it keeps the seq, so no gap shows."""

    type: Literal["Hidden"] = "Hidden"
    seq: int
    conversation_id: str


class UnknownEvent(ServerModel):
    """An event of a type this client does not know (a newer edge): its fields are kept."""

    model_config = ConfigDict(frozen=True, extra="allow", use_attribute_docstrings=True)

    type: str
    seq: int
    conversation_id: str


LOG_EVENTS: tuple[type[Event], ...] = (
    ConversationCreated,
    MemberAdded,
    MemberRemoved,
    MemberRoleChanged,
    MessageSent,
    MessageEdited,
    MessageDeleted,
    MessageRedacted,
    ReactionAdded,
    ReactionRemoved,
    ReadWatermarkAdvanced,
    DeliveredWatermarkAdvanced,
    SenderContentErased,
    MessagesExpired,
    DisappearingMessagesSet,
    RetentionSet,
)
"""Every event of the log, by the name of its Avro record."""
KNOWN_TYPES = frozenset(
    [*(e.model_fields["type"].default for e in LOG_EVENTS), Hidden.model_fields["type"].default]
)
UNKNOWN = "unknown"


def _event_type(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return kind if isinstance(kind, str) and kind in KNOWN_TYPES else UNKNOWN


EventView = Annotated[
    Annotated[ConversationCreated, Tag("ConversationCreated")]
    | Annotated[MemberAdded, Tag("MemberAdded")]
    | Annotated[MemberRemoved, Tag("MemberRemoved")]
    | Annotated[MemberRoleChanged, Tag("MemberRoleChanged")]
    | Annotated[MessageSent, Tag("MessageSent")]
    | Annotated[MessageEdited, Tag("MessageEdited")]
    | Annotated[MessageDeleted, Tag("MessageDeleted")]
    | Annotated[MessageRedacted, Tag("MessageRedacted")]
    | Annotated[ReactionAdded, Tag("ReactionAdded")]
    | Annotated[ReactionRemoved, Tag("ReactionRemoved")]
    | Annotated[ReadWatermarkAdvanced, Tag("ReadWatermarkAdvanced")]
    | Annotated[DeliveredWatermarkAdvanced, Tag("DeliveredWatermarkAdvanced")]
    | Annotated[SenderContentErased, Tag("SenderContentErased")]
    | Annotated[MessagesExpired, Tag("MessagesExpired")]
    | Annotated[DisappearingMessagesSet, Tag("DisappearingMessagesSet")]
    | Annotated[RetentionSet, Tag("RetentionSet")]
    | Annotated[Hidden, Tag("Hidden")]
    | Annotated[UnknownEvent, Tag(UNKNOWN)],
    Discriminator(_event_type),
]
"""An event as a device sees it: one of the log's, a `Hidden` placeholder, or (for an
older client) an event type it does not know yet."""
