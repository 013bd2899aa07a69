"""The folders import only what the path of a message allows (STYLE.md, "Boundaries")."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {
    "schemas",
    "objectstore",
    "media",
    "sealing",
    "telemetry",
    "kafkalog",
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
    # Object storage (S3 settings, the one boto3 client, a retrying bucket): every layer that
    # touches S3 (media and the edge's uploads, the archive and its readers, analytics, infra)
    # takes it from this leaf, so it imports nothing of Parley. Not kafkalog: "projections
    # may not import media", and the log's plumbing is about Kafka.
    "objectstore": set(),
    # Every process's plumbing (log format, redaction, trace-context codec, consumer lag):
    # one implementation at both ends of a record, knowing nothing of the domain. It reads
    # the header names from the contract and nothing else.
    "telemetry": {"schemas"},
    # The log's plumbing (record helpers, client presets, the follower and its error policy,
    # dead letters, settings): shared by every process that reads or writes Kafka, so it
    # knows nothing of the domain beyond the contract. Its cold tier (kafkalog/cold/: the
    # archive's layout and reader) reads object storage: every reader of the log replays
    # history through it once the log's retention has dropped the oldest records.
    "kafkalog": {"schemas", "telemetry", "objectstore"},
    # Uploads and the media lifecycle, shared by the edge (declare, resume, complete) and the
    # media processor (streams/media): neither may import the other, so what both need is a
    # leaf of its own, like telemetry (docs/media.md, "Where the code lives").
    "media": {"schemas", "telemetry", "kafkalog", "objectstore", "sealing"},
    # Sealing personal data at rest and the keys erasure destroys: the edge seals and opens,
    # the search view opens, the erasure and expiry processors destroy keys, and none of them
    # may import another, so it is a leaf of its own (docs/compliance.md).
    "sealing": {"schemas", "kafkalog"},
    "streams": {"schemas", "telemetry", "kafkalog", "media", "objectstore", "sealing"},
    "projections": {"schemas", "telemetry", "kafkalog", "objectstore", "sealing"},
    # The edge's upload service signs URLs with the one S3 client, and its page may talk to
    # the object store the settings name; its compliance exports put their files there and
    # read the archive (the leaf S3 adapter, as media and the archive use it).
    "edge": {"schemas", "projections", "telemetry", "kafkalog", "media", "sealing", "objectstore"},
    "client": {"edge"},  # the published protocol only (edge/protocol/)
    # The analysts' side reads the archive's Parquet through ClickHouse; from Parley's code
    # it takes only where the archive is (kafkalog.cold.settings, over objectstore's).
    "analytics": {"kafkalog", "objectstore"},
}


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def imported_packages(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)} & FIRST_PARTY


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - ALLOWED[layer] - {layer})
        for path in (ROOT / layer).rglob("*.py")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def processors() -> list[str]:
    return sorted(p.name for p in (ROOT / "streams").iterdir() if (p / "__init__.py").exists())


def test_there_are_processors_to_check() -> None:
    assert {"sequencer", "accounts", "fanout"} <= set(processors())


@pytest.mark.parametrize("processor", processors())
def test_a_processor_imports_no_other_processor(processor: str) -> None:
    """A processor (a package under streams/) uses streams' shared modules (decisions, store,
    keys, state, the transactional loop), schemas, telemetry and kafkalog; never another
    processor's modules (the account registry once imported the sequencer's decision types,
    rule errors and store)."""
    others = {f"streams.{name}" for name in processors()} - {f"streams.{processor}"}
    wrong = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in imported_modules(path)
            if any(name == other or name.startswith(other + ".") for other in others)
        )
        for path in (ROOT / "streams" / processor).rglob("*.py")
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_shared_streams_modules_import_no_processor() -> None:
    """The modules every processor uses sit beside them in streams/ and depend on none."""
    packages = {f"streams.{name}" for name in processors()}
    for path in (ROOT / "streams").glob("*.py"):
        reached = {n for n in imported_modules(path) if n.startswith("streams.")}
        assert not {n for n in reached if any(n.startswith(p) for p in packages)}, path.name


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
