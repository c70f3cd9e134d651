#!/usr/bin/env python3
"""Generate the MySQL views of a migration contract (the workshop's script, same interface).

    python tools/generate_mysql_views.py --contract migrationContract.json --all --output views.sql
    python tools/generate_mysql_views.py -c migrationContract.json -t Users -t Products
    python tools/generate_mysql_views.py -c migrationContract.json -a --dialect mariadb

A thin wrapper over ``dynamigrate views generate``: one .sql file (stdout without --output), one
``CREATE OR REPLACE VIEW ddb_<table>_view`` per DynamoDB table, interpretations on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _bootstrap import ensure_package

    ensure_package(__file__)
    from dynamigrate.cli import run_command
    from dynamigrate.cli._logging import setup_logging
    from dynamigrate.cli.views import add_generate_arguments, run_generate

    parser = argparse.ArgumentParser(
        prog="generate_mysql_views.py",
        description="Generate one MySQL view per DynamoDB table of a migration contract.",
    )
    add_generate_arguments(parser, positional=False)
    args = parser.parse_args(argv)
    if args.dialect == "auto":
        parser.error("--dialect auto needs a connection; use `dynamigrate views generate --config ...`")
    if not args.contract:
        parser.error("--contract/-c is required")
    if not args.table and not args.all:
        args.all = True
    args.config = None
    args.schema_from_db = False
    setup_logging(quiet=True)
    return run_command(run_generate, args)


if __name__ == "__main__":
    sys.exit(main())
