"""A bare device for the benchmarks that ask as well as listen (bench/erasure.py,
bench/redaction.py): REST sign-up, one WebSocket whose requests are answered by id, and
pushes handed to a callback with their arrival time."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson

PASSWORD = "benchmark password"
Push = Callable[[dict[str, Any], float], None]
"""A push frame and `time.monotonic()` when it was read."""


class RequestError(RuntimeError):
    """The edge answered a request with an error frame."""


async def sign_up(
    http: aiohttp.ClientSession, base: str, user: str, display_name: str | None = None
) -> str:
    """A new account and one session; its token."""
    account: dict[str, Any] = {"username": user, "password": PASSWORD}
    if display_name:
        account["display_name"] = display_name
    await call(http, f"{base}/v1/accounts", account)
    session = await call(http, f"{base}/v1/sessions", {"username": user, "password": PASSWORD})
    token: str = session["token"]
    return token


async def call(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.post(url, json=body, headers=headers) as response:
        payload: dict[str, Any] = await response.json()
        if response.status >= 400:
            raise RequestError(f"{url}: {response.status} {payload}")
        return payload


class Device:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, on_push: Push | None) -> None:
        self.ws = ws
        self.on_push = on_push
        self._ids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(
        cls, http: aiohttp.ClientSession, base: str, token: str, on_push: Push | None = None
    ) -> Device:
        ws = await http.ws_connect(
            f"{base}/v1/ws",
            headers={"Authorization": f"Bearer {token}"},
            max_msg_size=8 * 1024 * 1024,
        )
        return cls(ws, on_push)

    async def request(self, frame: dict[str, Any], timeout_s: float = 60.0) -> dict[str, Any]:
        """The `result` of the frame's answer; an error frame raises `RequestError`."""
        request_id = f"b{next(self._ids)}"
        answer = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = answer
        try:
            await self.ws.send_str(orjson.dumps({**frame, "id": request_id}).decode())
            found = await asyncio.wait_for(answer, timeout_s)
        finally:
            self._waiting.pop(request_id, None)
        if found["type"] == "error":
            raise RequestError(f"{frame['type']}: {found.get('code')} {found.get('message')}")
        result: dict[str, Any] = found["result"]
        return result

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                continue
            arrived = time.monotonic()
            frame = orjson.loads(message.data)
            waiting = self._waiting.get(frame.get("id") or "")
            if frame["type"] in ("response", "error") and waiting is not None:
                if not waiting.done():
                    waiting.set_result(frame)
            elif self.on_push is not None:
                self.on_push(frame, arrived)
