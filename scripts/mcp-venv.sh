#!/usr/bin/env bash
# A separate virtualenv holding the real MySQL MCP server from PyPI (`mysql-mcp-server`), used by the
# MCP integration tests and handy for trying `dynamigrate views apply --via mcp` by hand.
#
# usage: scripts/mcp-venv.sh            # prints the path of the mysql_mcp_server executable
#
# Why a separate venv: mysql-mcp-server pins `mcp<2`, while dynamigrate itself uses the mcp 2 SDK;
# installing it into the project's .venv would downgrade the SDK. The server only talks to us over
# stdio, so living in its own interpreter is exactly how assistants run it too.
#
# Idempotent: a second run finds the executable and returns in well under a second. Override the
# location with DYNAMIGRATE_MCP_VENV and the interpreter with DYNAMIGRATE_MCP_PYTHON.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DYNAMIGRATE_MCP_VENV:-$ROOT/.cache/mcp-venv}"
SPEC="${DYNAMIGRATE_MCP_SERVER_SPEC:-mysql-mcp-server==0.4.4}"
EXE="$VENV/bin/mysql_mcp_server"
LOCK_FILE="${TMPDIR:-/tmp}/dynamigrate-mcp-venv.lock"

say() { printf '[mcp-venv] %s\n' "$*" >&2; }

pick_python() {
    if [ -n "${DYNAMIGRATE_MCP_PYTHON:-}" ]; then
        echo "$DYNAMIGRATE_MCP_PYTHON"
        return
    fi
    # the interpreter behind the project's venv is known to be recent enough (mysql-mcp-server
    # needs Python >= 3.11); fall back to whatever python3 is on PATH
    if [ -f "$ROOT/.venv/pyvenv.cfg" ]; then
        local home
        home="$(sed -n 's/^home *= *//p' "$ROOT/.venv/pyvenv.cfg")"
        for cand in "$home/python3" "$home/python"; do
            if [ -x "$cand" ]; then
                echo "$cand"
                return
            fi
        done
    fi
    command -v python3
}

ready() {
    [ -x "$EXE" ] && [ -f "$VENV/.dynamigrate-spec" ] && [ "$(cat "$VENV/.dynamigrate-spec")" = "$SPEC" ]
}

if ready; then
    echo "$EXE"
    exit 0
fi

mkdir -p "$(dirname "$VENV")"
exec 9>"$LOCK_FILE"
flock 9
# another process may have built it while we waited for the lock
if ready; then
    echo "$EXE"
    exit 0
fi

PY="$(pick_python)"
say "creating $VENV with $PY and installing $SPEC"
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP_LOG="$(dirname "$VENV")/mcp-venv-pip.log"
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SPEC" >"$PIP_LOG" 2>&1; then
    cat "$PIP_LOG" >&2
    say "error: pip install $SPEC failed (log: $PIP_LOG)"
    exit 1
fi
[ -x "$EXE" ] || { say "error: $EXE missing after installing $SPEC"; exit 1; }
echo "$SPEC" >"$VENV/.dynamigrate-spec"
say "ready: $EXE"
echo "$EXE"
