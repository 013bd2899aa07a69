"""`python -m infra.probe {ready|live} PROCESS`: the probes of the production units.

`ready` waits until the process answers /readyz with 200: a unit's ExecStartPost, so the
unit counts as started (and units ordered after it start) only once it does its job.
`live` asks /livez once, from a timer (parley-livez@.timer): after `--restart-after`
failures in a row it restarts the unit, since a process that no longer answers but has
not exited is one systemd's Restart= never sees. A unit that is not active is left alone.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from infra.units import probe_url, unit_name


def answers_ok(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(url: str, timeout_s: float) -> bool:
    """Until 200 from `url`; `timeout_s` 0 waits for ever (a view catching up on a long log)."""
    deadline = time.monotonic() + timeout_s
    while not answers_ok(url):
        if timeout_s and time.monotonic() > deadline:
            return False
        time.sleep(1.0)
    return True


def systemctl(*args: str) -> int:
    return subprocess.run(["systemctl", *args], check=False).returncode


def check_live(
    process: str,
    url: str,
    restart_after: int,
    state_dir: Path,
    run: Callable[..., int] = systemctl,
) -> bool:
    """One liveness probe; True when the process answered (or its unit is not active)."""
    unit = unit_name(process)
    failures_file = state_dir / f"{process}.failures"
    if run("is-active", "--quiet", unit) != 0 or answers_ok(url):
        failures_file.unlink(missing_ok=True)
        return True
    failures = int(failures_file.read_text()) + 1 if failures_file.exists() else 1
    if failures < restart_after:
        failures_file.write_text(str(failures))
        print(f"{unit}: /livez failed ({failures} of {restart_after})", file=sys.stderr)
        return False
    failures_file.unlink(missing_ok=True)
    print(f"{unit}: /livez failed {failures} times in a row: restarting it", file=sys.stderr)
    run("restart", "--no-block", unit)
    return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.probe")
    parser.add_argument("probe", choices=["ready", "live"])
    parser.add_argument("process", help="as the local supervisor names it: sequencer, edge-0")
    parser.add_argument("--timeout", type=float, default=120.0, help="ready: seconds, 0 = none")
    parser.add_argument("--restart-after", type=int, default=3, help="live: failures in a row")
    args = parser.parse_args(argv[1:])
    url = probe_url(args.process, args.probe, os.environ)
    if args.probe == "ready":
        return 0 if wait_ready(url, args.timeout) else 1
    state_dir = Path(os.environ.get("RUNTIME_DIRECTORY", "/run/parley-livez"))
    state_dir.mkdir(parents=True, exist_ok=True)
    return 0 if check_live(args.process, url, args.restart_after, state_dir) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
