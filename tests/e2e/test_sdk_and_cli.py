"""The Python SDK and the `parley` CLI against real edge processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from client.display import highlighted
from client.sdk import ParleyClient
from tests.e2e.cluster import ParleyCluster, eventually

PASSWORD = "correct horse battery"


async def logged_in(cluster: ParleyCluster, node: int, name: str) -> ParleyClient:
    client = ParleyClient(cluster.url(node))
    await client.register(name, PASSWORD)
    await client.login(name, PASSWORD, f"{name}-laptop")
    return client


async def take(client: ParleyClient, count: int, timeout: float = 30.0) -> list[str]:
    async def collect() -> list[str]:
        texts: list[str] = []
        async for message in client.messages():
            texts.append(message.text or "")
            if len(texts) == count:
                break
        return texts

    return await asyncio.wait_for(collect(), timeout)


async def test_sdk_sends_receives_and_resumes_across_an_edge_restart(
    cluster: ParleyCluster,
) -> None:
    alice_name, bob_name = f"alice{uuid.uuid4().hex[:6]}", f"bob{uuid.uuid4().hex[:6]}"
    alice = await logged_in(cluster, 0, alice_name)
    bob = await logged_in(cluster, 1, bob_name)
    try:
        cid = (await alice.create_direct(bob_name)).conversation_id
        await alice.connect()
        await bob.connect()
        seqs = [await alice.send(cid, f"hello {i}") for i in range(10)]
        assert seqs == sorted(seqs) and len(set(seqs)) == 10
        assert await take(bob, 10) == [f"hello {i}" for i in range(10)]

        cluster.stop_process("edge-1")  # graceful: bob's device is told goodbye
        for i in range(5):
            await alice.send(cid, f"while away {i}")
        cluster.start_edge(1)
        assert await take(bob, 5) == [f"while away {i}" for i in range(5)]
        assert bob.cursors[cid] == seqs[-1] + 5
    finally:
        await alice.close()
        await bob.close()


async def test_sdk_searches_what_another_node_wrote(cluster: ParleyCluster) -> None:
    alice_name, bob_name = f"alice{uuid.uuid4().hex[:6]}", f"bob{uuid.uuid4().hex[:6]}"
    alice = await logged_in(cluster, 0, alice_name)
    bob = await logged_in(cluster, 1, bob_name)
    try:
        cid = (await alice.create_direct(bob_name)).conversation_id
        seq = await alice.send(cid, "the Zürich offsite is booked 🎉")

        async def found() -> bool:
            page = await bob.search("zurich offsite", conversation_id=cid)
            return [h.seq for h in page.hits] == [seq]

        await eventually(found, "bob to find alice's message", 30)
        [hit] = (await bob.search("zurich offsite")).hits
        assert highlighted(hit) == "the [Zürich] [offsite] is booked 🎉"
    finally:
        await alice.close()
        await bob.close()


def test_cli_registers_creates_a_chat_sends_and_reads_history(
    cluster: ParleyCluster, tmp_path: Path
) -> None:
    def parley(*args: str, user: str) -> str:
        env = {
            **os.environ,
            "PARLEY_SERVER": cluster.url(0),
            "PARLEY_PASSWORD": PASSWORD,
            "PARLEY_CONFIG_DIR": str(tmp_path / user),
        }
        done = subprocess.run(
            [sys.executable, "-m", "client", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    ann, ben = f"ann{uuid.uuid4().hex[:6]}", f"ben{uuid.uuid4().hex[:6]}"
    for user in (ann, ben):
        parley("register", user, user=user)
        parley("login", user, user=user)
    created = parley("dm", ben, user=ann)
    cid = next(word for word in created.split() if word.startswith("dm-"))
    parley("send", cid, "hi from the terminal", user=ann)
    history = parley("history", cid, user=ben)
    assert "hi from the terminal" in history
    assert cid in parley("chats", user=ben)
    deadline = time.monotonic() + 30
    while "[terminal]" not in (found := parley("search", "terminal", user=ben)):
        assert time.monotonic() < deadline, f"not found by parley search: {found!r}"
    assert found.startswith(f"{cid}\t#2 ") and "hi from the [terminal]" in found
