"""The edge bugs issue 15 found with a client written from the docs alone, each against real
edge processes: every frame and request gets one documented answer, the socket survives,
and a removed member learns nothing of what came after their removal."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.people import Person, close_all, create, person
from tests.e2e.ws import RawDevice, send_frame

DEEP = "[" * 1000 + "]" * 1000


async def answered(device: RawDevice, raw: str, request_id: str | None) -> dict[str, Any]:
    """The one answer to a raw frame; an error without an id is taken from the pushes."""
    before = len([p for p in device.pushes if p["type"] == "error"])
    await device.ws.send_str(raw)
    if request_id is not None:
        return await device.wait_response(request_id)
    await device.wait_for(lambda: len([p for p in device.pushes if p["type"] == "error"]) > before)
    return [p for p in device.pushes if p["type"] == "error"][-1]


async def still_serves(device: RawDevice) -> None:
    pong = await device.request({"type": "ping"})
    assert pong["type"] == "response" and pong["result"] == {"pong": True}


def auth(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


async def test_hostile_frames_get_one_answer_and_the_socket_survives(
    cluster: ParleyCluster,
) -> None:
    """Regression: a lone surrogate in `id` or `user_ids`, and JSON nested 1,000 deep (as
    the frame or as its id) dropped the socket or answered `internal`."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, cluster, "ann")
        device = ann.devices[0]
        try:
            for raw in (
                '{"type":"ping","id":"\\ud800"}',
                '{"type":"subscribe_presence","id":"s1","user_ids":["\\ud800"]}',
                DEEP,
                '{"type":"ping","id":' + DEEP + "}",
                '{"type":"ping","id":"' + "x" * 65 + '"}',
            ):
                error = await answered(device, raw, None)
                assert error["code"] in ("bad_json", "bad_frame") and error["id"] is None, raw
                await still_serves(device)
        finally:
            await close_all(ann)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "ack", "kind": "read", "up_to": 2**63},
        {"type": "edit", "seq": 2**63, "body": {"kind": "plain", "text": "x"}},
        {"type": "delete", "seq": 2**63, "scope": "for_everyone"},
        {"type": "react", "seq": 2**63, "emoji": "👍"},
    ],
)
async def test_a_seq_beyond_the_log_is_a_bad_frame(
    cluster: ParleyCluster, frame: dict[str, Any]
) -> None:
    """Regression: 2^63 in your own conversation answered `internal` (the Avro long)."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        try:
            answer = await ann.devices[0].request({**frame, "conversation_id": cid})
            assert (answer["type"], answer["code"]) == ("error", "bad_frame")
            assert "less than or equal to 9223372036854775807" in answer["message"]
            await still_serves(ann.devices[0])
        finally:
            await close_all(ann, bob)


async def test_an_emoji_of_32_characters_is_taken(cluster: ParleyCluster) -> None:
    """Regression: 17 x U+1F642 passed the frame (1 to 32 characters, as documented) and was
    refused by the sequencer as over 64 bytes."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, ann, "direct", [bob]))["conversation_id"]
        try:
            sent = await ann.devices[0].request(send_frame(cid, "react to me", "e1"))
            seq = sent["result"]["seq"]
            for count in (17, 32):
                react = {"type": "react", "conversation_id": cid, "seq": seq, "emoji": "🙂" * count}
                answer = await ann.devices[0].request(react)
                assert answer["type"] == "response", answer
        finally:
            await close_all(ann, bob)


async def test_rest_answers_hostile_bodies_with_bad_json_and_ignores_a_charset(
    cluster: ParleyCluster,
) -> None:
    """Regression: a body nested 1,000 deep, a 4,400-digit integer, and `charset=bogus-9`
    each answered 500 on every operation that takes a JSON body."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, cluster, "ann")
        bob = await person(http, cluster, "bob")
        url = f"{cluster.url(0)}/v1/conversations"
        try:
            for body in (DEEP, '{"kind":"group","members":[],"name":' + "9" * 4400 + "}"):
                async with http.post(url, data=body, headers=auth(ann.tokens[0])) as response:
                    assert response.status == 400
                    assert (await response.json())["error"]["code"] == "bad_json"
            create_body = json.dumps({"kind": "direct", "members": [bob.name]})
            headers = {**auth(ann.tokens[0]), "Content-Type": "application/json; charset=bogus-9"}
            async with http.post(url, data=create_body, headers=headers) as response:
                assert response.status == 201, await response.text()
        finally:
            await close_all(ann, bob)


async def test_the_http_layers_own_errors_are_in_the_documented_shape(
    cluster: ParleyCluster,
) -> None:
    """Regression: 404, 405, 413 and a header over the limit (400) were plain text."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, cluster, "ann")
        base = cluster.url(0)
        try:
            cases = [
                ("GET", "/v1/no-such-path", {}, None, 404, "not_found"),
                ("PUT", "/v1/profile", auth(ann.tokens[0]), None, 405, "method_not_allowed"),
                ("POST", "/v1/sessions", {}, "x" * 300_000, 413, "too_large"),
                ("GET", "/v1/profile", {"X-Padding": "y" * 20_000}, None, 400, "invalid"),
            ]
            for method, path, headers, body, status, code in cases:
                async with http.request(
                    method, base + path, headers=headers, data=body
                ) as response:
                    assert response.status == status, path
                    assert response.content_type == "application/json", path
                    error = (await response.json())["error"]
                    assert error["code"] == code and error["message"], path
                    if status == 405:
                        assert "PATCH" in response.headers["Allow"]
        finally:
            await close_all(ann)


