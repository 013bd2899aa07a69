"""Schema evolution: published versions stay readable both ways; incompatible changes fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from schemas import codec
from schemas import models as m
from schemas.catalog import definitions, expanded, wire_type_names
from schemas.compatibility import fully_compatible_problems, read_problems
from schemas.registry import compatibility_problems, fingerprint, published_versions
from tests.unit.samples import sample

SENT = "parley.event.MessageSent"


def test_message_sent_has_an_older_published_version() -> None:
    versions = published_versions(SENT)
    assert len(versions) >= 2
    assert "expires_after_ms" not in {f["name"] for f in versions[0]["fields"]}


def test_newer_reader_reads_older_record() -> None:
    old = published_versions(SENT)[0]
    datum = sample(old)
    data = codec.encode_with_schema(old, datum)
    record = codec.decode(data)
    assert isinstance(record, m.MessageSent)
    assert record.expires_after_ms is None
    assert record.meta.seq == datum["meta"]["seq"]


def test_older_reader_reads_newer_record() -> None:
    old = published_versions(SENT)[0]
    record = codec.from_avro(SENT, {**sample(definitions()[SENT]), "expires_after_ms": 5000})
    datum = codec.decode_with_schema(codec.encode(record), old)
    assert "expires_after_ms" not in datum
    assert datum["meta"]["conversation_id"] == "text"


@pytest.mark.parametrize("name", wire_type_names())
def test_current_schema_is_published_and_compatible(name: str) -> None:
    """Changing an .avsc without `python -m schemas.registry freeze` fails here, and so does
    any change that an older or newer reader could not follow."""
    assert compatibility_problems(name) == []
    published = {fingerprint(v) for v in published_versions(name)}
    assert fingerprint(expanded(name)) in published, (
        f"run: python -m schemas.registry freeze ({name})"
    )


def _mutated(change: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    old = expanded(SENT)
    new = copy.deepcopy(old)
    change(new)
    return new, old


def test_new_field_without_default_is_incompatible() -> None:
    new, old = _mutated(lambda s: s["fields"].append({"name": "priority", "type": "int"}))
    problems = fully_compatible_problems(new, old)
    assert any("priority" in p and "without a default" in p for p in problems)


def test_new_field_with_default_is_compatible() -> None:
    new, old = _mutated(
        lambda s: s["fields"].append({"name": "priority", "type": "int", "default": 0})
    )
    assert fully_compatible_problems(new, old) == []


def test_changed_field_type_is_incompatible() -> None:
    def change(s: dict[str, Any]) -> None:
        next(f for f in s["fields"] if f["name"] == "mentions")["type"] = "string"

    new, old = _mutated(change)
    assert fully_compatible_problems(new, old)


def test_removed_field_without_default_is_incompatible() -> None:
    new, old = _mutated(lambda s: s["fields"].remove(s["fields"][0]))
    assert any("meta" in p for p in fully_compatible_problems(new, old))


def test_enum_symbol_removed_breaks_new_readers_of_old_data() -> None:
    old = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
    new = {"type": "enum", "name": "E", "symbols": ["A"]}
    assert read_problems(new, old)
    assert not read_problems(old, new)


def test_int_widens_to_long_but_not_back() -> None:
    assert not read_problems("long", "int")
    assert read_problems("int", "long")
