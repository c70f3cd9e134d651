#!/usr/bin/env bash
# One-time (and idempotent) setup for a newcomer: virtualenv, the package in editable mode with the
# dev tools, then the local services (MariaDB + DynamoDB Local, see scripts/services.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "[setup] creating .venv with $($PYTHON --version)" >&2
    "$PYTHON" -m venv .venv
fi
# reinstall only when the project's dependencies changed since the last install
STAMP=.venv/.dynamigrate-installed
if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || ! .venv/bin/python -c 'import dynamigrate' 2>/dev/null; then
    echo "[setup] pip install -e '.[dev]'" >&2
    .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'
    touch "$STAMP"
fi

# the Spark engine's extra (pyspark==3.5.4, ~320 MB): only when it is not there yet
.venv/bin/python -c 'import pyspark' 2>/dev/null || .venv/bin/python -m pip install -q --disable-pip-version-check -e '.[spark]'

bash scripts/services.sh start
