"""Hostile input at the edge's own layer (no network): JSON the standard parser mishandles,
numbers beyond the log's range, the `Authorization` scheme's case, the HTTP layer's error
codes, and the emoji limit the frame and the sequencer must agree on. Issue 15 found each
of these through a running edge; tests/e2e/test_hostile_input.py repeats them there."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from edge.accounts import bearer_token
from edge.errors import ClientError, ErrorCode
from edge.http_errors import code_for
from edge.json_input import parse_json
from edge.protocol import frames as f
from streams.sequencer.rules import DEFAULT_LIMITS

DEEP = "[" * 1000 + "]" * 1000


@pytest.mark.parametrize(
    "text",
    [
        '{"type":"ping","id":"\\ud800"}',
        '{"type":"subscribe_presence","id":"1","user_ids":["\\udfff"]}',
        DEEP,
        '{"type":"ping","id":' + DEEP + "}",
        '{"type":"ack","id":"1","up_to":' + "9" * 4400 + "}",
        '{"type":"ping","id":"1","n":NaN}',
    ],
)
def test_json_the_standard_parser_mishandles_is_bad_json(text: str) -> None:
    """Regression: a lone surrogate made an answer that could not be serialised (the socket
    dropped, `user_ids` answered `internal`); 1,000 levels raised RecursionError (the socket
    dropped, REST answered 500); 4,400 digits raised CPython's own ValueError (REST 500)."""
    with pytest.raises(ClientError) as caught:
        parse_json(text, "a frame")
    assert caught.value.code is ErrorCode.BAD_JSON
    with pytest.raises(ClientError):
        parse_json(text.encode(), "the body")


def test_nesting_is_read_to_the_documented_depth() -> None:
    """docs/protocol.md: nesting deeper than 201 levels is `bad_json` (the fuzz harness,
    bench/edge_fuzz.py, judges answers by that rule)."""
    assert parse_json("[" * 201 + "]" * 201, "a frame") is not None
    with pytest.raises(ClientError) as caught:
        parse_json("[" * 202 + "]" * 202, "a frame")
    assert caught.value.code is ErrorCode.BAD_JSON


def test_a_surrogate_pair_written_as_escapes_is_one_character() -> None:
    assert parse_json('{"id":"\\ud83d\\ude42"}', "a frame") == {"id": "🙂"}
    assert parse_json(json.dumps({"id": "🙂"}).encode(), "the body") == {"id": "🙂"}


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "ack", "id": "1", "conversation_id": "c", "kind": "read", "up_to": 2**63},
        {"type": "delete", "id": "1", "conversation_id": "c", "seq": 2**63, "scope": "for_me"},
        {"type": "react", "id": "1", "conversation_id": "c", "seq": 2**63, "emoji": "👍"},
        {
            "type": "edit",
            "id": "1",
            "conversation_id": "c",
            "seq": 2**64,
            "body": {"kind": "plain", "text": "x"},
        },
        {"type": "fetch_history", "id": "1", "conversation_id": "c", "after": 2**63},
        {"type": "sync", "id": "1", "cursors": {"c": 2**63}},
    ],
)
def test_a_seq_beyond_the_logs_range_is_a_bad_frame(frame: dict[str, object]) -> None:
    """Regression: 2^63 passed the frame models, overflowed the Avro long and answered
    `internal`."""
    with pytest.raises(ValidationError):
        f.CLIENT_FRAME.validate_python(frame)
    largest: dict[str, object] = {
        k: f.MAX_SEQ if k in ("up_to", "seq", "after") else v for k, v in frame.items()
    }
    if "cursors" in frame:
        largest["cursors"] = {"c": f.MAX_SEQ}
    f.CLIENT_FRAME.validate_python(largest)


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer d-1.s", "d-1.s"),
        ("bearer d-1.s", "d-1.s"),
        ("BEARER  d-1.s ", "d-1.s"),
        ("Basic d-1.s", None),
        ("Bearerd-1.s", None),
        ("", None),
    ],
)
def test_the_authorization_scheme_is_case_insensitive(header: str, token: str | None) -> None:
    """Regression: `Authorization: bearer <token>` was refused (RFC 7235: the scheme is
    case-insensitive)."""
    assert bearer_token(header) == token


def test_the_http_layers_errors_have_codes_of_the_enum() -> None:
    assert code_for(404) is ErrorCode.NOT_FOUND
    assert code_for(405) is ErrorCode.METHOD_NOT_ALLOWED
    assert code_for(413) is ErrorCode.TOO_LARGE
    assert code_for(400) is code_for(431) is ErrorCode.INVALID
    assert code_for(500) is code_for(502) is ErrorCode.INTERNAL
    assert ErrorCode.METHOD_NOT_ALLOWED.status == 405


def test_the_emoji_limit_of_the_frame_is_the_sequencers() -> None:
    """Regression: the docs and the frame said 1 to 32 characters, the sequencer 64 bytes,
    so 17 x U+1F642 (68 bytes) passed the edge and was refused by the sequencer."""
    limit = DEFAULT_LIMITS.max_emoji_chars
    react = {"type": "react", "id": "1", "conversation_id": "c", "seq": 1}
    f.CLIENT_FRAME.validate_python({**react, "emoji": "🙂" * limit})
    with pytest.raises(ValidationError):
        f.CLIENT_FRAME.validate_python({**react, "emoji": "🙂" * (limit + 1)})
