"""The log's events as a device sees them: each Avro record turned into its protocol model
(edge/protocol/events.py), or into a `Hidden` placeholder where the viewer may not see it.

A `MessageDeleted` with scope FOR_ME reaches only its author as itself; the other members
see a placeholder, so that their seqs stay dense and nobody learns what someone hid.
"""

from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum
from typing import Any

from edge.protocol import events as v
from edge.protocol.frames import E2EECiphertext, PlainText
from schemas import models as m
from schemas.record import AvroRecord

VIEWS: dict[str, type[v.Event]] = {view.model_fields["type"].default: view for view in v.LOG_EVENTS}
"""The protocol model of each event, by its Avro record's name."""
AS_IS = frozenset({str, int, float, bool, type(None)})
"""Values that are the same in JSON (an enum, though a str, is not: it goes by its value)."""
_fields: dict[type[AvroRecord], tuple[str, ...]] = {}


def event_view(event: m.Event) -> v.Event:
    meta = event.meta
    fields: dict[str, Any] = {
        "seq": meta.seq,
        "conversation_id": meta.conversation_id,
        "actor": {"user_id": meta.actor.user_id, "device_id": meta.actor.device_id},
        "client_msg_id": meta.client_msg_id,
        "occurred_at_ms": _millis(meta.occurred_at),
    }
    for name in _fields_of(type(event)):
        if name != "meta":
            fields[name] = _value(getattr(event, name))
    return VIEWS[type(event).__name__].model_validate(fields)


def visible_view(event: m.Event, viewer: str) -> v.Event | v.Hidden:
    """The event as `viewer` may see it (see the module docstring)."""
    meta = event.meta
    if (
        isinstance(event, m.MessageDeleted)
        and event.scope == m.DeleteScope.FOR_ME
        and meta.actor.user_id != viewer
    ):
        return hidden(meta.conversation_id, meta.seq)
    return event_view(event)


def hidden(cid: str, seq: int) -> v.Hidden:
    return v.Hidden(seq=seq, conversation_id=cid)


def body_view(body: AvroRecord) -> PlainText | E2EECiphertext | v.SealedText:
    if isinstance(body, m.PlainBody):
        return PlainText(text=body.text)
    if isinstance(body, m.EncryptedBody):
        return E2EECiphertext.model_validate(
            {
                "scheme": body.scheme.value,
                "sender_key": body.sender_key,
                "session_id": body.session_id,
                "ciphertext": _base64(body.ciphertext),
                "device_ciphertexts": {d: _base64(c) for d, c in body.device_ciphertexts.items()},
            }
        )
    if isinstance(body, m.SealedBody):
        return v.SealedText(key_id=body.key_id)
    raise TypeError(f"not a body: {body!r}")


def _value(value: Any) -> Any:
    if type(value) in AS_IS:  # most fields: checked first, for the push path's sake
        return value
    if isinstance(value, m.PlainBody | m.EncryptedBody | m.SealedBody):
        return body_view(value)
    if isinstance(value, AvroRecord):
        return {n: _value(getattr(value, n)) for n in _fields_of(type(value))}
    if isinstance(value, tuple | list):
        return [_value(item) for item in value]
    if isinstance(value, bytes):
        return _base64(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return _millis(value)
    return value


def _fields_of(record: type[AvroRecord]) -> tuple[str, ...]:
    """A record's field names, looked up once per type."""
    names = _fields.get(record)
    if names is None:
        names = _fields[record] = tuple(record.model_fields)
    return names


def _base64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)
