"""`python -m infra.probe`, the production units' probes: readiness waited for at start,
and liveness that restarts a unit only after failures in a row, never a stopped one."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from infra.probe import check_live, wait_ready


class Answers(BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[Answers]]]:
    handler = type("Handler", (Answers,), {})
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/livez", handler
    finally:
        httpd.shutdown()
        httpd.server_close()


class Systemctl:
    def __init__(self, active: bool = True) -> None:
        self.active = active
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, *args: str) -> int:
        self.calls.append(args)
        return 0 if self.active or args[0] != "is-active" else 3


def restarts(systemctl: Systemctl) -> list[tuple[str, ...]]:
    return [c for c in systemctl.calls if c[0] == "restart"]


def test_the_unit_is_restarted_after_three_failures_in_a_row_only(
    server: tuple[str, type[Answers]], tmp_path: Path
) -> None:
    url, handler = server
    systemctl = Systemctl()
    handler.status = 503
    assert not check_live("fanout", url, 3, tmp_path, systemctl)
    assert not check_live("fanout", url, 3, tmp_path, systemctl)
    handler.status = 200
    assert check_live("fanout", url, 3, tmp_path, systemctl)  # the count starts again
    handler.status = 503
    for _ in range(2):
        check_live("fanout", url, 3, tmp_path, systemctl)
    assert restarts(systemctl) == []
    assert not check_live("fanout", url, 3, tmp_path, systemctl)
    assert restarts(systemctl) == [("restart", "--no-block", "parley-fanout.service")]


def test_an_edge_node_is_restarted_by_its_template_instance(
    server: tuple[str, type[Answers]], tmp_path: Path
) -> None:
    url, handler = server
    handler.status = 500
    systemctl = Systemctl()
    assert not check_live("edge-1", url, 1, tmp_path, systemctl)
    assert restarts(systemctl) == [("restart", "--no-block", "parley-edge@1.service")]


def test_a_unit_that_is_not_active_is_left_alone(tmp_path: Path) -> None:
    systemctl = Systemctl(active=False)
    for _ in range(5):
        assert check_live("history", "http://127.0.0.1:9/livez", 1, tmp_path, systemctl)
    assert restarts(systemctl) == []


def test_readiness_is_waited_for_until_it_answers_200_or_the_deadline(
    server: tuple[str, type[Answers]],
) -> None:
    url, handler = server
    assert wait_ready(url, timeout_s=5)
    handler.status = 503
    assert not wait_ready(url, timeout_s=0.5)
