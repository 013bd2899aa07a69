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
    "analytics",
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
    "client": {"edge"},  # the published protocol frames only
    # The analysts' side reads the archive's Parquet through ClickHouse; from Parley's code
    # it takes only where the archive is (projections.archive.settings).
    "analytics": {"projections"},
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


def test_client_uses_only_the_protocol_frames_from_edge() -> None:
    for path in (ROOT / "client").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("edge"):
                assert node.module == "edge.frames", f"{path.name} imports {node.module}"
