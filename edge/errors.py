"""One table from domain outcomes to what clients see: a stable error code and its HTTP status.

`ErrorCode` owns each code's status; every `ClientError` names one of its codes.
Not-a-member and no-such-conversation share one answer, so a stranger cannot learn that a
conversation exists; so do someone else's media and media that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from http import HTTPStatus

from pydantic import ValidationError

from edge.protocol.answers import ErrorAnswer, ErrorDetail
from edge.protocol.pushes import ErrorFrame
from media.errors import MediaError
from projections.search.errors import InvalidSearchError, SearchError, SearchTimeoutError
from schemas.models import MediaErrorCode, RejectionCode


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
    EMPTY_FILE = "empty_file"
    OVER_QUOTA = "over_quota"
    BAD_FILE_NAME = "bad_file_name"
    BAD_DIGEST = "bad_digest"
    UNSUPPORTED_TYPE = "unsupported_type"
    EXPIRED = "expired"
    ALREADY_COMPLETED = "already_completed"
    INCOMPLETE = "incomplete"
    SIZE_MISMATCH = "size_mismatch"
    DIGEST_MISMATCH = "digest_mismatch"
    TYPE_MISMATCH = "type_mismatch"
    POLYGLOT = "polyglot"
    DANGEROUS_TYPE = "dangerous_type"
    MALWARE = "malware"
    CORRUPT = "corrupt"
    DECOMPRESSION_BOMB = "decompression_bomb"
    MEDIA_NOT_READY = "media_not_ready"

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
    ErrorCode.EMPTY_FILE: HTTPStatus.BAD_REQUEST,
    ErrorCode.OVER_QUOTA: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.BAD_FILE_NAME: HTTPStatus.BAD_REQUEST,
    ErrorCode.BAD_DIGEST: HTTPStatus.BAD_REQUEST,
    ErrorCode.UNSUPPORTED_TYPE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.EXPIRED: HTTPStatus.GONE,
    ErrorCode.ALREADY_COMPLETED: HTTPStatus.CONFLICT,
    ErrorCode.INCOMPLETE: HTTPStatus.CONFLICT,
    ErrorCode.SIZE_MISMATCH: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.DIGEST_MISMATCH: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.TYPE_MISMATCH: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.POLYGLOT: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.DANGEROUS_TYPE: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.MALWARE: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.CORRUPT: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.DECOMPRESSION_BOMB: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.MEDIA_NOT_READY: HTTPStatus.CONFLICT,
}


@dataclass(eq=False)
class ClientError(Exception):
    """An error a client caused or must handle. Not a frozen dataclass: raising one through a
    `@contextmanager` sets its `__traceback__`, which a frozen one refused with
    FrozenInstanceError, hiding the error (found by bench erasure)."""

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
    RejectionCode.NO_SUCH_MEDIA: ErrorCode.NOT_FOUND,
    RejectionCode.MEDIA_NOT_READY: ErrorCode.MEDIA_NOT_READY,
}
_STRANGERS = frozenset({RejectionCode.NO_SUCH_CONVERSATION, RejectionCode.NOT_A_MEMBER})
"""Refusals a stranger must not tell apart: one message for both."""

NOT_FOUND_MESSAGE = "no such conversation"


def rejection_error(code: RejectionCode, reason: str) -> ClientError:
    client_code = _REJECTIONS.get(code, ErrorCode.INVALID)
    if code in _STRANGERS:
        reason = NOT_FOUND_MESSAGE
    return ClientError(client_code, reason)


_MEDIA: dict[MediaErrorCode, ErrorCode] = {
    MediaErrorCode.INVALID: ErrorCode.INVALID,
    MediaErrorCode.EMPTY_FILE: ErrorCode.EMPTY_FILE,
    MediaErrorCode.TOO_LARGE: ErrorCode.TOO_LARGE,
    MediaErrorCode.OVER_QUOTA: ErrorCode.OVER_QUOTA,
    MediaErrorCode.BAD_FILE_NAME: ErrorCode.BAD_FILE_NAME,
    MediaErrorCode.BAD_DIGEST: ErrorCode.BAD_DIGEST,
    MediaErrorCode.UNSUPPORTED_TYPE: ErrorCode.UNSUPPORTED_TYPE,
    MediaErrorCode.NOT_FOUND: ErrorCode.NOT_FOUND,
    MediaErrorCode.EXPIRED: ErrorCode.EXPIRED,
    MediaErrorCode.ALREADY_COMPLETED: ErrorCode.ALREADY_COMPLETED,
    MediaErrorCode.INCOMPLETE: ErrorCode.INCOMPLETE,
    MediaErrorCode.SIZE_MISMATCH: ErrorCode.SIZE_MISMATCH,
    MediaErrorCode.DIGEST_MISMATCH: ErrorCode.DIGEST_MISMATCH,
    MediaErrorCode.TYPE_MISMATCH: ErrorCode.TYPE_MISMATCH,
    MediaErrorCode.POLYGLOT: ErrorCode.POLYGLOT,
    MediaErrorCode.DANGEROUS_TYPE: ErrorCode.DANGEROUS_TYPE,
    MediaErrorCode.MALWARE: ErrorCode.MALWARE,
    MediaErrorCode.CORRUPT: ErrorCode.CORRUPT,
    MediaErrorCode.DECOMPRESSION_BOMB: ErrorCode.DECOMPRESSION_BOMB,
    MediaErrorCode.STORAGE_UNAVAILABLE: ErrorCode.UNAVAILABLE,
}
NO_SUCH_MEDIA_MESSAGE = "no such media"


def media_code(code: MediaErrorCode) -> ErrorCode:
    """The client's code for a media refusal (one a newer processor wrote reads INVALID)."""
    return _MEDIA.get(code, ErrorCode.INVALID)


def media_error(error: MediaError) -> ClientError:
    """A refusal of the upload service as clients see it; an unknown or someone else's
    media is one answer, without the id."""
    code = media_code(error.code)
    reason = NO_SUCH_MEDIA_MESSAGE if code is ErrorCode.NOT_FOUND else error.reason
    return ClientError(code, reason)


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
NO_SUCH_MEDIA = ClientError(ErrorCode.NOT_FOUND, NO_SUCH_MEDIA_MESSAGE)
INTERNAL = ClientError(ErrorCode.INTERNAL, "internal error")


def validation_problems(error: ValidationError) -> str:
    """The first few offending fields and why, for a `bad_frame` or `invalid` message."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in error.errors()[:5]
    )
