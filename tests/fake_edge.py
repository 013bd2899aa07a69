"""A fake edge served in-process on 127.0.0.1, for the SDK's unit tests and the contract
suite (tests/e2e/test_contract.py runs the same checks against it and a real edge).

It speaks protocol v1 from memory, with the published models at both ends (it validates
every client frame with `edge.protocol.frames` and answers with `edge.protocol` models), so
it cannot drift from the real edge's shapes; and it can misbehave on demand: lose an
answer by dropping the socket, stop pushing, ask for a resync, say goodbye.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ValidationError

from edge.protocol import events as v
from edge.protocol import frames as f
from edge.protocol.answers import (
    ConversationEvent,
    ConversationList,
    ConversationSummary,
    ErrorAnswer,
    ErrorDetail,
    Highlight,
    HistoryPage,
    Identity,
    Pong,
    SearchHit,
    SearchPage,
    SendResult,
    Sequenced,
    Session,
    SyncAnswer,
    SyncedConversation,
)
from edge.protocol.events import ServerModel
from edge.protocol.pushes import ErrorFrame, EventPush, Response

USER, DEVICE, PASSWORD, TOKEN = "alice", "d1", "secret", "token-alice"
OTHER = "bob"
DEADLINE = 2.0
MAX_QUERY_CHARS = 512


class RefusedError(Exception):
    """A request the fake answers with an error frame of this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def answer(status: int, model: BaseModel) -> web.Response:
    return web.Response(
        text=model.model_dump_json(), status=status, content_type="application/json"
    )


def unauthorized(message: str) -> web.Response:
    return answer(401, ErrorAnswer(error=ErrorDetail(code="unauthorized", message=message)))


