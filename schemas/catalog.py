"""Reads the `.avsc` files and expands each wire type into one self-contained schema (pure JSON)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

AVRO_DIR = Path(__file__).resolve().parent / "avro"
WIRE_NAMESPACES = {
    "parley.command": "Command",
    "parley.event": "Event",
    "parley.outcome": "Outcome",
    "parley.account.command": "AccountCommand",
    "parley.account.event": "AccountEvent",
    "parley.delivery": "Delivery",
    "parley.session": "Session",
    "parley.media": "MediaEvent",
    "parley.audit": "ComplianceAudit",
    "parley.erasure": "ErasureRecord",
}
PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

Schema = Any


@cache
def definitions() -> dict[str, dict[str, Any]]:
    """Every named type by full name, as written in its file (references left as names)."""
    defs: dict[str, dict[str, Any]] = {}
    for path in sorted(AVRO_DIR.glob("*.avsc")):
        schema = json.loads(path.read_text())
        name = full_name(schema)
        if path.stem != name:
            raise ValueError(f"{path.name} defines {name}; a file is named after its type")
        defs[name] = schema
    return defs


def full_name(schema: dict[str, Any]) -> str:
    name: str = schema["name"]
    namespace = schema.get("namespace")
    return name if "." in name or not namespace else f"{namespace}.{name}"


def wire_type_names() -> list[str]:
    """The types that travel on Kafka as whole records: commands, events and outcomes."""
    return [n for n in definitions() if n.rsplit(".", 1)[0] in WIRE_NAMESPACES]


@cache
def expanded(name: str) -> dict[str, Any]:
    """The schema of `name` with every named type it uses defined inline, once."""
    result: dict[str, Any] = _expand(definitions()[name], set())
    return result


def _expand(schema: Schema, seen: set[str]) -> Schema:
    defs = definitions()
    if isinstance(schema, str):
        if schema in PRIMITIVES or schema in seen:
            return schema
        if schema not in defs:
            raise ValueError(f"unknown Avro type {schema!r}")
        return _expand(defs[schema], seen)
    if isinstance(schema, list):
        return [_expand(branch, seen) for branch in schema]
    kind = schema["type"]
    if kind in ("record", "enum", "fixed"):
        name = full_name(schema)
        if name in seen:
            return name
        seen.add(name)
        if kind != "record":
            return dict(schema)
        fields = [{**field, "type": _expand(field["type"], seen)} for field in schema["fields"]]
        return {**schema, "fields": fields}
    if kind == "array":
        return {**schema, "items": _expand(schema["items"], seen)}
    if kind == "map":
        return {**schema, "values": _expand(schema["values"], seen)}
    return _expand(kind, seen) if isinstance(kind, str) and kind not in PRIMITIVES else schema
