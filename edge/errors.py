"""One table from domain outcomes to what clients see: HTTP status and stable error code.

Not-a-member and no-such-conversation share one answer, so a stranger cannot learn that a
conversation exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from schemas.models import RejectionCode


@dataclass(frozen=True)
class ClientError(Exception):
    """An error a client caused or must handle; `code` is stable across versions."""

    code: str
    message: str
    status: int = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


_REJECTIONS: dict[RejectionCode, tuple[str, int]] = {
    RejectionCode.INVALID: ("invalid", 400),
    RejectionCode.MALFORMED: ("invalid", 400),
    RejectionCode.UNKNOWN_SCHEMA: ("invalid", 400),
    RejectionCode.TOO_LARGE: ("too_large", 413),
    RejectionCode.NO_SUCH_CONVERSATION: ("not_found", 404),
    RejectionCode.NOT_A_MEMBER: ("not_found", 404),
    RejectionCode.FORBIDDEN: ("forbidden", 403),
    RejectionCode.CONFLICT: ("conflict", 409),
    RejectionCode.NO_SUCH_MESSAGE: ("no_such_message", 404),
}

NOT_FOUND_MESSAGE = "no such conversation"


def rejection_error(code: RejectionCode, reason: str) -> ClientError:
    client_code, status = _REJECTIONS.get(code, ("invalid", 400))
    if client_code == "not_found":
        reason = NOT_FOUND_MESSAGE
    return ClientError(client_code, reason, status)


UNAUTHORIZED = ClientError("unauthorized", "a valid token is needed", 401)
BAD_CREDENTIALS = ClientError("unauthorized", "wrong user name or password", 401)
TIMEOUT = ClientError("timeout", "the log did not answer in time; retry with the same ids", 503)
NOT_READY = ClientError("unavailable", "the edge is still catching up; retry shortly", 503)


def validation_problems(error: ValidationError) -> str:
    """The first few offending fields and why, for a `bad_frame` or `invalid` message."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in error.errors()[:5]
    )
