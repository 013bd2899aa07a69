"""Hostile input at a running edge, property-based, at a short budget (bench/edge_fuzz.py;
`python -m bench fuzz` runs 10,000 cases per target): every WebSocket frame under 256 KiB
gets exactly one documented answer and the socket survives; no REST request, whatever its
body, content type or token, gets a 5xx or an error off the documented shape; and
schemathesis finds nothing over /openapi.json."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from bench import edge_fuzz
from tests.e2e.cluster import ParleyCluster
from tests.e2e.people import close_all, person

WS_CASES = 150
REST_CASES = 150
SCHEMATHESIS_EXAMPLES = 10


def token_of(cluster: ParleyCluster) -> str:
    async def login() -> str:
        async with aiohttp.ClientSession() as http:
            who = await person(http, cluster, "fuzz")
            await close_all(who)
            return who.tokens[0]

    return asyncio.run(login())


def test_every_frame_gets_one_documented_answer(cluster: ParleyCluster) -> None:
    outcome = edge_fuzz.run_ws(cluster.url(0), token_of(cluster), WS_CASES)
    assert outcome["failures"] == []
    assert outcome["cases"] >= WS_CASES // 2  # frames over 256 KiB are left out


def test_no_rest_request_gets_a_server_error_or_an_undocumented_one(
    cluster: ParleyCluster,
) -> None:
    outcome = edge_fuzz.run_rest(cluster.url(1), token_of(cluster), REST_CASES)
    assert outcome["failures"] == []
    assert outcome["cases"] == REST_CASES


def test_schemathesis_finds_nothing(cluster: ParleyCluster, tmp_path: Path) -> None:
    outcome = edge_fuzz.schemathesis_run(
        cluster.url(0), token_of(cluster), SCHEMATHESIS_EXAMPLES, tmp_path
    )
    assert outcome["exit_code"] == 0, outcome["summary"]
