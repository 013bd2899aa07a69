"""One log format for every process: a JSON object per line, with the trace and span ids
of the span current when it was written, and nothing a reader of logs must not see.

Redaction happens on the handler, after the message is formatted and before anything is
written, so it covers every logger, third-party ones included: device tokens and bearer
credentials, passwords and their hashes, message bodies and ciphertexts, whether they come
as `key=value`, `'key': value`, JSON, or a structured `extra` field. Code should not log
them in the first place; this is the net under that rule (tests/unit/test_logs.py).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from opentelemetry import trace

REDACTED = "[redacted]"
SENSITIVE_KEYS = (
    "password",
    "password_hash",
    "token",
    "token_hash",
    "secret",
    "authorization",
    "cookie",
    "body",
    "text",
    "ciphertext",
    "device_ciphertexts",
    "sender_key",
    "query",
)
"""Field names whose values are never written: credentials and message contents (a search
query is content: `GET /v1/search?query=...` in an access log would keep it in a file that
no erasure reaches; tests/e2e/test_compliance_erasure.py found it there)."""

_KEYS = "|".join(sorted(SENSITIVE_KEYS, key=len, reverse=True))
# `"key": "value"` / `'key': b'value'` (JSON, dict and repr forms): the quoted value.
_QUOTED = re.compile(
    rf"""(?P<key>["']?\b(?:{_KEYS})\b["']?\s*[:=]\s*)(?P<value>b?"(?:[^"\\]|\\.)*"|b?'(?:[^'\\]|\\.)*')""",
    re.IGNORECASE,
)
# `"key": {...}` / `key=Model(...)`: a nested value, up to its first closing bracket.
_NESTED = re.compile(
    rf"""(?P<key>["']?\b(?:{_KEYS})\b["']?\s*[:=]\s*)(?P<value>\w*[\{{\(\[][^\}}\)\]]*[\}}\)\]]?)""",
    re.IGNORECASE,
)
# `text: free words`: an unquoted message content has no end we could know, so the rest
# of the line goes.
_BARE_CONTENT = re.compile(
    r"""(?P<key>\b(?:body|text|ciphertext)\b\s*[:=]\s*)(?P<value>(?!\[redacted\])[^\n]+)""",
    re.IGNORECASE,
)
# `key=value` / `key: value`: an unquoted credential, up to a separator.
_BARE = re.compile(
    rf"""(?P<key>\b(?:{_KEYS})\b\s*[:=]\s*)(?P<value>(?!\[redacted\])[^\s,;&"'\}}\)\]]+)""",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<key>\bBearer\s+)(?P<value>[^\s\"',;]+)", re.IGNORECASE)
_DEVICE_TOKEN = re.compile(r"(?P<key>\bd-[0-9a-f]{32}\.)(?P<value>[A-Za-z0-9_\-]{16,})")
_PATTERNS = (_BEARER, _DEVICE_TOKEN, _QUOTED, _NESTED, _BARE_CONTENT, _BARE)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message"}


def redact(text: str) -> str:
    """`text` with every credential and message content it shows replaced by [redacted]."""
    for pattern in _PATTERNS:
        text = pattern.sub(lambda found: found["key"] + REDACTED, text)
    return text


def _redact_value(key: str, value: Any) -> Any:
    if key.lower() in SENSITIVE_KEYS:
        return REDACTED
    if isinstance(value, dict):
        return {k: _redact_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value("", v) for v in value]
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(repr(value))


class RedactionFilter(logging.Filter):
    """Formats each record's message and exception once, redacted, in place of the raw
    message, arguments and traceback; redacts its structured extras by name."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception as e:  # a wrong format string must not lose the line
            message = f"{record.msg!r} (unformattable: {e!r})"
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key in set(record.__dict__) - _STANDARD:
            record.__dict__[key] = _redact_value(key, record.__dict__[key])
        return True


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "service", "message", trace_id?, span_id?, ...extras,
    exception?}` on one line."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "service": self.service,
            "message": record.getMessage(),
        }
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            line["trace_id"] = f"{context.trace_id:032x}"
            line["span_id"] = f"{context.span_id:016x}"
        for key in sorted(set(record.__dict__) - _STANDARD):
            line[key] = record.__dict__[key]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = record.stack_info
        return json.dumps(line, default=repr, ensure_ascii=False)


def configure_logging(
    service: str, *, level: int = logging.INFO, stream: IO[str] | None = None
) -> logging.Handler:
    """Route every logger of this process to one JSON, redacting handler (replacing any)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RedactionFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
    return handler
