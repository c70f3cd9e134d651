#!/usr/bin/env bash
# The demo: services up, the sample shop in MySQL database `dynamigrate_demo`, the contract's views
# generated and applied, then the migration into DynamoDB Local.
#   DEMO_SCALE=2000 scripts/demo.sh      # a bigger shop (default 200 users)
#   DEMO_VIA=awslabs-mysql scripts/demo.sh   # views applied through AWS Labs' MySQL MCP server
#     (the real awslabs.mysql-mcp-server, with moto standing in for RDS and Secrets Manager:
#      tools/awslabs_mysql_local.py, docs/mcp.md)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-dummy}"
export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-dummy}"
export AWS_REGION="${AWS_REGION:-us-east-1}"

CONFIG=examples/demo-config.json
CONTRACT=examples/workshop-contract.json
OUT=demo-output
SCALE="${DEMO_SCALE:-200}"
DM=.venv/bin/dynamigrate
VIA="${DEMO_VIA:-direct}"
case "$VIA" in
    direct)
        via_run() { "$@"; }
        CFG="$CONFIG" VIA_FLAG=direct
        ;;
    awslabs-mysql)
        # starts moto + the server's surroundings, writes a config with the mcpServers block, runs the step
        via_run() { .venv/bin/python tools/awslabs_mysql_local.py --config "$CONFIG" -- "$@"; }
        CFG='{config}' VIA_FLAG=mcp
        ;;
    *) echo "DEMO_VIA must be direct or awslabs-mysql, not '$VIA'" >&2; exit 2 ;;
esac

bash scripts/setup.sh
mkdir -p "$OUT"

echo "== 1. sample shop (scale $SCALE) -> MySQL database dynamigrate_demo"
"$DM" sample load --config "$CONFIG" --database dynamigrate_demo --scale "$SCALE"

echo "== 2. views from the contract"
"$DM" views generate "$CONTRACT" --config "$CONFIG" --dialect auto --schema-from-db --output "$OUT/views.sql"
via_run "$DM" views apply "$OUT/views.sql" --config "$CFG" --via "$VIA_FLAG"

echo "== 3. migrate into DynamoDB Local"
# contract check, views, preflight, tables, ETL (local engine, insert mode: a rerun skips what exists),
# validation and the final summary; the run directory lands under demo-output/
via_run "$DM" migrate --config "$CFG" --via "$VIA_FLAG" --progress plain --progress-interval 2  # DEMO-MIGRATE
