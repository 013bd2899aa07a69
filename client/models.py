"""What the server answers, parsed once at the boundary into typed, frozen values: the
published protocol's own models (edge/protocol/), which this module re-exports under the
names the SDK uses, and the one helper that parses an answer.

They ignore fields they do not know, and an event of a type newer than the client is an
`UnknownEvent`, so a newer server does not break an older client.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from client.errors import ProtocolError
from edge.protocol.answers import (
    Account,
    ConversationEvent,
    ConversationList,
    ConversationSummary,
    CreatedConversation,
    Device,
    DeviceList,
    Highlight,
    HistoryPage,
    Identity,
    Inbox,
    InboxEntry,
    SearchHit,
    SearchPage,
    SendResult,
    Sequenced,
    Session,
    SyncAnswer,
    SyncedConversation,
)

__all__ = [
    "Account",
    "AckKind",
    "ConversationEvent",
    "ConversationList",
    "ConversationSummary",
    "CreatedConversation",
    "Device",
    "DeviceList",
    "Highlight",
    "HistoryPage",
    "Identity",
    "Inbox",
    "InboxEntry",
    "SearchHit",
    "SearchOrder",
    "SearchPage",
    "SendResult",
    "Sequenced",
    "Session",
    "SyncAnswer",
    "SyncedConversation",
    "parse_answer",
]

AckKind = Literal["delivered", "read"]
SearchOrder = Literal["relevance", "newest"]
AnswerT = TypeVar("AnswerT", bound=BaseModel)


def parse_answer(model: type[AnswerT], data: Any, *, what: str) -> AnswerT:
    """Validate a server answer, turning a mismatch into the SDK's `ProtocolError`."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ProtocolError(f"unexpected answer to {what}: {e}") from e
