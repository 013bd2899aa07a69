"""One Parley (every process, two edge nodes) per e2e module, on the real broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.cluster import ParleyCluster


@pytest.fixture(scope="module")
def cluster(
    kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ParleyCluster]:
    work: Path = tmp_path_factory.mktemp("parley")
    parley = ParleyCluster(work, extra_env={"PARLEY_OUTBOUND_QUEUE": "50"})
    try:
        parley.start()
        yield parley
    finally:
        parley.stop()
