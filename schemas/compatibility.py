"""Avro schema resolution rules: can a reader schema read data written with a writer schema?"""

from __future__ import annotations

from typing import Any

from schemas.catalog import PRIMITIVES, full_name

Schema = Any

_PROMOTIONS: dict[str, set[str]] = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}


def read_problems(reader: Schema, writer: Schema) -> list[str]:
    """Every reason the reader cannot read the writer's data; empty when it can."""
    checker = _Checker(_named_types(reader), _named_types(writer))
    return checker.check(reader, writer, full_name(reader) if isinstance(reader, dict) else "$")


def fully_compatible_problems(new: Schema, old: Schema) -> list[str]:
    """Problems in either direction: new readers of old data and old readers of new data."""
    backward = [f"new reads old: {p}" for p in read_problems(new, old)]
    forward = [f"old reads new: {p}" for p in read_problems(old, new)]
    return backward + forward


def _named_types(schema: Schema, found: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    found = {} if found is None else found
    if isinstance(schema, list):
        for branch in schema:
            _named_types(branch, found)
    elif isinstance(schema, dict):
        kind = schema.get("type")
        if kind in ("record", "enum", "fixed"):
            found[full_name(schema)] = schema
            for field in schema.get("fields", []):
                _named_types(field["type"], found)
        elif kind == "array":
            _named_types(schema["items"], found)
        elif kind == "map":
            _named_types(schema["values"], found)
    return found


class _Checker:
    def __init__(self, reader_names: dict[str, Any], writer_names: dict[str, Any]) -> None:
        self.reader_names = reader_names
        self.writer_names = writer_names
        self.in_progress: set[tuple[str, str]] = set()

    def resolve(self, schema: Schema, names: dict[str, Any]) -> Schema:
        if isinstance(schema, str) and schema not in PRIMITIVES:
            return names[schema]
        if isinstance(schema, dict) and isinstance(schema.get("type"), str) and len(schema) == 1:
            return self.resolve(schema["type"], names)
        return schema

    def check(self, reader: Schema, writer: Schema, path: str) -> list[str]:
        reader = self.resolve(reader, self.reader_names)
        writer = self.resolve(writer, self.writer_names)
        if isinstance(writer, list):
            problems: list[str] = []
            for branch in writer:
                problems += self.check(reader, branch, path)
            return problems
        if isinstance(reader, list):
            if any(not self.check(branch, writer, path) for branch in reader):
                return []
            return [f"{path}: no branch of the reader's union reads {_kind(writer)}"]
        rkind, wkind = _kind(reader), _kind(writer)
        if rkind in PRIMITIVES or wkind in PRIMITIVES:
            if rkind == wkind or rkind in _PROMOTIONS.get(wkind, set()):
                return []
            return [f"{path}: {wkind} cannot be read as {rkind}"]
        if rkind != wkind:
            return [f"{path}: {wkind} cannot be read as {rkind}"]
        if rkind == "array":
            return self.check(reader["items"], writer["items"], f"{path}[]")
        if rkind == "map":
            return self.check(reader["values"], writer["values"], f"{path}{{}}")
        if full_name(reader).rsplit(".", 1)[-1] != full_name(writer).rsplit(".", 1)[-1]:
            return [f"{path}: {full_name(writer)} cannot be read as {full_name(reader)}"]
        if rkind == "enum":
            return self.check_enum(reader, writer, path)
        if rkind == "fixed":
            ok = reader["size"] == writer["size"]
            return [] if ok else [f"{path}: fixed size {writer['size']} != {reader['size']}"]
        return self.check_record(reader, writer, path)

    def check_enum(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
        missing = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if missing and "default" not in reader:
            return [f"{path}: reader lacks symbols {missing} and has no default"]
        return []

    def check_record(self, reader: dict[str, Any], writer: dict[str, Any], path: str) -> list[str]:
        key = (full_name(reader), full_name(writer))
        if key in self.in_progress:
            return []
        self.in_progress.add(key)
        writer_fields = {f["name"]: f for f in writer["fields"]}
        problems: list[str] = []
        for field in reader["fields"]:
            names = [field["name"], *field.get("aliases", [])]
            match = next((writer_fields[n] for n in names if n in writer_fields), None)
            if match is None:
                if "default" not in field:
                    problems.append(f"{path}.{field['name']}: new field without a default")
                continue
            problems += self.check(field["type"], match["type"], f"{path}.{field['name']}")
        self.in_progress.discard(key)
        return problems


def _kind(schema: Schema) -> str:
    if isinstance(schema, str):
        return schema
    kind = schema["type"]
    return kind if isinstance(kind, str) else "union"
