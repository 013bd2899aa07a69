"""Presence and typing across two edge nodes: shown only to people who share a
conversation, coalesced, and typing that ends on its own."""

from __future__ import annotations

import aiohttp

from tests.e2e.cluster import ParleyCluster
from tests.e2e.people import Person, close_all, create, person, until_listed
from tests.e2e.ws import RawDevice

CLUSTER_ENV = {"PARLEY_TYPING_TTL_MS": "1500"}


async def on_node(
    http: aiohttp.ClientSession, cluster: ParleyCluster, who: Person, node: int
) -> RawDevice:
    for device in who.devices:
        await device.close()
    who.devices = [await RawDevice.connect(http, cluster.url(node), who.tokens[0])]
    return who.devices[0]


def typing_of(device: RawDevice, typist: str) -> list[bool]:
    return [p["active"] for p in device.pushes if p["type"] == "typing" and p["user_id"] == typist]


def presence_of(device: RawDevice, user: str) -> list[str]:
    return [p["status"] for p in device.pushes if p["type"] == "presence" and p["user_id"] == user]


async def test_typing_crosses_nodes_reaches_only_members_and_expires(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        mallory = await person(http, cluster, "mallory")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        await create(http, cluster, mallory, "direct", [alice])  # knows alice, not this chat
        typist = alice.devices[0]
        reader = await on_node(http, cluster, bob, 1)
        await until_listed(http, cluster, alice.tokens[0], cid)

        async def typing() -> None:
            answer = await typist.request({"type": "typing", "conversation_id": cid})
            assert answer["type"] == "response", answer

        await typing()
        try:
            await reader.wait_for(lambda: typing_of(reader, alice.name)[:1] == [True], timeout=10)
        except TimeoutError:
            await typing()  # bob's node may not have been in the directory yet: type again
            await reader.wait_for(lambda: typing_of(reader, alice.name)[:1] == [True], timeout=10)
        # nobody says "stopped": it ends on its own after the TTL
        await reader.wait_for(lambda: typing_of(reader, alice.name)[-1:] == [False], timeout=10)
        assert typing_of(mallory.devices[0], alice.name) == []
        assert typing_of(typist, alice.name) == []
        stranger = await mallory.devices[0].request({"type": "typing", "conversation_id": cid})
        assert stranger["type"] == "error" and stranger["code"] == "not_found"
        await close_all(alice, bob, mallory)


async def test_presence_online_away_offline_and_only_for_people_who_share_a_chat(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice", devices=2)
        bob = await person(http, cluster, "bob")
        mallory = await person(http, cluster, "mallory")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        watcher = await on_node(http, cluster, bob, 1)
        # presence follows the history view's memberships, which trail the log slightly
        await until_listed(http, cluster, bob.tokens[0], cid)

        async def subscribe(device: RawDevice, users: list[str]) -> list[dict[str, object]]:
            answer = await device.request({"type": "subscribe_presence", "user_ids": users})
            assert answer["type"] == "response", answer
            presence: list[dict[str, object]] = answer["result"]["presence"]
            return presence

        seen = await subscribe(watcher, [alice.name, mallory.name])
        assert [(p["user_id"], p["status"]) for p in seen] == [(alice.name, "online")]
        assert await subscribe(mallory.devices[0], [alice.name, bob.name]) == []

        for device in alice.devices:  # away only once every device is
            answer = await device.request({"type": "set_presence", "status": "away"})
            assert answer["type"] == "response", answer
        await watcher.wait_for(lambda: presence_of(watcher, alice.name) == ["away"], timeout=10)
        await alice.devices[0].request({"type": "set_presence", "status": "online"})
        await watcher.wait_for(
            lambda: presence_of(watcher, alice.name)[-1:] == ["online"], timeout=10
        )
        await close_all(alice)
        await watcher.wait_for(
            lambda: presence_of(watcher, alice.name)[-1:] == ["offline"], timeout=10
        )
        offline = [p for p in watcher.pushes if p["type"] == "presence"][-1]
        assert isinstance(offline["last_seen_ms"], int)
        assert presence_of(mallory.devices[0], alice.name) == []
        await close_all(bob, mallory)
