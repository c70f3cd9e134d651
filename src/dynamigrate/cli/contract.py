"""``dynamigrate contract check CONTRACT [--config FILE] [--offline] [--json]``.

Loads the contract (structure), validates it (semantics) and, with a reachable MySQL from the config,
lints it against the live schema. Prints every problem with its JSON path and fix, warnings too.
Runs the same checks as ``views generate``, ``preflight`` and ``migrate`` (contract/verdict.py), so
they agree. Exit 0 when there is no error, 2 when there are errors (bad input, like the other commands)
or the file cannot be read at all.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dynamigrate.cli._common import (
    add_mysql_arguments,
    mysql_overrides,
    print_help_handler,
    require_database,
)
from dynamigrate.contract.load import parse_contract_file
from dynamigrate.contract.problems import STRUCTURE_CODE, Problem, ProblemList
from dynamigrate.errors import ConfigError, DynamigrateError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("contract", help="check a migration contract")
    sub = parser.add_subparsers(dest="contract_command", metavar="ACTION")
    for name, help_text in (
        ("check", "validate a contract and lint it against the live MySQL schema"),
        ("lint", "same as 'check'"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("contract", help="the migration contract JSON file")
        p.add_argument("--config", help="config file (mysql.* settings): lint against the live schema")
        add_mysql_arguments(p, connection=False)
        p.add_argument("--offline", action="store_true", help="do not connect to MySQL, even with --config")
        p.add_argument("--json", action="store_true", help="print the problems as JSON")
        p.add_argument(
            "--accept",
            metavar="CODE[,CODE]",
            help="proceed knowingly past readings that are not certain (e.g. C301): reported as warnings",
        )
        p.set_defaults(handler=run_check)
    parser.set_defaults(handler=print_help_handler(parser))


def run_check(args: argparse.Namespace) -> int:
    accept = parse_accept(getattr(args, "accept", None))  # ConfigError: exit 2
    # unreadable, missing or non-UTF-8: ContractError, exit 2 like every other command
    contract, problems = parse_contract_file(args.contract)
    schema_note = "not linted against a live schema (no --config, or --offline)"
    if contract is not None:
        from dynamigrate.contract.verdict import check_contract_fully

        schema = None
        dialect = "mysql"
        if args.config and not args.offline:
            try:
                schema, dialect = _introspect(args)
            except DynamigrateError as exc:
                if isinstance(exc, ConfigError):
                    raise
                print(f"error: cannot lint against the live schema: {exc}", file=sys.stderr)
                return 2
            schema_note = f"linted against database '{schema.database}' ({schema.version})"
        # the same verdict as views generate, preflight and migrate (contract/verdict.py)
        problems.extend(check_contract_fully(contract, schema, dialect, accept=accept))
    tables = len(contract.tables) if contract is not None else 0
    if args.json:
        print(
            json.dumps(
                {
                    "contract": args.contract,
                    "tables": tables,
                    "ok": not problems.errors,
                    "errors": len(problems.errors),
                    "warnings": len(problems.warnings),
                    "schema": schema_note,
                    "problems": [p.to_dict() for p in problems],
                },
                indent=2,
            )
        )
    else:
        print(render_problems(problems))
        verdict = "OK" if not problems.errors else "INVALID"
        print(
            f"{verdict}: {args.contract}: {tables} table(s), {len(problems.errors)} error(s), "
            f"{len(problems.warnings)} warning(s); {schema_note}"
        )
    return 2 if problems.errors else 0


def render_problems(problems: ProblemList) -> str:
    """One block per problem: severity, code and path, then the message and the fix."""
    lines: list[str] = []
    ordered: list[Problem] = problems.errors + problems.warnings
    for p in ordered:
        lines.append(f"{p.severity.upper():7} {p.code or STRUCTURE_CODE}  {p.path}")
        lines.append(f"        {p.message}")
        if p.fix:
            lines.append(f"        fix: {p.fix}")
    return "\n".join(lines)


def parse_accept(value: str | None) -> tuple[str, ...]:
    """The codes of ``--accept A,B`` (readings that may be accepted knowingly); ConfigError otherwise."""
    from dynamigrate.contract.readings import ACCEPTABLE

    codes = tuple(dict.fromkeys(c.strip().upper() for c in (value or "").split(",") if c.strip()))
    unknown = [c for c in codes if c not in ACCEPTABLE]
    if unknown:
        known = "; ".join(f"{k}: {v}" for k, v in ACCEPTABLE.items())
        raise ConfigError(
            f"--accept {','.join(unknown)}: not a reading that can be accepted",
            hint=f"acceptable codes: {known}",
        )
    return codes


def _introspect(args: argparse.Namespace) -> Any:
    from dynamigrate.config import load_config
    from dynamigrate.source.connect import connect
    from dynamigrate.source.introspect import introspect

    cfg = load_config(args.config, overrides=mysql_overrides(args))
    database = require_database(cfg)
    conn = connect(cfg.mysql)
    try:
        schema = introspect(conn, database)
    finally:
        conn.close()
    from dynamigrate.source.schema import dialect_from_version

    return schema, cfg.migration.dialect or dialect_from_version(schema.version)
