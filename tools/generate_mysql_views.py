#!/usr/bin/env python3
"""Generate the MySQL views of a migration contract (the workshop's script, same interface).

    python tools/generate_mysql_views.py migrationContract.json --all --output views.sql
    python tools/generate_mysql_views.py --contract migrationContract.json --all --output views.sql
    python tools/generate_mysql_views.py -c migrationContract.json -t Users -t Products
    python tools/generate_mysql_views.py -c migrationContract.json -a --dialect mariadb

A thin wrapper over `dynamigrate views generate`: one .sql file (stdout without --output; with it,
"SQL written to FILE" on stdout), one `CREATE OR REPLACE VIEW ddb_<table>_view AS` per DynamoDB table
(the view name unquoted, as the workshop's tools read it), interpretations on stderr. --table or --all
is required, as in the workshop.

The script runs from a dynamigrate checkout (tools/ next to src/) with any python: when that python
lacks the dependencies it re-runs under the checkout's .venv. Copied alone elsewhere, it needs the
dynamigrate package installed in the python that runs it, and says so.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

NEEDED = ("dynamigrate.cli.views", "dynamigrate.sqlgen", "dynamigrate.contract.load")


def ensure_dynamigrate(script: str, needed: tuple[str, ...] = NEEDED) -> None:
    """Import dynamigrate: installed, or from the checkout this script sits in; under the checkout's
    .venv when this python lacks the dependencies; otherwise say exactly what to install (exit 2)."""
    root = Path(script).resolve().parent.parent
    src = root / "src"
    if (src / "dynamigrate").is_dir() and str(src) not in sys.path:
        sys.path.insert(0, str(src))
    try:
        for module in needed:
            __import__(module)
    except ImportError as exc:
        venv_python = root / ".venv" / "bin" / "python"
        in_checkout = (src / "dynamigrate").is_dir()
        if in_checkout and venv_python.exists() and Path(sys.prefix).resolve() != (root / ".venv").resolve():
            os.execv(str(venv_python), [str(venv_python), script, *sys.argv[1:]])
        name = Path(script).name
        missing = exc.name or str(exc)
        if in_checkout:
            how = (
                f"  install its dependencies: {sys.executable} -m pip install -e {root}\n"
                f"  (or run ./scripts/setup.sh in {root} once, which creates .venv)"
            )
        else:
            how = (
                f"  install dynamigrate into this python: {sys.executable} -m pip install -e "
                "<dynamigrate checkout>\n"
                f"  (the directory with pyproject.toml), or run {name} with the python that has it, "
                "e.g. <dynamigrate checkout>/.venv/bin/python"
            )
        print(
            f"error: {name} needs the dynamigrate package and its dependencies ({missing} is missing)\n{how}",
            file=sys.stderr,
        )
        raise SystemExit(2) from None


def build_parser() -> argparse.ArgumentParser:
    from dynamigrate.cli.views import add_generate_arguments

    parser = argparse.ArgumentParser(
        prog="generate_mysql_views.py",
        description="Generate one MySQL view per DynamoDB table of a migration contract.",
    )
    add_generate_arguments(parser, positional=True)
    for action in parser._actions:
        if action.dest == "all":  # here, as in the workshop, --table or --all is required
            action.help = "generate every table of the contract (this or --table is required)"
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="list the interpretations of the contract here"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    ensure_dynamigrate(__file__)
    from dynamigrate.cli import run_command
    from dynamigrate.cli._common import split_names
    from dynamigrate.cli._logging import setup_logging
    from dynamigrate.cli.views import run_generate

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.dialect == "auto":
        parser.error("--dialect auto needs a connection; use `dynamigrate views generate --config ...`")
    if args.contract and args.contract_file and args.contract != args.contract_file:
        parser.error("two contracts given: pass it once, as CONTRACT or --contract")
    args.contract = args.contract or args.contract_file
    if not args.contract:
        parser.error("the contract is required: generate_mysql_views.py CONTRACT (or --contract/-c FILE)")
    if not split_names(args.table) and not args.all:
        parser.error("either --table or --all is required")
    args.config = None
    args.schema_from_db = False
    setup_logging(quiet=True)
    code = run_command(run_generate, args)
    if code == 0 and args.output:
        print(f"SQL written to {args.output}")
    return code


if __name__ == "__main__":
    sys.exit(main())
