"""Every schema version ever published, by fingerprint: the writer schemas a reader may meet.

`schemas/registry/<full name>.json` lists the versions of one wire type, oldest first.
`python -m schemas.registry freeze` appends the current `.avsc` version after checking that it
is fully compatible (old readers read new data, new readers read old data) with every version.
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from schemas.catalog import expanded, wire_type_names
from schemas.compatibility import fully_compatible_problems
from schemas.errors import IncompatibleSchemaError

REGISTRY_DIR = Path(__file__).resolve().parent / "registry"


def fingerprint(schema: dict[str, Any]) -> str:
    from schemas.codec import schema_fingerprint

    return schema_fingerprint(schema)


def published_versions(name: str) -> list[dict[str, Any]]:
    path = REGISTRY_DIR / f"{name}.json"
    if not path.exists():
        return []
    versions: list[dict[str, Any]] = json.loads(path.read_text())
    return versions


@cache
def writer_schemas() -> dict[str, tuple[str, dict[str, Any]]]:
    """Fingerprint -> (full name, schema) for every published and every current version."""
    known: dict[str, tuple[str, dict[str, Any]]] = {}
    for name in wire_type_names():
        for schema in [*published_versions(name), expanded(name)]:
            known[fingerprint(schema)] = (name, schema)
    return known


def compatibility_problems(name: str) -> list[str]:
    """What stops the current schema of `name` from living beside its published versions."""
    current = expanded(name)
    problems: list[str] = []
    for i, old in enumerate(published_versions(name), start=1):
        problems += [f"{name} v{i}: {p}" for p in fully_compatible_problems(current, old)]
    return problems


def freeze() -> list[str]:
    """Publish every changed wire type's current schema; refuse an incompatible change."""
    published: list[str] = []
    for name in wire_type_names():
        problems = compatibility_problems(name)
        if problems:
            raise IncompatibleSchemaError(
                "\n".join(problems) + "\nA rename or a new required field is a new event type."
            )
        versions = published_versions(name)
        current = expanded(name)
        if all(fingerprint(v) != fingerprint(current) for v in versions):
            REGISTRY_DIR.mkdir(exist_ok=True)
            path = REGISTRY_DIR / f"{name}.json"
            path.write_text(json.dumps([*versions, current], indent=1) + "\n")
            published.append(name)
    return published


def main(argv: list[str]) -> int:
    if argv[1:] != ["freeze"]:
        print("usage: python -m schemas.registry freeze", file=sys.stderr)
        return 2
    try:
        changed = freeze()
    except IncompatibleSchemaError as e:
        print(f"refused:\n{e}", file=sys.stderr)
        return 1
    print("published: " + (", ".join(changed) or "nothing changed"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
