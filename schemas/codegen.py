"""Generates `schemas/models.py` from the `.avsc` files, so models and schemas cannot drift.

Run `python -m schemas.codegen` after changing a schema; a unit test fails while the
generated file differs from what this would write.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from schemas.catalog import PRIMITIVES, WIRE_NAMESPACES, definitions, full_name

MODELS_PATH = Path(__file__).resolve().parent / "models.py"

_PY_TYPES = {
    "null": "None",
    "boolean": "bool",
    "int": "int",
    "long": "int",
    "float": "float",
    "double": "float",
    "bytes": "bytes",
    "string": "str",
}


def short(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def annotation(schema: Any) -> str:
    if isinstance(schema, str):
        return _PY_TYPES.get(schema) or short(schema)
    if isinstance(schema, list):
        branches = [annotation(b) for b in schema]
        return " | ".join([b for b in branches if b != "None"] + ["None"] * ("None" in branches))
    kind = schema["type"]
    if schema.get("logicalType") == "timestamp-millis":
        return "datetime"
    if kind == "array":
        return f"tuple[{annotation(schema['items'])}, ...]"
    if kind == "map":
        return f"dict[str, {annotation(schema['values'])}]"
    return annotation(kind)


def default_expr(schema: Any, value: Any) -> str:
    if isinstance(schema, list):
        schema = schema[0]
    if isinstance(schema, dict) and schema["type"] == "array":
        return "Field(default_factory=tuple)"
    if isinstance(schema, dict) and schema["type"] == "map":
        return "Field(default_factory=dict)"
    if isinstance(schema, str) and schema not in PRIMITIVES:
        return f"{short(schema)}.{value}"
    return json.dumps(value) if isinstance(value, str) else repr(value)


def record_branches(schema: Any) -> int:
    defs = definitions()
    if not isinstance(schema, list):
        return 0
    return sum(1 for b in schema if isinstance(b, str) and defs.get(b, {}).get("type") == "record")


def is_record_union(schema: Any) -> bool:
    return record_branches(schema) > 0


def is_named_union(schema: Any) -> bool:
    """A union whose record the codec reads as `(full name, datum)`: one of several records
    (it reads with `return_record_name_override`, so a lone record, such as a nullable
    sealed value, comes back as its datum, wherever it is nested)."""
    return record_branches(schema) > 1


def dependencies(schema: Any) -> set[str]:
    if isinstance(schema, str):
        return set() if schema in PRIMITIVES else {schema}
    if isinstance(schema, list):
        return set().union(*(dependencies(b) for b in schema))
    if schema["type"] == "record":
        return set().union(*(dependencies(f["type"]) for f in schema["fields"]))
    if schema["type"] == "array":
        return dependencies(schema["items"])
    if schema["type"] == "map":
        return dependencies(schema["values"])
    return set()


def ordered_names() -> list[str]:
    defs = definitions()
    done: list[str] = []

    def visit(name: str) -> None:
        if name in done:
            return
        for dep in sorted(dependencies(defs[name])):
            visit(dep)
        done.append(name)

    for name in sorted(defs):
        visit(name)
    return done


def render_enum(schema: dict[str, Any]) -> list[str]:
    lines = [f"class {schema['name']}(StrEnum):", f'    """{schema.get("doc", "")}"""', ""]
    lines += [f'    {s} = "{s}"' for s in schema["symbols"]]
    return lines


def render_record(schema: dict[str, Any]) -> list[str]:
    lines = [f"class {schema['name']}(AvroRecord):", f'    """{schema.get("doc", "")}"""', ""]
    lines.append(f'    avro_name: ClassVar[str] = "{full_name(schema)}"')
    wire = full_name(schema).rsplit(".", 1)[0] in WIRE_NAMESPACES
    unions = sorted(f["name"] for f in schema["fields"] if is_record_union(f["type"]))
    if not wire and any(is_named_union(f["type"]) for f in schema["fields"]):
        raise ValueError(f"{full_name(schema)}: unions of several records belong in wire types")
    if unions and wire:
        lines.append(
            f"    record_union_fields: ClassVar[frozenset[str]] = frozenset({json.dumps(unions)})"
        )
    for field in schema["fields"]:
        line = f"    {field['name']}: {annotation(field['type'])}"
        if "default" in field:
            line += f" = {default_expr(field['type'], field['default'])}"
        lines.append(line)
    return lines


def render() -> str:
    defs = definitions()
    names = ordered_names()
    shorts = [short(n) for n in names]
    duplicated = {s for s in shorts if shorts.count(s) > 1}
    if duplicated:
        raise ValueError(f"type names must be unique across namespaces: {sorted(duplicated)}")
    out = [
        '"""Typed records mirroring schemas/avro: run `python -m schemas.codegen`, do not edit."""',
        "",
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "from enum import StrEnum",
        "from typing import ClassVar",
        "",
        "from pydantic import Field",
        "",
        "from schemas.record import AvroRecord",
    ]
    for name in names:
        schema = defs[name]
        out += ["", ""]
        out += render_enum(schema) if schema["type"] == "enum" else render_record(schema)
    groups = {ns: [short(n) for n in names if n.rsplit(".", 1)[0] == ns] for ns in WIRE_NAMESPACES}
    for ns, members in groups.items():
        alias = WIRE_NAMESPACES[ns]
        one_line = f"{alias} = {' | '.join(members)}"
        if len(one_line) <= 100:
            out += ["", "", one_line]
        else:
            out += [
                "",
                "",
                f"{alias} = (",
                f"    {members[0]}",
                *[f"    | {m}" for m in members[1:]],
                ")",
            ]
    records = [short(n) for n in names if defs[n]["type"] == "record"]
    out += [
        "",
        "RECORD_TYPES: dict[str, type[AvroRecord]] = {",
        *[f"    {r}.avro_name: {r}," for r in records],
        "}",
        "",
    ]
    return "\n".join(out)


def main() -> int:
    MODELS_PATH.write_text(render())
    print(f"wrote {MODELS_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
