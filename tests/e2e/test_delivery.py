"""Real-time delivery through real edge processes, real WebSockets and the real broker."""

from __future__ import annotations

import uuid

import aiohttp

from tests.e2e.cluster import ParleyCluster, register_and_login
from tests.e2e.ws import RawDevice, send_frame
from tests.unit.test_openapi import refs


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
            # the creation (seq 1) may arrive too: the fan-out replays recent events to a
            # device it has just seen come online; the message is the push with its seq
            await receiver.wait_for(lambda: any(p.get("seq") == seq for p in receiver.pushes))
            event = next(p for p in receiver.pushes if p.get("seq") == seq)
            assert event["type"] == "event"
            assert event["conversation_id"] == cid
            assert event["event"]["body"] == {"kind": "plain", "text": "hello bob"}
            assert event["event"]["actor"]["user_id"] == alice
        finally:
            await sender.close()
            await receiver.close()


async def test_profile_openapi_and_device_list(cluster: ParleyCluster) -> None:
    user = unique("carol")
    async with aiohttp.ClientSession() as http:
        login = await register_and_login(http, cluster.url(0), user)
        auth = {"Authorization": f"Bearer {login['token']}"}
        async with http.patch(
            f"{cluster.url(1)}/v1/profile", json={"display_name": "Carol C."}, headers=auth
        ) as response:
            assert response.status == 200, await response.text()
            assert (await response.json())["display_name"] == "Carol C."
        async with http.get(f"{cluster.url(0)}/v1/devices", headers=auth) as response:
            devices = (await response.json())["devices"]
            assert [d["device_id"] for d in devices] == [login["device_id"]]
        async with http.get(f"{cluster.url(0)}/openapi.json") as response:
            document = await response.json()
            assert document["openapi"].startswith("3.")
            assert {"/v1/accounts", "/v1/sessions", "/v1/profile", "/v1/conversations"} <= set(
                document["paths"]
            )
            references = {ref.rsplit("/", 1)[-1] for ref in refs(document["paths"])}
            assert references <= set(document["components"]["schemas"])


async def test_metrics_count_frames_answers_and_pushes(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        a = await register_and_login(http, cluster.url(0), unique("dora"))
        b = await register_and_login(http, cluster.url(1), unique("eli"))
        async with http.post(
            f"{cluster.url(0)}/v1/conversations",
            json={"kind": "direct", "members": [b["user_id"]]},
            headers={"Authorization": f"Bearer {a['token']}"},
        ) as response:
            cid = (await response.json())["conversation_id"]
        sender = await RawDevice.connect(http, cluster.url(0), a["token"])
        receiver = await RawDevice.connect(http, cluster.url(1), b["token"])
        try:
            await sender.request(send_frame(cid, "counted", "c1"))
            await receiver.wait_pushes(1)
            await sender.ws.send_str("{broken")
            await sender.wait_for(lambda: any(p["type"] == "error" for p in sender.pushes))
            async with http.get(f"{cluster.url(0)}/metrics") as response:
                sent_side = await response.text()
            async with http.get(f"{cluster.url(1)}/metrics") as response:
                received_side = await response.text()
        finally:
            await sender.close()
            await receiver.close()
    assert metric(sent_side, 'parley_edge_frames_in_total{node="0",type="send"}') >= 1
    assert metric(sent_side, 'parley_edge_request_seconds_count{node="0",type="send"}') >= 1
    assert metric(sent_side, 'parley_edge_errors_total{code="bad_json",node="0"}') >= 1
    assert metric(received_side, 'parley_edge_pushes_total{node="1"}') >= 1
    assert metric(received_side, 'parley_edge_connections{node="1"}') >= 1


def metric(exposition: str, series: str) -> float:
    for line in exposition.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} not exposed")


async def test_processors_expose_transaction_and_delivery_metrics(cluster: ParleyCluster) -> None:
    """The warm-up message has gone through the sequencer and the fan-out by now."""
    async with aiohttp.ClientSession() as http:
        port = cluster.metrics_ports["streams.sequencer"]
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            sequencer = await response.text()
        port = cluster.metrics_ports["streams.fanout"]
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            fanout = await response.text()
    commands = cluster.topics.commands.name
    assert metric(sequencer, f'parley_records_total{{input="{commands}"}}') >= 1
    assert metric(sequencer, f'parley_transaction_seconds_count{{input="{commands}"}}') >= 1
    assert metric(fanout, 'parley_fanout_deliveries_total{node="1"}') >= 1
