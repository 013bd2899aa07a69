"""docs/protocol.md and the protocol's models cannot drift apart.

Its reference section is generated from the models (edge/protocol_doc.py) and must be
current; the hand-written parts may name only types that exist, list every request with
its answer model and only fields those models have, every push, and exactly the error
codes of `ErrorCode`.
"""

from __future__ import annotations

import re
import typing
from typing import get_args

import pytest
from pydantic import BaseModel

from edge.errors import ErrorCode
from edge.protocol import frames as f
from edge.protocol.answers import ANSWERS
from edge.protocol.pushes import SERVER_FRAMES
from edge.protocol_doc import BEGIN, DOCUMENT, current, published_models
from schemas import models as m

TEXT = DOCUMENT.read_text()
PROSE = TEXT[: TEXT.index(BEGIN)]
TICKED = re.compile(r"`([^`]+)`")
IDENTIFIER = re.compile(r"^[a-z_]+\??$")
TYPE_NAME = re.compile(r"^[A-Z][A-Za-z0-9]+$")
MODELS = published_models()
JSON_LITERALS = {"null", "true", "false"}
FRAMES: dict[str, type[f.Frame]] = {
    str(get_args(frame.model_fields["type"].annotation)[0]): frame
    for frame in typing.get_args(f.Request)
}


def section(title: str) -> str:
    start = PROSE.index(title)
    following = PROSE.find("\n## ", start + len(title))
    return PROSE[start : following if following >= 0 else len(PROSE)]


def table_rows() -> dict[str, tuple[str, str]]:
    """The request table: frame type -> (fields cell, answer cell)."""
    rows = {}
    for line in section("## Requests and responses").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = (cells[1], cells[2])
    return rows


def words(cell: str) -> tuple[set[str], set[str]]:
    """The field-like and the type-like names a cell puts in backticks."""
    ticked = TICKED.findall(cell)
    return (
        {t.rstrip("?") for t in ticked if IDENTIFIER.match(t)},
        {t for t in ticked if TYPE_NAME.match(t)},
    )


def vocabulary(*models: type[BaseModel]) -> set[str]:
    """Field names of the models, and the values their literal fields allow."""
    found: set[str] = set()
    for model in models:
        for name, field in model.model_fields.items():
            found.add(name)
            found.update(str(a) for a in get_args(field.annotation) if isinstance(a, str))
    return found


def test_the_reference_is_generated_from_the_current_models() -> None:
    assert current(TEXT) == TEXT, "docs/protocol.md is stale: run python -m edge.protocol_doc"


def test_every_type_the_document_names_exists() -> None:
    known = set(MODELS) | {record.__name__ for record in m.RECORD_TYPES.values()}
    named = {t for t in TICKED.findall(PROSE) if TYPE_NAME.match(t)}
    assert named - known == set()


def test_every_request_has_a_row_naming_its_answer_model() -> None:
    rows = table_rows()
    assert set(rows) == set(FRAMES) - {"authenticate"}  # that one has a section of its own
    assert '{"type":"authenticate"' in section("## Authentication")
    for kind, (_, answer) in rows.items():
        first = TICKED.findall(answer)[0]
        assert first == ANSWERS[FRAMES[kind]].__name__, kind


@pytest.mark.parametrize("kind", sorted(set(FRAMES) - {"authenticate"}))
def test_a_row_names_only_fields_its_models_have(kind: str) -> None:
    fields, answer = table_rows()[kind]
    frame = FRAMES[kind]
    named_fields, named_types = words(fields)
    assert named_fields <= vocabulary(frame, *(MODELS[t] for t in named_types if t in MODELS))
    answer_fields, answer_types = words(answer)
    allowed = vocabulary(ANSWERS[frame], frame, *(MODELS[t] for t in answer_types if t in MODELS))
    pushes = {str(get_args(p.model_fields["type"].annotation)[0]) for p in SERVER_FRAMES.values()}
    assert answer_fields <= allowed | pushes | JSON_LITERALS, kind


def test_every_push_is_described() -> None:
    pushes = section("## Pushes")
    for push in SERVER_FRAMES.values():
        kind = str(get_args(push.model_fields["type"].annotation)[0])
        if kind not in ("response", "error"):
            assert f'{{"type":"{kind}"' in pushes, kind


def test_the_error_codes_listed_are_exactly_the_enums() -> None:
    listed = section("### Error codes (stable)").split("A frame over")[0]
    assert set(TICKED.findall(listed)) == {code.value for code in ErrorCode}
