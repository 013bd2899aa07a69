"""One contract, two edges: the fake edge the SDK's unit tests run against
(tests/fake_edge.py) and a real edge process on the real broker answer the same requests
with exactly the protocol's models (edge/protocol/), so the fake cannot drift from the edge.

"Exactly": each answer parses as its model, and the model dumps back to the very JSON that
came (no field the model lacks, none missing, no event of a type the model does not know).
Each test runs once per edge; the real one uses this module's Parley cluster.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import aiohttp
import pytest
from pydantic import BaseModel

from edge.protocol import events as v
from edge.protocol.answers import (
    ANSWERS,
    ConversationEvent,
    ConversationList,
    ErrorAnswer,
    HistoryPage,
    Identity,
    Pong,
    SearchPage,
    SendResult,
    Sequenced,
    Session,
    SyncAnswer,
)
from edge.protocol.frames import CLIENT_FRAME, PlainText
from edge.protocol.pushes import ErrorFrame, EventPush, Response
from tests import fake_edge
from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.people import Person, close_all, create, person
from tests.e2e.ws import RawDevice, send_frame

M = TypeVar("M", bound=BaseModel)
PASSWORD = "correct horse battery"
DEADLINE_S = 30.0


def exactly(model: type[M], data: Any) -> M:
    """`data` is a serialised `model`, nothing more and nothing less."""
    parsed = model.model_validate(data)
    assert parsed.model_dump(mode="json") == data, f"not exactly a {model.__name__}: {data}"
    return parsed


def known(events: list[ConversationEvent]) -> None:
    unknown = [e.event for e in events if isinstance(e.event, v.UnknownEvent)]
    assert unknown == [], "events of types the protocol does not describe"


class Side(Protocol):
    """An edge under contract, with a user who may log in and a conversation partner."""

    user: str
    password: str
    token: str

    @property
    def url(self) -> str: ...

    async def conversation(self) -> str:
        """A conversation of the user's with one message from the other member in it."""
        ...

    async def other_says(self, cid: str, text: str) -> int: ...

    async def settled(self, cid: str, seq: int) -> None:
        """Until the edge's views hold the conversation up to `seq`."""
        ...


@dataclass
class FakeSide:
    edge: fake_edge.FakeEdge
    user: str = fake_edge.USER
    password: str = fake_edge.PASSWORD
    token: str = fake_edge.TOKEN

    @property
    def url(self) -> str:
        return self.edge.url

    async def conversation(self) -> str:
        cid = f"c-{uuid.uuid4().hex[:8]}"
        self.edge.append(cid, "hello")
        return cid

    async def other_says(self, cid: str, text: str) -> int:
        return await self.edge.say(cid, text)

    async def settled(self, cid: str, seq: int) -> None:
        assert len(self.edge.log[cid]) >= seq  # the fake holds what it has at once


@dataclass
class RealSide:
    cluster: ParleyCluster
    http: aiohttp.ClientSession
    user: str
    other: Person
    token: str = ""
    password: str = PASSWORD

    @property
    def url(self) -> str:
        return self.cluster.url(0)

    async def conversation(self) -> str:
        me = Person(self.user, tokens=[self.token])
        created = await create(self.http, self.cluster, me, "direct", [self.other])
        cid = str(created["conversation_id"])
        await self.other_says(cid, "hello")
        return cid

    async def other_says(self, cid: str, text: str) -> int:
        answer = await self.other.devices[0].request(send_frame(cid, text, uuid.uuid4().hex))
        assert answer["type"] == "response", answer
        return int(answer["result"]["seq"])

    async def settled(self, cid: str, seq: int) -> None:
        async with connected(self) as device:

            async def synced() -> bool:
                answer = await device.request({"type": "sync", "cursors": {}, "limit": 2000})
                result = exactly(SyncAnswer, answer["result"])
                held = {c.conversation_id: c.last_seq for c in result.conversations}
                return held.get(cid, 0) >= seq

            await eventually(synced, f"the views to hold {cid} up to {seq}", DEADLINE_S)


@pytest.fixture(params=["fake", "real"])
def real_cluster(request: pytest.FixtureRequest) -> ParleyCluster | None:
    """The real edge needs this module's cluster, started outside any event loop."""
    if request.param == "real":
        cluster: ParleyCluster = request.getfixturevalue("cluster")
        return cluster
    return None


