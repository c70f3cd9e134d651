"""``dynamigrate preflight``: verify the views and check their data before any DynamoDB write.

Connects directly to MySQL (PyMySQL, settings from the config), runs every preflight check over the
contract's views, prints the findings and writes them as JSON (default
``<migration.output_dir>/preflight-<timestamp>.json``; ``--run DIR`` writes ``DIR/preflight.json``).
Exit 0 when no error finding is left unaccepted, 1 otherwise, 2 for usage/configuration errors.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import (
    add_mysql_arguments,
    add_run_argument,
    add_tables_argument,
    contract_path,
    mysql_overrides,
    require_database,
    split_names,
)
from dynamigrate.validate.preflight import CHECKS


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "preflight",
        help="check the views' data before migrating (duplicate/NULL keys, bad values, item sizes)",
        description="Verify the generated views and check their data before anything is written to DynamoDB. "
        "Checks: " + ", ".join(f"{name} ({code}, {sev})" for name, (code, sev, _) in CHECKS.items()),
    )
    p.add_argument("--config", required=True, help="config file (mysql.*, migration.contract_file)")
    p.add_argument("--contract", help="migration contract (default: migration.contract_file)")
    add_mysql_arguments(p, connection=False)
    add_tables_argument(p)
    p.add_argument(
        "--accept",
        help="accept these error checks knowingly (comma-separated check names or codes, e.g. duplicate_key)",
    )
    p.add_argument("--output", help="write the JSON report here")
    add_run_argument(p, "write the report as preflight.json in this run")
    p.set_defaults(handler=run_preflight_command)


def run_preflight_command(args: argparse.Namespace) -> int:
    from dynamigrate.config import load_config
    from dynamigrate.contract.verdict import load_valid_contract
    from dynamigrate.errors import ConfigError
    from dynamigrate.source.connect import connect
    from dynamigrate.validate.preflight import run_preflight

    cfg = load_config(args.config, overrides=mysql_overrides(args))
    path = contract_path(cfg, args.contract)
    database = require_database(cfg)
    accept = set(split_names(args.accept))
    unknown = sorted(a for a in accept if a not in CHECKS and a not in {c for c, _, _ in CHECKS.values()})
    if unknown:
        raise ConfigError(
            f"unknown check(s) in --accept: {', '.join(unknown)}", hint="known checks: " + ", ".join(CHECKS)
        )
    contract = load_valid_contract(path, cfg=cfg)
    tables = split_names(args.tables) or list(cfg.migration.tables) or None
    conn = connect(cfg.mysql)
    try:
        report = run_preflight(
            conn, database, contract, tables=tables, accept=accept, connect=lambda: connect(cfg.mysql)
        )
    finally:
        conn.close()
    print(report.render_text())
    if args.output:
        out = Path(args.output)
    elif args.run:
        from dynamigrate.runstate import RunDir

        out_dir = cfg.resolve_path(cfg.migration.output_dir) or Path("dynamigrate-runs")
        out = RunDir.find(out_dir, args.run).file("preflight.json")
    else:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        out = (
            cfg.resolve_path(cfg.migration.output_dir) or Path("dynamigrate-runs")
        ) / f"preflight-{stamp}.json"
    report.write(out)
    print(f"report written to {out}", file=sys.stderr)
    return 1 if report.failed() else 0
