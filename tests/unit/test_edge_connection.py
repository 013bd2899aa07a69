"""A slow reader's queue is bounded: pushes drop, replies do not, and it is told to resync."""

from __future__ import annotations

import asyncio
import json
from typing import Any, cast

from aiohttp import web

from edge.connection import ConnectionState, DeviceConnection


class StalledSocket:
    """Accepts writes only when released, like a client that stopped reading."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.open = asyncio.Event()

    async def send_str(self, text: str) -> None:
        await self.open.wait()
        self.sent.append(text)


async def test_overflow_drops_pushes_keeps_replies_and_asks_for_resync() -> None:
    socket = StalledSocket()
    connection = DeviceConnection(cast(web.WebSocketResponse, socket), queue_size=5)
    connection.state = ConnectionState.OPEN
    for i in range(50):
        connection.push(json.dumps({"type": "event", "seq": i}))
    connection.reply(json.dumps({"type": "response", "id": "r1"}))
    assert len(connection.pushes) <= 5
    assert connection.dropped >= 44
    socket.open.set()
    for _ in range(100):
        await asyncio.sleep(0)
        if any('"resync"' in s for s in socket.sent):
            break
    frames: list[dict[str, Any]] = [json.loads(s) for s in socket.sent]
    assert {"type": "response", "id": "r1"} in frames
    assert frames[-1]["type"] == "resync"
    seqs = [f["seq"] for f in frames if f["type"] == "event"]
    assert seqs == sorted(seqs)
    await connection.close()
