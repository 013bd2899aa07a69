"""The browser client: the page at `/` and its files under `/web/` (edge/web/, no build step).

The page is an ordinary client of the public protocol (REST under /v1, the WebSocket at
/v1/ws); the edge only serves its files, with a content security policy that lets it load
nothing from anywhere but this origin.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).with_name("web")
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate on every load, so a newer edge's files replace an older page at once.
    "Cache-Control": "no-cache",
}


def routes(web_dir: Path = WEB_DIR) -> list[web.AbstractRouteDef]:
    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(web_dir / "index.html", headers=HEADERS)

    return [web.get("/", index), web.static("/web", web_dir)]


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """The static files get the page's headers too (an `on_response_prepare` signal)."""
    if request.path.startswith("/web/"):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
