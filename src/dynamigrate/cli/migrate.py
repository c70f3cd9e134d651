"""`dynamigrate migrate`: contract check, views, preflight, tables, ETL, validation, summary."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dynamigrate.cli._common import (
    RUN_HELP,
    add_mysql_arguments,
    add_tables_argument,
    mysql_overrides,
    split_names,
)
from dynamigrate.errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "migrate",
        help="run a whole migration (or print its plan with --dry-run)",
        description=(
            "Check the contract, generate and apply the views, run the preflight checks, create the "
            "DynamoDB tables, load every table with the chosen engine (resumable), validate and "
            "summarise. Flags override the config file."
        ),
    )
    p.add_argument("--config", required=True, help="config file (workshop config.json layout)")
    p.add_argument("--contract", help="migration contract (default: migration.contract_file)")
    add_tables_argument(p)
    p.add_argument("--engine", help="local (default), spark or glue")
    p.add_argument(
        "--write-mode",
        choices=["insert", "sync", "newer", "overwrite"],
        help="insert: only new items; sync: rewrite the items the migration owns; newer: only when the "
        "version attribute grew; overwrite: replace everything (needs --yes)",
    )
    p.add_argument("--version-attribute", help="attribute compared by --write-mode newer")
    p.add_argument("--no-marker", action="store_true", help="do not write the ownership marker attribute")
    p.add_argument(
        "--delete-missing",
        action="store_true",
        help="sync: delete migration-owned items whose source row no longer exists (reported otherwise)",
    )
    p.add_argument(
        "--concurrency",
        type=int,
        help="concurrent DynamoDB requests per table (default 16 PutItems, or 8 transactions of 100 items)",
    )
    p.add_argument(
        "--strategy",
        choices=["auto", "put", "transact", "batch"],
        help="conditional writes one PutItem per item (put) or 100 per TransactWriteItems (transact; "
        "twice the WCU on AWS); auto (default): transact against DynamoDB Local, put against AWS. "
        "batch: insert into a table this run created with unconditional BatchWriteItem, fastest but "
        "safe only while nobody else writes to that table (docs/etl.md)",
    )
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="local engine: writer processes per table, each reading its own key windows and writing "
        "(default: chosen from the strategy and the endpoint, 1 for conditional writes against DynamoDB "
        "Local, one per core for batch and for AWS; said in the log and the report). --engine glue: the "
        "Glue job's NumberOfWorkers (default glue.workers)",
    )
    p.add_argument("--chunk-rows", type=int, help="rows per chunk = checkpoint interval (default 1000)")
    p.add_argument("--via", choices=["auto", "mcp", "direct"], default="auto", help="how views are applied")
    p.add_argument(
        "--allow-fallback", action="store_true", help="fall back to a direct connection if MCP fails"
    )
    p.add_argument("--dry-run", action="store_true", help="print the plan; create and write nothing")
    p.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=None,
        metavar="RUN",
        help="resume an interrupted run (the latest, or the run id / directory given)",
    )
    p.add_argument("--run", metavar="RUN", help=f"resume this run, same as --resume RUN ({RUN_HELP})")
    p.add_argument("--output-dir", help="where run directories go (default: migration.output_dir)")
    p.add_argument(
        "--dynamodb-endpoint", help="DynamoDB endpoint URL (DynamoDB Local: http://127.0.0.1:8000)"
    )
    p.add_argument("--region", help="AWS region")
    add_mysql_arguments(p, connection=False, database="MySQL database (default: mysql.database)")
    p.add_argument("--skip-views", action="store_true", help="use the views already in the database")
    p.add_argument("--skip-preflight", action="store_true", help="do not run the preflight checks")
    p.add_argument("--skip-validation", action="store_true", help="do not validate after loading")
    p.add_argument(
        "--follow",
        action="store_true",
        help="after a successful load, keep the tables in step with the binlog until SIGINT/SIGTERM "
        "(dynamigrate replicate; docs/replication.md)",
    )
    p.add_argument(
        "--accept",
        help="accept knowingly: readings that are not certain (contract codes, e.g. C301) and preflight checks "
        "(names or codes, e.g. key_missing), comma-separated",
    )
    p.add_argument(
        "--progress",
        choices=["tty", "plain", "json", "quiet"],
        help="progress display (default: live on a terminal, status lines otherwise, json with --log-format json)",
    )
    p.add_argument("--progress-interval", type=float, default=10.0, help="seconds between status lines")
    p.add_argument("--json", action="store_true", help="print the final summary as JSON on stdout")
    p.add_argument("--yes", action="store_true", help="confirm --write-mode overwrite without asking")
    p.add_argument(
        "--force",
        action="store_true",
        help="run although another live run loads the same tables, or take over a run locked on another host",
    )
    p.add_argument("--spark-master", help="--engine spark: Spark master URL (default local[*,3])")
    p.add_argument(
        "--glue-via", choices=["direct", "mcp"], help="--engine glue: boto3 or the data-processing MCP server"
    )
    p.set_defaults(handler=run)


def _confirm_overwrite(args: argparse.Namespace) -> None:
    if args.yes or args.dry_run:
        return
    if not sys.stdin.isatty():
        raise ConfigError(
            "--write-mode overwrite replaces items unconditionally, including items the application changed",
            hint="confirm explicitly with --yes",
        )
    answer = input(
        "overwrite replaces every item unconditionally, including items the application changed. "
        "Type 'overwrite' to continue: "
    )
    if answer.strip() != "overwrite":
        raise ConfigError("overwrite not confirmed", hint="rerun with --yes to confirm non-interactively")


def _accepted(value: str | None) -> tuple[str, ...]:
    """``--accept``: readings (C301...) and preflight checks (names or codes); a typo is a usage error
    rather than a check that silently stays in force."""
    from dynamigrate.contract.readings import ACCEPTABLE
    from dynamigrate.validate.preflight import CHECKS

    names = tuple(split_names(value))
    known = set(ACCEPTABLE) | set(CHECKS) | {code for code, _, _ in CHECKS.values()}
    unknown = [n for n in names if n not in known and n.upper() not in ACCEPTABLE]
    if unknown:
        raise ConfigError(
            f"--accept {','.join(unknown)}: not a reading or preflight check that can be accepted",
            hint=f"readings: {', '.join(ACCEPTABLE)}; preflight checks: {', '.join(sorted(CHECKS))} (or their codes)",
        )
    return tuple(n.upper() if n.upper() in ACCEPTABLE else n for n in names)


def run(args: argparse.Namespace) -> int:
    import os

    from dynamigrate.config import load_config
    from dynamigrate.etl.progress import choose_mode
    from dynamigrate.pipeline import MigrateOptions, migrate

    # engine settings read by dynamigrate.etl.spark / dynamigrate.etl.glue
    if getattr(args, "spark_master", None):
        os.environ["DYNAMIGRATE_SPARK_MASTER"] = args.spark_master
    if getattr(args, "glue_via", None):
        os.environ["DYNAMIGRATE_GLUE_VIA"] = args.glue_via
    overrides = {
        **mysql_overrides(args),
        "aws.region": args.region,
        "aws.dynamodb_endpoint_url": args.dynamodb_endpoint,
        "migration.engine": args.engine,
        "migration.write_mode": args.write_mode,
        "migration.version_attribute": args.version_attribute,
        "migration.output_dir": args.output_dir,
    }
    cfg = load_config(args.config, overrides)
    if (args.write_mode or cfg.migration.write_mode) == "overwrite":
        _confirm_overwrite(args)
    log_format = getattr(args, "log_format", "text")
    progress_mode = args.progress or choose_mode(sys.stderr, log_format, getattr(args, "quiet", False))
    options = MigrateOptions(
        contract_path=args.contract,
        tables=tuple(split_names(args.tables)),
        engine=args.engine,
        write_mode=args.write_mode,
        version_attribute=args.version_attribute,
        no_marker=args.no_marker,
        delete_missing=args.delete_missing,
        concurrency=args.concurrency,
        strategy=args.strategy,
        chunk_rows=args.chunk_rows,
        workers=args.workers,
        via=args.via,
        allow_fallback=args.allow_fallback,
        dry_run=args.dry_run,
        resume=args.run if args.run else args.resume,
        force=args.force,
        output_dir=args.output_dir,
        skip_views=args.skip_views,
        skip_preflight=args.skip_preflight,
        skip_validation=args.skip_validation,
        accept=_accepted(args.accept),
        progress_mode=progress_mode,
        progress_interval=args.progress_interval,
    )
    summary = migrate(cfg, options)
    if args.json:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
    elif sys.stdout.isatty():  # a terminal: tables sized to it
        from dynamigrate.cli._summary import render_plan, render_summary, stdout_console

        if summary.plan is not None and summary.status == "dry-run":
            stdout_console().print(render_plan(summary.plan))
        else:
            stdout_console().print(render_summary(summary))
    else:
        print(summary.render_text())
    if args.follow and summary.status == "ok" and summary.run_dir and summary.exit_code() == 0:
        from dynamigrate.cli.replicate import follow

        return follow(cfg, summary.run_dir, args.contract, as_json=args.json)
    return summary.exit_code()
