"""One table from domain outcomes to what clients see: a stable error code and its HTTP status.

`ErrorCode` owns each code's status; every `ClientError` names one of its codes.
Not-a-member and no-such-conversation share one answer, so a stranger cannot learn that a
conversation exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus

from pydantic import ValidationError

from edge.protocol.answers import ErrorAnswer, ErrorDetail
from edge.protocol.pushes import ErrorFrame
from projections.search.errors import InvalidSearchError, SearchError, SearchTimeoutError
from schemas.models import RejectionCode


class ErrorCode(StrEnum):
    """Stable across versions; docs/protocol.md lists them (a test holds it to this)."""

    BAD_JSON = "bad_json"
    BAD_FRAME = "bad_frame"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    TOO_LARGE = "too_large"
    NO_SUCH_MESSAGE = "no_such_message"
    INVALID = "invalid"
    TOO_BUSY = "too_busy"
    TIMEOUT = "timeout"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal"

    @property
    def status(self) -> HTTPStatus:
        return _STATUS[self]


_STATUS: dict[ErrorCode, HTTPStatus] = {
    ErrorCode.BAD_JSON: HTTPStatus.BAD_REQUEST,
    ErrorCode.BAD_FRAME: HTTPStatus.BAD_REQUEST,
    ErrorCode.UNAUTHORIZED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.CONFLICT: HTTPStatus.CONFLICT,
    ErrorCode.TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.NO_SUCH_MESSAGE: HTTPStatus.NOT_FOUND,
    ErrorCode.INVALID: HTTPStatus.BAD_REQUEST,
    ErrorCode.TOO_BUSY: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.TIMEOUT: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
    ErrorCode.INTERNAL: HTTPStatus.INTERNAL_SERVER_ERROR,
}


@dataclass(frozen=True)
class ClientError(Exception):
    """An error a client caused or must handle."""

    code: ErrorCode
    message: str

    @property
    def status(self) -> HTTPStatus:
        return self.code.status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def frame(self, request_id: str | None) -> ErrorFrame:
        """As the data plane answers it."""
        return ErrorFrame(id=request_id, code=self.code, message=self.message)

    def answer(self) -> ErrorAnswer:
        """As the control plane answers it, with `status`."""
        return ErrorAnswer(error=ErrorDetail(code=self.code, message=self.message))


_REJECTIONS: dict[RejectionCode, ErrorCode] = {
    RejectionCode.INVALID: ErrorCode.INVALID,
    RejectionCode.MALFORMED: ErrorCode.INVALID,
    RejectionCode.UNKNOWN_SCHEMA: ErrorCode.INVALID,
    RejectionCode.TOO_LARGE: ErrorCode.TOO_LARGE,
    RejectionCode.NO_SUCH_CONVERSATION: ErrorCode.NOT_FOUND,
    RejectionCode.NOT_A_MEMBER: ErrorCode.NOT_FOUND,
    RejectionCode.FORBIDDEN: ErrorCode.FORBIDDEN,
    RejectionCode.CONFLICT: ErrorCode.CONFLICT,
    RejectionCode.NO_SUCH_MESSAGE: ErrorCode.NO_SUCH_MESSAGE,
}

NOT_FOUND_MESSAGE = "no such conversation"


def rejection_error(code: RejectionCode, reason: str) -> ClientError:
    client_code = _REJECTIONS.get(code, ErrorCode.INVALID)
    if client_code is ErrorCode.NOT_FOUND:
        reason = NOT_FOUND_MESSAGE
    return ClientError(client_code, reason)


_SEARCH: dict[type[SearchError], ErrorCode] = {
    InvalidSearchError: ErrorCode.INVALID,
    SearchTimeoutError: ErrorCode.TIMEOUT,
}


def search_error(error: SearchError) -> ClientError:
    """A refused search, with its reason: what to change (`invalid`), or that it ran past
    its time budget or found every searcher busy (`timeout`)."""
    code = _SEARCH[type(error)]
    return ClientError(code, error.reason)


NO_SUCH_CONVERSATION = ClientError(ErrorCode.NOT_FOUND, NOT_FOUND_MESSAGE)
UNAUTHORIZED = ClientError(ErrorCode.UNAUTHORIZED, "a valid token is needed")
BAD_CREDENTIALS = ClientError(ErrorCode.UNAUTHORIZED, "wrong user name or password")
DEVICE_REVOKED = ClientError(ErrorCode.UNAUTHORIZED, "device revoked")
TIMEOUT = ClientError(
    ErrorCode.TIMEOUT, "the log did not answer in time; retry with the same ids"
)
NOT_READY = ClientError(ErrorCode.UNAVAILABLE, "the edge is still catching up; retry shortly")
INTERNAL = ClientError(ErrorCode.INTERNAL, "internal error")


def validation_problems(error: ValidationError) -> str:
    """The first few offending fields and why, for a `bad_frame` or `invalid` message."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in error.errors()[:5]
    )
