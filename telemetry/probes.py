"""Liveness and readiness, asked over HTTP by whatever runs a process (`make status`, the
chaos suite, systemd's probe units): /livez and /readyz beside /metrics on a processor's
PARLEY_METRICS_PORT; the edge answers the same two paths with the same body (edge/probes.py).

/livez: the process answers and its main thread is running. A Kafka call blocked past its
own timeout is not a liveness failure here: streams/watchdog.py restarts the process in
place for that. /readyz: the process does its job, by a check the process supplies (a view
has caught up to the log as it was at start; a log writer has its partitions and reads
them). Both answer 200 or 503 with a `ProbeAnswer`. Every other path serves the metrics,
as prometheus_client's own server does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any, Literal
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from pydantic import BaseModel, ConfigDict

Check = Callable[[], bool]
LIVE_PATH = "/livez"
READY_PATH = "/readyz"


class ProbeAnswer(BaseModel):
    """The body of both probes, whatever serves them."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    probe: Literal["live", "ready"]
    ok: bool


def main_thread_running() -> bool:
    return threading.main_thread().is_alive()


def answer(probe: Literal["live", "ready"], check: Check) -> ProbeAnswer:
    """A check that raises answers not-ok: a probe must never be what fails."""
    try:
        ok = bool(check())
    except Exception:
        ok = False
    return ProbeAnswer(probe=probe, ok=ok)


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def probe_app(registry: CollectorRegistry, *, ready: Check, live: Check) -> WsgiApp:
    metrics = make_wsgi_app(registry)
    checks: dict[str, tuple[Literal["live", "ready"], Check]] = {
        LIVE_PATH: ("live", live),
        READY_PATH: ("ready", ready),
    }

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        probe = checks.get(environ.get("PATH_INFO", ""))
        if probe is None:
            served: Iterable[bytes] = metrics(environ, start_response)
            return served
        result = answer(*probe)
        body = result.model_dump_json().encode()
        start_response(
            "200 OK" if result.ok else "503 Service Unavailable",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # a probe every second is noise
        pass


def serve(
    port: int,
    registry: CollectorRegistry,
    *,
    ready: Check,
    live: Check = main_thread_running,
    host: str = "127.0.0.1",
) -> WSGIServer:
    """Metrics and both probes on `host:port`, from a daemon thread."""
    server = make_server(
        host,
        port,
        probe_app(registry, ready=ready, live=live),
        server_class=_Server,
        handler_class=_QuietHandler,
    )
    threading.Thread(target=server.serve_forever, name="probes", daemon=True).start()
    return server
