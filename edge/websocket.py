"""The data plane: one WebSocket per device, frames in, responses and pushes out."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from edge import frames as f
from edge.connection import ConnectionState, DeviceConnection
from edge.errors import UNAUTHORIZED, ClientError, validation_problems
from edge.hub import ConnectionHub
from edge.metrics import EdgeMetrics
from edge.presence import PresenceBoard
from edge.service import EdgeService
from schemas import models as m
from telemetry.tracing import Tracing, annotate

log = logging.getLogger("parley.edge")
MAX_IN_FLIGHT = 64
"""Requests one connection may have open: bounds its tasks and its queued replies."""


def _error(request_id: str | None, error: ClientError) -> str:
    return f.ErrorFrame(id=request_id, code=error.code, message=error.message).model_dump_json()


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return None


class WebSocketEndpoint:
    def __init__(
        self,
        service: EdgeService,
        hub: ConnectionHub,
        *,
        max_frame_bytes: int,
        queue_size: int,
        heartbeat_s: float,
        auth_timeout_s: float,
        metrics: EdgeMetrics,
        presence: PresenceBoard,
        typing_ttl_ms: int,
        tracing: Tracing | None = None,
    ) -> None:
        self.metrics = metrics
        self.presence = presence
        self.typing_ttl_ms = typing_ttl_ms
        self.tracing = tracing or Tracing.off()
        self.service = service
        self.hub = hub
        self.max_frame_bytes = max_frame_bytes
        self.queue_size = queue_size
        self.heartbeat_s = heartbeat_s
        self.auth_timeout_s = auth_timeout_s
        self.requests: set[asyncio.Task[None]] = set()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(
            max_msg_size=self.max_frame_bytes, heartbeat=self.heartbeat_s, compress=False
        )
        await ws.prepare(request)
        connection = DeviceConnection(ws, queue_size=self.queue_size, metrics=self.metrics)
        try:
            token = _bearer(request)
            if token is not None:
                await self._authenticate(connection, token, None)
            else:
                await self._await_authenticate(connection)
            if connection.state is ConnectionState.OPEN:
                await self._serve(connection)
        finally:
            self.hub.remove(connection)
            self.presence.forget(connection)
            await connection.close()
            await ws.close()
        return ws

    async def _await_authenticate(self, connection: DeviceConnection) -> None:
        try:
            message = await connection.ws.receive(timeout=self.auth_timeout_s)
        except TimeoutError:
            connection.reply(_error(None, UNAUTHORIZED))
            return
        if message.type != WSMsgType.TEXT:
            return
        try:
            frame = f.CLIENT_FRAME.validate_json(message.data)
        except ValidationError:
            connection.reply(_error(None, UNAUTHORIZED))
            return
        if not isinstance(frame, f.Authenticate):
            connection.reply(_error(frame.id, UNAUTHORIZED))
            return
        await self._authenticate(connection, frame.token, frame.id)

    async def _authenticate(
        self, connection: DeviceConnection, token: str, request_id: str | None
    ) -> None:
        identity = await self.service.authenticate(token)
        if identity is None:
            connection.reply(_error(request_id, UNAUTHORIZED))
            return
        connection.user_id, connection.device_id = identity
        connection.state = ConnectionState.OPEN
        self.hub.add(connection)
        if request_id is not None:
            result = {"user_id": connection.user_id, "device_id": connection.device_id}
            connection.reply(f.Response(id=request_id, result=result).model_dump_json())

    async def _serve(self, connection: DeviceConnection) -> None:
        async for message in connection.ws:
            if message.type == WSMsgType.TEXT:
                self._dispatch(connection, message.data)
            elif message.type == WSMsgType.BINARY:
                connection.reply(_error(None, ClientError("bad_frame", "frames are JSON text")))
            elif message.type == WSMsgType.ERROR:
                log.info(
                    "websocket of %s closed with %s",
                    connection.device_id,
                    connection.ws.exception(),
                )
                break

    def _dispatch(self, connection: DeviceConnection, text: str) -> None:
        try:
            raw = json.loads(text)
        except ValueError:
            self._fail(connection, None, ClientError("bad_json", "a frame is one JSON object"))
            return
        request_id = raw.get("id") if isinstance(raw, dict) else None
        request_id = request_id if isinstance(request_id, str) else None
        try:
            frame = f.CLIENT_FRAME.validate_python(raw)
        except ValidationError as e:
            self._fail(connection, request_id, ClientError("bad_frame", validation_problems(e)))
            return
        self.metrics.frame_in(frame.type)
        if connection.in_flight >= MAX_IN_FLIGHT:
            busy = f"at most {MAX_IN_FLIGHT} requests at a time; wait for answers"
            self._fail(connection, frame.id, ClientError("too_busy", busy))
            return
        connection.in_flight += 1
        task = asyncio.create_task(self._answer(connection, frame))
        self.requests.add(task)
        task.add_done_callback(self.requests.discard)

    def _fail(
        self, connection: DeviceConnection, request_id: str | None, error: ClientError
    ) -> None:
        self.metrics.error(error.code)
        connection.reply(_error(request_id, error))

    async def _answer(self, connection: DeviceConnection, frame: Any) -> None:
        """Answer one request; with tracing on, inside the span that roots its trace (a
        send's trace goes on through the log to every device it reaches)."""
        if not self.tracing.enabled:
            await self._respond(connection, frame)
            return
        attributes: dict[str, str] = {
            "parley.frame": frame.type,
            "parley.user": connection.user_id,
            "parley.device": connection.device_id,
        }
        conversation = getattr(frame, "conversation_id", None)
        if isinstance(conversation, str):
            attributes["parley.conversation"] = conversation
        with self.tracing.serving(f"ws {frame.type}", attributes):
            await self._respond(connection, frame)

    async def _respond(self, connection: DeviceConnection, frame: Any) -> None:
        began = time.perf_counter()
        try:
            result = await self._result(connection, frame)
        except ClientError as e:
            if self.tracing.enabled:
                annotate({"parley.error": e.code})
            self._fail(connection, frame.id, e)
            return
        except Exception:
            log.exception("request %s failed", frame.type)
            self._fail(connection, frame.id, ClientError("internal", "internal error", 500))
            return
        finally:
            connection.in_flight -= 1
        self.metrics.answered(frame.type, time.perf_counter() - began)
        if self.tracing.enabled and isinstance(result.get("seq"), int):
            annotate({"parley.seq": result["seq"]})
        connection.reply(f.Response(id=frame.id, result=result).model_dump_json())

    async def _result(self, c: DeviceConnection, frame: Any) -> dict[str, Any]:
        service = self.service
        if isinstance(frame, f.SendMessage):
            return await service.send(
                c.user_id,
                c.device_id,
                cid=frame.conversation_id,
                client_msg_id=frame.client_msg_id,
                body=frame.body,
                reply_to=frame.reply_to,
            )
        if isinstance(frame, f.Ack):
            return await service.ack(
                c.user_id, c.device_id, frame.conversation_id, frame.kind, frame.up_to
            )
        if isinstance(frame, f.FetchHistory):
            return await service.fetch_history(
                c.user_id,
                frame.conversation_id,
                before=frame.before,
                after=frame.after,
                limit=frame.limit,
            )
        if isinstance(frame, f.Sync):
            c.follows_inbox = c.follows_inbox or frame.inbox
            return await service.sync(c.user_id, frame.cursors, frame.limit, with_inbox=frame.inbox)
        if isinstance(frame, f.GetInbox):
            c.follows_inbox = True
            return await service.inbox(c.user_id)
        if isinstance(frame, f.EditMessage | f.DeleteMessage | f.React):
            return await service.change_message(c.user_id, c.device_id, frame)
        if isinstance(frame, f.Typing):
            self._typing(c, frame)
            return {}
        if isinstance(frame, f.SubscribePresence):
            visible = await service.sharing_a_conversation(c.user_id, frame.user_ids)
            self.presence.watch(c, visible)
            return {"presence": [self.presence.describe(u) for u in visible]}
        if isinstance(frame, f.SetPresence):
            c.away = frame.status == "away"
            self.hub.publish(c.user_id)
            return {}
        if isinstance(frame, f.Ping):
            return {"pong": True}
        if isinstance(frame, f.Authenticate):
            raise ClientError("bad_frame", "already authenticated")
        raise ClientError("bad_frame", f"{frame.type} is not handled")

    def _typing(self, c: DeviceConnection, frame: f.Typing) -> None:
        """To the nodes where other members are online, never through the events log."""
        members = self.service.history.members(frame.conversation_id)
        if c.user_id not in members:
            raise ClientError("not_found", "no such conversation", 404)
        by_node: dict[int, list[str]] = {}
        for user in members:
            if user != c.user_id:
                for node in self.presence.nodes_of(user):
                    by_node.setdefault(node, []).append(user)
        for node, recipients in by_node.items():
            self.hub.relay_typing(
                node,
                m.TypingSignal(
                    conversation_id=frame.conversation_id,
                    user_id=c.user_id,
                    active=frame.active,
                    expires_in_ms=self.typing_ttl_ms,
                    recipients=tuple(recipients),
                ),
            )
