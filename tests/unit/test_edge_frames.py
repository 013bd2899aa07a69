"""Client frames: valid ones parse, invalid ones fail with the offending field named; errors
come back with one stable code and that code's one HTTP status."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pydantic import ValidationError

from edge.errors import ClientError, ErrorCode, rejection_error
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


def test_every_error_code_has_its_one_http_status() -> None:
    statuses = {code: code.status for code in ErrorCode}
    assert statuses[ErrorCode.NOT_FOUND] == statuses[ErrorCode.NO_SUCH_MESSAGE] == 404
    assert statuses[ErrorCode.UNAUTHORIZED] == 401
    assert statuses[ErrorCode.TIMEOUT] == statuses[ErrorCode.UNAVAILABLE] == 503
    assert all(400 <= s < 600 for s in statuses.values())
    error = ClientError(ErrorCode.TOO_LARGE, "too big")
    assert (error.status, error.answer().model_dump()) == (
        413,
        {"error": {"code": "too_large", "message": "too big"}},
    )
    assert error.frame("r1").model_dump_json() == (
        '{"type":"error","id":"r1","code":"too_large","message":"too big"}'
    )


def test_every_client_error_the_edge_raises_names_a_code_of_the_enum() -> None:
    """No `ClientError("invalid", ..., 404)`: a code and its status come from `ErrorCode`."""
    root = Path(__file__).resolve().parents[2] / "edge"
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ClientError"
            ):
                where = f"{path.name}:{node.lineno}"
                assert len(node.args) == 2 and not node.keywords, where
                code = node.args[0]
                if path.name == "errors.py" and isinstance(code, ast.Name):
                    continue  # the rejection table's own lookup, typed ErrorCode
                assert isinstance(code, ast.Attribute), where
                assert isinstance(code.value, ast.Name) and code.value.id == "ErrorCode", where


def test_a_client_error_passes_through_a_context_manager_as_itself() -> None:
    """Regression (bench erasure): a frozen ClientError raised inside a `@contextmanager`
    turned into FrozenInstanceError (the generator's exit sets `__traceback__`)."""

    @contextmanager
    def around() -> Iterator[None]:
        yield

    with pytest.raises(ClientError) as raised, around():
        raise ClientError(ErrorCode.INVALID, "bad input")
    assert raised.value.code is ErrorCode.INVALID