@pytest.fixture
async def side(real_cluster: ParleyCluster | None) -> AsyncIterator[Side]:
    cluster = real_cluster
    if cluster is None:
        async with fake_edge.served() as fake:
            yield FakeSide(fake)
        return
    async with aiohttp.ClientSession() as http:
        other = await person(http, cluster, "other")
        real = RealSide(cluster, http, f"user{uuid.uuid4().hex[:6]}", other)
        async with http.post(
            f"{real.url}/v1/accounts", json={"username": real.user, "password": PASSWORD}
        ) as registered:
            assert registered.status == 201, await registered.text()
        real.token = (await login(http, real))[1]["token"]
        try:
            yield real
        finally:
            await close_all(other)


async def login(http: aiohttp.ClientSession, side: Side, password: str = "") -> tuple[int, Any]:
    body = {"username": side.user, "password": password or side.password, "device_name": "c"}
    async with http.post(f"{side.url}/v1/sessions", json=body) as response:
        return response.status, await response.json()


async def authenticate(
    http: aiohttp.ClientSession, url: str, token: str
) -> tuple[aiohttp.ClientWebSocketResponse, Any]:
    """A socket and the answer to its `authenticate` frame (as browsers do it)."""
    ws = await http.ws_connect(f"{url}/v1/ws")
    await ws.send_str(json.dumps({"type": "authenticate", "id": "auth", "token": token}))
    return ws, json.loads((await ws.receive(timeout=DEADLINE_S)).data)


async def open_device(http: aiohttp.ClientSession, url: str, token: str) -> RawDevice:
    ws, answer = await authenticate(http, url, token)
    exactly(Response, answer)
    return RawDevice(ws)


@asynccontextmanager
async def connected(side: Side) -> AsyncIterator[RawDevice]:
    """The user's device, authenticated, for the duration."""
    async with aiohttp.ClientSession() as http:
        device = await open_device(http, side.url, side.token)
        try:
            yield device
        finally:
            await device.close()


async def answered(device: RawDevice, frame: dict[str, Any]) -> Any:
    """The `result` of the response to `frame`, checked against the frame's answer model."""
    response = await device.request(frame)
    exactly(Response, response)
    model = ANSWERS[type(CLIENT_FRAME.validate_python(frame))]
    exactly(model, response["result"])
    return response["result"]


async def test_login_answers_a_session_and_a_wrong_password_an_error(side: Side) -> None:
    async with aiohttp.ClientSession() as http:
        status, body = await login(http, side)
        assert status == 201
        assert exactly(Session, body).user_id == side.user
        status, body = await login(http, side, password="not the password")
        assert status == 401
        assert exactly(ErrorAnswer, body).error.code == "unauthorized"


async def test_the_conversation_list_answers_summaries_and_needs_a_token(side: Side) -> None:
    cid = await side.conversation()
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {side.token}"}

        async def listed() -> bool:
            async with http.get(f"{side.url}/v1/conversations", headers=headers) as response:
                assert response.status == 200
                found = exactly(ConversationList, await response.json()).conversations
            return any(c.conversation_id == cid and side.user in c.members for c in found)

        await eventually(listed, f"{cid} to be listed", DEADLINE_S)
        wrong = {"Authorization": "Bearer not-a-token"}
        async with http.get(f"{side.url}/v1/conversations", headers=wrong) as response:
            assert response.status == 401
            assert exactly(ErrorAnswer, await response.json()).error.code == "unauthorized"


async def test_authenticate_answers_whose_token_it_is_and_a_bad_token_an_error(
    side: Side,
) -> None:
    async with aiohttp.ClientSession() as http:
        ws, answer = await authenticate(http, side.url, side.token)
        identity = exactly(Identity, exactly(Response, answer).result)
        assert (answer["id"], identity.user_id) == ("auth", side.user)
        await ws.close()
        ws, answer = await authenticate(http, side.url, "forged.token")
        refused = exactly(ErrorFrame, answer)
        assert (refused.id, refused.code) == ("auth", "unauthorized")
        await ws.close()


