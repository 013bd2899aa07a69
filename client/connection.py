"""The data plane's socket: one logical WebSocket to the edge that outlives drops and goodbyes.

Requests wait for an open socket, then for the response with their id; a drop fails every
pending request with `DisconnectedError` (its outcome unknown) and starts reconnecting with
backoff. Pushes go to `on_push`; every successful (re)connect calls `on_open`, which is
where the SDK schedules its catch-up from the cursors.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from pydantic import ValidationError

from client.backoff import Backoff
from client.errors import (
    ApiError,
    ClientClosedError,
    DisconnectedError,
    ParleyError,
    ProtocolError,
    RequestTimeoutError,
    ServerUnavailableError,
    UnauthorizedError,
)
from client.models import Identity, parse_answer
from edge.protocol.events import ServerModel
from edge.protocol.frames import Authenticate, Request
from edge.protocol.pushes import (
    SERVER_FRAMES,
    ErrorFrame,
    Goodbye,
    Push,
    Response,
)

log = logging.getLogger(__name__)

ClientRequest = Request
ServerPush = Push
# A connection-level error with this code (token revoked, say) cannot be cured by reconnecting.
AUTH_ERROR_CODES = frozenset({"unauthorized"})


class ConnectionState(enum.Enum):
    IDLE = "idle"
    CONNECTING = "connecting"
    OPEN = "open"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"
    FAILED = "failed"


def parse_server_frame(text: str) -> ServerModel | None:
    """A frame of a known type, or None for a type this client does not know (newer server)."""
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ProtocolError(f"frame is not JSON: {text[:200]!r}") from e
    if not isinstance(data, dict):
        raise ProtocolError(f"frame is not an object: {text[:200]!r}")
    model = SERVER_FRAMES.get(str(data.get("type")))
    if model is None:
        return None
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ProtocolError(f"bad {data.get('type')} frame: {e}") from e


class Connection:
    """Owns the socket, the reconnect loop and the table of requests awaiting an answer."""

    def __init__(
        self,
        url: str,
        http: Callable[[], aiohttp.ClientSession],
        token: Callable[[], str | None],
        *,
        on_push: Callable[[ServerPush], None],
        on_open: Callable[[], None],
        on_end: Callable[[], None],
        backoff: Backoff,
        heartbeat: float | None = 20.0,
        connect_timeout: float = 10.0,
        max_msg_size: int = 4 * 1024 * 1024,
        max_reconnect_attempts: int | None = None,
        stable_after: float = 10.0,
    ) -> None:
        self._url = url
        self._http = http
        self._token = token
        self._on_push = on_push
        self._on_open = on_open
        self._on_end = on_end
        self._backoff = backoff
        self._heartbeat = heartbeat
        self._connect_timeout = connect_timeout
        self._max_msg_size = max_msg_size
        self._max_reconnect_attempts = max_reconnect_attempts
        self._stable_after = stable_after
        self._state = ConnectionState.IDLE
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._settled = asyncio.Event()
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: asyncio.Task[None] | None = None
        self._failure: ParleyError | None = None
        self._opened_at = 0.0
        self.connects = 0
        self.identity: Identity | None = None

    @property
    def state(self) -> ConnectionState:
        return self._state

    @property
    def failure(self) -> ParleyError | None:
        """Why the connection gave up for good (state FAILED), e.g. a revoked token."""
        return self._failure

    async def open(self) -> None:
        """Connect once, raising if that fails; afterwards drops are repaired in the background."""
        if self._state is not ConnectionState.IDLE:
            return
        self._state = ConnectionState.CONNECTING
        try:
            ws = await self._dial()
        except BaseException:
            self._state = ConnectionState.IDLE
            self._settled.set()
            raise
        self._runner = asyncio.create_task(self._run(ws), name="parley-connection")

    async def close(self) -> None:
        if self._state is ConnectionState.CLOSED:
            return
        self._end(ConnectionState.CLOSED, ClientClosedError("the client was closed"))
        if self._runner is not None and self._runner is not asyncio.current_task():
            self._runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._runner
        if self._ws is not None:
            await self._ws.close()

    async def request(self, frame: ClientRequest, *, timeout: float) -> dict[str, Any]:
        """The `result` of the response to `frame`; an error frame raises `ApiError`."""
        payload = frame.model_dump(mode="json", exclude_none=True)
        try:
            async with asyncio.timeout(timeout):
                ws = await self._open_socket()
                future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
                self._pending[frame.id] = future
                try:
                    await ws.send_str(json.dumps(payload))
                    return await future
                finally:
                    self._pending.pop(frame.id, None)
        except TimeoutError as e:
            raise RequestTimeoutError(f"no answer to {frame.type} within {timeout:g}s") from e
        except (ConnectionError, aiohttp.ClientError) as e:
            raise DisconnectedError(f"connection lost while sending {frame.type}: {e}") from e

    async def wait_open(self) -> None:
        """Return once a socket is open; raise if the connection ended for good."""
        await self._open_socket()

    async def _open_socket(self) -> aiohttp.ClientWebSocketResponse:
        while True:
            if self._failure is not None:
                raise self._failure
            if self._state is ConnectionState.CLOSED:
                raise ClientClosedError("the client was closed")
            if self._state is ConnectionState.IDLE:
                raise ParleyError("not connected: call connect() first")
            ws = self._ws
            if self._state is ConnectionState.OPEN and ws is not None:
                if not ws.closed:
                    return ws
                self._settled.clear()
            await self._settled.wait()

    async def _dial(self) -> aiohttp.ClientWebSocketResponse:
        """Handshake, then authenticate with a frame rather than a header: its answer says
        for certain whether the token is good, where a header would only show it later."""
        token = self._token()
        if not token:
            raise UnauthorizedError("unauthorized", "not logged in: no token")
        ws = await self._handshake()
        try:
            async with asyncio.timeout(self._connect_timeout):
                identity = await self._authenticate(ws, token)
        except TimeoutError as e:
            await ws.close()
            raise ServerUnavailableError(f"no answer to authenticate from {self._url}") from e
        except (ParleyError, aiohttp.ClientError, ConnectionError) as e:
            await ws.close()
            if isinstance(e, ParleyError):
                raise
            raise ServerUnavailableError(f"connection lost while authenticating: {e}") from e
        self.identity = identity
        self._ws = ws
        self._state = ConnectionState.OPEN
        self._opened_at = asyncio.get_running_loop().time()
        self.connects += 1
        self._settled.set()
        self._on_open()
        return ws

    async def _handshake(self) -> aiohttp.ClientWebSocketResponse:
        try:
            async with asyncio.timeout(self._connect_timeout):
                return await self._http().ws_connect(
                    self._url, heartbeat=self._heartbeat, max_msg_size=self._max_msg_size
                )
        except aiohttp.WSServerHandshakeError as e:
            if e.status in (401, 403):
                raise UnauthorizedError(
                    "unauthorized", "the server refused the token", status=e.status
                ) from e
            raise ServerUnavailableError(f"WebSocket handshake failed with HTTP {e.status}") from e
        except TimeoutError as e:
            raise ServerUnavailableError(f"no WebSocket handshake from {self._url} in time") from e
        except (aiohttp.ClientError, OSError) as e:
            raise ServerUnavailableError(f"cannot reach {self._url}: {e}") from e

    async def _authenticate(self, ws: aiohttp.ClientWebSocketResponse, token: str) -> Identity:
        request_id = f"auth-{self.connects + 1}"
        frame = Authenticate(type="authenticate", id=request_id, token=token)
        await ws.send_str(frame.model_dump_json())
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                answer = parse_server_frame(message.data)
            except ProtocolError as e:
                log.warning("ignoring a frame: %s", e)
                continue
            if isinstance(answer, Response) and answer.id == request_id:
                return parse_answer(Identity, answer.result, what="authenticate")
            if isinstance(answer, ErrorFrame) and answer.id in (request_id, None):
                error_type = UnauthorizedError if answer.code in AUTH_ERROR_CODES else ApiError
                raise error_type(answer.code, answer.message)
            if answer is not None:
                self._dispatch(answer)
        raise ServerUnavailableError("the server closed the connection while authenticating")

    async def _run(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        try:
            while True:
                goodbye = await self._read(ws)
                if self._state in (ConnectionState.CLOSED, ConnectionState.FAILED):
                    await ws.close()
                    return
                lived = asyncio.get_running_loop().time() - self._opened_at
                self._drop(DisconnectedError("the connection to the server dropped"))
                if goodbye is not None:
                    self._backoff.reset()
                    delay = self._backoff.jittered(goodbye.reconnect_after_ms / 1000)
                else:
                    if lived >= self._stable_after:
                        self._backoff.reset()
                    delay = self._backoff.next_delay()
                next_ws = await self._redial(delay)
                if next_ws is None:
                    return
                ws = next_ws
        except asyncio.CancelledError:
            raise
        except Exception as e:
            # A bug here must fail loudly in every waiting call rather than hang them all.
            log.exception("connection loop crashed")
            self._end(ConnectionState.FAILED, ParleyError(f"connection loop crashed: {e!r}"))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> Goodbye | None:
        async for message in ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                continue
            try:
                frame = parse_server_frame(message.data)
            except ProtocolError as e:
                log.warning("ignoring a frame: %s", e)
                continue
            if isinstance(frame, Goodbye):
                log.info("server said goodbye (%s)", frame.reason)
                await ws.close()
                return frame
            if frame is not None:
                self._dispatch(frame)
            if self._state is not ConnectionState.OPEN:
                break
        return None

    def _dispatch(self, frame: ServerModel) -> None:
        if isinstance(frame, Response | ErrorFrame):
            future = self._pending.get(frame.id) if frame.id is not None else None
            if future is None or future.done():
                if isinstance(frame, ErrorFrame) and frame.code in AUTH_ERROR_CODES:
                    self._end(ConnectionState.FAILED, UnauthorizedError(frame.code, frame.message))
                elif isinstance(frame, ErrorFrame):
                    log.warning("server error %s: %s", frame.code, frame.message)
                return
            if isinstance(frame, Response):
                future.set_result(frame.result)
            else:
                error_type = UnauthorizedError if frame.code in AUTH_ERROR_CODES else ApiError
                future.set_exception(error_type(frame.code, frame.message))
        elif isinstance(frame, Push):
            self._on_push(frame)

    async def _redial(self, delay: float) -> aiohttp.ClientWebSocketResponse | None:
        attempts = 0
        while True:
            await asyncio.sleep(delay)
            try:
                return await self._dial()
            except ApiError as e:
                self._end(ConnectionState.FAILED, e)
                return None
            except ServerUnavailableError as e:
                attempts += 1
                log.info("reconnect attempt %d failed: %s", attempts, e)
                if self._max_reconnect_attempts is not None and (
                    attempts >= self._max_reconnect_attempts
                ):
                    self._end(ConnectionState.FAILED, e)
                    return None
            delay = self._backoff.next_delay()

    def _drop(self, error: ParleyError) -> None:
        self._state = ConnectionState.RECONNECTING
        self._settled.clear()
        self._fail_pending(error)

    def _end(self, state: ConnectionState, error: ParleyError) -> None:
        self._state = state
        if state is ConnectionState.FAILED:
            self._failure = error
        self._settled.set()
        self._fail_pending(error)
        self._on_end()

    def _fail_pending(self, error: ParleyError) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
