#!/usr/bin/env bash
# One-time (and idempotent) set-up: checks tools, makes .venv, installs Parley, fetches the jars.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is missing: $2" >&2; exit 1; }; }
need python3 "Python 3.11 or newer runs Parley"
need java "Java 17 or newer runs the Kafka broker and the S3 server"
need mvn "Maven fetches the Kafka and s3proxy jars from Maven Central"
python3 - <<'PY' || { echo "setup: Python 3.11 or newer is needed" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

stamp=.venv/.parley-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev,bench]' >.venv/install.log 2>&1 \
        || { tail -20 .venv/install.log >&2; exit 1; }
    touch "$stamp"
fi
.venv/bin/python -m infra fetch >/dev/null
