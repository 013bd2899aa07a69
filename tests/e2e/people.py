"""People with devices, for e2e tests: register, log in, connect, create conversations."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.e2e.cluster import ParleyCluster, eventually, register_and_login
from tests.e2e.ws import RawDevice


@dataclass
class Person:
    name: str
    tokens: list[str] = field(default_factory=list)
    devices: list[RawDevice] = field(default_factory=list)


async def person(
    http: aiohttp.ClientSession, cluster: ParleyCluster, name: str, *, devices: int = 1
) -> Person:
    """A new user (unique name) with `devices` connected devices, spread over edge nodes."""
    who = Person(f"{name}{uuid.uuid4().hex[:6]}")
    for i in range(devices):
        node = i % len(cluster.ports)
        login = await register_and_login(http, cluster.url(node), who.name, f"device{i}")
        who.tokens.append(login["token"])
        who.devices.append(await RawDevice.connect(http, cluster.url(node), login["token"]))
    return who


async def create(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    owner: Person,
    kind: str,
    members: list[Person],
    *,
    name: str | None = None,
) -> dict[str, Any]:
    async with http.post(
        f"{cluster.url(0)}/v1/conversations",
        json={"kind": kind, "members": [p.name for p in members], "name": name},
        headers={"Authorization": f"Bearer {owner.tokens[0]}"},
    ) as response:
        body: dict[str, Any] = await response.json()
        assert response.status == 201, body
        return body


async def close_all(*people: Person) -> None:
    for who in people:
        for device in who.devices:
            await device.close()


async def until_listed(
    http: aiohttp.ClientSession,
    cluster: ParleyCluster,
    token: str,
    cid: str,
    deadline_s: float = 30.0,
) -> None:
    async def listed() -> bool:
        async with http.get(
            f"{cluster.url(0)}/v1/conversations", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            conversations = (await response.json())["conversations"]
        return cid in [c["conversation_id"] for c in conversations]

    await eventually(listed, f"{cid} to be listed", deadline_s)
