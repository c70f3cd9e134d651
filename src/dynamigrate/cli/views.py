"""``dynamigrate views generate``: write the CREATE VIEW statements of a contract to one .sql file.

    dynamigrate views generate CONTRACT [--table NAME ...] [--all] [--output FILE]
                                        [--dialect mysql|mariadb|auto] [--config FILE] [--schema-from-db]

Without ``--output`` the SQL goes to stdout. Every interpretation of an ambiguous contract (self-
references, assumed primary keys...) is written as a comment in the file; stderr says how many
(``-v`` lists them).
With ``--config`` and a reachable MySQL, ``--schema-from-db`` reads the live schema (primary keys,
column types: self-references become certain, every column reference is checked) and ``--dialect auto``
detects MySQL/MariaDB from ``SELECT VERSION()``. ``views apply`` (another module) runs the file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import add_mysql_arguments, print_help_handler, require_database, split_names
from dynamigrate.errors import ConfigError

try:
    from dynamigrate.cli._views_apply import add_apply_command
except ImportError:  # pragma: no cover - the apply command is optional
    add_apply_command = None  # type: ignore[assignment]


def add_generate_arguments(p: argparse.ArgumentParser, positional: bool = True) -> None:
    """The generator's options (shared with tools/generate_mysql_views.py)."""
    if positional:
        p.add_argument(
            "contract_file", nargs="?", metavar="CONTRACT", help="the migration contract JSON file"
        )
    p.add_argument("--contract", "-c", dest="contract", help="the migration contract JSON file")
    p.add_argument(
        "--table",
        "-t",
        action="append",
        default=[],
        metavar="NAME",
        help="DynamoDB table to generate (repeatable); default: all",
    )
    p.add_argument(
        "--tables",
        dest="table",
        nargs="+",
        action="extend",
        metavar="TABLE",
        help="DynamoDB tables to generate, comma- or space-separated (same as -t)",
    )
    p.add_argument("--all", "-a", action="store_true", help="generate every table of the contract (default)")
    p.add_argument("--output", "-o", help="write the SQL to this file (default: stdout)")
    p.add_argument(
        "--dialect",
        choices=["mysql", "mariadb", "auto"],
        default=None,
        help=(
            "SQL dialect: mysql (MySQL 8.0), mariadb, or auto (from SELECT VERSION(); needs --config); "
            "default: the server's with --schema-from-db, else mysql"
        ),
    )
    p.add_argument(
        "--accept",
        metavar="CODE[,CODE]",
        help="generate past readings that are not certain (e.g. C301) knowingly; noted in the file",
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("views", help="generate (and apply) the MySQL views of a contract")
    sub = parser.add_subparsers(dest="views_command", metavar="ACTION")
    p = sub.add_parser(
        "generate",
        help="write the CREATE VIEW statements of a contract to one .sql file",
        description=(__doc__ or "").split("\n\n")[0],
    )
    add_generate_arguments(p)
    p.add_argument(
        "--config",
        help="config file (mysql.*): detect the dialect and, with --schema-from-db, read the schema",
    )
    add_mysql_arguments(p, connection=False)
    p.add_argument(
        "--schema-from-db",
        action="store_true",
        help="read primary keys and column types from the live database (needs --config)",
    )
    p.add_argument("--no-timestamp", action="store_true", help="leave the generation time out of the header")
    p.set_defaults(handler=run_generate)
    if add_apply_command is not None:
        add_apply_command(sub)
    parser.set_defaults(handler=print_help_handler(parser))


def run_generate(args: argparse.Namespace) -> int:
    from dynamigrate.contract.load import load_contract
    from dynamigrate.sqlgen import generate_views

    contract_path = getattr(args, "contract", None) or getattr(args, "contract_file", None)
    if not contract_path:
        raise ConfigError(
            "no contract given", hint="pass the contract file: views generate CONTRACT (or -c FILE)"
        )
    args.table = split_names(args.table)
    if args.all and args.table:
        raise ConfigError("--all and --table exclude each other", hint="pass one of them")
    contract = load_contract(contract_path)

    dialect = args.dialect or "mysql"
    schema = None
    config = getattr(args, "config", None)
    if getattr(args, "schema_from_db", False) and not config:
        raise ConfigError(
            "--schema-from-db needs --config (the MySQL connection settings)",
            hint="pass --config FILE with a mysql section, or leave out --schema-from-db",
        )
    if dialect == "auto" and not config:
        raise ConfigError(
            "--dialect auto needs --config (the dialect is read from the server)",
            hint="pass --config FILE with a mysql section, or name the dialect: --dialect mysql|mariadb",
        )
    if config and (dialect == "auto" or getattr(args, "schema_from_db", False)):
        version, schema = _read_server(config, getattr(args, "database", None), args.schema_from_db)
        if args.dialect is None:
            # the server was asked anyway: its dialect (or the config's), not MySQL 8's by default; MySQL
            # 8 views (LATERAL, correlated derived tables) fail to apply on MariaDB
            from dynamigrate.config import load_config

            dialect = load_config(config).migration.dialect or "auto"
        if dialect == "auto":
            from dynamigrate.sqlgen import dialect_from_version

            dialect = dialect_from_version(version)
            print(f"dialect: {dialect} (server {version})", file=sys.stderr)
    elif config and args.dialect is None:
        from dynamigrate.config import load_config

        dialect = load_config(config).migration.dialect or "mysql"

    from dynamigrate.cli.contract import parse_accept
    from dynamigrate.contract.verdict import require_valid

    accept = parse_accept(getattr(args, "accept", None))
    # the same verdict as contract check, preflight and migrate (contract/verdict.py)
    warnings = require_valid(contract, schema, dialect, args.table or None, accept=accept).warnings
    if getattr(args, "verbose", 0):  # `contract check` lists them; here only on request
        for problem in warnings:
            print(f"contract {problem}", file=sys.stderr)
    views = generate_views(contract, args.table or None, dialect, schema, accept=accept)
    _print_interpretations(views.interpretations, args)
    assumed = [n for n in views.interpretations if "assumed primary key" in n]
    if assumed and schema is None and not getattr(args, "quiet", False):
        # the one reading that is not certain and still generated: without a schema the primary key of
        # a self-referencing table is assumed to be 'id' (docs/views.md, "Readings")
        print(
            f"warning: {len(assumed)} self-reference(s) read with an assumed primary key 'id' (no schema "
            "given), not verified: generate with --config FILE --schema-from-db to read the real keys "
            "(migrate always does)",
            file=sys.stderr,
        )
    text = views.render_file(
        contract_source=str(contract_path), include_timestamp=not getattr(args, "no_timestamp", False)
    )
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"cannot write {args.output}: {exc.strerror or exc}",
                hint="pass --output with a writable path (its directory must exist)",
            ) from None
        print(
            f"wrote {len(views.statements)} view(s) ({dialect}) to {args.output}",
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0


def _print_interpretations(notes: list[str], args: argparse.Namespace) -> None:
    """Every interpretation with -v; otherwise how many and where they are (the SQL file's comments);
    nothing with -q."""
    if not notes or getattr(args, "quiet", False):
        return
    if getattr(args, "verbose", 0):
        for line in notes:
            print(f"interpretation: {line}", file=sys.stderr)
        return
    where = args.output or "the SQL"
    print(
        f"{len(notes)} interpretation(s) of ambiguous parts of the contract, written as comments in "
        f"{where} (-v lists them here)",
        file=sys.stderr,
    )


def _read_server(config: str, database: str | None, with_schema: bool) -> tuple[str, Any]:
    """(VERSION(), SchemaInfo or None) from the configured MySQL."""
    from dynamigrate.config import load_config
    from dynamigrate.source.connect import connect, server_version
    from dynamigrate.source.introspect import introspect

    cfg = load_config(config, overrides={"mysql.database": database})
    if with_schema:
        require_database(cfg)
    conn = connect(cfg.mysql)
    try:
        if with_schema:
            schema = introspect(conn, cfg.mysql.database)
            return schema.version, schema
        return server_version(conn), None
    finally:
        conn.close()
