"""What a log writer's pure core answers a command with, and how its rules say so.

`decide(state, command)` returns a `Decision`: the event to write (`Accepted`), the seq of
an earlier identical command (`Duplicate`), nothing to write (`Unchanged`), or a refusal
(`Rejected`). Inside `decide`, a rule raises `RejectedError` to refuse and `NoChangeError`
when the command is already true; `decide` turns both into a `Decision`. Shared by the
sequencer and the account registry, whose rules differ and whose answers do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from schemas.models import RejectionCode

EventT_co = TypeVar("EventT_co", covariant=True)


@dataclass(frozen=True)
class Accepted(Generic[EventT_co]):
    event: EventT_co


@dataclass(frozen=True)
class Duplicate:
    seq: int


@dataclass(frozen=True)
class Unchanged:
    """Valid, but the state already says so (an ack that does not advance, say)."""


@dataclass(frozen=True)
class Rejected:
    code: RejectionCode
    reason: str


Decision = Accepted[EventT_co] | Duplicate | Unchanged | Rejected


class RejectedError(Exception):
    def __init__(self, code: RejectionCode, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class NoChangeError(Exception):
    """The command is valid and already true of the state."""
