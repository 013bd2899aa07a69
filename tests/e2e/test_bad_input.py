"""Bad input gets a clear error and the edge keeps serving everyone; strangers learn nothing."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.people import close_all, create, person
from tests.e2e.ws import RawDevice, send_frame


async def error_of(device: RawDevice, raw: str, request_id: str | None) -> dict[str, object]:
    await device.ws.send_str(raw)
    if request_id is None:
        await device.wait_for(lambda: any(p["type"] == "error" for p in device.pushes))
        return next(p for p in device.pushes if p["type"] == "error")
    return await device.wait_response(request_id)


async def test_malformed_frames_get_stable_codes_and_the_edge_keeps_serving(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        device = alice.devices[0]
        try:
            not_json = await error_of(device, "{nope", None)
            assert not_json["code"] == "bad_json"
            unknown = await error_of(device, json.dumps({"type": "fly", "id": "u1"}), "u1")
            assert unknown["code"] == "bad_frame"
            wrong = await error_of(
                device, json.dumps({"type": "send", "id": "w1", "conversation_id": cid}), "w1"
            )
            assert wrong["code"] == "bad_frame"
            assert "client_msg_id" in str(wrong["message"])
            huge = await error_of(
                device, json.dumps(send_frame(cid, "x" * 70_000, "big") | {"id": "h1"}), "h1"
            )
            assert huge["code"] == "too_large"
            answer = await device.request(send_frame(cid, "still fine", "ok1"))
            assert answer["type"] == "response"
            await bob.devices[0].wait_for(
                lambda: any(
                    p["type"] == "event" and p["event"].get("body", {}).get("text") == "still fine"
                    for p in bob.devices[0].pushes
                )
            )
        finally:
            await close_all(alice, bob)


async def test_a_frame_over_the_limit_closes_only_that_connection(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        try:
            await alice.devices[0].ws.send_str("x" * 300_000)
            await asyncio.wait_for(alice.devices[0].reader, 10)
            assert alice.devices[0].ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
            answer = await bob.devices[0].request(send_frame(cid, "unaffected", "u1"))
            assert answer["type"] == "response"
        finally:
            await close_all(alice, bob)


@pytest.mark.parametrize("token", ["forged", "d-0000.bad-secret", ""])
async def test_forged_tokens_are_refused(cluster: ParleyCluster, token: str) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{cluster.url(0)}/v1/ws")
        await ws.send_str(json.dumps({"type": "authenticate", "id": "a1", "token": token or "x"}))
        frame = json.loads((await ws.receive(timeout=10)).data)
        assert frame["type"] == "error"
        assert frame["code"] == "unauthorized"
        await ws.close()
        async with http.get(
            f"{cluster.url(0)}/v1/conversations", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            assert response.status == 401


async def test_a_revoked_token_stops_working_on_every_edge(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice", devices=2)
        stolen = alice.tokens[1]
        device_id = stolen.split(".")[0]
        async with http.delete(
            f"{cluster.url(0)}/v1/devices/{device_id}",
            headers={"Authorization": f"Bearer {alice.tokens[0]}"},
        ) as r:
            assert r.status == 204
        for node in range(len(cluster.ports)):
            await until_status(http, f"{cluster.url(node)}/v1/devices", stolen, 401)
        await close_all(alice)


async def until_status(
    http: aiohttp.ClientSession, url: str, token: str, status: int, deadline_s: float = 10.0
) -> None:
    """Each edge applies the revocation when it reads it from the log: wait for that."""

    async def answers() -> bool:
        async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
            return response.status == status

    await eventually(answers, f"{url} to answer {status}", deadline_s)


async def test_a_stranger_cannot_send_read_fetch_or_learn_existence(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        mallory = await person(http, cluster, "mallory")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        try:
            await alice.devices[0].request(send_frame(cid, "secret", "s1"))
            intruder = mallory.devices[0]
            sent = await intruder.request(send_frame(cid, "let me in", "m1"))
            missing = await intruder.request(send_frame("dm-does-not-exist", "hello", "m2"))
            assert (
                (sent["type"], sent["code"], sent["message"])
                == (missing["type"], missing["code"], missing["message"])
                == ("error", "not_found", "no such conversation")
            )
            fetched = await intruder.request({"type": "fetch_history", "conversation_id": cid})
            fetched_missing = await intruder.request(
                {"type": "fetch_history", "conversation_id": "dm-does-not-exist"}
            )
            assert fetched["code"] == fetched_missing["code"] == "not_found"
            assert fetched["message"] == fetched_missing["message"]
            async with http.get(
                f"{cluster.url(0)}/v1/conversations",
                headers={"Authorization": f"Bearer {mallory.tokens[0]}"},
            ) as r:
                assert (await r.json())["conversations"] == []
            await bob.devices[0].wait_for(
                lambda: any(
                    p["type"] == "event" and p["conversation_id"] == cid
                    for p in bob.devices[0].pushes
                )
            )
            assert not [p for p in intruder.pushes if p.get("conversation_id") == cid]
        finally:
            await close_all(alice, bob, mallory)
