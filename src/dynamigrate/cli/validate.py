"""``dynamigrate validate``: prove a migration against the contract (counts from the base tables, keys,
values computed by the reference evaluator, GSIs); exit 1 when it fails, 4 when it could not run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import (
    add_mysql_arguments,
    add_tables_argument,
    contract_path,
    mysql_overrides,
    settings_for_run,
    split_names,
)
from dynamigrate.errors import ConfigError


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "validate",
        help="prove DynamoDB holds what the contract says: counts, keys, values, GSIs",
        description=(
            "Validate a migration against the contract, not the views: row counts from the base tables, "
            "the keys the load recorded against one DynamoDB key scan, and the values of 1,000 random "
            "source rows per table computed by the reference evaluator (--sample N for another number, "
            "--full for every item, --counts-only for counts alone). Items where the view itself does "
            "not match the contract are reported apart. Writes validation.json and refreshes the "
            "reports. Exit code 1 when validation fails, 4 when it could not run (not validated). "
            "See docs/validation.md."
        ),
    )
    p.add_argument("--config", help="config file (mysql, aws, migration sections)")
    p.add_argument("--contract", help="contract file (default: migration.contract_file)")
    p.add_argument("--run", help="run id or directory (default: the latest run; a new one if none)")
    p.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    p.add_argument("--region", help="AWS region (default: the run's; says which when sources disagree)")
    add_tables_argument(p)
    add_mysql_arguments(
        p,
        connection=False,
        database="MySQL database of the source tables and views (default: mysql.database)",
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="compare every item attribute by attribute")
    mode.add_argument(
        "--sample", type=int, metavar="N", help="compare N random source rows per table (default 1000)"
    )
    p.add_argument("--gsi-sample", type=int, default=50, metavar="N", help="items checked in each GSI (50)")
    mode.add_argument(
        "--counts-only",
        action="store_true",
        help="counts alone (base tables, the load, a Select=COUNT scan): no keys, no values, no score",
    )
    p.add_argument(
        "--segments",
        type=int,
        default=None,
        help="Scan segments of the key scan (default: one per ~250 items, at least 4; 8 read at once)",
    )
    p.add_argument("--workers", type=int, default=4, help="parallel BatchGetItem calls in --full (4)")
    p.add_argument("--max-listed", type=int, default=100, help="differences listed per table (100)")
    p.add_argument("--json", action="store_true", help="print validation.json instead of text")
    p.add_argument("--no-report", action="store_true", help="do not refresh report.json/md/html")
    p.set_defaults(handler=run)


def _contract(args: argparse.Namespace, cfg: Any, run_meta: dict[str, Any] | None = None) -> Any:
    from dynamigrate.contract.verdict import load_valid_contract as load_contract

    configured = args.contract or cfg.resolve_path(cfg.migration.contract_file)
    if configured is None and run_meta and run_meta.get("contract_path"):
        return load_contract(Path(run_meta["contract_path"]), cfg=cfg)  # the contract the run used
    return load_contract(contract_path(cfg, args.contract), cfg=cfg)


def open_or_create_run(output_dir: str, run: str | None, command: str, cfg: Any = None) -> Any:
    from dynamigrate.runstate import RunDir, list_runs

    if run:
        return RunDir.find(output_dir, run)
    if list_runs(output_dir):
        return RunDir.find(output_dir)
    meta: dict[str, Any] = {"command": command}
    if cfg is not None:
        meta["config"] = cfg.masked()
    return RunDir.create(output_dir, meta=meta)


def run(args: argparse.Namespace) -> int:
    from dynamigrate.config import load_config
    from dynamigrate.validate.post import DEFAULT_SAMPLE, validate_run

    cfg = load_config(
        args.config,
        overrides={
            "migration.output_dir": args.output_dir,
            "aws.region": args.region,
            **mysql_overrides(args),
        },
    )
    run_dir = open_or_create_run(cfg.migration.output_dir, args.run, "validate", cfg)
    meta = run_dir.meta
    cfg = settings_for_run(cfg, run_dir, mysql=True)  # the run's endpoint, region, database...
    contract = _contract(args, cfg, meta)
    run_hash = meta.get("contract_sha256") or meta.get("contract_hash")
    if run_hash and contract.sha256 and run_hash != contract.sha256:
        print(
            f"warning: the contract differs from the one run {run_dir.run_id} used "
            "(validating against the contract given now)",
            file=sys.stderr,
        )
    if args.full:
        mode, sample = "full", None
    elif args.sample:
        if args.sample < 1:
            raise ConfigError("--sample needs a positive number of rows")
        mode, sample = "sample", args.sample
    elif args.counts_only:
        mode, sample = "counts", None
    else:
        mode, sample = "sample", DEFAULT_SAMPLE
    if not args.json:
        print(f"validating run {run_dir.run_id} ({run_dir.path}), mode {mode}", file=sys.stderr)
    report = validate_run(
        cfg,
        contract,
        run_dir,
        split_names(args.tables) or None,
        mode=mode,
        sample=sample,
        gsi_sample=max(0, args.gsi_sample),
        segments=args.segments,
        workers=args.workers,
        max_listed=args.max_listed,
        origin="validate",
    )
    if args.json:
        print(json.dumps(report.to_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(report.render_text())
    if not args.no_report:
        from dynamigrate.report import write_reports

        paths = write_reports(run_dir, report)
        if not args.json:
            print("reports: " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    if report.status == "failed":
        return 1
    return 0 if report.passed else NOT_VALIDATED_EXIT


#: exit code of a validation that could not run (distinct from 1: nothing was found wrong)
NOT_VALIDATED_EXIT = 4
