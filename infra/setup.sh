#!/usr/bin/env bash
# One-time (and idempotent) set-up: checks tools, installs Chromium (browser tests) if missing,
# makes .venv, installs Parley, fetches the jars.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1 || { echo "setup: '$1' is missing: $2" >&2; exit 1; }; }
need python3 "Python 3.11 or newer runs Parley"
need java "Java 17 or newer runs the Kafka broker and the S3 server"
need mvn "Maven fetches the Kafka and s3proxy jars from Maven Central"
python3 - <<'PY' || { echo "setup: Python 3.11 or newer is needed" >&2; exit 1; }
import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

# The browser tests drive Debian's Chromium (Playwright's own browser download is never used).
# Installed here when missing. A failure to install it is a warning, even for the test command:
# every other test still runs, and the browser tests fail naming what is missing
# (PARLEY_NEED_BROWSER=1 makes it fatal here instead).
chromium="${PARLEY_CHROMIUM:-/usr/bin/chromium}"
no_browser() {
    echo "setup: $chromium is missing and $1; install Debian's 'chromium' package" \
        "(as root: apt-get install chromium) or set PARLEY_CHROMIUM to a Chromium executable" >&2
    if [ "${PARLEY_NEED_BROWSER:-0}" = 1 ]; then exit 1; fi
    echo "setup: continuing without it: only the browser tests need it" >&2
}
if [ ! -x "$chromium" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian's chromium for the browser tests" >&2
        log=$(mktemp -t parley-chromium.XXXXXX)
        if { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
            >"$log" 2>&1 && [ -x "$chromium" ]; then
            rm -f "$log"
        else
            tail -20 "$log" >&2
            no_browser "apt-get could not install it (log: $log)"
        fi
    else
        no_browser "this set-up cannot install packages (it needs root and apt-get)"
    fi
fi

# The media processor makes posters and web-playable transcodes with Debian's ffmpeg (and
# reads durations with its ffprobe). Installed here when missing, like the browser; without it
# video and audio are served as uploaded, with no poster or duration (docs/media.md), and the
# media tests that need it fail naming what is missing (PARLEY_NEED_FFMPEG=1 makes it fatal).
no_ffmpeg() {
    echo "setup: ffmpeg is missing and $1; install Debian's 'ffmpeg' package" \
        "(as root: apt-get install ffmpeg)" >&2
    if [ "${PARLEY_NEED_FFMPEG:-0}" = 1 ]; then exit 1; fi
    echo "setup: continuing without it: video and audio are served as uploaded" >&2
}
if ! command -v ffmpeg >/dev/null 2>&1 || ! command -v ffprobe >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian's ffmpeg for the media processor" >&2
        log=$(mktemp -t parley-ffmpeg.XXXXXX)
        if { apt-get update -qq \
            && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg; } \
            >"$log" 2>&1 && command -v ffprobe >/dev/null 2>&1; then
            rm -f "$log"
        else
            tail -20 "$log" >&2
            no_ffmpeg "apt-get could not install it (log: $log)"
        fi
    else
        no_ffmpeg "this set-up cannot install packages (it needs root and apt-get)"
    fi
fi

stamp=.venv/.parley-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e '.[dev,bench]' >.venv/install.log 2>&1 \
        || { tail -20 .venv/install.log >&2; exit 1; }
    touch "$stamp"
fi
.venv/bin/python -m infra fetch >/dev/null
