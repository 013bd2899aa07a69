"""`python -m edge`: one edge node (REST + WebSocket) on PARLEY_EDGE_HOST:PARLEY_EDGE_PORT."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

import uvloop
from aiohttp import web

from edge.app import build_app
from edge.http_errors import JsonErrorRunner
from edge.settings import EdgeSettings
from telemetry.logs import configure_logging
from telemetry.tracing import start_tracing

log = logging.getLogger("parley.edge")


async def serve(app: web.Application, settings: EdgeSettings) -> None:
    """Serve until SIGTERM or SIGINT, then shut down as aiohttp's `run_app` does (devices
    told goodbye, connections drained for `drain_s`), through a runner whose connections
    answer even unparseable requests in JSON (edge/http_errors.py)."""
    runner = JsonErrorRunner(app, handle_signals=False, shutdown_timeout=settings.drain_s + 1)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.edge_host, settings.edge_port)
        await site.start()
        log.info("serving on %s", site.name)
        await stopping.wait()
    finally:
        await runner.cleanup()


def main() -> int:
    configure_logging("parley-edge")
    settings = EdgeSettings()
    tracing = start_tracing("parley-edge")
    try:
        # uvloop: the loop's own work per socket write and wake-up is about half of
        # asyncio's (docs/performance.md)
        uvloop.run(serve(build_app(settings, tracing), settings))
    finally:
        tracing.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
