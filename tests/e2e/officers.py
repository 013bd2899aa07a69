"""Compliance officers for the e2e tests: the operator's grant, as an operator runs it, and
the officers' REST calls."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import aiohttp

from edge.protocol.compliance import AuditPage
from tests.e2e.cluster import ParleyCluster, eventually, register_and_login


def operator(cluster: ParleyCluster, *args: str) -> subprocess.CompletedProcess[str]:
    """The operator's command, run as an operator runs it: on the host, with its environment."""
    return subprocess.run(
        [sys.executable, "-m", "infra", *args],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    async with http.request(
        method, url, json=body, headers=bearer(token) if token else {}
    ) as response:
        text = await response.text()
        is_json = response.content_type == "application/json"
        return response.status, json.loads(text) if is_json else text


async def officer(
    http: aiohttp.ClientSession, cluster: ParleyCluster, case: str
) -> tuple[str, str]:
    """A new account the operator makes an officer for `case`: (user id, token), once both
    edge nodes know it."""
    name = f"olga{uuid.uuid4().hex[:6]}"
    login = await register_and_login(http, cluster.url(0), name, "laptop")
    granted = operator(cluster, "grant-compliance", name, "--case", case)
    assert granted.returncode == 0, granted.stderr
    assert "granted" in granted.stdout
    for node in range(len(cluster.ports)):

        async def knows(n: int = node) -> bool:
            status, _ = await call(
                http, "GET", f"{cluster.url(n)}/v1/compliance/audit?case={case}", login["token"]
            )
            return status == 200

        await eventually(knows, f"edge {node} to know the grant", 30)
    return name, login["token"]


async def all_entries(
    http: aiohttp.ClientSession, base: str, token: str, case: str, **filters: str
) -> list[dict[str, Any]]:
    """Every audit entry about `case` (and the filters), read page by page."""
    found: list[dict[str, Any]] = []
    cursor = 0
    while True:
        query = "&".join(f"{k}={v}" for k, v in {"about_case": case, **filters}.items())
        status, body = await call(
            http,
            "GET",
            f"{base}/v1/compliance/audit?case={case}&{query}&cursor={cursor}&limit=500",
            token,
        )
        assert status == 200, body
        page = AuditPage.model_validate(body)
        found += [e.model_dump() for e in page.entries]
        if not page.more:
            return found
        cursor = page.next_cursor
