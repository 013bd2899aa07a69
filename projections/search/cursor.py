"""A client's cursor for the next page of a search: opaque, and bound to the search it came
from (the person and every field of the request but the cursor and the page size), so a
cursor passed with another search is refused as `invalid` instead of paging something else.

It is not signed: it grants nothing (every hit is checked against the history view whatever
the cursor says), so a forged one can only skip results of the forger's own search, and any
edge node reads any node's cursor without a shared secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from projections.search.answers import SearchRequest
from projections.search.errors import InvalidSearchError

MAX_CURSOR_CHARS = 4096


class CursorState(BaseModel):
    """`offset`: results of the search consumed so far (relevance order). `stamp`, `seen`:
    in newest-first order, the next page starts at `stamp` (microseconds) and skips the
    messages at exactly that stamp already returned, so new messages arriving between pages
    neither repeat nor hide one."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bound: str
    offset: int = Field(default=0, ge=0)
    stamp: int | None = None
    seen: tuple[tuple[str, int], ...] = ()


def fingerprint(user_id: str, request: SearchRequest) -> str:
    fields = request.model_dump(mode="json", exclude={"cursor", "limit"})
    canonical = json.dumps([user_id, fields], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def encode(state: CursorState) -> str:
    return base64.urlsafe_b64encode(state.model_dump_json().encode()).rstrip(b"=").decode()


def decode(cursor: str, bound: str) -> CursorState:
    if len(cursor) > MAX_CURSOR_CHARS:
        raise InvalidSearchError(f"the cursor is over {MAX_CURSOR_CHARS} characters")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = CursorState.model_validate_json(raw)
    except (binascii.Error, ValidationError, ValueError) as e:
        raise InvalidSearchError("the cursor is malformed") from e
    if state.bound != bound:
        raise InvalidSearchError("the cursor belongs to another search")
    return state
