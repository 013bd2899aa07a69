"""What the server answers, parsed once at the boundary into typed, frozen values.

Answers ignore fields they do not know so a newer server does not break an older client.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, field_validator

from client.errors import ProtocolError


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ConversationEvent(Answer):
    """One event of a conversation at its seq; `event` is the JSON form of the Avro record."""

    conversation_id: str
    seq: int
    event: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.event.get("type", ""))

    @property
    def sender(self) -> str | None:
        actor = self.event.get("actor")
        return str(actor["user_id"]) if isinstance(actor, dict) and "user_id" in actor else None

    @property
    def text(self) -> str | None:
        """The plain text of a message body; None for ciphertext and non-message events."""
        body = self.event.get("body")
        if isinstance(body, dict) and body.get("kind") == "plain":
            return str(body.get("text", ""))
        return None


class Account(Answer):
    user_id: str


class Identity(Answer):
    user_id: str
    device_id: str


class Session(Identity):
    token: str


class Device(Answer):
    device_id: str
    device_name: str
    revoked: bool = False


class DeviceList(Answer):
    devices: list[Device]


def _member_id(value: Any) -> Any:
    """Members may come as bare user ids or as `{user_id, role}` objects."""
    if isinstance(value, dict) and "user_id" in value:
        return value["user_id"]
    return value


class ConversationSummary(Answer):
    conversation_id: str
    kind: str | None = None
    name: str | None = None
    members: list[Annotated[str, BeforeValidator(_member_id)]] = []
    last_seq: int | None = None


class ConversationList(Answer):
    conversations: list[ConversationSummary]


class CreatedConversation(Answer):
    conversation_id: str
    seq: int


class Sequenced(Answer):
    seq: int


class AckResult(Answer):
    """`seq` is the watermark after the ack; None when the ack changed nothing."""

    seq: int | None = None


class SendResult(Answer):
    seq: int
    duplicate: bool = False


class HistoryPage(Answer):
    """Events sorted by seq; `last_seq` is the server's hint, never trusted to end paging."""

    events: list[ConversationEvent]
    last_seq: int | None = None

    @field_validator("events")
    @classmethod
    def _by_seq(cls, events: list[ConversationEvent]) -> list[ConversationEvent]:
        return sorted(events, key=lambda e: e.seq)


class SyncedConversation(Answer):
    """One conversation of a sync answer; `snapshot`: only its latest page (older history
    by `fetch_history(before=...)`); `complete`: nothing after these events is owed."""

    conversation_id: str
    events: list[ConversationEvent]
    last_seq: int
    snapshot: bool = False
    complete: bool = True


class SyncAnswer(Answer):
    conversations: list[SyncedConversation]
    inbox: list[dict[str, Any]] = []
    more: bool = False


class Inbox(Answer):
    """The person's conversations, most recent first, with unread and mention counts."""

    entries: list[dict[str, Any]]


AckKind = Literal["delivered", "read"]


AnswerT = TypeVar("AnswerT", bound=BaseModel)


def parse_answer(model: type[AnswerT], data: Any, *, what: str) -> AnswerT:
    """Validate a server answer, turning a mismatch into the SDK's `ProtocolError`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ProtocolError(f"unexpected answer to {what}: {e}") from e
