"""The Grafana dashboard, the alert rules and docs/slo.md query only metrics that Parley's
processes really export, with labels those metrics really have: a renamed metric breaks
this test, not a graph nobody looks at until the night it is needed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry

from edge.metrics import EdgeMetrics
from projections import metrics as view_metrics
from streams import metrics as streams_metrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "infra" / "grafana" / "parley.json"
ALERTS = ROOT / "infra" / "prometheus" / "alerts.yml"
SLO_DOC = ROOT / "docs" / "slo.md"
METRIC = re.compile(r"\bparley_[a-z0-9_]+")
RECORDED = re.compile(r"\bparley:[a-z0-9_:]+")
SELECTOR = re.compile(r"\b(parley_[a-z0-9_]+)\{([^}]*)\}")
LABEL_KEY = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
SCRAPE_LABELS = {"job", "instance"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def registries() -> list[CollectorRegistry]:
    assert streams_metrics.transactions is not None  # registered on the global registry
    return [REGISTRY, view_metrics.REGISTRY, EdgeMetrics(0).registry]


def exported() -> dict[str, set[str]]:
    """Every series name a process exports (as Prometheus stores it), with its labels."""
    names: dict[str, set[str]] = {}
    for registry in registries():
        for family in registry.collect():
            if not family.name.startswith("parley_"):
                continue
            # prometheus_client keeps label names on the collector only; no public accessor.
            collector = registry._names_to_collectors[family.name]
            labels = set(getattr(collector, "_labelnames", ()))
            labels |= {key for sample in family.samples for key in sample.labels}
            for suffix in SUFFIXES[family.type]:
                extra = {"le"} if suffix == "_bucket" else set()
                names.setdefault(family.name + suffix, set()).update(labels | extra)
    return names


def families() -> set[str]:
    """Metric names as documented: a histogram's or a counter's own name, without suffix."""
    return {
        family.name
        for registry in registries()
        for family in registry.collect()
        if family.name.startswith("parley_")
    }


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_queries() -> list[str]:
    return [t["expr"] for p in panels(dashboard()) for t in p.get("targets", [])]


def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load(ALERTS.read_text())
    return [rule for group in loaded["groups"] for rule in group["rules"]]


def sources() -> dict[str, list[str]]:
    return {
        "dashboard": dashboard_queries(),
        "alert rules": [str(rule["expr"]) for rule in rules()],
        "docs/slo.md": [SLO_DOC.read_text()],
    }


@pytest.mark.parametrize("source", ["dashboard", "alert rules", "docs/slo.md"])
def test_every_metric_named_is_exported_by_a_process(source: str) -> None:
    """Queries must name series as Prometheus stores them (`_total`, `_bucket`, ...); the
    doc may also name a family by its own name."""
    known = set(exported()) | (families() if source == "docs/slo.md" else set())
    named = {name for text in sources()[source] for name in METRIC.findall(text)}
    assert named, f"{source} names no metric at all"
    assert sorted(named - known) == []


@pytest.mark.parametrize("source", ["dashboard", "alert rules"])
def test_every_label_selected_is_a_label_of_that_metric(source: str) -> None:
    known = exported()
    wrong = [
        (name, key)
        for text in sources()[source]
        for name, selector in SELECTOR.findall(text)
        for key in LABEL_KEY.findall(selector)
        if key not in known.get(name, set()) | SCRAPE_LABELS
    ]
    assert wrong == []


def test_the_dashboard_is_a_grafana_dashboard() -> None:
    board = dashboard()
    assert board["title"] and board["uid"] and board["schemaVersion"] >= 36
    assert [v["type"] for v in board["templating"]["list"]] == ["datasource"]
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert refs and len(refs) == len(set(refs)), panel["title"]
        assert all(t["expr"].strip() for t in panel["targets"]), panel["title"]


def test_every_alert_has_a_severity_and_a_runbook_section_that_exists() -> None:
    headings = {
        re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in SLO_DOC.read_text().splitlines()
        if line.startswith("#")
    }
    alerts = [rule for rule in rules() if "alert" in rule]
    assert alerts
    for rule in alerts:
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        runbook = rule["annotations"]["runbook"]
        path, _, anchor = runbook.partition("#")
        assert path == "docs/slo.md" and anchor in headings, rule["alert"]


def test_recording_rules_used_are_defined_and_each_rule_is_one_kind() -> None:
    recorded = {rule["record"] for rule in rules() if "record" in rule}
    for rule in rules():
        assert ("alert" in rule) != ("record" in rule), rule
        assert set(RECORDED.findall(str(rule["expr"]))) <= recorded, rule
    used = {name for q in dashboard_queries() for name in RECORDED.findall(q)}
    assert used <= recorded
