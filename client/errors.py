"""What can go wrong when talking to Parley, in terms a caller (or the CLI) can act on."""

from __future__ import annotations


class ParleyError(Exception):
    """Base of every error the SDK raises on purpose; anything else is a bug."""


class ServerUnavailableError(ParleyError):
    """The server could not be reached (refused, DNS, TLS, reset): worth retrying later."""


class ApiError(ParleyError):
    """The server answered with an error: `code` is its stable code, `message` for people."""

    def __init__(self, code: str, message: str, *, status: int | None = None) -> None:
        super().__init__(f"{message} ({code})")
        self.code = code
        self.message = message
        self.status = status


class UnauthorizedError(ApiError):
    """Bad credentials, or the token is missing, expired or revoked: log in again."""


class ProtocolError(ParleyError):
    """The server sent something this client cannot read (a version mismatch or a bug)."""


class DisconnectedError(ParleyError):
    """The WebSocket dropped before a request was answered; its outcome is unknown."""


class RequestTimeoutError(ParleyError):
    """No answer in time; like `DisconnectedError`, the request may or may not have taken effect."""


class SendFailedError(ParleyError):
    """Every attempt to send a message went unanswered within the attempts or the deadline.

    The message may still have been stored: sending again with the same `client_msg_id`
    is safe and returns its seq.
    """

    def __init__(self, message: str, *, client_msg_id: str) -> None:
        super().__init__(message)
        self.client_msg_id = client_msg_id


class ClientClosedError(ParleyError):
    """The client was closed while the call was waiting."""
