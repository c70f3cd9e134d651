#!/usr/bin/env python3
"""Create (or update) one AWS Glue job per contract table and run them: the workshop's step, kept
under its name, as a thin shell over dynamigrate.etl.glue.run_glue.

    tools/create_glue_and_run.py --config config.json [--tables Users,Orders] [--dry-run]
        [--worker-type G.1X] [--workers 2] [--glue-via direct|mcp] [--no-wait]

The config is the workshop layout: aws.region, aws.s3_bucket, aws.glue_role (a role name, made an
ARN with aws.account_id, or an ARN), the Glue connection's name in aws.glue_connection (or
aws.glue_connection_name), mysql.* and migration.contract_file. The jobs reach MySQL only through
that Glue connection (its JDBC URL, subnet and security groups); the workshop's aws.vpc_id,
aws.subnet_ids, aws.security_group_ids and mysql.private_host describe that network and are not used
here (a warning says so). Each table reads the view the previous step created (ddb_<table>_view).

Before anything is created the regions of the config, the credentials, the DynamoDB tables, the
bucket and the Glue resources are compared; then the job script, the package zip and the contract
are uploaded to S3, the jobs created or updated (Glue 5.0, connection attached, credentials taken
from the connection inside the job), the runs started and watched until they end (or the jobs'
timeout). Ctrl-C stops watching, not the runs: `dynamigrate status RUN` shows them.

--dry-run prints every AWS request instead of sending it, and the load plan (rows, item size,
write units, duration, on-demand cost) when MySQL is reachable. Without a Glue connection it says
that the jobs would not reach MySQL (a real run stops there).

Exit codes: 0 all runs succeeded (or dry run), 1 a run failed or the region check stopped the run,
2 configuration error, 130 interrupted (runs keep going).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

NEEDED = ("dynamigrate.cli", "dynamigrate.etl.glue", "dynamigrate.contract.load", "boto3", "pymysql")


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
    p = argparse.ArgumentParser(
        prog="create_glue_and_run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, help="workshop-style config.json")
    p.add_argument(
        "--tables",
        nargs="+",
        action="extend",
        metavar="TABLE",
        help="contract tables to run (default: all); comma- or space-separated",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print every AWS request and the load plan; create nothing"
    )
    p.add_argument("--worker-type", help="Glue worker type (G.1X, G.2X, G.4X, ...; default G.1X)")
    p.add_argument("--workers", type=int, help="number of Glue workers per job (default 2)")
    p.add_argument("--timeout", type=int, dest="timeout_minutes", help="job timeout in minutes (default 120)")
    p.add_argument(
        "--glue-via",
        choices=["direct", "mcp"],
        help="call Glue directly (boto3) or through the "
        "AWS data-processing MCP server (manage_aws_glue_jobs)",
    )
    p.add_argument(
        "--no-wait", action="store_true", help="start the runs and return; watch with dynamigrate status"
    )
    p.add_argument("--region", help="AWS region (overrides the config)")
    p.add_argument(
        "--run", metavar="RUN", help="reuse this run: a run id or a run directory (default: a new run)"
    )
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    ensure_dynamigrate(__file__)
    from dynamigrate.cli import run_command

    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    return run_command(_run, args)


def _run(args: argparse.Namespace) -> int:
    from dynamigrate.cli._common import split_names
    from dynamigrate.config import load_config
    from dynamigrate.contract.load import load_contract
    from dynamigrate.errors import ConfigError
    from dynamigrate.etl.glue import GlueOptions, run_glue
    from dynamigrate.runstate import RunDir
    from dynamigrate.workshop_config import glue_connection_warning, workshop_key_warnings

    cfg = load_config(args.config, overrides={"aws.region": args.region})
    args.tables = split_names(args.tables) or None
    for warning in workshop_key_warnings(cfg):
        print(f"warning: {warning}", file=sys.stderr)
    no_connection = glue_connection_warning(cfg)
    if no_connection and not args.dry_run:
        raise ConfigError(
            "no Glue connection configured (aws.glue_connection): the Glue jobs would not reach MySQL",
            hint="set aws.glue_connection to the Glue JDBC connection that reaches the database (the "
            "workshop's CloudFormation stack creates 'mysql-modernizer-connection'); --dry-run shows the plan",
        )
    contract_file = cfg.resolve_path(cfg.migration.contract_file)
    if contract_file is None:
        raise ConfigError(
            "migration.contract_file is not set", hint="point it at the migration contract JSON"
        )
    contract = load_contract(contract_file)
    opts = GlueOptions.from_config(
        cfg,
        worker_type=args.worker_type,
        workers=args.workers,
        timeout_minutes=args.timeout_minutes,
        via=args.glue_via,
    )
    out_dir = cfg.resolve_path(cfg.migration.output_dir) or Path("dynamigrate-runs")
    if args.run:
        run = RunDir.find(out_dir, args.run)
    else:
        run = RunDir.create(
            out_dir, meta={"engine": "glue", "tool": "create_glue_and_run.py", "dry_run": args.dry_run}
        )
    print(f"run {run.run_id} ({run.path})")
    if no_connection:
        print(f"warning: {no_connection}")
    if args.dry_run:
        _print_plan(cfg, contract, args.tables)
    result = run_glue(
        cfg, contract, run=run, tables=args.tables, opts=opts, dry_run=args.dry_run, wait=not args.no_wait
    )
    if args.dry_run or args.no_wait:
        return 0
    failed = [w for w in result.watches if w.state != "SUCCEEDED"]
    for w in result.watches:
        print(f"{w.table:<24} {w.job_name:<36} {w.state}")
    if failed:
        print(f"{len(failed)} run(s) did not succeed; details above and in {run.path / 'state.json'}")
        return 1
    return 0


def _print_plan(cfg: Any, contract: Any, tables: list[str] | None) -> None:
    """The load plan, when MySQL (the views) can be reached from here; a note otherwise."""
    from dynamigrate.plan import Prices, estimate_table, format_plan, measure_table

    try:
        import pymysql

        conn = pymysql.connect(**cfg.mysql.connect_kwargs())
    except Exception as exc:
        print(f"(load plan skipped: MySQL not reachable from here: {type(exc).__name__})")
        return
    prices = Prices.from_config(cfg.raw)
    plans = []
    try:
        for table in contract.select(tables or list(cfg.migration.tables) or None):
            rows, sample = measure_table(conn, table)
            plans.append(estimate_table(table, rows, sample, prices=prices))
    except Exception as exc:
        print(f"(load plan incomplete: {exc})")
    finally:
        conn.close()
    if plans:
        print(format_plan(plans, prices))


if __name__ == "__main__":
    sys.exit(main())
