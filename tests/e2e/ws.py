"""A bare WebSocket test client: raw frames, explicit waits with deadlines."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import aiohttp

_ids = itertools.count(1)


class RawDevice:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.responses: dict[str, dict[str, Any]] = {}
        self.pushes: list[dict[str, Any]] = []
        self.arrived = asyncio.Condition()
        self.reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, base: str, token: str) -> RawDevice:
        ws = await session.ws_connect(f"{base}/v1/ws", headers={"Authorization": f"Bearer {token}"})
        return cls(ws)

    async def request(self, frame: dict[str, Any], timeout: float = 20.0) -> dict[str, Any]:
        request_id = frame.setdefault("id", f"r{next(_ids)}")
        await self.ws.send_str(json.dumps(frame))
        return await self.wait_response(request_id, timeout)

    async def wait_response(self, request_id: str, timeout: float = 20.0) -> dict[str, Any]:
        async with self.arrived:
            await asyncio.wait_for(
                self.arrived.wait_for(lambda: request_id in self.responses), timeout
            )
        return self.responses.pop(request_id)

    async def wait_pushes(
        self, count: int, timeout: float = 20.0, kind: str = "event"
    ) -> list[dict[str, Any]]:
        def enough() -> bool:
            return len([p for p in self.pushes if p["type"] == kind]) >= count

        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(enough), timeout)
        return [p for p in self.pushes if p["type"] == kind]

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 30.0) -> None:
        async with self.arrived:
            await asyncio.wait_for(self.arrived.wait_for(condition), timeout)

    async def close(self) -> None:
        await self.ws.close()
        self.reader.cancel()

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            async with self.arrived:
                if frame["type"] in ("response", "error") and frame.get("id"):
                    self.responses[frame["id"]] = frame
                else:
                    self.pushes.append(frame)
                self.arrived.notify_all()


def send_frame(cid: str, text: str, client_msg_id: str) -> dict[str, Any]:
    return {
        "type": "send",
        "conversation_id": cid,
        "client_msg_id": client_msg_id,
        "body": {"kind": "plain", "text": text},
    }
