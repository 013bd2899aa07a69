"""One device's WebSocket: its identity, state, and bounded outbound queue.

A device that reads too slowly must not slow anyone else or grow memory: when its queue is
full, pushes to it are dropped (the log keeps them) and, once it has drained, it is told
to `resync`, i.e. fetch history from its cursors. Responses to its own requests are never
dropped: a client that stops reading still gets answers once it reads again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging

from aiohttp import web

log = logging.getLogger("parley.edge")


class ConnectionState(enum.Enum):
    AUTHENTICATING = "authenticating"
    OPEN = "open"
    CLOSING = "closing"


class DeviceConnection:
    def __init__(self, ws: web.WebSocketResponse, *, queue_size: int) -> None:
        self.ws = ws
        self.state = ConnectionState.AUTHENTICATING
        self.user_id = ""
        self.device_id = ""
        self.pushes: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.replies: asyncio.Queue[str] = asyncio.Queue()
        self.overflowed = False
        self.in_flight = 0
        self.dropped = 0
        self._wakeup = asyncio.Event()
        self.writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.writer = asyncio.create_task(self._write())

    def push(self, text: str) -> None:
        """Queue a push; on overflow drop it and remember to ask for a resync."""
        if self.state is not ConnectionState.OPEN:
            return
        if self.overflowed:
            self.dropped += 1
            return
        try:
            self.pushes.put_nowait(text)
        except asyncio.QueueFull:
            self.overflowed = True
            self.dropped += 1
            log.info(
                "device %s is reading too slowly; pushes dropped until it resyncs", self.device_id
            )
        self._wakeup.set()

    def reply(self, text: str) -> None:
        self.replies.put_nowait(text)
        self._wakeup.set()

    async def close(self, flush_s: float = 1.0) -> None:
        """Stop, after sending the replies already queued (an error that explains a close)."""
        self.state = ConnectionState.CLOSING
        self._wakeup.set()
        if self.writer is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self.writer), flush_s)
        except (TimeoutError, Exception):
            self.writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.writer

    async def _write(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while not self.replies.empty():
                await self.ws.send_str(self.replies.get_nowait())
            if self.state is ConnectionState.CLOSING:
                return
            while not self.pushes.empty() and self.replies.empty():
                await self.ws.send_str(self.pushes.get_nowait())
            if not self.replies.empty():
                self._wakeup.set()
                continue
            if self.overflowed and self.pushes.empty():
                self.overflowed = False
                await self.ws.send_str(
                    '{"type":"resync","reason":"pushes were dropped while you read slowly"}'
                )
