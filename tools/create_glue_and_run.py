#!/usr/bin/env python3
"""Create (or update) one AWS Glue job per contract table and run them: the workshop's step, kept
under its name, as a thin shell over :func:`dynamigrate.etl.glue.run_glue`.

    tools/create_glue_and_run.py --config config.json [--tables Users Orders] [--dry-run]
        [--worker-type G.1X] [--workers 2] [--glue-via direct|mcp] [--no-wait]

The config is the workshop layout (``aws.region``, ``aws.s3_bucket``, ``aws.glue_role``, the Glue
connection name in ``aws.glue_connection`` (or ``aws.glue_connection_name``), ``mysql.*`` and
``migration.contract_file``). Each table reads the view the previous step created
(``ddb_<table>_view``). Before anything is created the regions of the config, the credentials, the
DynamoDB tables, the bucket and the Glue connection are compared; then the job script, the package
zip and the contract are uploaded to S3, the jobs created or updated (Glue 5.0, connection attached,
credentials taken from the connection inside the job), the runs started and watched until they end
(or the jobs' timeout). Ctrl-C stops watching, not the runs: ``dynamigrate status <run>`` resumes.

``--dry-run`` prints every AWS request instead of sending it, and the load plan (rows, item size,
write units, duration, on-demand cost) when MySQL is reachable.

Exit codes: 0 all runs succeeded (or dry run), 1 a run failed or the region check stopped the run,
2 configuration error, 130 interrupted (runs keep going).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

# run from a checkout without installing: src/ next to tools/, under .venv when this python lacks deps
sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import ensure_package

ensure_package(__file__)

from dynamigrate.cli import run_command  # noqa: E402
from dynamigrate.config import load_config  # noqa: E402
from dynamigrate.errors import ConfigError  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="create_glue_and_run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", required=True, help="workshop-style config.json")
    p.add_argument("--tables", nargs="*", help="contract tables to run (default: all)")
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
    p.add_argument("--run", help="reuse this run id (default: a new run)")
    p.add_argument("-v", "--verbose", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )
    return run_command(_run, args)


def _run(args: argparse.Namespace) -> int:
    from dynamigrate.contract.load import load_contract
    from dynamigrate.etl.glue import GlueOptions, run_glue
    from dynamigrate.runstate import RunDir

    cfg = load_config(args.config, overrides={"aws.region": args.region})
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
