"""Parley's production units (infra/systemd/): which systemd unit runs which of the processes
the local supervisor runs (infra/services.py), and where its probes answer on a host.

A processor's unit is `parley-<name>.service`; edge node N is the instance `parley-edge@N`
of one template. The probes' port comes from the process's own environment file
(/etc/parley/<name>.env): PARLEY_METRICS_PORT for a processor, PARLEY_EDGE_PORT for an edge.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from infra.errors import PlatformError

UNIT_DIR = Path(__file__).resolve().parent / "systemd"
EDGE = re.compile(r"edge-(\d+)")


def unit_name(process: str) -> str:
    """`sequencer` -> `parley-sequencer.service`; `edge-2` -> `parley-edge@2.service`."""
    edge = EDGE.fullmatch(process)
    if edge is not None:
        return f"parley-edge@{edge.group(1)}.service"
    return f"parley-{process}.service"


def unit_file(process: str) -> Path:
    """The file that defines the unit (for an edge node, the template)."""
    name = unit_name(process)
    return UNIT_DIR / re.sub(r"@\d+\.service$", "@.service", name)


def probe_url(process: str, probe: str, env: Mapping[str, str]) -> str:
    """Where `process` answers `probe` ("live" or "ready"), from its environment."""
    is_edge = EDGE.fullmatch(process) is not None
    variable = "PARLEY_EDGE_PORT" if is_edge else "PARLEY_METRICS_PORT"
    port = env.get(variable)
    if not port:
        raise PlatformError(f"{variable} is not set for {process} (its /etc/parley/{process}.env)")
    path = "/livez" if probe == "live" else "/readyz"
    return f"http://127.0.0.1:{port}{path}"
