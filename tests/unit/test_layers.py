"""The folders import only what the path of a message allows (STYLE.md, "Boundaries")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {
    "schemas",
    "telemetry",
    "streams",
    "projections",
    "edge",
    "client",
    "infra",
    "bench",
}
ALLOWED = {
    "schemas": set(),
    # Every process's plumbing (log format, redaction, trace-context codec, consumer lag):
    # one implementation at both ends of a record, knowing nothing of the domain. It reads
    # the header names from the contract and nothing else.
    "telemetry": {"schemas"},
    "streams": {"schemas", "telemetry"},
    "projections": {"schemas", "telemetry"},
    "edge": {"schemas", "projections", "telemetry"},
    "client": {"edge"},  # the published protocol only (edge/protocol/)
}


def imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & FIRST_PARTY


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[layer] - {layer})
        for path in (ROOT / layer).rglob("*.py")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_telemetry_reads_only_the_header_names_from_the_contract() -> None:
    for path in (ROOT / "telemetry").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("schemas"):
                assert node.module == "schemas.topics", f"{path.name} imports {node.module}"


def test_projection_query_side_needs_no_kafka() -> None:
    source = (ROOT / "projections" / "history" / "query.py").read_text()
    assert "confluent_kafka" not in source


PUBLISHED = "edge.protocol"


def edge_modules_imported(path: Path) -> set[str]:
    """The edge modules a file imports, however it names them."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            found.update(n for n in names if n == "edge" or n.startswith("edge."))
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "edge")
    return found


def test_client_uses_only_the_published_protocol_from_edge() -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            m
            for m in edge_modules_imported(path)
            if m not in ("edge", PUBLISHED) and not m.startswith(PUBLISHED + ".")
        )
        for path in (ROOT / "client").rglob("*.py")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_published_protocol_imports_nothing_else_of_parley() -> None:
    """Clients import it; so it must bring them no server code (no schemas, no Kafka)."""
    for path in (ROOT / "edge" / "protocol").rglob("*.py"):
        imported = imported_packages(path)
        assert imported <= {"edge"}, f"{path.name} imports {imported}"
        outside = {m for m in edge_modules_imported(path) if not m.startswith(PUBLISHED)}
        assert outside == set(), f"{path.name} imports {outside}"
