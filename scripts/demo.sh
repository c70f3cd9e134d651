#!/usr/bin/env bash
# The demo: services up, the sample shop in MySQL database `dynamigrate_demo`, the contract's views
# generated and applied, then the migration into DynamoDB Local.
#   DEMO_SCALE=2000 scripts/demo.sh      # a bigger shop (default 200 users)
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

bash scripts/setup.sh
mkdir -p "$OUT"

echo "== 1. sample shop (scale $SCALE) -> MySQL database dynamigrate_demo"
"$DM" sample load --config "$CONFIG" --database dynamigrate_demo --scale "$SCALE"

echo "== 2. views from the contract"
"$DM" views generate "$CONTRACT" --config "$CONFIG" --dialect auto --schema-from-db --output "$OUT/views.sql"
"$DM" views apply "$OUT/views.sql" --config "$CONFIG" --via direct

echo "== 3. migrate into DynamoDB Local"
# contract check, views, preflight, tables, ETL (local engine, insert mode: a rerun skips what exists),
# validation and the final summary; the run directory lands under demo-output/
"$DM" migrate --config "$CONFIG" --via direct --progress plain --progress-interval 2  # DEMO-MIGRATE