class FakeEdge:
    """Enough of the edge to drive the client: one user, conversations made on first send."""

    def __init__(self) -> None:
        self.url = ""
        self.log: dict[str, list[v.MessageSent]] = {}
        self.seq_of: dict[tuple[str, str], int] = {}
        self.frames: list[dict[str, Any]] = []
        self.sockets: set[web.WebSocketResponse] = set()
        self.connections = 0
        self.mute = False
        self.lose_next_send_answer = False
        self.ignore_sends = False
        self.hidden: set[int] = set()
        self.without_sync = False
        self.snapshot_after = 200
        self.snapshot_page = 30
        self.changed = asyncio.Condition()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/sessions", self.login)
        app.router.add_get("/v1/conversations", self.conversations)
        app.router.add_get("/v1/search", self.rest_search)
        app.router.add_get("/v1/ws", self.websocket)
        return app

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(predicate), DEADLINE)

    async def _notify(self) -> None:
        async with self.changed:
            self.changed.notify_all()

    def texts(self, conversation_id: str) -> list[str]:
        events = self.log.get(conversation_id, [])
        return [e.body.text for e in events if isinstance(e.body, f.PlainText)]

    def append(
        self, conversation_id: str, text: str, *, client_msg_id: str = "", sender: str = OTHER
    ) -> int:
        events = self.log.setdefault(conversation_id, [])
        seq = len(events) + 1
        device = DEVICE if sender == USER else f"d-{sender}"
        events.append(
            v.MessageSent(
                seq=seq,
                conversation_id=conversation_id,
                actor=v.Actor(user_id=sender, device_id=device),
                client_msg_id=client_msg_id or f"m{seq}",
                occurred_at_ms=1_764_000_000_000 + seq,
                body=f.PlainText(text=text),
            )
        )
        return seq

    async def say(self, conversation_id: str, text: str) -> int:
        """Another member sends a message; connected devices get it pushed unless muted."""
        seq = self.append(conversation_id, text)
        await self.push_event(conversation_id, seq)
        return seq

    async def push_event(self, conversation_id: str, seq: int) -> None:
        if not self.mute:
            event = self.log[conversation_id][seq - 1]
            await self.push(EventPush(conversation_id=conversation_id, seq=seq, event=event))

    async def push(self, frame: ServerModel) -> None:
        for ws in list(self.sockets):
            await ws.send_str(frame.model_dump_json())

    async def drop_all(self) -> None:
        for ws in list(self.sockets):
            await ws.close()

    def fetches(self) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == "fetch_history"]

    def _item(self, event: v.MessageSent) -> ConversationEvent:
        return ConversationEvent(conversation_id=event.conversation_id, seq=event.seq, event=event)

    def _visible(self, conversation_id: str) -> list[v.MessageSent]:
        return [e for e in self.log.get(conversation_id, []) if e.seq not in self.hidden]

    def _sync(self, cursors: dict[str, int], limit: int) -> SyncAnswer:
        """As the edge answers: per conversation, what follows the cursor, within `limit`;
        one that missed more than `snapshot_after` gets its latest `snapshot_page`."""
        conversations: list[SyncedConversation] = []
        budget, more = limit, False
        for cid, log in self.log.items():
            events = [e for e in self._visible(cid) if e.seq > cursors.get(cid, 0)]
            if not events:
                continue
            if budget <= 0:
                more = True
                break
            snapshot = len(log) - cursors.get(cid, 0) > self.snapshot_after
            taken = events[-self.snapshot_page :] if snapshot else events[:budget]
            budget -= len(taken)
            complete = taken[-1].seq == len(log)
            more = more or not complete
            conversations.append(
                SyncedConversation(
                    conversation_id=cid,
                    events=[self._item(e) for e in taken],
                    last_seq=len(log),
                    snapshot=snapshot,
                    complete=complete,
                )
            )
        return SyncAnswer(conversations=conversations, more=more)

    def _page(self, frame: f.FetchHistory) -> HistoryPage:
        events = self._visible(frame.conversation_id)
        if frame.after is not None:
            page = [e for e in events if e.seq > frame.after][: frame.limit]
        else:
            older = [e for e in events if frame.before is None or e.seq < frame.before]
            page = older[-frame.limit :]
        last_seq = len(self.log.get(frame.conversation_id, []))
        return HistoryPage(events=[self._item(e) for e in page], last_seq=last_seq)

    def _search(self, asked: f.SearchParameters) -> SearchPage:
        """Every visible message holding each word of the query (case folded), newest
        first; the whole text is the snippet. Cursors are offsets bound to the query."""
        if len(asked.query) > MAX_QUERY_CHARS:
            raise RefusedError("invalid", f"the query is over {MAX_QUERY_CHARS} characters")
        words = asked.query.casefold().split()
        if not words:
            raise RefusedError("invalid", "the query is empty")
        offset = 0
        if asked.cursor is not None:
            query, _, at = asked.cursor.rpartition("@")
            if query != asked.query or not at.isdigit():
                raise RefusedError("invalid", "the cursor belongs to another search")
            offset = int(at)
        matching = [
            (cid, e)
            for cid in sorted(self.log)
            for e in self._visible(cid)
            if asked.conversation_id in (None, cid)
            and isinstance(e.body, f.PlainText)
            and all(w in e.body.text.casefold() for w in words)
        ]
        matching.sort(key=lambda found: -found[1].occurred_at_ms)
        page = matching[offset : offset + asked.limit]
        more = offset + asked.limit < len(matching)
        return SearchPage(
            hits=[self._hit(cid, e, words) for cid, e in page],
            estimated_total=len(matching),
            next_cursor=f"{asked.query}@{offset + asked.limit}" if more else None,
        )

    def _hit(self, cid: str, event: v.MessageSent, words: list[str]) -> SearchHit:
        text = event.body.text if isinstance(event.body, f.PlainText) else ""
        marks = []
        for w in words:
            at = text.casefold().find(w)
            start = utf16(text[:at])
            marks.append(Highlight(start=start, end=start + utf16(text[at : at + len(w)])))
        return SearchHit(
            conversation_id=cid,
            seq=event.seq,
            sender=event.actor.user_id,
            sent_at_ms=event.occurred_at_ms,
            edited=False,
            snippet=text,
            snippet_offset=0,
            highlights=sorted(marks, key=lambda h: h.start),
        )

    async def rest_search(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return unauthorized("a valid token is needed")
        try:
            return answer(200, self._search(f.SearchParameters.model_validate(request.query)))
        except ValidationError as e:
            refused = RefusedError("invalid", str(e))
        except RefusedError as e:
            refused = e
        return answer(
            400, ErrorAnswer(error=ErrorDetail(code=refused.code, message=refused.message))
        )

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("username") != USER or body.get("password") != PASSWORD:
            return unauthorized("wrong user name or password")
        return answer(201, Session(user_id=USER, device_id=DEVICE, token=TOKEN))

    async def conversations(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return unauthorized("a valid token is needed")
        listed = [
            ConversationSummary(conversation_id=c, members=[USER, OTHER], last_seq=len(events))
            for c, events in self.log.items()
        ]
        return answer(200, ConversationList(conversations=listed))

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        """Like the edge: the first frame authenticates; a bad token is answered and closed."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        first = await ws.receive_json(timeout=DEADLINE)
        if first.get("type") != "authenticate" or first.get("token") != TOKEN:
            refused = ErrorFrame(
                id=first.get("id"), code="unauthorized", message="a valid token is needed"
            )
            await ws.send_str(refused.model_dump_json())
            await ws.close()
            return ws
        await self._reply(ws, first["id"], Identity(user_id=USER, device_id=DEVICE))
        self.sockets.add(ws)
        self.connections += 1
        await self._notify()
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._answer(ws, json.loads(message.data))
        finally:
            self.sockets.discard(ws)
            await self._notify()
        return ws

    async def _reply(self, ws: web.WebSocketResponse, request_id: str, result: ServerModel) -> None:
        await ws.send_str(Response[ServerModel](id=request_id, result=result).model_dump_json())

    async def _refuse(self, ws: web.WebSocketResponse, request_id: Any, message: str) -> None:
        refused = ErrorFrame(id=request_id, code="bad_frame", message=message)
        await ws.send_str(refused.model_dump_json())

    async def _answer(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.frames.append(data)
        await self._notify()
        try:
            frame = f.CLIENT_FRAME.validate_python(data)
        except ValidationError as e:
            await self._refuse(ws, data.get("id"), str(e))
            return
        result: ServerModel
        match frame:
            case f.SendMessage():
                if self.ignore_sends:
                    return
                sent = await self._send(frame)
                if self.lose_next_send_answer:
                    self.lose_next_send_answer = False
                    await ws.close()
                    return
                result = sent
            case f.FetchHistory():
                result = self._page(frame)
            case f.Sync() if not self.without_sync:
                result = self._sync(frame.cursors, frame.limit)
            case f.Ack():
                result = Sequenced(seq=frame.up_to)
            case f.Ping():
                result = Pong()
            case f.Search():
                try:
                    result = self._search(frame)
                except RefusedError as e:
                    await ws.send_str(
                        ErrorFrame(id=frame.id, code=e.code, message=e.message).model_dump_json()
                    )
                    return
            case _:
                await self._refuse(ws, frame.id, f"the fake edge has no {frame.type}")
                return
        await self._reply(ws, frame.id, result)

    async def _send(self, frame: f.SendMessage) -> SendResult:
        key = (frame.conversation_id, frame.client_msg_id)
        duplicate = key in self.seq_of
        if not duplicate:
            text = frame.body.text if isinstance(frame.body, f.PlainText) else ""
            self.seq_of[key] = self.append(
                frame.conversation_id, text, client_msg_id=frame.client_msg_id, sender=USER
            )
            await self.push_event(frame.conversation_id, self.seq_of[key])
        return SendResult(seq=self.seq_of[key], duplicate=duplicate)


@asynccontextmanager
async def served() -> AsyncIterator[FakeEdge]:
    """A fake edge listening on a free port of 127.0.0.1 for the duration."""
    fake = FakeEdge()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    fake.url = f"http://{host}:{port}"
    try:
        yield fake
    finally:
        await fake.drop_all()
        await runner.cleanup()
