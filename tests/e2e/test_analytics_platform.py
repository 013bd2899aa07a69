"""The analysts' command end to end on a fresh platform: `python -m infra up` (what `make run`
starts, under its supervisor, the archive among its processes) on the test's broker and S3
server, people chatting through the edge with the SDK, and `parley-analytics` answering from
the archive what the log says: messages per conversation, members, read receipts, and a
report with its charts."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from client.sdk import ParleyClient
from kafkalog.cold.reader import ArchiveReader
from kafkalog.cold.settings import ArchiveLocation
from tests.integration.log import BOOTSTRAP, read_committed
from tests.integration.processes import wait_until

PASSWORD = "correct horse battery"
PARTITIONS = 2
MESSAGES = 12


def free_block(size: int) -> int:
    """A port p with p .. p + size - 1 all free (the supervisor gives processor k the
    metrics port + k)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            base: int = probe.getsockname()[1]
        if base + size > 65_000:
            continue
        try:
            held = []
            for port in range(base, base + size):
                sock = socket.socket()
                held.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in held:
                sock.close()
        return base
    raise RuntimeError("no block of free ports")


class Platform:
    def __init__(self, work: Path) -> None:
        self.prefix = f"an{uuid.uuid4().hex[:8]}"
        edge, metrics = free_block(2), free_block(8)
        self.env = {
            **os.environ,
            "PARLEY_DATA_DIR": str(work / "platform"),
            "PARLEY_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "PARLEY_S3_ENDPOINT": os.environ.get("PARLEY_S3_ENDPOINT", "http://127.0.0.1:19100"),
            "PARLEY_TOPIC_PREFIX": self.prefix,
            "PARLEY_PARTITIONS": str(PARTITIONS),
            "PARLEY_EDGE_PORT": str(edge),
            "PARLEY_METRICS_PORT": str(metrics),
            "PARLEY_ARCHIVE_MAX_AGE_S": "2",
            "PARLEY_ARGON2_TIME_COST": "1",
            "PARLEY_ARGON2_MEMORY_KIB": "8192",
        }
        self.url = f"http://127.0.0.1:{edge}"
        self.archive = ArchiveLocation(
            s3_endpoint=self.env["PARLEY_S3_ENDPOINT"], topic_prefix=self.prefix
        )

    def infra(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "infra", command],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def analytics(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`parley-analytics`, as an analyst runs it with the platform's environment."""
        return subprocess.run(
            [sys.executable, "-m", "analytics", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def sql(self, query: str) -> list[list[object]]:
        done = self.analytics("sql", query, "--format", "json")
        assert done.returncode == 0, done.stderr
        rows: list[list[object]] = json.loads(done.stdout)["rows"]
        return rows

    def logs(self) -> str:
        logs = Path(self.env["PARLEY_DATA_DIR"]) / "logs"
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-1500:]}"
            for path in sorted(logs.glob("*.log"))
        )


@pytest.fixture
def platform(kafka_bootstrap: str, tmp_path: Path) -> Iterator[Platform]:
    fresh = Platform(tmp_path)
    up = fresh.infra("up")
    try:
        assert up.returncode == 0, f"{up.stdout}\n{up.stderr}\n{fresh.logs()}"
        yield fresh
    finally:
        fresh.infra("down")


async def chat(url: str) -> tuple[str, list[int], int]:
    """Three people in a group: MESSAGES messages, then bob reads them all. Returns the
    conversation, the messages' seqs and the seq of bob's read receipt."""
    names = [f"{n}{uuid.uuid4().hex[:6]}" for n in ("alice", "bob", "carol")]
    people = [ParleyClient(url) for _ in names]
    try:
        for person, name in zip(people, names, strict=True):
            await person.register(name, PASSWORD)
            await person.login(name, PASSWORD, f"{name}-phone")
        alice, bob, _ = people
        cid = (await alice.create_group("analysts", names[1:])).conversation_id
        seqs = [await alice.send(cid, f"message {i}") for i in range(MESSAGES)]
        await bob.connect()
        read = await bob.ack(cid, "read", seqs[-1])
        assert read is not None
        return cid, seqs, read
    finally:
        for person in people:
            await person.close()


@pytest.mark.timeout(600)
def test_chat_reaches_parley_analytics_through_the_archive(
    platform: Platform, tmp_path: Path
) -> None:
    cid, seqs, read_seq = asyncio.run(chat(platform.url))
    events = read_committed(f"{platform.prefix}.events", expected=read_seq, deadline_s=60)
    ends = {
        p: max(r.offset for r in events if r.partition == p) + 1
        for p in {e.partition for e in events}
    }
    archive = ArchiveReader.at(platform.archive, "events")
    wait_until(
        lambda: all((archive.end(p) or 0) >= end for p, end in ends.items()),
        90,
        "the archive process to put every event in S3",
    )

    assert platform.sql(f"SELECT count() FROM messages WHERE conversation_id = '{cid}'") == [
        [MESSAGES]
    ]
    assert platform.sql(
        f"SELECT groupArray(seq) FROM (SELECT seq FROM messages "
        f"WHERE conversation_id = '{cid}' ORDER BY seq)"
    ) == [[seqs]]
    members = platform.sql(f"SELECT sum(delta) FROM memberships WHERE conversation_id = '{cid}'")
    assert members == [[3]]
    receipts = platform.sql(
        f"SELECT kind, up_to_seq FROM receipts WHERE conversation_id = '{cid}' AND kind = 'read'"
    )
    assert ["read", seqs[-1]] in receipts

    out = tmp_path / "report"
    done = platform.analytics("report", "--out", str(out))
    assert done.returncode == 0, done.stderr
    page = (out / "report.md").read_text()
    assert "failed" not in page, page
    assert "Messages sent per hour" in page
    assert (out / "messages_per_hour.png").stat().st_size > 0
