#!/usr/bin/env bash
# Separate virtualenvs holding real MCP servers from PyPI, used by the MCP integration tests and handy
# for trying `dynamigrate views apply --via mcp` / `--glue-via mcp` by hand.
#
# usage: scripts/mcp-venv.sh [SERVER]    # prints the path of the server's executable
#   SERVER  mysql (default)     the community `mysql-mcp-server` (tool execute_sql)
#           awslabs-mysql       AWS Labs' `awslabs-mysql-mcp-server` (tool run_query)
#           awslabs-glue        AWS Labs' `awslabs-aws-dataprocessing-mcp-server` (manage_aws_glue_jobs)
#
# Why separate venvs: these servers pin their own `mcp`/`fastmcp`/`boto3` versions (mysql-mcp-server
# pins mcp<2, while dynamigrate itself uses the mcp 2 SDK); installing one into the project's .venv
# would move the project's dependencies. A server only talks to us over stdio, so living in its own
# interpreter is exactly how assistants run it too (uvx does the same).
#
# Pinned and idempotent: a second run finds the executable (and the spec it was built from) and returns
# in well under a second without touching the network. Override the location with
# DYNAMIGRATE_MCP_VENV, the interpreter with DYNAMIGRATE_MCP_PYTHON and the pip spec with
# DYNAMIGRATE_MCP_SERVER_SPEC.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SERVER="${1:-mysql}"
case "$SERVER" in
    mysql)
        DEFAULT_VENV="$ROOT/.cache/mcp-venv"
        DEFAULT_SPEC="mysql-mcp-server==0.4.4"
        EXE_NAME="mysql_mcp_server"
        ;;
    awslabs-mysql)
        DEFAULT_VENV="$ROOT/.cache/mcp-venv-awslabs-mysql"
        DEFAULT_SPEC="awslabs-mysql-mcp-server==1.1.3"
        EXE_NAME="awslabs.mysql-mcp-server"
        ;;
    awslabs-glue)
        DEFAULT_VENV="$ROOT/.cache/mcp-venv-awslabs-dataprocessing"
        DEFAULT_SPEC="awslabs-aws-dataprocessing-mcp-server==0.2.2"
        EXE_NAME="awslabs.aws-dataprocessing-mcp-server"
        ;;
    *)
        printf '[mcp-venv] error: unknown server %s (expected mysql, awslabs-mysql or awslabs-glue)\n' "$SERVER" >&2
        exit 2
        ;;
esac
VENV="${DYNAMIGRATE_MCP_VENV:-$DEFAULT_VENV}"
# the physical path: scripts in the venv name their interpreter by it (a symlinked .cache stays valid)
mkdir -p "$(dirname "$VENV")"
VENV="$(cd "$(dirname "$VENV")" && pwd -P)/$(basename "$VENV")"
SPEC="${DYNAMIGRATE_MCP_SERVER_SPEC:-$DEFAULT_SPEC}"
EXE="$VENV/bin/$EXE_NAME"
LOCK_FILE="${TMPDIR:-/tmp}/dynamigrate-mcp-venv-$SERVER.lock"

say() { printf '[mcp-venv] %s\n' "$*" >&2; }

pick_python() {
    if [ -n "${DYNAMIGRATE_MCP_PYTHON:-}" ]; then
        echo "$DYNAMIGRATE_MCP_PYTHON"
        return
    fi
    # the interpreter behind the project's venv is known to be recent enough (the servers need
    # Python >= 3.10/3.11); fall back to whatever python3 is on PATH
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
    [ -x "$EXE" ] && [ -f "$VENV/.dynamigrate-spec" ] && [ "$(cat "$VENV/.dynamigrate-spec")" = "$SPEC" ] || return 1
    # a venv built at another path (the checkout moved or was copied) has scripts whose interpreter
    # line names the old path: rebuild it rather than fail to start the server
    local interp
    interp="$(head -n 1 "$EXE" | sed -n 's/^#! *\([^ ]*\).*/\1/p')"
    [ -z "$interp" ] || [ -x "$interp" ]
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
PIP_LOG="$VENV.pip.log"
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$SPEC" >"$PIP_LOG" 2>&1; then
    cat "$PIP_LOG" >&2
    say "error: pip install $SPEC failed (log: $PIP_LOG)"
    exit 1
fi
[ -x "$EXE" ] || { say "error: $EXE missing after installing $SPEC"; exit 1; }
echo "$SPEC" >"$VENV/.dynamigrate-spec"
say "ready: $EXE"
echo "$EXE"
