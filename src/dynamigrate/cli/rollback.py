"""``dynamigrate rollback RUN`` and ``dynamigrate cleanup RUN``: undo a run's writes; remove what it created."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dynamigrate.cli._common import add_run_argument, add_tables_argument, run_value, split_names
from dynamigrate.errors import ConfigError

REGION_HELP = "AWS region (default: the run's; says which when the config file and environment disagree)"


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "rollback",
        help="delete exactly the items a run wrote (only those unchanged since)",
        description=(
            "Undo a run: every item the run wrote is deleted, or put back to its pre-run image when the "
            "run replaced one, on condition that it still carries the marker the run wrote. Items changed "
            "since are left alone and listed; items the run did not write are never touched."
        ),
    )
    add_run_argument(p, "the run to undo", positional=True)
    p.add_argument("--config", help="config file (aws section: region, endpoint, profile)")
    p.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    p.add_argument("--region", help=REGION_HELP)
    add_tables_argument(p, "only these tables of the run")
    p.add_argument("--dry-run", action="store_true", help="show what would happen, change nothing")
    p.add_argument("--workers", type=int, default=8, help="parallel requests (8)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run_rollback)

    c = subparsers.add_parser(
        "cleanup",
        help="drop the views, Glue jobs and scripts a run created (tables only with --drop-tables)",
        description=(
            "Remove what manifest.json says the run created: views, Glue jobs it created, S3 scripts it "
            "uploaded. DynamoDB tables it created are deleted only with --drop-tables, after a "
            "confirmation (--yes for non-interactive use)."
        ),
    )
    add_run_argument(c, "the run whose views, jobs and scripts are removed", positional=True)
    c.add_argument("--config", help="config file")
    c.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    c.add_argument("--region", help=REGION_HELP)
    c.add_argument(
        "--drop-tables", action="store_true", help="also delete the DynamoDB tables the run created"
    )
    c.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    c.add_argument("--dry-run", action="store_true", help="show what would be removed")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(handler=run_cleanup)


def _open(args: argparse.Namespace) -> tuple[Any, Any]:
    from dynamigrate.config import load_config
    from dynamigrate.runstate import RunDir

    run = run_value(args)
    if not run:
        raise ConfigError(
            f"name the run: dynamigrate {args.command} RUN",
            hint="RUN is a run id or a run directory; `dynamigrate status --list` lists the runs",
        )
    from dynamigrate.cli._common import settings_for_run

    cfg = load_config(
        args.config, overrides={"migration.output_dir": args.output_dir, "aws.region": args.region}
    )
    run_dir = RunDir.find(cfg.migration.output_dir, run)
    return settings_for_run(cfg, run_dir), run_dir


def run_rollback(args: argparse.Namespace) -> int:
    from dynamigrate.rollback import rollback_run
    from dynamigrate.target.client import dynamodb_client

    cfg, run = _open(args)
    client: list[Any] = []

    def factory() -> Any:
        if not client:
            client.append(dynamodb_client(cfg.aws, max_pool_connections=args.workers + 4, sdk_attempts=3))
        return client[0]

    from dynamigrate.runlock import acquire

    # a rollback racing a live migrate --resume of the same run would undo half of what it writes
    with acquire(run.path, command="dynamigrate rollback"):
        report = rollback_run(
            factory,
            run,
            dry_run=args.dry_run,
            tables=split_names(args.tables) or None,
            workers=args.workers,
            marker_attribute=run.meta.get("marker_attribute") or cfg.migration.marker_attribute,
        )
    print(json.dumps(report.to_dict(), indent=2, default=str) if args.json else report.render_text())
    return 0 if report.ok else 1


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    answer = input(f"{question} type 'yes' to confirm: ")
    return answer.strip().lower() == "yes"


def run_cleanup(args: argparse.Namespace) -> int:
    from dynamigrate.cleanup import cleanup_run
    from dynamigrate.runlock import acquire

    cfg, run = _open(args)
    with acquire(run.path, command="dynamigrate cleanup"):
        report = cleanup_run(
            cfg, run, drop_tables=args.drop_tables, yes=args.yes, dry_run=args.dry_run, confirm=_ask
        )
    print(json.dumps(report.to_dict(), indent=2, default=str) if args.json else report.render_text())
    return 0 if report.ok else 1
