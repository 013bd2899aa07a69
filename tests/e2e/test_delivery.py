"""Real-time delivery through real edge processes, real WebSockets and the real broker."""

from __future__ import annotations

import uuid

import aiohttp

from tests.e2e.cluster import ParleyCluster, register_and_login
from tests.e2e.ws import RawDevice, send_frame


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:6]}"


async def test_message_crosses_from_one_edge_node_to_another(cluster: ParleyCluster) -> None:
    alice, bob = unique("alice"), unique("bob")
    async with aiohttp.ClientSession() as http:
        a = await register_and_login(http, cluster.url(0), alice)
        b = await register_and_login(http, cluster.url(1), bob)
        async with http.post(
            f"{cluster.url(0)}/v1/conversations",
            json={"kind": "direct", "members": [bob]},
            headers={"Authorization": f"Bearer {a['token']}"},
        ) as response:
            assert response.status == 201, await response.text()
            cid = (await response.json())["conversation_id"]
        sender = await RawDevice.connect(http, cluster.url(0), a["token"])
        receiver = await RawDevice.connect(http, cluster.url(1), b["token"])
        try:
            answer = await sender.request(send_frame(cid, "hello bob", "m1"))
            assert answer["type"] == "response", answer
            seq = answer["result"]["seq"]
            pushes = await receiver.wait_pushes(1)
            event = pushes[-1]
            assert event["conversation_id"] == cid
            assert event["seq"] == seq
            assert event["event"]["body"] == {"kind": "plain", "text": "hello bob"}
            assert event["event"]["actor"]["user_id"] == alice
        finally:
            await sender.close()
            await receiver.close()
