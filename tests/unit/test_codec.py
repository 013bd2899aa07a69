"""Single-object Avro encoding of every wire type, and clear errors on bad bytes."""

from __future__ import annotations

import pytest

from schemas import codec
from schemas.catalog import definitions, expanded, wire_type_names
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
