#!/usr/bin/env bash
# THE test command (CI runs it through .ci/run): setup (venv, services), lint, then the tests.
# Extra arguments go to pytest, e.g. `scripts/test.sh -k sample -x`.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-dummy}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-dummy}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

bash scripts/setup.sh || { echo "[test] setup failed" >&2; exit 1; }

status=0
echo "[test] ruff check + ruff format --check (src tests tools bench)" >&2
.venv/bin/ruff check src tests tools bench || status=1
.venv/bin/ruff format --check -q src tests tools bench || status=1
echo "[test] mypy src/dynamigrate" >&2
.venv/bin/mypy src/dynamigrate || status=1
echo "[test] pytest $*" >&2
.venv/bin/python -m pytest "$@" || status=1

if [ "$status" -ne 0 ]; then
    echo "[test] FAILED" >&2
else
    echo "[test] all passed" >&2
fi
exit "$status"
