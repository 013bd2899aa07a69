"""The `parley` command as a person runs it in a terminal, for e2e tests: one config
directory per person, the password from the environment, expected to succeed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.cluster import ParleyCluster

PASSWORD = "correct horse battery"


def parley(cluster: ParleyCluster, config: Path, *args: str, cwd: Path | None = None) -> str:
    """`parley ARGS` against edge 0 with `config` as its config directory; its stdout."""
    env = {
        **os.environ,
        "PARLEY_SERVER": cluster.url(0),
        "PARLEY_PASSWORD": PASSWORD,
        "PARLEY_CONFIG_DIR": str(config),
    }
    done = subprocess.run(
        [sys.executable, "-m", "client", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
