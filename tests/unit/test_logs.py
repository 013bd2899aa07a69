"""Logs are one JSON object per line, carry the current trace, and never show a message
body, a token or a password, whichever way the code happened to log them."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from schemas import models as m
from telemetry.logs import REDACTED, JsonFormatter, RedactionFilter, configure_logging, redact

BODY = "meet me at the old mill at nine"
PASSWORD = "correct horse battery"
TOKEN = "d-0123456789abcdef0123456789abcdef.Zq3v0W8yqYb1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r"
SECRET_HASH = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"


@pytest.fixture
def logged() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger wired exactly as configure_logging wires the root one, writing to a buffer."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter("parley-test"))
    handler.addFilter(RedactionFilter())
    logger = logging.getLogger(f"parley.test.{id(out)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield logger, out
    logger.removeHandler(handler)


def lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def assert_clean(text: str) -> None:
    for secret in (BODY, PASSWORD, TOKEN.split(".", 1)[1], SECRET_HASH, "hunter2"):
        assert secret not in text


def test_a_line_is_one_json_object_with_the_usual_fields(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    logger.info("assigned %s", [0, 1], extra={"partition_count": 2})
    (line,) = lines(out)
    assert line["level"] == "INFO"
    assert line["logger"] == logger.name
    assert line["service"] == "parley-test"
    assert line["message"] == "assigned [0, 1]"
    assert line["partition_count"] == 2
    assert datetime.fromisoformat(line["ts"]).tzinfo is not None
    assert "trace_id" not in line and "span_id" not in line


def test_a_line_written_inside_a_span_carries_its_trace_and_span_ids(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    context = SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(context)):
        logger.warning("inside")
    logger.warning("outside")
    inside, outside = lines(out)
    assert inside["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    assert inside["span_id"] == "b7ad6b7169203331"
    assert "trace_id" not in outside


@pytest.mark.parametrize(
    ("message", "args"),
    [
        ("login %s password=%s", ("ann", PASSWORD)),
        ("login %s password: %s", ("ann", "hunter2")),
        ("request body %s", ({"username": "ann", "password": PASSWORD},)),
        ("frame %s", (json.dumps({"type": "send", "body": {"kind": "plain", "text": BODY}}),)),
        ("frame %s", ('{"type":"send","body":{"kind":"plain","text":"' + BODY + '"}}',)),
        ("headers %s", ({"Authorization": f"Bearer {TOKEN}"},)),
        ("GET /v1/ws Authorization: Bearer %s", (TOKEN,)),
        ("device %s connected", (TOKEN,)),
        ("token=%s&x=1", (TOKEN,)),
        ("stored %s", ({"token_hash": SECRET_HASH},)),
        ("message text: %s", (BODY,)),
    ],
)
def test_credentials_and_bodies_in_the_message_are_redacted(
    logged: tuple[logging.Logger, io.StringIO], message: str, args: tuple[object, ...]
) -> None:
    logger, out = logged
    logger.info(message, *args)
    text = out.getvalue()
    assert_clean(text)
    assert REDACTED in lines(out)[0]["message"]


def test_commands_logged_as_models_show_no_body_and_no_password_hash(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    meta = m.CommandMeta(
        command_id="c1",
        conversation_id="dm-1",
        actor=m.Actor(user_id="ann", device_id="d1"),
        client_msg_id="k1",
        issued_at=datetime(2026, 11, 28, tzinfo=UTC),
    )
    send = m.SendMessage(meta=meta, body=m.PlainBody(text=BODY), reply_to_seq=None)
    register = m.RegisterAccount(
        meta=m.AccountCommandMeta(
            command_id="c2",
            user_id="ann",
            device_id="registration",
            client_msg_id="k2",
            issued_at=datetime(2026, 11, 28, tzinfo=UTC),
        ),
        display_name="Ann",
        password_hash=f"$argon2id$v=19$m=65536,t=3,p=4${SECRET_HASH}",
    )
    logger.info("decided %r", send)
    logger.info("decided %s", register)
    assert_clean(out.getvalue())
    assert "dm-1" in out.getvalue()  # ids stay: a log without them is no use


def test_structured_extras_with_sensitive_names_are_dropped(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    logger.info(
        "login",
        extra={
            "password": PASSWORD,
            "request": {"headers": {"authorization": f"Bearer {TOKEN}"}, "body": BODY},
            "user": "ann",
        },
    )
    (line,) = lines(out)
    assert line["password"] == REDACTED
    assert line["request"]["body"] == REDACTED
    assert line["request"]["headers"]["authorization"] == REDACTED
    assert line["user"] == "ann"
    assert_clean(out.getvalue())


def test_exceptions_and_their_tracebacks_are_redacted(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    try:
        raise ValueError(f"bad login: password={PASSWORD!r} token={TOKEN}")
    except ValueError:
        logger.exception("request failed")
    (line,) = lines(out)
    assert "Traceback" in line["exception"] and "ValueError" in line["exception"]
    assert_clean(out.getvalue())


def test_an_unformattable_message_is_still_written(
    logged: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = logged
    logger.info("two %s %s", "one")  # noqa: PLE1206 (the mistake under test)
    assert "unformattable" in lines(out)[0]["message"]


def test_configure_logging_replaces_the_root_handlers() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    out = io.StringIO()
    try:
        handler = configure_logging("parley-test", stream=out)
        assert root.handlers == [handler]
        logging.getLogger("parley.any").info("password=%s", PASSWORD)
    finally:
        for h in list(root.handlers):
            root.removeHandler(h)
        for h in saved:
            root.addHandler(h)
        root.setLevel(level)
        logging.captureWarnings(False)
    (line,) = lines(out)
    assert line["service"] == "parley-test"
    assert_clean(out.getvalue())


def test_redact_keeps_what_is_not_secret() -> None:
    text = "edge node 3 ready; device d-0123 reading too slowly; 12 transactions"
    assert redact(text) == text


def test_a_search_query_in_an_access_log_line_is_redacted() -> None:
    line = '127.0.0.1 "GET /v1/search?query=canary42secret&limit=5 HTTP/1.1" 200'
    assert redact(line) == '127.0.0.1 "GET /v1/search?query=[redacted]&limit=5 HTTP/1.1" 200'
