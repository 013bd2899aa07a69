"""The browser client: the page at `/` and its files under `/web/` (edge/web/, no build step).

The page is an ordinary client of the public protocol (REST under /v1, the WebSocket at
/v1/ws); the edge only serves its files, with a content security policy that lets it load
nothing from anywhere but this origin, and the object store's: a file's bytes go straight
to and from the store through pre-signed URLs (docs/media.md), never through the edge.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

WEB_DIR = Path(__file__).with_name("web")
Headers = dict[str, str]


def page_headers(media_url: str = "") -> Headers:
    """The page's headers; `media_url` is the object store's, the one other origin the page
    may upload to (`connect-src`) and show pictures, video and sound from."""
    parts = urlsplit(media_url)
    store = f" {parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' data: blob:{store}",
            f"media-src 'self' blob:{store}",
            f"connect-src 'self'{store}",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Revalidate on every load, so a newer edge's files replace an older page at once.
        "Cache-Control": "no-cache",
    }


HEADERS = page_headers()


def routes(headers: Headers = HEADERS, web_dir: Path = WEB_DIR) -> list[web.AbstractRouteDef]:
    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(web_dir / "index.html", headers=headers)

    return [web.get("/", index), web.static("/web", web_dir)]


def header_adder(
    headers: Headers = HEADERS,
) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """The static files get the page's headers too (an `on_response_prepare` signal)."""

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        if request.path.startswith("/web/"):
            for name, value in headers.items():
                response.headers.setdefault(name, value)

    return add_headers
