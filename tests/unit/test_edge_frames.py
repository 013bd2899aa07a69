"""Client frames: valid ones parse, invalid ones fail with the offending field named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edge.errors import rejection_error
from edge.protocol import frames as f
from schemas.models import RejectionCode


def test_send_frame_parses() -> None:
    frame = f.CLIENT_FRAME.validate_python(
        {
            "type": "send",
            "id": "1",
            "conversation_id": "c",
            "client_msg_id": "k",
            "body": {"kind": "plain", "text": "hi"},
        }
    )
    assert isinstance(frame, f.SendMessage)
    assert isinstance(frame.body, f.PlainText)


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "nope", "id": "1"},
        {"type": "send", "id": "1", "conversation_id": "c", "client_msg_id": "k"},
        {
            "type": "send",
            "id": "",
            "conversation_id": "c",
            "client_msg_id": "k",
            "body": {"kind": "plain", "text": "x"},
        },
        {"type": "ack", "id": "1", "conversation_id": "c", "kind": "read", "up_to": 0},
        {"type": "fetch_history", "id": "1", "conversation_id": "c", "limit": 5000},
        {"type": "ping", "id": "1", "extra": True},
    ],
)
def test_invalid_frames_are_refused(raw: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        f.CLIENT_FRAME.validate_python(raw)


def test_strangers_cannot_tell_missing_from_forbidden() -> None:
    missing = rejection_error(RejectionCode.NO_SUCH_CONVERSATION, "no such conversation")
    not_member = rejection_error(RejectionCode.NOT_A_MEMBER, "not a member of this conversation")
    assert (missing.code, missing.message, missing.status) == (
        not_member.code,
        not_member.message,
        not_member.status,
    )
