"""`python -m infra {up|down|start|stop|status|fetch} [--brokers N]`: the local platform's
command line; and the operator's `grant-compliance USER --case REF` and
`revoke-compliance USER [--case REF]` (infra/grants.py).

`up` starts the supervisor (infra/supervisor.py), which runs the platform (Kafka, S3) and
Parley's processes and restarts what dies; `down` and `stop` stop it and everything it
runs. `start` starts the platform alone, unsupervised (the tests' platform: a test that
kills the broker must not meet a supervisor restarting it). `--brokers 3` (or
PARLEY_KAFKA_BROKERS=3) makes the local Kafka a three-node cluster.
"""

from __future__ import annotations

import argparse
import sys
import time

from confluent_kafka import KafkaException

from edge.compliance.audit import AuditUnavailableError
from infra import jars, status, supervisor
from infra.errors import PlatformError
from infra.grants import GrantError, change_role
from infra.platform import LocalPlatform
from infra.services import service_processes, stop_services
from infra.settings import PlatformSettings
from schemas.topics import declare_topics

COMMANDS = ("up", "down", "start", "stop", "status", "fetch")
ROLE_COMMANDS = ("grant-compliance", "revoke-compliance")
READY_TIMEOUT_S = 120.0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra")
    parser.add_argument("command", choices=COMMANDS + ROLE_COMMANDS)
    parser.add_argument("user", nargs="?", help="grant/revoke-compliance: the account")
    parser.add_argument("--case", help="grant/revoke-compliance: the case reference")
    parser.add_argument("--brokers", type=int, help="local Kafka nodes (PARLEY_KAFKA_BROKERS)")
    args = parser.parse_args(argv[1:])
    command: str = args.command
    if command in ROLE_COMMANDS:
        if not args.user:
            parser.error(f"{command} needs the account's user name")
        return role(PlatformSettings(), args.user, args.case, grant=command == ROLE_COMMANDS[0])
    overrides = {} if args.brokers is None else {"kafka_brokers": args.brokers}
    try:
        settings = PlatformSettings(**overrides)
        if command == "fetch":
            for component in ("kafka", "s3proxy"):
                print(f"{component}: {jars.fetch(component, settings.jar_cache)}")
            return 0
        if command == "up":
            supervisor.launch(settings)
            return report(settings, wait_s=READY_TIMEOUT_S)
        if command == "start":
            platform = LocalPlatform(settings)
            platform.start()
            return report_platform(platform)
        if command in ("stop", "down"):
            return stop(settings)
        return report(settings, wait_s=0)
    except PlatformError as e:
        print(f"parley: {e}", file=sys.stderr)
        return 1


def role(settings: PlatformSettings, user: str, case: str | None, *, grant: bool) -> int:
    """The operator grants or revokes the compliance role, through the accounts log."""
    topics = declare_topics(settings.topic_prefix, partitions=settings.partitions)
    try:
        print(change_role(settings.bootstrap, topics, user, case, grant=grant))
    except (GrantError, AuditUnavailableError, KafkaException) as e:
        print(f"parley: {e}", file=sys.stderr)
        return 1
    return 0


def stop(settings: PlatformSettings) -> int:
    """The supervisor and all it runs; then whatever was started without it."""
    stopped = ["supervisor"] if supervisor.shut_down(settings) else []
    stopped += stop_services(settings)
    stopped += LocalPlatform(settings).stop()
    print("stopped: " + (", ".join(stopped) or "nothing was running"))
    return 0


def report_platform(platform: LocalPlatform) -> int:
    parts = platform.status()
    for part in parts:
        print(part.line())
    return 0 if all(p.running for p in parts) else 3


def report(settings: PlatformSettings, *, wait_s: float) -> int:
    """The supervisor's table (waiting up to `wait_s` for everything to be ready); without
    a supervisor, what runs by pid file."""
    run_dir = settings.data_dir / "run"
    deadline = time.monotonic() + wait_s
    while True:
        current = status.read(run_dir)
        alive = supervisor.supervisor_process(settings).is_running()
        if current is None or status.healthy(current, alive) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if current is None:
        print("no supervisor is running (`make run` starts one)")
        code = report_platform(LocalPlatform(settings))
        for process in service_processes(settings):
            up = process.is_running()
            code = code if up else 3
            print(f"{process.name:9} {'up' if up else 'down':5} unsupervised  {process.log_file}")
        return code
    print(status.table(current, alive))
    print(
        f"\nParley is at http://127.0.0.1:{settings.edge_port}/ "
        f"(open it in a browser to chat; REST /v1, WebSocket /v1/ws, /openapi.json)\n"
        f"logs: {settings.data_dir / 'logs'} (the supervisor's: supervisor.log)"
    )
    return 0 if status.healthy(current, alive) else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