async def test_a_send_answers_its_seq_and_a_retry_the_same_seq_as_a_duplicate(
    side: Side,
) -> None:
    cid = await side.conversation()
    async with connected(side) as device:
        first = exactly(SendResult, await answered(device, send_frame(cid, "hi", "k1")))
        again = exactly(SendResult, await answered(device, send_frame(cid, "hi", "k1")))
        assert (first.duplicate, again.duplicate, again.seq) == (False, True, first.seq)


async def test_another_members_message_is_pushed_as_an_event_frame(side: Side) -> None:
    cid = await side.conversation()
    async with connected(side) as device:
        seq = await side.other_says(cid, "are you there?")
        await device.wait_for(lambda: any(p.get("seq") == seq for p in device.pushes))
        pushed = exactly(EventPush, next(p for p in device.pushes if p.get("seq") == seq))
        assert isinstance(pushed.event, v.MessageSent)
        assert pushed.event.body == PlainText(text="are you there?")
        for push in (p for p in device.pushes if p["type"] == "event"):
            assert not isinstance(exactly(EventPush, push).event, v.UnknownEvent), push


async def test_history_answers_a_page_in_seq_order(side: Side) -> None:
    cid = await side.conversation()
    seq = await side.other_says(cid, "for the record")
    await side.settled(cid, seq)
    async with connected(side) as device:
        frame = {"type": "fetch_history", "conversation_id": cid, "limit": 10}
        page = exactly(HistoryPage, await answered(device, frame))
        known(page.events)
        assert [e.seq for e in page.events] == sorted(e.seq for e in page.events)
        assert [e.text for e in page.events if e.seq == seq] == ["for the record"]
        assert page.last_seq == seq


async def test_sync_answers_what_follows_the_cursors(side: Side) -> None:
    cid = await side.conversation()
    seq = await side.other_says(cid, "catch up")
    await side.settled(cid, seq)
    async with connected(side) as device:
        frame = {"type": "sync", "cursors": {cid: seq - 1}, "limit": 100}
        answer = exactly(SyncAnswer, await answered(device, frame))
        synced = next(c for c in answer.conversations if c.conversation_id == cid)
        known(synced.events)
        assert [(e.seq, e.text) for e in synced.events] == [(seq, "catch up")]
        assert (synced.last_seq, synced.complete, answer.inbox) == (seq, True, None)


async def test_ack_and_ping_answer_their_models(side: Side) -> None:
    cid = await side.conversation()
    async with connected(side) as device:
        frame = {"type": "ack", "conversation_id": cid, "kind": "delivered", "up_to": 1}
        exactly(Sequenced, await answered(device, frame))
        assert exactly(Pong, await answered(device, {"type": "ping"})).pong is True


async def test_a_malformed_frame_is_refused_with_its_request_id(side: Side) -> None:
    async with connected(side) as device:
        refused = await device.request({"type": "send", "id": "bad1", "conversation_id": "c"})
        error = exactly(ErrorFrame, refused)
        assert (error.id, error.code) == ("bad1", "bad_frame")


async def test_search_answers_hits_with_highlights_and_a_bad_query_invalid(side: Side) -> None:
    cid = await side.conversation()
    seq = await side.other_says(cid, "the Quarterly report is ready")
    await side.settled(cid, seq)
    async with connected(side) as device:
        frame = {"type": "search", "query": "quarterly", "conversation_id": cid}
        hits: list[tuple[int, list[str]]] = []

        async def found() -> bool:
            page = exactly(SearchPage, await answered(device, frame))
            hits[:] = [
                (h.seq, [h.snippet[m.start : m.end] for m in h.highlights]) for h in page.hits
            ]
            return bool(hits)

        await eventually(found, "the message to be searchable", DEADLINE_S)
        assert hits == [(seq, ["Quarterly"])]
        refused = await device.request({"type": "search", "id": "big", "query": "x" * 10_240})
        error = exactly(ErrorFrame, refused)
        assert (error.id, error.code) == ("big", "invalid")
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {side.token}"}
        params = {"query": "quarterly", "conversation_id": cid}
        async with http.get(f"{side.url}/v1/search", params=params, headers=headers) as response:
            assert response.status == 200
            page = exactly(SearchPage, await response.json())
        assert [h.seq for h in page.hits] == [seq]
        async with http.get(f"{side.url}/v1/search", params={"limit": "0"}, headers=headers) as r:
            assert (r.status, exactly(ErrorAnswer, await r.json()).error.code) == (400, "invalid")
