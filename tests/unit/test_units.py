"""The production units (infra/systemd/) and the local supervisor (infra/services.py) run the
same processes: every process `make run` starts has a unit that runs the same module with
a restart policy, limits, its environment file and both probes, and every unit runs a
process `make run` starts. A process added to one and not the other breaks this test."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from infra.services import Service, services
from infra.settings import PlatformSettings
from infra.units import UNIT_DIR, probe_url, unit_file, unit_name

SETTINGS = PlatformSettings(edge_nodes_local=2)
SERVICES = {s.name: s for s in services(SETTINGS)}
ENV_DIR = UNIT_DIR / "env"
SHARED = (
    "User",
    "Group",
    "WorkingDirectory",
    "StateDirectory",
    "Restart",
    "RestartSec",
    "RestartSteps",
    "RestartMaxDelaySec",
    "KillMode",
    "TimeoutStopSec",
    "NoNewPrivileges",
    "ProtectSystem",
    "PrivateTmp",
)
"""Settings every process unit must agree on (the edges and views share one state dir)."""


def parse(path: Path) -> dict[str, list[str]]:
    """`Section.Key` -> its values in order (systemd allows a key more than once)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key}", []).append(value)
    return entries


def instance(values: list[str], process: str) -> list[str]:
    node = process.removeprefix("edge-")
    return [v.replace("%i", node) for v in values]


def env_file(process: str) -> dict[str, str]:
    pairs = {}
    for line in (ENV_DIR / f"{process}.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_every_process_the_supervisor_runs_has_a_unit_and_every_unit_a_process() -> None:
    defined = {p.name for p in UNIT_DIR.glob("parley-*.service")} - {"parley-livez@.service"}
    assert {unit_file(name).name for name in SERVICES} == defined
    wanted = parse(UNIT_DIR / "parley.target")["Unit.Wants"][0].split()
    assert sorted(wanted) == sorted(unit_name(n) for n in SERVICES if n != "edge-1")


@pytest.mark.parametrize("service", SERVICES.values(), ids=list(SERVICES))
def test_the_unit_runs_the_same_module_with_restarts_limits_env_and_probes(
    service: Service,
) -> None:
    unit = parse(unit_file(service.name))
    exec_start = instance(unit["Service.ExecStart"], service.name)
    command = " ".join(("/opt/parley/.venv/bin/python", "-m", service.module, *service.args))
    assert exec_start == [command]
    assert unit["Service.Restart"] == ["always"]
    assert {"Service.MemoryMax", "Service.TasksMax", "Service.LimitNOFILE"} <= unit.keys()
    env_files = instance(unit["Service.EnvironmentFile"], service.name)
    assert env_files == ["/etc/parley/parley.env", f"/etc/parley/{service.name}.env"]
    ready = instance(unit["Service.ExecStartPost"], service.name)
    assert len(ready) == 1
    assert re.fullmatch(
        rf"/opt/parley/\.venv/bin/python -m infra\.probe ready {service.name} --timeout \d+",
        ready[0],
    )
    timer = f"parley-livez@{service.name}.timer"
    assert timer in instance(unit["Unit.Wants"], service.name)[0].split()


@pytest.mark.parametrize("service", SERVICES.values(), ids=list(SERVICES))
def test_the_units_probes_ask_where_the_supervisor_asks(service: Service) -> None:
    """Same path (the supervisor's ready_url), the port from the example environment file."""
    env = env_file(service.name)
    url = probe_url(service.name, "ready", env)
    assert url.endswith(service.ready_path)
    assert probe_url(service.name, "live", env).endswith("/livez")


def test_example_environment_files_give_each_process_its_own_port() -> None:
    ports = [
        env_file(name).get("PARLEY_METRICS_PORT") or env_file(name)["PARLEY_EDGE_PORT"]
        for name in SERVICES
    ]
    assert len(set(ports)) == len(ports)


def test_process_units_agree_on_the_settings_they_share() -> None:
    units = [parse(unit_file(name)) for name in SERVICES]
    for key in SHARED:
        values = {tuple(u[f"Service.{key}"]) for u in units}
        assert len(values) == 1, f"{key} differs between units: {values}"


def test_the_liveness_probe_runs_as_root_for_the_unit_it_restarts() -> None:
    live = parse(UNIT_DIR / "parley-livez@.service")
    assert "Service.User" not in live
    assert live["Service.ExecStart"] == [
        "/opt/parley/.venv/bin/python -m infra.probe live %i --restart-after 3"
    ]
    assert live["Service.EnvironmentFile"][-1] == "/etc/parley/%i.env"
    assert parse(UNIT_DIR / "parley-livez@.timer")["Timer.OnUnitActiveSec"] == ["10s"]
