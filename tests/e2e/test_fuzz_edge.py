"""Hostile input at a running edge, property-based, at a short budget (bench/edge_fuzz.py;
`python -m bench fuzz` runs 10,000 cases per target): every WebSocket frame under 256 KiB
gets exactly one documented answer and the socket survives; no REST request, whatever its
body, content type, token or query, gets a 5xx or an error off the documented shape; and
schemathesis finds nothing over /openapi.json (server errors, statuses, content types and
bodies that the document does not declare)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from bench import edge_fuzz
from tests.e2e.cluster import ParleyCluster

WS_CASES = 300
REST_CASES = 150
SCHEMATHESIS_EXAMPLES = 5


@pytest.fixture(scope="module")
def fuzzer(cluster: ParleyCluster) -> edge_fuzz.Fuzzer:
    return asyncio.run(edge_fuzz.fuzzer(cluster.url(0)))


def test_every_frame_gets_one_documented_answer(fuzzer: edge_fuzz.Fuzzer) -> None:
    outcome = edge_fuzz.run_ws(fuzzer, WS_CASES)
    assert outcome["failures"] == []
    assert outcome["cases"] >= WS_CASES // 2  # frames over 256 KiB are left out
    assert outcome["answers"]["response"] > 0, "no frame was accepted: the fuzz is off target"


def test_no_rest_request_gets_a_server_error_or_an_undocumented_one(
    cluster: ParleyCluster, fuzzer: edge_fuzz.Fuzzer
) -> None:
    outcome = edge_fuzz.run_rest(replace(fuzzer, url=cluster.url(1)), REST_CASES)
    assert outcome["failures"] == []
    assert outcome["cases"] == REST_CASES


def test_schemathesis_finds_nothing(fuzzer: edge_fuzz.Fuzzer, tmp_path: Path) -> None:
    outcome = edge_fuzz.schemathesis_run(fuzzer, SCHEMATHESIS_EXAMPLES, tmp_path)
    assert outcome["exit_code"] == 0, outcome["summary"]
    assert outcome["cases"], outcome["summary"]
