"""``dynamigrate views apply FILE``: run a views .sql file against MySQL.

The statements go through the MySQL MCP server named in the config file's ``mcpServers`` block when
there is one (``--via auto``, the default), else over a direct connection; ``--via`` forces a path and
``--allow-fallback`` lets a server that fails to start give way to a direct connection. Each statement
must be a single ``CREATE [OR REPLACE] VIEW``; every one runs independently, its outcome (ok / error /
duration) is printed, and the exit code is 1 naming the failures.

The ``views`` command group (cli/views.py) mounts this with :func:`add_apply_command`; the module is
underscore-prefixed so that the CLI's auto-discovery does not register it twice.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import RUN_HELP, add_mysql_arguments, mysql_overrides
from dynamigrate.config import load_config
from dynamigrate.errors import ConfigError, ContractError, SourceError, UnsafeSqlError
from dynamigrate.source.executor import VIA_CHOICES, apply_with_fallback, choose_executor
from dynamigrate.source.sqlsplit import iter_statements

log = logging.getLogger(__name__)


def add_apply_command(views_subparsers: Any) -> argparse.ArgumentParser:
    """Add ``apply`` to the ``views`` command group's subparsers."""
    p = views_subparsers.add_parser(
        "apply",
        help="run a views .sql file against MySQL (through the configured MCP server, or directly)",
        description=(__doc__ or "").split("\n\n")[1],
    )
    p.add_argument("file", help="the .sql file of CREATE VIEW statements (from `views generate`)")
    p.add_argument("--config", help="config file (workshop config.json layout, may hold mcpServers)")
    p.add_argument(
        "--via",
        choices=VIA_CHOICES,
        default="auto",
        help="mcp: through the configured MCP server; direct: a PyMySQL connection; "
        "auto (default): MCP when a server is configured",
    )
    p.add_argument(
        "--allow-fallback",
        action="store_true",
        help="if the MCP server cannot start, cannot reach the database, is read-only or refuses a "
        "statement, use a direct connection for what it could not run",
    )
    p.add_argument("--mcp-server", help="which mcpServers entry to use when several are configured")
    add_mysql_arguments(p, database="MySQL database the views are created in")
    p.add_argument(
        "--run",
        "--run-dir",
        dest="run_dir",
        metavar="RUN",
        help=f"record the created views in this run's manifest ({RUN_HELP})",
    )
    p.add_argument("--json", action="store_true", help="print the outcome as JSON instead of text")
    p.set_defaults(handler=run_apply)
    return p


def load_view_statements(path: Path) -> list[str]:
    """The statements of a views file, each checked to be a single CREATE VIEW (all problems at once).

    Comments are removed (``sqlgen.split_statements``): MCP servers refuse them and the safety check
    wants bare statements.
    """
    from dynamigrate.sqlgen.safety import assert_single_create_view  # sqlglot: only when applying

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"views file not found: {path}", hint="generate it with `dynamigrate views generate`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"cannot read views file {path}: {exc}", hint="pass the .sql file `views generate` wrote"
        ) from None
    parsed = list(iter_statements(text, strip_all_comments=True))
    if not parsed:
        raise ConfigError(f"no statements in {path}", hint="generate it with `dynamigrate views generate`")
    problems: list[str] = []
    for stmt in parsed:
        try:
            assert_single_create_view(stmt.text)
        except UnsafeSqlError as exc:
            problems.append(f"line {stmt.line}: {exc.message}")
    if problems:
        raise UnsafeSqlError(
            f"{path} holds statements other than single CREATE VIEWs; nothing was run:\n  "
            + "\n  ".join(problems),
            hint="views apply only runs CREATE [OR REPLACE] VIEW statements; run anything else yourself",
        )
    return [stmt.text for stmt in parsed]


def run_apply(args: argparse.Namespace) -> int:
    cfg = load_config(args.config, overrides=mysql_overrides(args))
    path = Path(args.file)
    statements = load_view_statements(path)

    run = None
    if args.run_dir:
        from dynamigrate.runstate import RunDir

        out_dir = cfg.resolve_path(cfg.migration.output_dir) or Path("dynamigrate-runs")
        run = RunDir.find(out_dir, args.run_dir)

    executor = choose_executor(
        cfg, args.via, args.allow_fallback, server=args.mcp_server, database=cfg.mysql.database or None
    )
    try:
        _check_assumed_keys(executor, path, cfg if args.allow_fallback else None)
        report = apply_with_fallback(
            cfg, executor, statements, args.allow_fallback, database=cfg.mysql.database or None
        )
    finally:
        executor.close()

    database = getattr(executor, "database", None) or cfg.mysql.database or None
    if run is not None:
        for result in report.results:
            if result.ok and result.label:
                run.record_created(
                    "views",
                    {"name": result.label, "database": database, "path": result.path, "file": str(path)},
                )
        run.write_json("views_apply.json", report.to_dict())
        run.event("views_applied", path=report.path, ok=report.ok, failed=report.failed_labels())

    if args.json:
        print(json.dumps({**report.to_dict(), "database": database}, indent=2, default=str))
    else:
        print(report.render_text())
    if not report.ok:
        names = ", ".join(report.failed_labels())
        print(
            f"error: {len(report.failed)} of {len(report.results)} statement(s) failed: {names}",
            file=sys.stderr,
        )
        return 1
    return 0


def _check_assumed_keys(executor: Any, path: Path, fallback: Any = None) -> None:
    """Views generated without a schema read self-references with the primary key assumed to be ``id``
    (recorded in the file): check that against the live schema before running anything. ``fallback``
    (the config, with --allow-fallback): a server that cannot answer gives way to a direct connection."""
    from dynamigrate.sqlgen.assumptions import PRIMARY_KEYS_SQL, TABLES_SQL, assumed_keys, key_problems

    assumed = assumed_keys(path.read_text(encoding="utf-8"))
    if not assumed:
        return
    try:
        primary_keys = [(str(r[0]), str(r[1])) for r in executor.query(PRIMARY_KEYS_SQL)]
        tables = [str(r[0]) for r in executor.query(TABLES_SQL)]
    except SourceError:
        if fallback is None:
            raise
        from dynamigrate.source.executor import DirectExecutor

        with DirectExecutor(fallback.mysql, database=fallback.mysql.database or None) as direct:
            primary_keys = [(str(r[0]), str(r[1])) for r in direct.query(PRIMARY_KEYS_SQL)]
            tables = [str(r[0]) for r in direct.query(TABLES_SQL)]
    problems = key_problems(assumed, primary_keys, tables)
    if problems:
        raise ContractError(
            f"{path} was generated without a schema and assumes primary keys the database does not have; "
            "nothing was run:\n  " + "\n  ".join(problems),
            hint="generate the views against the live schema: `dynamigrate views generate CONTRACT --config "
            "FILE --schema-from-db -o views.sql` (it stops with the corrected snippet where no reading is "
            "certain), then apply that file",
        )
    log.info(
        "views file %s: assumed primary key 'id' verified for %s", path, ", ".join(a.source for a in assumed)
    )


def main(argv: list[str] | None = None) -> int:
    """``views apply`` on its own (``python -m dynamigrate.cli._views_apply FILE ...``), with the CLI's
    mapping of errors to exit codes (2 usage/config, 1 problems found)."""
    from dynamigrate.cli import run_command

    parser = argparse.ArgumentParser(prog="dynamigrate views")
    add_apply_command(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["apply", *(sys.argv[1:] if argv is None else argv)])
    return run_command(args.handler, args)


if __name__ == "__main__":
    raise SystemExit(main())
