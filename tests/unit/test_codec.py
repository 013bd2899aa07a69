"""Single-object Avro encoding of every wire type, and clear errors on bad bytes."""

from __future__ import annotations

from typing import Any

import pytest

from schemas import codec
from schemas.catalog import definitions, expanded, wire_type_names
from schemas.codegen import is_named_union
from schemas.errors import MalformedRecordError, UnknownSchemaError
from tests.unit.samples import sample


@pytest.mark.parametrize("name", wire_type_names())
@pytest.mark.parametrize("branch", [0, 1, 2])
def test_every_wire_type_round_trips(name: str, branch: int) -> None:
    record = codec.from_avro(name, sample(definitions()[name], branch))
    data = codec.encode(record)
    assert data[:2] == codec.MAGIC
    assert data[2:10].hex() == codec.schema_fingerprint(expanded(name))
    assert codec.decode(data) == record


def test_garbage_is_malformed() -> None:
    with pytest.raises(MalformedRecordError):
        codec.decode(b"{not avro}")


def test_truncated_body_is_malformed() -> None:
    name = "parley.event.MessageSent"
    data = codec.encode(codec.from_avro(name, sample(definitions()[name])))
    with pytest.raises(MalformedRecordError):
        codec.decode(data[:20])


def test_unknown_fingerprint_is_named() -> None:
    with pytest.raises(UnknownSchemaError) as info:
        codec.decode(codec.MAGIC + bytes(8) + b"\x02")
    assert info.value.fingerprint == "0000000000000000"


def _records_inside(schema: Any) -> list[str]:
    """Names of the records a field's type holds, in a union or not, at any depth of arrays
    and maps."""
    defs = definitions()
    if isinstance(schema, str):
        return [schema] if defs.get(schema, {}).get("type") == "record" else []
    if isinstance(schema, list):
        return [name for branch in schema for name in _records_inside(branch)]
    if isinstance(schema, dict) and schema.get("type") == "array":
        return _records_inside(schema["items"])
    if isinstance(schema, dict) and schema.get("type") == "map":
        return _records_inside(schema["values"])
    return []


def test_no_record_with_named_unions_is_nested_in_another() -> None:
    """`codec.from_avro` turns named unions back into records for a record's own
    `record_union_fields` only, not deeper: that is right while no record holding such a
    union is itself a field (or a union branch, array item or map value) of another."""
    defs = definitions()
    holders = {
        name
        for name, schema in defs.items()
        if schema.get("type") == "record"
        and any(is_named_union(f["type"]) for f in schema["fields"])
    }
    nested = [
        (name, f["name"], inner)
        for name, schema in defs.items()
        if schema.get("type") == "record"
        for f in schema["fields"]
        for inner in _records_inside(f["type"])
        if inner in holders
    ]
    assert holders, "the schemas hold named unions: this test guards their decoding"
    assert nested == []
