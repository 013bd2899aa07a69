"""A stalled client slows no one, costs bounded memory, and catches up with nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import aiohttp

from tests.e2e.cluster import ParleyCluster
from tests.e2e.people import close_all, create, person
from tests.e2e.ws import RawDevice, send_frame

MESSAGES = 400
BATCH = 20
TEXT = "x" * 60_000  # 24 MB in all: more than loopback socket buffers absorb


async def test_stalled_client_is_told_to_resync_and_loses_nothing(cluster: ParleyCluster) -> None:
    async with aiohttp.ClientSession() as http:
        alice = await person(http, cluster, "alice")
        bob = await person(http, cluster, "bob")
        carol = await person(http, cluster, "carol")
        await carol.devices[0].close()
        stalled = await http.ws_connect(  # never read until the end: a frozen phone
            f"{cluster.url(1)}/v1/ws", headers={"Authorization": f"Bearer {carol.tokens[0]}"}
        )
        group = await create(http, cluster, alice, "group", [bob, carol], name="busy")
        cid = group["conversation_id"]
        try:
            sender, reader = alice.devices[0], bob.devices[0]

            def bob_has(count: int) -> Callable[[], bool]:
                return lambda: len([p for p in reader.pushes if p["type"] == "event"]) >= count

            for start in range(0, MESSAGES, BATCH):
                answers = await asyncio.gather(
                    *[
                        sender.request(send_frame(cid, f"{i}:{TEXT}", f"m{i}"))
                        for i in range(start, start + BATCH)
                    ]
                )
                assert all(a["type"] == "response" for a in answers), answers[0]
                # bob keeps up (his queue never holds more than one batch) while carol sleeps
                await reader.wait_for(bob_has(1 + start + BATCH), timeout=30)
            everything = list(range(1, MESSAGES + 2))
            assert [p["seq"] for p in reader.pushes if p["type"] == "event"] == everything
            assert not [p for p in reader.pushes if p["type"] == "resync"]

            woken = RawDevice(stalled)
            try:
                await woken.wait_for(
                    lambda: any(p["type"] == "resync" for p in woken.pushes), timeout=20
                )
            except TimeoutError:
                kinds = [p["type"] for p in woken.pushes]
                raise AssertionError(
                    f"no resync; got {len(kinds)} pushes: {woken.pushes[:2]}, "
                    f"closed={stalled.closed} code={stalled.close_code}"
                ) from None
            pushed = [p["seq"] for p in woken.pushes if p["type"] == "event"]
            assert pushed == sorted(pushed)
            assert len(pushed) < len(everything), "the stall made the edge drop pushes"
            cursor = 0  # a client's cursor: the end of what it has without gaps
            while cursor + 1 in pushed:
                cursor += 1
            fetched = await fetch_until(woken, cid, cursor, everything[-1])
            assert sorted(set(pushed) | set(fetched)) == everything
            await woken.close()
        finally:
            await close_all(alice, bob)


async def fetch_until(device: RawDevice, cid: str, cursor: int, last: int) -> list[int]:
    """Page history after `cursor` up to `last` as a client does: `unavailable` and a view
    that has not caught up yet are retried, any other error fails the test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    fetched: list[int] = []
    while cursor < last:
        page = await device.request(
            {"type": "fetch_history", "conversation_id": cid, "after": cursor, "limit": 200}
        )
        if page["type"] == "error":
            assert page["code"] == "unavailable", page
            seqs: list[int] = []
        else:
            seqs = [e["seq"] for e in page["result"]["events"]]
        fetched += seqs
        cursor = seqs[-1] if seqs else cursor
        if not seqs:
            assert loop.time() < deadline, f"history stuck at {cursor} of {last}: {page}"
            await asyncio.sleep(0.2)
    return fetched
