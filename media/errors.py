"""Why media is refused, in the contract's own words: one stable code per refusal, no status.

The codes are the Avro enum `MediaErrorCode`, so one word names a refusal both in the answer
to a client (the edge maps each code to a status in one table) and in a `MediaRejected` event.
"""

from __future__ import annotations

from schemas.errors import ParleyError
from schemas.models import MediaErrorCode

TRANSIENT = frozenset({MediaErrorCode.STORAGE_UNAVAILABLE})
"""Codes that say "try again later" rather than "this upload is wrong"."""


class MediaError(ParleyError):
    """A refusal: `code` for programs, `reason` for people (it never carries file content)."""

    def __init__(self, code: MediaErrorCode, reason: str) -> None:
        super().__init__(f"{code.value}: {reason}")
        self.code = code
        self.reason = reason

    @property
    def transient(self) -> bool:
        return self.code in TRANSIENT
