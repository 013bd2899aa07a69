"""Every device gets every message once, in order; retries never make a second message."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from tests.e2e.cluster import ParleyCluster
from tests.e2e.people import close_all, create, person
from tests.e2e.ws import RawDevice, send_frame


def has_messages(device: RawDevice, cid: str, count: int) -> Callable[[], bool]:
    return lambda: len(messages_of(device, cid)) >= count


def messages_of(device: RawDevice, cid: str) -> list[tuple[int, str]]:
    return [
        (p["seq"], p["event"]["body"]["text"])
        for p in device.pushes
        if p["type"] == "event"
        and p["conversation_id"] == cid
        and p["event"]["type"] == "MessageSent"
    ]


async def test_group_of_ten_one_member_with_three_devices(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        owner = await person(http, cluster, "owner", devices=3)
        others = [await person(http, cluster, f"m{i}") for i in range(9)]
        group = await create(http, cluster, owner, "group", others, name="ten")
        cid = group["conversation_id"]
        dm_peer = others[0]
        direct = await create(http, cluster, owner, "direct", [dm_peer])
        try:
            sent = []
            for i, sender in enumerate([owner, *others] * 2):
                answer = await sender.devices[0].request(send_frame(cid, f"g{i}", f"g{i}"))
                assert answer["type"] == "response", answer
                sent.append((answer["result"]["seq"], f"g{i}"))
            for i in range(5):
                answer = await dm_peer.devices[0].request(
                    send_frame(direct["conversation_id"], f"d{i}", f"d{i}")
                )
                assert answer["type"] == "response", answer
            every_device = [d for p in (owner, *others) for d in p.devices]
            for device in every_device:
                await device.wait_for(has_messages(device, cid, len(sent)))
                assert messages_of(device, cid) == sent
            for device in [*owner.devices, *dm_peer.devices]:
                await device.wait_for(has_messages(device, direct["conversation_id"], 5))
                texts = [t for _, t in messages_of(device, direct["conversation_id"])]
                assert texts == [f"d{i}" for i in range(5)]
            assert all(
                not messages_of(d, direct["conversation_id"]) for p in others[1:] for d in p.devices
            )
        finally:
            await close_all(owner, *others)


async def test_send_retried_five_times_across_a_reconnect_is_one_message(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        cid = (await create(http, cluster, alice, "direct", [bob]))["conversation_id"]
        try:
            answers = [
                await alice.devices[0].request(send_frame(cid, "once", "same-id")) for _ in range(2)
            ]
            await alice.devices[0].close()
            again = await RawDevice.connect(http, cluster.url(1), alice.tokens[0])
            alice.devices[0] = again
            answers += [await again.request(send_frame(cid, "once", "same-id")) for _ in range(3)]
            seqs = {a["result"]["seq"] for a in answers}
            assert len(seqs) == 1
            assert [a["result"]["duplicate"] for a in answers] == [False, True, True, True, True]
            marker = await again.request(send_frame(cid, "after", "next-id"))
            await bob.devices[0].wait_for(
                lambda: any(t == "after" for _, t in messages_of(bob.devices[0], cid))
            )
            assert [t for _, t in messages_of(bob.devices[0], cid)] == ["once", "after"]
            assert marker["result"]["seq"] == seqs.pop() + 1
        finally:
            await close_all(alice, bob)
