"""Avro single-object encoding of typed records; the only module that imports fastavro.

Each record is `C3 01` + the writer schema's 8-byte CRC-64-AVRO fingerprint + the Avro
binary body. The fingerprint finds the writer schema in the registry; the reader's schema
is the current `.avsc` of the same full name, so old and new records read alike.
"""

from __future__ import annotations

import io
from functools import cache
from typing import Any, cast

import fastavro
from fastavro.schema import fingerprint as _fingerprint
from fastavro.schema import to_parsing_canonical_form

from schemas.catalog import expanded
from schemas.errors import MalformedRecordError, UnknownSchemaError
from schemas.models import RECORD_TYPES
from schemas.record import AvroRecord

MAGIC = b"\xc3\x01"
HEADER_LENGTH = 10


def schema_fingerprint(schema: dict[str, Any]) -> str:
    """CRC-64-AVRO of the parsing canonical form, as the hex of its little-endian bytes."""
    return str(_fingerprint(to_parsing_canonical_form(schema), "CRC-64-AVRO"))


@cache
def _parsed(name_or_fingerprint: str) -> Any:
    from schemas.registry import writer_schemas

    if name_or_fingerprint in RECORD_TYPES:
        return fastavro.parse_schema(expanded(name_or_fingerprint), named_schemas={})
    _, schema = writer_schemas()[name_or_fingerprint]
    return fastavro.parse_schema(schema, named_schemas={})


def _without_logical_types(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {k: _without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [_without_logical_types(item) for item in schema]
    return schema


@cache
def _primitive(name_or_fingerprint: str) -> Any:
    """`_parsed` with logical types read as their Avro primitives (a timestamp-millis as
    its long): no datetime made per value, for bulk readers that store the number anyway."""
    from schemas.registry import writer_schemas

    if name_or_fingerprint in RECORD_TYPES:
        schema = expanded(name_or_fingerprint)
    else:
        schema = writer_schemas()[name_or_fingerprint][1]
    return fastavro.parse_schema(_without_logical_types(schema), named_schemas={})


@cache
def _current_header(name: str) -> bytes:
    return MAGIC + bytes.fromhex(schema_fingerprint(expanded(name)))


@cache
def _reader_for(fingerprint: str, name: str) -> Any:
    """None when the writer schema is the current one (no resolution needed)."""
    return None if fingerprint == _current_header(name)[2:].hex() else _parsed(name)


def encode(record: AvroRecord) -> bytes:
    """The record as single-object Avro, written with the current schema of its type."""
    name = record.avro_name
    out = io.BytesIO()
    out.write(_current_header(name))
    fastavro.schemaless_writer(out, _parsed(name), to_avro(record))
    return out.getvalue()


def decode(data: bytes) -> AvroRecord:
    """The typed record in `data`, resolved from its writer schema to the current one."""
    name, datum = decode_datum(data)
    try:
        return from_avro(name, datum)
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as e:
        raise MalformedRecordError(f"cannot decode {name}: {e}") from e


def decode_datum(data: bytes, *, logical_types: bool = True) -> tuple[str, dict[str, Any]]:
    """The full name and raw datum in `data`, resolved to the current schema, without the
    typed model: for bulk readers (the archive) that only flatten fields into columns and
    cannot afford the model's validation per record. Records inside unions come as
    `(full name, datum)`, as `to_avro` writes them. With `logical_types=False` a logical
    type stays its primitive (timestamps as epoch milliseconds): a third faster, measured
    on the archive's records (docs/archive.md, "Measured")."""
    from schemas.registry import writer_schemas

    if len(data) < HEADER_LENGTH or data[:2] != MAGIC:
        raise MalformedRecordError("not an Avro single-object encoded record")
    fp = data[2:HEADER_LENGTH].hex()
    known = writer_schemas().get(fp)
    if known is None:
        raise UnknownSchemaError(fp)
    name = known[0]
    try:
        reader = _reader_for(fp, name)
        datum = fastavro.schemaless_reader(
            io.BytesIO(data[HEADER_LENGTH:]),
            _parsed(fp) if logical_types else _primitive(fp),
            reader if reader is None or logical_types else _primitive(name),
            return_record_name=True,
            return_record_name_override=True,
        )
    except (
        EOFError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        UnicodeDecodeError,
        OverflowError,  # a timestamp-millis far outside datetime's range (found by bench/fuzz.py)
    ) as e:
        raise MalformedRecordError(f"cannot decode {name}: {e}") from e
    return name, cast(dict[str, Any], datum)


def encode_with_schema(schema: dict[str, Any], datum: dict[str, Any]) -> bytes:
    """Encode a raw datum with an explicit (possibly older) schema: for evolution tests."""
    out = io.BytesIO()
    out.write(MAGIC + bytes.fromhex(schema_fingerprint(schema)))
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema, named_schemas={}), datum)
    return out.getvalue()


def decode_with_schema(data: bytes, reader_schema: dict[str, Any]) -> dict[str, Any]:
    """Read `data` as a raw datum with an explicit (possibly older) reader schema."""
    from schemas.registry import writer_schemas

    fp = data[2:HEADER_LENGTH].hex()
    if fp not in writer_schemas():
        raise UnknownSchemaError(fp)
    datum = fastavro.schemaless_reader(
        io.BytesIO(data[HEADER_LENGTH:]),
        _parsed(fp),
        fastavro.parse_schema(reader_schema, named_schemas={}),
    )
    return cast(dict[str, Any], datum)


def to_avro(record: AvroRecord) -> dict[str, Any]:
    """The datum fastavro writes; records inside unions are named, `(full name, datum)`.

    Union-of-record fields sit only at the top level of wire types (codegen checks this),
    so one pass over `record_union_fields` names them all.
    """
    datum = record.model_dump()
    for name in record.record_union_fields:
        value = getattr(record, name)
        if isinstance(value, AvroRecord):
            datum[name] = (value.avro_name, datum[name])
    return datum


def from_avro(name: str, datum: dict[str, Any]) -> AvroRecord:
    """The typed record of a datum fastavro read. Only a record's own `record_union_fields`
    hold named unions (`(full name, datum)`): no record with such fields is ever nested in
    another (tests/unit/test_codec.py holds the schemas to that), so one pass over them
    replaces a walk of the whole datum, which cost more than fastavro's read itself."""
    model = RECORD_TYPES[name]
    for field in model.record_union_fields:
        value = datum.get(field)
        if isinstance(value, tuple):
            datum[field] = from_avro(value[0], value[1])
    return model.model_validate(datum)
