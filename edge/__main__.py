"""`python -m edge`: one edge node (REST + WebSocket) on PARLEY_EDGE_HOST:PARLEY_EDGE_PORT."""

from __future__ import annotations

import logging
import sys

import uvloop
from aiohttp import web

from edge.app import build_app
from edge.settings import EdgeSettings
from telemetry.logs import configure_logging
from telemetry.tracing import start_tracing


def main() -> int:
    configure_logging("parley-edge")
    settings = EdgeSettings()
    tracing = start_tracing("parley-edge")
    try:
        web.run_app(
            build_app(settings, tracing),
            host=settings.edge_host,
            port=settings.edge_port,
            print=lambda line: logging.getLogger("parley.edge").info("%s", line),
            shutdown_timeout=settings.drain_s + 1,
            # uvloop: the loop's own work per socket write and wake-up is about half of
            # asyncio's (docs/performance.md)
            loop=uvloop.new_event_loop(),
        )
    finally:
        tracing.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
