"""From a record's bytes to a typed record, once: what a reader accepts, and what it cannot
use (which the follower's policy then parks or skips; see the package docstring)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar, get_args

from confluent_kafka import Message

from schemas import codec
from schemas import models as m
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.record import AvroRecord
from schemas.topics import parse_session_key

T_co = TypeVar("T_co", covariant=True)
Decoder = Callable[[Message], T_co]
"""Turns a record into what its reader applies; raises `UnusableRecordError` when it cannot."""


class Unusable(StrEnum):
    MALFORMED = "malformed"
    UNKNOWN_SCHEMA = "unknown schema"
    UNEXPECTED = "unexpected"
    """Well-formed, but not of a type this reader takes (an event on the commands topic)."""
    UNAPPLICABLE = "unapplicable"
    """Of a type this reader takes, but breaking an invariant of its log that no writer of
    the log breaks (an event naming seq -1): its reader cannot apply it, now or ever."""


class UnusableRecordError(Exception):
    def __init__(self, kind: Unusable, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def decode_value(
    value: bytes, accept: tuple[type[AvroRecord], ...], what: str = "expected here"
) -> AvroRecord:
    """The Avro record in `value`, if it is one of `accept` (`what` names them, for the
    reason given when it is not: "a command", "an event")."""
    try:
        decoded = codec.decode(value)
    except UnknownSchemaError as e:
        raise UnusableRecordError(Unusable.UNKNOWN_SCHEMA, str(e)) from e
    except MalformedRecordError as e:
        raise UnusableRecordError(Unusable.MALFORMED, str(e)) from e
    if not isinstance(decoded, accept):
        raise UnusableRecordError(Unusable.UNEXPECTED, f"{decoded.avro_name} is not {what}")
    return decoded


def avro_decoder(
    accept: tuple[type[AvroRecord], ...], what: str = "expected here"
) -> Decoder[AvroRecord]:
    """A decoder of records whose value is one of `accept`."""

    def decode(record: Message) -> AvroRecord:
        return decode_value(record.value() or b"", accept, what)

    return decode


@dataclass(frozen=True)
class SessionRecord:
    """A record of the session directory: where a user is online, or (None) no longer."""

    user_id: str
    node: int
    entry: m.UserOnNode | None


decode_event: Decoder[AvroRecord] = avro_decoder(get_args(m.Event), "an event")
"""What a processor reads off the events topic; anything else is unusable (parked)."""


def decode_session(record: Message) -> SessionRecord:
    """The sessions topic is read by the fan-out and by every edge node (presence)."""
    key = record.key()
    if not key:
        raise UnusableRecordError(Unusable.MALFORMED, "a session record without a key")
    try:
        user, node = parse_session_key(key)
    except (UnicodeDecodeError, ValueError) as e:
        raise UnusableRecordError(Unusable.MALFORMED, f"session key {key!r}: {e}") from e
    value = record.value()
    entry = decode_value(value, (m.UserOnNode,), "a session entry") if value else None
    return SessionRecord(user, node, entry if isinstance(entry, m.UserOnNode) else None)
