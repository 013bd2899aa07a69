"""Events as clients see them: the Avro record turned into plain JSON.

`{"type": "MessageSent", "seq": 7, "conversation_id": "...", "actor": {...},
"client_msg_id": "...", "occurred_at_ms": 1764..., ...the event's own fields}`; bytes are
base64; a body is `{"kind": "plain", "text": ...}` or `{"kind": "e2ee", ...}`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from enum import Enum
from typing import Any

from schemas import models as m
from schemas.record import AvroRecord


def event_json(event: AvroRecord) -> dict[str, Any]:
    meta: m.EventMeta = event.meta  # type: ignore[attr-defined]
    out: dict[str, Any] = {
        "type": type(event).__name__,
        "seq": meta.seq,
        "conversation_id": meta.conversation_id,
        "actor": {"user_id": meta.actor.user_id, "device_id": meta.actor.device_id},
        "client_msg_id": meta.client_msg_id,
        "occurred_at_ms": int(meta.occurred_at.timestamp() * 1000),
    }
    for name in type(event).model_fields:
        if name != "meta":
            out[name] = _value(getattr(event, name))
    return out


def body_json(body: AvroRecord) -> dict[str, Any]:
    if isinstance(body, m.PlainBody):
        return {"kind": "plain", "text": body.text}
    if isinstance(body, m.EncryptedBody):
        return {
            "kind": "e2ee",
            "scheme": body.scheme.value,
            "sender_key": body.sender_key,
            "session_id": body.session_id,
            "ciphertext": base64.b64encode(body.ciphertext).decode(),
            "device_ciphertexts": {
                d: base64.b64encode(c).decode() for d, c in body.device_ciphertexts.items()
            },
        }
    if isinstance(body, m.SealedBody):
        return {"kind": "sealed", "key_id": body.key_id}
    raise TypeError(f"not a body: {body!r}")


def _value(value: Any) -> Any:
    if isinstance(value, m.PlainBody | m.EncryptedBody | m.SealedBody):
        return body_json(value)
    if isinstance(value, AvroRecord):
        return {n: _value(getattr(value, n)) for n in type(value).model_fields}
    if isinstance(value, tuple | list):
        return [_value(v) for v in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value
