"""A platform for a benchmark run: the configured cluster, or a local one started and stopped."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from infra.platform import LocalPlatform
from infra.processes import ManagedProcess
from infra.settings import REPO_ROOT, PlatformSettings

BENCH_PORTS = {"kafka_port": 19292, "kafka_controller_port": 19293, "s3_port": 19200}
"""Where a local bench platform listens when the environment names no ports: clear of
`make run`'s and `make test`'s defaults."""


@contextmanager
def bench_platform() -> Iterator[PlatformSettings]:
    """With PARLEY_KAFKA_BOOTSTRAP set, that cluster; otherwise a fresh local one on its own
    data dir, stopped afterwards: on the ports of PARLEY_KAFKA_PORT,
    PARLEY_KAFKA_CONTROLLER_PORT and PARLEY_S3_PORT where set (engineers sharing a machine
    each have a block), else on the bench's own (BENCH_PORTS)."""
    if os.environ.get("PARLEY_KAFKA_BOOTSTRAP"):
        yield PlatformSettings()
        return
    settings = PlatformSettings(data_dir=Path(REPO_ROOT / ".parley" / "bench"), kafka_heap="1g")
    unset = {k: v for k, v in BENCH_PORTS.items() if f"PARLEY_{k.upper()}" not in os.environ}
    settings = settings.model_copy(update=unset)
    platform = LocalPlatform(settings)
    for pid_file in (settings.data_dir / "run").glob("*.pid"):
        ManagedProcess(pid_file.stem, pid_file.parent, settings.data_dir / "logs").stop()
    platform.stop()
    shutil.rmtree(settings.data_dir, ignore_errors=True)
    platform.start()
    try:
        yield settings
    finally:
        platform.stop()
