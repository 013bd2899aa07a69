"""Parley's Python client: an asyncio SDK (`ParleyClient`) and the `parley` command line."""

from client.backoff import Backoff
from client.errors import (
    ApiError,
    ClientClosedError,
    DisconnectedError,
    ParleyError,
    ProtocolError,
    RequestTimeoutError,
    SendFailedError,
    ServerUnavailableError,
    UnauthorizedError,
)
from client.models import ConversationEvent, ConversationSummary, HistoryPage
from client.sdk import ParleyClient

__all__ = [
    "ApiError",
    "Backoff",
    "ClientClosedError",
    "ConversationEvent",
    "ConversationSummary",
    "DisconnectedError",
    "HistoryPage",
    "ParleyClient",
    "ParleyError",
    "ProtocolError",
    "RequestTimeoutError",
    "SendFailedError",
    "ServerUnavailableError",
    "UnauthorizedError",
]
