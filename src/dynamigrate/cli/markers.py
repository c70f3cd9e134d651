"""``dynamigrate markers remove``: remove the ownership markers after cut-over, from unchanged items only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import (
    add_run_argument,
    add_tables_argument,
    contract_path,
    print_help_handler,
    split_names,
)


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "markers",
        help="manage the migration's ownership marker attribute (remove it after cut-over)",
        description=(
            "Every item the migration writes carries a marker attribute (migration.marker_attribute, "
            "default _dm_marker) = '<run_id>:<content fingerprint>'. sync runs and rollback rely on it. "
            "After cut-over, 'markers remove' deletes it from the items nobody changed since the "
            "migration wrote them (conditionally, so a concurrent write keeps its marker); changed "
            "items are counted and keep theirs."
        ),
    )
    sub = p.add_subparsers(dest="markers_command", metavar="ACTION")
    rm = sub.add_parser("remove", help="remove markers from unchanged items")
    rm.add_argument("--config", required=True, help="config file (aws.*, migration.contract_file)")
    rm.add_argument("--contract", help="contract file (default: migration.contract_file)")
    add_tables_argument(rm)
    add_run_argument(rm, "only markers written by this run")
    rm.add_argument("--dry-run", action="store_true", help="count what would be removed; change nothing")
    rm.add_argument("--marker-attribute", help="marker attribute name (default: migration.marker_attribute)")
    rm.add_argument("--dynamodb-endpoint", help="DynamoDB endpoint URL")
    rm.add_argument("--region", help="AWS region")
    rm.add_argument("--concurrency", type=int, default=8, help="concurrent UpdateItem calls per table (8)")
    rm.add_argument("--json", action="store_true", help="print the counts as JSON")
    rm.set_defaults(handler=run_remove)
    p.set_defaults(handler=print_help_handler(p))


def run_remove(args: argparse.Namespace) -> int:
    from dynamigrate.config import load_config
    from dynamigrate.contract.load import load_contract
    from dynamigrate.target.client import dynamodb_client
    from dynamigrate.target.markers import remove_markers

    cfg = load_config(
        args.config, {"aws.region": args.region, "aws.dynamodb_endpoint_url": args.dynamodb_endpoint}
    )
    from dynamigrate.cli._common import settings_for_run
    from dynamigrate.regions import check_region_sources
    from dynamigrate.runstate import RunDir

    run_id = args.run
    run_dir = None
    if run_id and Path(run_id).is_dir():  # a run directory: the markers carry its id
        run_dir = RunDir.open(run_id)
    elif run_id and (Path(cfg.migration.output_dir) / run_id / "run.json").is_file():
        run_dir = RunDir.open(Path(cfg.migration.output_dir) / run_id)
    if run_dir is not None:  # the run's endpoint, region, contract... unless given now
        run_id = run_dir.run_id
        cfg = settings_for_run(cfg, run_dir)
    else:
        check_region_sources(cfg)
    contract = load_contract(contract_path(cfg, args.contract))
    tables = contract.select(split_names(args.tables))
    marker = args.marker_attribute or cfg.migration.marker_attribute
    client = dynamodb_client(cfg.aws, max_pool_connections=max(10, args.concurrency))
    results = []
    for table in tables:
        try:
            out = remove_markers(
                client,
                table.name,
                table.key_names,
                marker,
                run=run_id,
                dry_run=args.dry_run,
                concurrency=args.concurrency,
            )
        except Exception as exc:
            raise _table_problem(exc, table.name, cfg) from None
        results.append(out)
    if args.json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        verb = "would remove" if args.dry_run else "removed"
        for r in results:
            n = r.would_remove if args.dry_run else r.removed
            line = f"{r.table}: {verb} {n} marker(s); {r.changed} item(s) changed since the migration (kept)"
            if r.raced:
                line += f"; {r.raced} changed while removing (kept)"
            if r.skipped_other_runs:
                line += f"; {r.skipped_other_runs} from other runs (kept)"
            print(line)
            for key in r.changed_keys[:5]:
                print(f"    changed: {json.dumps(key, default=str)}")
        kept = sum(r.changed + r.raced for r in results)
        if kept:
            print(
                f"{kept} item(s) keep '{marker}': they changed after the migration wrote them (the first "
                "5 keys of each table above, 100 with --json). Check them; once they are right, remove "
                f"the attribute yourself (UpdateItem REMOVE {marker}) or leave it; the ones changed "
                "while removing are retried by running this again.",
                file=sys.stderr,
            )
    return 1 if any(r.changed or r.raced for r in results) else 0


def _table_problem(exc: Exception, table: str, cfg: Any) -> Exception:
    """A DynamoDB error about the table (missing, no permission) as an error that names it; else ``exc``."""
    from dynamigrate.errors import TargetError
    from dynamigrate.target.retry import error_code, is_table_error, table_error

    if error_code(exc) == "ResourceNotFoundException":
        where = cfg.aws.dynamodb_endpoint or "AWS"
        return TargetError(
            f"table {table} does not exist ({where}, region {cfg.aws.region}): no marker removed",
            hint="check the endpoint and region (--dynamodb-endpoint, --region, or the run's with --run), "
            "or pick the tables that exist with --tables",
            table=table,
        )
    return table_error(exc, table=table) if is_table_error(exc) else exc
