"""`python -m infra {up|down|start|stop|status|fetch}`: the local platform's command line.

`start`/`stop` handle the platform alone (Kafka, S3); `up`/`down` add Parley's processes.
"""

from __future__ import annotations

import sys

from infra import jars
from infra.errors import PlatformError
from infra.platform import LocalPlatform
from infra.services import service_processes, start_services, stop_services
from infra.settings import PlatformSettings

COMMANDS = ("up", "down", "start", "stop", "status", "fetch")
USAGE = f"usage: python -m infra {{{'|'.join(COMMANDS)}}}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(USAGE, file=sys.stderr)
        return 2
    command = argv[1]
    settings = PlatformSettings()
    platform = LocalPlatform(settings)
    try:
        if command == "fetch":
            for component in ("kafka", "s3proxy"):
                print(f"{component}: {jars.fetch(component, settings.jar_cache)}")
        elif command in ("start", "up"):
            platform.start()
            if command == "up":
                start_services(settings)
            return report(platform, settings, services=command == "up")
        else:
            stopped = stop_services(settings) if command == "down" else []
            if command in ("stop", "down"):
                stopped += platform.stop()
                print("stopped: " + (", ".join(stopped) or "nothing was running"))
            else:
                return report(platform, settings, services=True)
    except PlatformError as e:
        print(f"parley: {e}", file=sys.stderr)
        return 1
    return 0


def report(platform: LocalPlatform, settings: PlatformSettings, *, services: bool) -> int:
    parts = platform.status()
    for part in parts:
        print(part.line())
    running = True
    for process in service_processes(settings) if services else []:
        up = process.is_running()
        running = running and up
        print(f"{process.name:9} {'up' if up else 'down':5} local    log: {process.log_file}")
    if services:
        print(
            f"\nParley is at http://127.0.0.1:{settings.edge_port}/ "
            f"(open it in a browser to chat; REST /v1, WebSocket /v1/ws, /openapi.json)"
        )
    return 0 if running and all(p.running for p in parts) else 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
