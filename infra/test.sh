#!/usr/bin/env bash
# The test command: sets up, starts a platform of its own (own ports and data dir), runs every
# test against it, and stops it afterwards, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh

export PARLEY_DATA_DIR="${PARLEY_TEST_DATA_DIR:-$PWD/.parley/test}"
export PARLEY_KAFKA_PORT="${PARLEY_TEST_KAFKA_PORT:-19192}"
export PARLEY_KAFKA_CONTROLLER_PORT="${PARLEY_TEST_KAFKA_CONTROLLER_PORT:-19193}"
export PARLEY_S3_PORT="${PARLEY_TEST_S3_PORT:-19100}"

if [ -z "${PARLEY_KAFKA_BOOTSTRAP:-}" ]; then
    .venv/bin/python -m infra stop >/dev/null 2>&1 || true
    rm -rf "$PARLEY_DATA_DIR"
fi
trap '.venv/bin/python -m infra stop' EXIT
.venv/bin/python -m infra start
export PARLEY_KAFKA_BOOTSTRAP="${PARLEY_KAFKA_BOOTSTRAP:-127.0.0.1:$PARLEY_KAFKA_PORT}"
export PARLEY_S3_ENDPOINT="${PARLEY_S3_ENDPOINT:-http://127.0.0.1:$PARLEY_S3_PORT}"

.venv/bin/ruff check .
.venv/bin/mypy .
.venv/bin/python -m pytest "$@"