async def test_the_bearer_scheme_is_case_insensitive(cluster: ParleyCluster) -> None:
    """Regression: `Authorization: bearer <token>` was refused (RFC 7235)."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, cluster, "ann")
        try:
            for scheme in ("bearer", "BEARER"):
                headers = auth(ann.tokens[0], scheme)
                async with http.get(f"{cluster.url(0)}/v1/profile", headers=headers) as r:
                    assert r.status == 200, scheme
                ws = await http.ws_connect(f"{cluster.url(1)}/v1/ws", headers=headers)
                device = RawDevice(ws)
                await still_serves(device)
                await device.close()
        finally:
            await close_all(ann)


async def remove(http: aiohttp.ClientSession, cluster: ParleyCluster, owner: Person,
                 cid: str, member: Person) -> int:
    async with http.delete(
        f"{cluster.url(0)}/v1/conversations/{cid}/members/{member.name}",
        headers=auth(owner.tokens[0]),
    ) as response:
        assert response.status == 200, await response.text()
        seq: int = (await response.json())["seq"]
        return seq


async def test_a_removed_member_learns_nothing_after_the_removal(cluster: ParleyCluster) -> None:
    """Regression: after removal `fetch_history` held the events up to the removal, but its
    `last_seq` was the conversation's current one; and the removed member's subscription
    to the owner's presence went on, so they were told when the owner went away."""
    async with aiohttp.ClientSession() as http:
        ann, bob, cy = [await person(http, cluster, n) for n in ("ann", "bob", "cy")]
        group = (await create(http, cluster, ann, "group", [bob, cy], name="g"))["conversation_id"]
        pair = (await create(http, cluster, bob, "direct", [cy]))["conversation_id"]
        owner, removed, kept = ann.devices[0], bob.devices[0], cy.devices[0]
        try:
            for device in (removed, kept):
                watch = await device.request({"type": "subscribe_presence", "user_ids": [ann.name]})
                assert [p["user_id"] for p in watch["result"]["presence"]] == [ann.name]
            removal = await remove(http, cluster, ann, group, bob)
            await removed.wait_for(
                lambda: any(
                    p["type"] == "event" and p["event"]["type"] == "MemberRemoved"
                    for p in removed.pushes
                )
            )
            later = [
                (await owner.request(send_frame(group, f"after {i}", f"a{i}")))["result"]["seq"]
                for i in range(2)
            ]

            async def history_has_them() -> bool:
                page = await owner.request({"type": "fetch_history", "conversation_id": group})
                return bool(page["result"]["last_seq"] >= later[-1])

            await eventually(history_has_them, "the history view to hold the later sends", 30)
            page = (await removed.request({"type": "fetch_history", "conversation_id": group}))
            assert page["result"]["last_seq"] == removal
            assert max(e["seq"] for e in page["result"]["events"]) == removal
            # That answer came from the edge's one reading thread after the presence check
            # the removal started there, so the subscription has ended by now.
            await owner.request({"type": "set_presence", "status": "away"})
            await kept.wait_for(
                lambda: any(
                    p["type"] == "presence" and p["status"] == "away" for p in kept.pushes
                )
            )
            await kept.request(send_frame(pair, "after the presence push", "p1"))
            await removed.wait_for(
                lambda: any(
                    p["type"] == "event" and p["conversation_id"] == pair for p in removed.pushes
                )
            )
            told = [p for p in removed.pushes if p["type"] == "presence" and p["status"] == "away"]
            assert told == []
        finally:
            await close_all(ann, bob, cy)
