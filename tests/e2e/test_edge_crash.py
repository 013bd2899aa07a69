"""kill -9 of one of two edge nodes under a steady send load: its devices reconnect to the
other node, retry what was unanswered with the same ids and catch up by sync; afterwards
every acknowledged message is on every member device exactly once, at the seq its
acknowledgement named, and no message was written twice.

Devices keep what they hold as a client does (by seq, a repeat is dropped) and catch up
from the highest seq up to which they hold everything (their cursor).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.e2e.cluster import ParleyCluster, eventually
from tests.e2e.people import create, person
from tests.e2e.ws import RawDevice, send_frame

PER_DEVICE = 20
KILL_AFTER = 40
"""Acknowledged sends before node 0 is killed: it dies in the middle of the load."""
PACE_S = 0.05
DEADLINE_S = 60.0


@dataclass
class MemberDevice:
    """One device of a member: its token, its socket of the moment, and what it holds."""

    name: str
    token: str
    socket: RawDevice
    node: int
    sockets: list[RawDevice] = field(default_factory=list)
    synced: dict[int, dict[str, Any]] = field(default_factory=dict)

    def held(self) -> dict[int, dict[str, Any]]:
        """Seq -> event, from every push and sync answer this device ever got."""
        events = dict(self.synced)
        for socket in [*self.sockets, self.socket]:
            for push in socket.pushes:
                if push["type"] == "event":
                    events.setdefault(push["seq"], push["event"])
        return events

    def cursor(self) -> int:
        held = self.held()
        seq = 0
        while seq + 1 in held:
            seq += 1
        return seq


async def answer_or_none(device: MemberDevice, frame: dict[str, Any]) -> dict[str, Any] | None:
    """The answer to `frame`; None when the socket went away first (its edge died)."""
    socket = device.socket
    request_id = frame.setdefault("id", uuid.uuid4().hex)
    try:
        await socket.ws.send_str(json.dumps(frame))
    except ConnectionError:
        return None
    answer = asyncio.create_task(socket.wait_response(request_id, DEADLINE_S))
    done, _ = await asyncio.wait({answer, socket.reader}, return_when=asyncio.FIRST_COMPLETED)
    if answer in done:
        return answer.result()
    answer.cancel()
    return None


async def fail_over(
    http: aiohttp.ClientSession, cluster: ParleyCluster, device: MemberDevice
) -> None:
    """To the surviving node, as a client with a list of edges would."""
    device.sockets.append(device.socket)
    device.node = 1
    device.socket = await RawDevice.connect(http, cluster.url(1), device.token)


async def send_load(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    device: MemberDevice,
    *,
    cid: str,
    acked: dict[str, int],
    progress: asyncio.Condition,
) -> None:
    """`PER_DEVICE` messages, one every `PACE_S`; an unanswered one is sent again with the
    same client_msg_id, on the other node if its own died."""
    for i in range(PER_DEVICE):
        key = f"{device.name}-{i}"
        while True:
            answer = await answer_or_none(device, send_frame(cid, key, key))
            if answer is None:
                await fail_over(http, cluster, device)
                continue
            if answer["type"] == "response":
                break
            assert answer["code"] in ("timeout", "unavailable"), answer  # retryable only
        async with progress:
            acked[key] = answer["result"]["seq"]
            progress.notify_all()
        await asyncio.sleep(PACE_S)  # the load's pace, not a wait for anything


async def catch_up(device: MemberDevice, cid: str, last: int) -> None:
    """Sync from the device's cursor until it holds every seq up to `last`."""

    async def holds_everything() -> bool:
        answer = await answer_or_none(
            device, {"type": "sync", "cursors": {cid: device.cursor()}, "limit": 2000}
        )
        assert answer is not None and answer["type"] == "response", answer
        for conversation in answer["result"]["conversations"]:
            for item in conversation["events"]:
                device.synced.setdefault(item["seq"], item["event"])
        return device.cursor() >= last

    await eventually(holds_everything, f"{device.name} to hold seqs 1 to {last}", DEADLINE_S)


async def test_killing_an_edge_under_load_loses_and_duplicates_nothing(
    cluster: ParleyCluster,
) -> None:
    async with aiohttp.ClientSession() as http:
        people = [await person(http, cluster, name, devices=2) for name in ("ann", "ben", "cat")]
        owner, *others = people
        cid = (await create(http, cluster, owner, "group", others, name="crash"))["conversation_id"]
        devices = [
            MemberDevice(f"{who.name}-{i}", who.tokens[i], who.devices[i], node=i)
            for who in people
            for i in range(2)
        ]
        acked: dict[str, int] = {}
        progress = asyncio.Condition()
        try:
            load = asyncio.gather(
                *(
                    send_load(http, cluster, d, cid=cid, acked=acked, progress=progress)
                    for d in devices
                )
            )
            async with progress:
                await asyncio.wait_for(
                    progress.wait_for(lambda: len(acked) >= KILL_AFTER), DEADLINE_S
                )
            cluster.kill("edge-0")
            await asyncio.wait_for(load, DEADLINE_S * 2)
            moved = sorted(d.name for d in devices if d.sockets)
            assert moved == sorted(d.name for d in devices if d.name.endswith("-0"))

            assert len(acked) == PER_DEVICE * len(devices)
            assert len(set(acked.values())) == len(acked), "two sends acknowledged at one seq"
            last = max(acked.values())
            # seq 1 is the creation; one seq more would be a message written twice
            assert last == len(acked) + 1
            for device in devices:
                if device.node == 0:  # it sent nothing after the kill: still to notice it
                    await fail_over(http, cluster, device)
                await catch_up(device, cid, last)
                held = device.held()
                messages = {
                    seq: event["client_msg_id"]
                    for seq, event in held.items()
                    if event["type"] == "MessageSent"
                }
                assert sorted(messages.values()) == sorted(acked), device.name
                assert {key: seq for seq, key in messages.items()} == acked, device.name
                assert sorted(held) == list(range(1, last + 1)), device.name
        finally:
            for device in devices:
                for socket in {*device.sockets, device.socket}:
                    await socket.close()
