#!/usr/bin/env bash
# Make sure a headless Chromium is available (used by tests/integration/test_reports.py to check that
# report.html renders). Idempotent: does nothing when `chromium` is already on PATH.
#
# usage: scripts/ensure-chromium.sh        prints the path of the chromium binary on success
set -euo pipefail

say() { printf '[chromium] %s\n' "$*" >&2; }

find_chromium() {
    local name
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if bin="$(find_chromium)"; then
    echo "$bin"
    exit 0
fi

[ "$(id -u)" = 0 ] || { say "chromium is missing and I am not root: apt-get install chromium"; exit 1; }

# one install at a time on this machine (parallel test sessions)
LOCK_FILE="${TMPDIR:-/tmp}/dynamigrate-chromium.lock"
exec 9>"$LOCK_FILE"
flock -w 900 9 || { say "another install holds $LOCK_FILE"; exit 1; }
if bin="$(find_chromium)"; then
    echo "$bin"
    exit 0
fi
say "installing chromium (apt-get, Debian package)..."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
bin="$(find_chromium)" || { say "chromium still missing after apt-get install"; exit 1; }
echo "$bin"
