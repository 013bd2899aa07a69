"""Untrusted JSON, as clients send it: every WebSocket frame and every REST body is parsed
here, once, into plain values that the protocol's models then validate.

The parser is pydantic-core's (the models' own), not the standard library's, because of
what each does with hostile text (issue 15 found each of these through the edge):

- nesting: `json.loads` recurses in C and raises `RecursionError` at about 1,000 levels,
  which no handler expected (the socket dropped, REST answered 500); this parser stops at
  its own depth limit (201 levels, far beyond any frame) with a plain error;
- a lone surrogate (`"\\ud800"`): `json.loads` returns a `str` that cannot be encoded
  again, so the answer that echoed it could not be serialised; here it is invalid JSON,
  as RFC 8259 permits, and no such string ever reaches the edge;
- a number of thousands of digits: `json.loads` raises a ValueError of its own kind
  (CPython's 4,300-digit limit); here it is out of range like any other;
- bytes that are not UTF-8: JSON is UTF-8 (RFC 8259 §8.1), whatever charset a
  `Content-Type` names, so the body is parsed as UTF-8 and a `charset` is ignored.

Each of these is the client's `bad_json` error, with the parser's reason.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

from edge.errors import ClientError, ErrorCode


def parse_json(text: str | bytes, what: str) -> Any:
    """The JSON value in `text`; `what` names it in the error ("a frame", "the body")."""
    try:
        return pydantic_core.from_json(text, allow_inf_nan=False)
    except ValueError as e:
        raise ClientError(ErrorCode.BAD_JSON, f"{what} is not JSON: {e}") from e
