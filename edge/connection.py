"""One device's WebSocket: its identity, state, and bounded outbound queue.

A device that reads too slowly must not slow anyone else or grow memory: when its queue is
full, pushes to it are dropped (the log keeps them) and, once it has drained, it is told
to `resync`, i.e. fetch history from its cursors. Responses to its own requests are never
dropped (their number is bounded by the requests it may have in flight).

An idle connection costs no task: a writer task exists only while there is something to
send, which keeps the memory of tens of thousands of idle devices low.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
from collections import deque

from aiohttp import web

from edge.metrics import EdgeMetrics
from edge.protocol.pushes import Resync

log = logging.getLogger("parley.edge")
RESYNC = Resync(reason="pushes were dropped while you read slowly").model_dump_json()


class ConnectionState(enum.Enum):
    AUTHENTICATING = "authenticating"
    OPEN = "open"
    CLOSING = "closing"


class DeviceConnection:
    __slots__ = (
        "_writer",
        "away",
        "device_id",
        "dropped",
        "follows_inbox",
        "in_flight",
        "metrics",
        "overflowed",
        "pushes",
        "queue_size",
        "replies",
        "state",
        "user_id",
        "ws",
    )

    def __init__(
        self, ws: web.WebSocketResponse, *, queue_size: int, metrics: EdgeMetrics | None = None
    ) -> None:
        self.ws = ws
        self.metrics = metrics
        self.state = ConnectionState.AUTHENTICATING
        self.user_id = ""
        self.device_id = ""
        self.queue_size = queue_size
        self.pushes: deque[str] = deque()
        self.replies: deque[str] = deque()
        self.overflowed = False
        self.dropped = 0
        self.in_flight = 0
        self.away = False
        self.follows_inbox = False
        """Set once the device asked for its inbox: from then on it gets `inbox` pushes."""
        self._writer: asyncio.Task[None] | None = None

    def push(self, text: str) -> None:
        """Queue a push; on overflow drop it and remember to ask for a resync."""
        if self.state is not ConnectionState.OPEN:
            return
        if self.overflowed or len(self.pushes) >= self.queue_size:
            if not self.overflowed:
                log.info(
                    "device %s is reading too slowly; pushes dropped until it resyncs",
                    self.device_id,
                )
            self.overflowed = True
            self.dropped += 1
            return
        self.pushes.append(text)
        self._wake()

    def queued(self) -> int:
        return len(self.replies) + len(self.pushes)

    def reply(self, text: str) -> None:
        self.replies.append(text)
        self._wake()

    async def close(self, flush_s: float = 1.0) -> None:
        """Stop, after sending the replies already queued (an error that explains a close)."""
        self.state = ConnectionState.CLOSING
        self.pushes.clear()
        writer = self._writer
        if writer is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(writer), flush_s)
        except (TimeoutError, Exception):
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def _write(self) -> None:
        """Sends what is queued; a socket that closes meanwhile ends it quietly (the read
        loop sees the close and removes the connection)."""
        try:
            await self._send_queued()
        except (ConnectionError, RuntimeError) as e:
            log.info("device %s: socket closed while writing: %s", self.device_id, e)
            self.pushes.clear()
            self.replies.clear()

    async def _send_queued(self) -> None:
        while (
            self.replies or self.pushes or (self.overflowed and self.state is ConnectionState.OPEN)
        ):
            if self.replies:
                await self.ws.send_str(self.replies.popleft())
                if self.metrics is not None:
                    self.metrics.frames_out.reply += 1
            elif self.pushes:
                await self.ws.send_str(self.pushes.popleft())
                if self.metrics is not None:
                    self.metrics.frames_out.push += 1
            else:
                self.overflowed = False
                await self.ws.send_str(RESYNC)
                if self.metrics is not None:
                    self.metrics.frames_out.resync += 1
