#!/usr/bin/env bash
# The run command: sets up, starts the local platform and Parley's processes in the background,
# and prints where they are. `make stop` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/setup.sh
.venv/bin/python -m infra up
