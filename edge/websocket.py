"""The data plane: one WebSocket per device, frames in, responses and pushes out."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import assert_never

from aiohttp import WSMsgType, web
from pydantic import ValidationError

from edge.account_service import AccountService
from edge.accounts import bearer_token
from edge.command_service import CommandService
from edge.connection import ConnectionState, DeviceConnection
from edge.errors import (
    INTERNAL,
    NO_SUCH_CONVERSATION,
    UNAUTHORIZED,
    ClientError,
    ErrorCode,
    validation_problems,
)
from edge.hub import ConnectionHub
from edge.json_input import parse_json
from edge.metrics import EdgeMetrics
from edge.presence import PresenceBoard
from edge.protocol import frames as f
from edge.protocol.answers import Empty, Pong, PresenceList, SendResult, Sequenced
from edge.protocol.events import ServerModel
from edge.protocol.pushes import Response
from edge.read_service import ReadService
from schemas import models as m
from telemetry.tracing import Tracing, annotate

log = logging.getLogger("parley.edge")
MAX_IN_FLIGHT = 64
"""Requests one connection may have open: bounds its tasks and its queued replies."""


Reply = Response[ServerModel]


def _error(request_id: str | None, error: ClientError) -> str:
    return error.frame(request_id).model_dump_json()


def _request_id(raw: object) -> str | None:
    """The id an error about this frame answers to: its `id` when that is a valid request
    id, else None (the error then has `"id": null`, as for a frame that is not JSON)."""
    found = raw.get("id") if isinstance(raw, dict) else None
    return found if isinstance(found, str) and 1 <= len(found) <= f.MAX_REQUEST_ID else None


class WebSocketEndpoint:
    def __init__(
        self,
        *,
        accounts: AccountService,
        commands: CommandService,
        reads: ReadService,
        hub: ConnectionHub,
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
        self.accounts = accounts
        self.commands = commands
        self.reads = reads
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
            token = bearer_token(request.headers.get("Authorization", ""))
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
            connection.reply(_error(None, UNAUTHORIZED))
            return
        try:
            frame = f.CLIENT_FRAME.validate_python(parse_json(message.data, "a frame"))
        except (ClientError, ValidationError):
            connection.reply(_error(None, UNAUTHORIZED))
            return
        if not isinstance(frame, f.Authenticate):
            connection.reply(_error(frame.id, UNAUTHORIZED))
            return
        await self._authenticate(connection, frame.token, frame.id)

    async def _authenticate(
        self, connection: DeviceConnection, token: str, request_id: str | None
    ) -> None:
        identity = await self.accounts.authenticate(token)
        if identity is None:
            connection.reply(_error(request_id, UNAUTHORIZED))
            return
        connection.user_id, connection.device_id = identity.user_id, identity.device_id
        connection.state = ConnectionState.OPEN
        self.hub.add(connection)
        if request_id is not None:
            connection.reply(Reply(id=request_id, result=identity).model_dump_json())

    async def _serve(self, connection: DeviceConnection) -> None:
        async for message in connection.ws:
            if message.type == WSMsgType.TEXT:
                self._dispatch(connection, message.data)
            elif message.type == WSMsgType.BINARY:
                error = ClientError(ErrorCode.BAD_FRAME, "frames are JSON text")
                connection.reply(_error(None, error))
            elif message.type == WSMsgType.ERROR:
                log.info(
                    "websocket of %s closed with %s",
                    connection.device_id,
                    connection.ws.exception(),
                )
                break

    def _dispatch(self, connection: DeviceConnection, text: str) -> None:
        try:
            raw = parse_json(text, "a frame")
        except ClientError as e:
            self._fail(connection, None, e)
            return
        request_id = _request_id(raw)
        try:
            frame = f.CLIENT_FRAME.validate_python(raw)
        except ValidationError as e:
            error = ClientError(ErrorCode.BAD_FRAME, validation_problems(e))
            self._fail(connection, request_id, error)
            return
        self.metrics.frame_in(frame.type)
        if connection.in_flight >= MAX_IN_FLIGHT:
            busy = f"at most {MAX_IN_FLIGHT} requests at a time; wait for answers"
            self._fail(connection, frame.id, ClientError(ErrorCode.TOO_BUSY, busy))
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

    async def _answer(self, connection: DeviceConnection, frame: f.Request) -> None:
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

    async def _respond(self, connection: DeviceConnection, frame: f.Request) -> None:
        began = time.perf_counter()
        try:
            result = await self._result(connection, frame)
            answer = Reply(id=frame.id, result=result).model_dump_json()
        except ClientError as e:
            if self.tracing.enabled:
                annotate({"parley.error": e.code})
            self._fail(connection, frame.id, e)
            return
        except Exception:
            log.exception("request %s failed", frame.type)
            self._fail(connection, frame.id, INTERNAL)
            return
        finally:
            connection.in_flight -= 1
        self.metrics.answered(frame.type, time.perf_counter() - began)
        seq = result.seq if isinstance(result, SendResult | Sequenced) else None
        if self.tracing.enabled and seq is not None:
            annotate({"parley.seq": seq})
        connection.reply(answer)

    async def _result(self, c: DeviceConnection, frame: f.Request) -> ServerModel:
        """The answer to one frame: its model in `edge.protocol.answers.ANSWERS`."""
        match frame:
            case f.SendMessage():
                return await self.commands.send(
                    c.user_id,
                    c.device_id,
                    cid=frame.conversation_id,
                    client_msg_id=frame.client_msg_id,
                    body=frame.body,
                    reply_to=frame.reply_to,
                )
            case f.Ack():
                return await self.commands.ack(c.user_id, c.device_id, frame)
            case f.FetchHistory():
                return await self.reads.fetch_history(
                    c.user_id,
                    frame.conversation_id,
                    before=frame.before,
                    after=frame.after,
                    limit=frame.limit,
                )
            case f.Sync():
                c.follows_inbox = c.follows_inbox or frame.inbox
                return await self.reads.sync(
                    c.user_id, frame.cursors, frame.limit, with_inbox=frame.inbox
                )
            case f.GetInbox():
                c.follows_inbox = True
                return await self.reads.inbox(c.user_id)
            case f.EditMessage() | f.DeleteMessage() | f.React():
                return await self.commands.change_message(c.user_id, c.device_id, frame)
            case f.Typing():
                self._typing(c, frame)
                return Empty()
            case f.SubscribePresence():
                visible = await self.reads.sharing_a_conversation(c.user_id, frame.user_ids)
                self.presence.watch(c, visible)
                return PresenceList(presence=[self.presence.describe(u) for u in visible])
            case f.SetPresence():
                c.away = frame.status == "away"
                self.hub.publish(c.user_id)
                return Empty()
            case f.Search():
                return await self.reads.search(c.user_id, frame)
            case f.Ping():
                return Pong()
            case f.Authenticate():
                raise ClientError(ErrorCode.BAD_FRAME, "already authenticated")
            case _:
                assert_never(frame)

    def _typing(self, c: DeviceConnection, frame: f.Typing) -> None:
        """To the nodes where other members are online, never through the events log."""
        members = self.reads.members(frame.conversation_id)
        if c.user_id not in members:
            raise NO_SUCH_CONVERSATION
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
