"""One Parley (every process, two edge nodes) per e2e module, on the real broker."""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.cluster import ParleyCluster
from tests.e2e.people import close_all, create, person
from tests.e2e.ws import RawDevice, send_frame


@pytest.fixture(scope="module")
def cluster(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[ParleyCluster]:
    """A module may set `CLUSTER_ENV` for settings of its own (say, a short typing TTL), and
    `CLUSTER_PROCESSES` for processes beside the usual ones (say, the archive)."""
    work: Path = tmp_path_factory.mktemp("parley")
    env = {"PARLEY_OUTBOUND_QUEUE": "50", **getattr(request.module, "CLUSTER_ENV", {})}
    extra = getattr(request.module, "CLUSTER_PROCESSES", ())
    parley = ParleyCluster(work, extra_env=env, extra_processes=extra)
    try:
        parley.start()
        try:
            asyncio.run(warm_up(parley))
        except Exception as e:
            raise RuntimeError(f"warm-up failed: {e!r}\n{parley.diagnosis()}") from e
        yield parley
    finally:
        parley.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed e2e test reports the end of every process log beside its traceback."""
    report = yield
    parley = getattr(item, "funcargs", {}).get("cluster")
    if report.failed and isinstance(parley, ParleyCluster):
        report.sections.append(("parley processes", parley.diagnosis()))
    return report


async def warm_up(parley: ParleyCluster) -> None:
    """One message from node 0 to node 1 before any test: a cold broker and freshly started
    processes (group joins, coordinator loads) can take many seconds on a busy machine, and
    no test should spend its deadlines on that."""
    async with aiohttp.ClientSession() as http:
        ann = await person(http, parley, "warm")
        ben = await person(http, parley, "up")
        await ben.devices[0].close()
        ben.devices.clear()
        ben.devices.append(await RawDevice.connect(http, parley.url(1), ben.tokens[0]))
        cid = (await create(http, parley, ann, "direct", [ben]))["conversation_id"]
        await ann.devices[0].request(send_frame(cid, "warm up", "warm-1"), timeout=120)
        await ben.devices[0].wait_pushes(1, timeout=120)
        await close_all(ann, ben)
