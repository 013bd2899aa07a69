"""`python -m edge`: one edge node (REST + WebSocket) on PARLEY_EDGE_HOST:PARLEY_EDGE_PORT."""

from __future__ import annotations

import logging
import sys

from aiohttp import web

from edge.app import build_app
from edge.settings import EdgeSettings


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = EdgeSettings()
    web.run_app(
        build_app(settings),
        host=settings.edge_host,
        port=settings.edge_port,
        print=lambda line: logging.getLogger("parley.edge").info("%s", line),
        shutdown_timeout=settings.drain_s + 1,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
