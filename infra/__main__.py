"""`python -m infra start|stop|status|fetch`: the local platform's command line."""

from __future__ import annotations

import sys

from infra import jars
from infra.errors import PlatformError
from infra.platform import LocalPlatform
from infra.settings import PlatformSettings

USAGE = "usage: python -m infra {start|stop|status|fetch}"


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in ("start", "stop", "status", "fetch"):
        print(USAGE, file=sys.stderr)
        return 2
    settings = PlatformSettings()
    platform = LocalPlatform(settings)
    try:
        if argv[1] == "fetch":
            for component in ("kafka", "s3proxy"):
                print(f"{component}: {jars.fetch(component, settings.jar_cache)}")
        elif argv[1] == "start":
            platform.start()
            for part in platform.status():
                print(part.line())
        elif argv[1] == "stop":
            stopped = platform.stop()
            print("stopped: " + (", ".join(stopped) or "nothing was running"))
        else:
            parts = platform.status()
            for part in parts:
                print(part.line())
            return 0 if all(p.running for p in parts) else 3
    except PlatformError as e:
        print(f"parley platform: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
