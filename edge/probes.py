"""An edge node's /livez and /readyz, with the same paths and body as every processor's
(telemetry/probes.py), for whatever runs the node: systemd's probe units, a load balancer,
`make status`, the chaos suite.

/livez answers 200 while the event loop runs handlers. /readyz answers 200 while `ready`
holds: the node has read the account directory and follows its deliveries and outcomes,
so a device that connects is authenticated, gets its pushes and its answers. Mounted by
edge/app.py with the node's followers (docs/operations.md gives the two lines).
"""

from __future__ import annotations

from aiohttp import web

from telemetry.probes import LIVE_PATH, READY_PATH, Check, ProbeAnswer, answer


def routes(ready: Check) -> list[web.RouteDef]:
    async def livez(_: web.Request) -> web.Response:
        return _response(answer("live", lambda: True))

    async def readyz(_: web.Request) -> web.Response:
        return _response(answer("ready", ready))

    return [web.get(LIVE_PATH, livez), web.get(READY_PATH, readyz)]


def _response(result: ProbeAnswer) -> web.Response:
    return web.Response(
        body=result.model_dump_json(),
        status=200 if result.ok else 503,
        content_type="application/json",
    )
