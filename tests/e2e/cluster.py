"""A whole Parley on the real broker for one test module: every process, two edge nodes."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from infra.topics import ensure_topics
from schemas.topics import Topics, declare_topics
from tests.integration.log import BOOTSTRAP

PROCESSES = (
    "streams.sequencer",
    "streams.accounts",
    "streams.fanout",
    "projections.history",
    "projections.inbox",
    "projections.search",
    "streams.expiry",
)
MEDIA_PROCESSES = {"media-process": "process", "media-sweep": "sweep"}
"""`python -m streams.media <command>`, by process name."""


LISTEN_PORTS = range(20000, 32000)
"""Below Linux's ephemeral range (32768 up): a port the kernel handed out for a bind to 0 could
be given to a client's outgoing connection before the edge bound it (seen in `make test`:
the edge exited with "address already in use", and the warm-up met another process)."""
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now, outside the ephemeral range, and not handed out before in this run."""
    for _ in range(1000):
        port = random.choice(LISTEN_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {LISTEN_PORTS}")


class ParleyCluster:
    def __init__(
        self,
        work: Path,
        edge_nodes: int = 2,
        partitions: int = 4,
        extra_env: dict[str, str] | None = None,
        extra_processes: tuple[str, ...] = (),
    ) -> None:
        """`extra_processes`: modules run beside `PROCESSES` (say, the archive)."""
        self.work = work
        self.processes = PROCESSES + extra_processes
        self.prefix = f"e2e{uuid.uuid4().hex[:8]}"
        self.topics: Topics = declare_topics(self.prefix, partitions=partitions)
        self.ports = [free_port() for _ in range(edge_nodes)]
        self.metrics_ports = {
            name: free_port() for name in (*self.processes, *MEDIA_PROCESSES)
        }
        self.env = {
            **os.environ,
            "PARLEY_KAFKA_BOOTSTRAP": BOOTSTRAP,
            "PARLEY_TOPIC_PREFIX": self.prefix,
            "PARLEY_PARTITIONS": str(partitions),
            "PARLEY_STATE_DIR": str(work / "state"),
            **(extra_env or {}),
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, node: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[node]}"

    def start(self) -> None:
        ensure_topics(BOOTSTRAP, self.topics)
        self.work.mkdir(parents=True, exist_ok=True)
        for module in self.processes:
            self.start_processor(module)
        for name in MEDIA_PROCESSES:
            self.start_media(name)
        for node, port in enumerate(self.ports):
            self.start_edge(node, port)

    def start_processor(self, module: str) -> None:
        """One of `processes` (named by its module), again after a kill."""
        self._spawn(module, module, {"PARLEY_METRICS_PORT": str(self.metrics_ports[module])})

    def start_edge(self, node: int, port: int | None = None) -> None:
        port = port or self.ports[node]
        name = f"edge-{node}"
        self._spawn(name, "edge", {"PARLEY_EDGE_NODE": str(node), "PARLEY_EDGE_PORT": str(port)})
        self._wait_healthy(name, port)

    def start_media(self, name: str) -> None:
        """One of the media processes (`media-process`, `media-sweep`), again after a kill."""
        env = {"PARLEY_METRICS_PORT": str(self.metrics_ports[name])}
        self._spawn(name, "streams.media", env, MEDIA_PROCESSES[name])

    def stop_process(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)

    def kill(self, name: str) -> None:
        """kill -9: no goodbye to its devices, no flush, no tombstone for its sessions."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait(10)

    def stop(self) -> None:
        for name in list(self.procs)[::-1]:
            self.stop_process(name)

    def log(self, name: str) -> str:
        path = self.work / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def diagnosis(self, lines: int = 30) -> str:
        """Which processes still run, and the end of every process log: what a failed test
        prints, so that a failure on another machine explains itself."""
        parts = []
        for name in sorted({p.stem for p in self.work.glob("*.log")}):
            proc = self.procs.get(name)
            state = (
                "stopped"
                if proc is None
                else ("running" if proc.poll() is None else f"exited {proc.returncode}")
            )
            tail = "\n".join(self.log(name).splitlines()[-lines:])
            parts.append(f"--- {name} ({state}) ---\n{tail}")
        return "\n".join(parts)

    def _spawn(self, name: str, module: str, env: dict[str, str], *args: str) -> None:
        with (self.work / f"{name}.log").open("ab") as log:
            self.procs[name] = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_healthy(self, name: str, port: int, deadline_s: float = 60.0) -> None:
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited {proc.returncode}:\n{self.log(name)[-3000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen on {port}:\n{self.log(name)[-3000:]}")


async def register_and_login(
    session: aiohttp.ClientSession, base: str, user: str, device: str = "phone"
) -> dict[str, str]:
    async with session.post(
        f"{base}/v1/accounts",
        json={
            "username": user,
            "password": "correct horse battery",
            "display_name": user.title(),
        },
    ) as response:
        if response.status not in (201, 409):
            raise AssertionError(f"register {user}: {response.status} {await response.text()}")
    async with session.post(
        f"{base}/v1/sessions",
        json={
            "username": user,
            "password": "correct horse battery",
            "device_name": device,
        },
    ) as response:
        assert response.status == 201, await response.text()
        login: dict[str, str] = await response.json()
        return login


async def eventually(check: Callable[[], Awaitable[bool]], what: str, deadline_s: float) -> None:
    """Poll an asynchronous condition until it holds; fail naming `what` at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + deadline_s
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {deadline_s} s waiting for {what}")
        await asyncio.sleep(0.05)
