"""The HTTP layer's own errors in the control plane's documented shape,
`{"error": {"code", "message"}}`, never aiohttp's plain text.

Two kinds of request end before any Parley handler runs. An unknown path (404), a method a
path does not take (405) and a body over the limit (413) are raised by aiohttp inside the
application, where `errors_middleware` (edge/rest.py) turns them into `answer`. A request
aiohttp cannot even parse (a header over its 8 KiB limit, a broken request line: 400) is
answered by aiohttp's connection handler itself, outside every middleware: `JsonErrorRunner`
serves the application through a handler whose `handle_error` answers with `answer` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from edge.errors import ErrorCode
from edge.protocol.answers import ErrorAnswer, ErrorDetail

_CODES: dict[int, ErrorCode] = {
    HTTPStatus.UNAUTHORIZED: ErrorCode.UNAUTHORIZED,
    HTTPStatus.FORBIDDEN: ErrorCode.FORBIDDEN,
    HTTPStatus.NOT_FOUND: ErrorCode.NOT_FOUND,
    HTTPStatus.METHOD_NOT_ALLOWED: ErrorCode.METHOD_NOT_ALLOWED,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: ErrorCode.TOO_LARGE,
    HTTPStatus.TOO_MANY_REQUESTS: ErrorCode.TOO_BUSY,
    HTTPStatus.SERVICE_UNAVAILABLE: ErrorCode.UNAVAILABLE,
    HTTPStatus.GATEWAY_TIMEOUT: ErrorCode.TIMEOUT,
}


def code_for(status: int) -> ErrorCode:
    """The error code of an HTTP error status: its own where one matches, else `invalid`
    for the client's (4xx) and `internal` for the server's."""
    return _CODES.get(status, ErrorCode.INVALID if status < 500 else ErrorCode.INTERNAL)


def answer(
    status: int, message: str, headers: Mapping[str, str] | None = None
) -> web.Response:
    """An error answer with this status (and headers: a 405's `Allow`), in JSON."""
    # aiohttp's reasons can quote the request's own bytes, decoded with surrogate escapes.
    text = message.encode("utf-8", "backslashreplace").decode("utf-8")
    detail = ErrorAnswer(error=ErrorDetail(code=code_for(status), message=text))
    kept = {k: v for k, v in (headers or {}).items() if k.lower() != "content-type"}
    return web.Response(
        text=detail.model_dump_json(),
        status=status,
        content_type="application/json",
        headers=kept,
    )


def from_exception(error: web.HTTPException) -> web.Response:
    """aiohttp's own error (404, 405, 413, ...) as the documented answer."""
    return answer(error.status, error.text or error.reason, error.headers)


class _JsonErrorHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # aiohttp's own logs the error and refuses once a response has begun: keep both.
        super().handle_error(request, status, exc, message)
        if status >= 500:
            message = "internal error"
        response = answer(status, message or "the request is not HTTP that this server reads")
        response.force_close()
        return response


class _JsonErrorServer(web.Server):
    def __call__(self) -> RequestHandler:
        return _JsonErrorHandler(self, loop=self._loop, **self._kwargs)


class JsonErrorRunner(web.AppRunner):
    """An `AppRunner` whose connections answer unparseable requests in JSON."""

    async def _make_server(self) -> web.Server:
        made = await super()._make_server()
        made.__class__ = _JsonErrorServer
        return made
