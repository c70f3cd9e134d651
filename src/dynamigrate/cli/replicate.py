"""``dynamigrate replicate``: keep the DynamoDB tables in step with the source through its binlog."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import add_run_argument, add_tables_argument, run_value, split_names


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "replicate",
        help="apply source row changes (binlog, ROW format) to the items they affect, until stopped",
        description=(
            "Read the source's binary log from the position a migration recorded before its load (or "
            "the last checkpoint, or --from-position), and for every row change recompute exactly "
            "the DynamoDB items it affects through the contract (its own items and every item that "
            "joins, aggregates or embeds it), written with sync mode's ownership rules: items changed "
            "by someone else are left alone and reported. Runs until SIGINT/SIGTERM (stops cleanly "
            "after a checkpoint) or, with --stop-at-head, until the binlog head as of the start."
        ),
    )
    p.add_argument("--config", help="config file (mysql, aws, migration sections)")
    p.add_argument("--contract", help="contract file (default: the one the run used)")
    p.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    add_run_argument(p, "the migration run to keep up to date (default: the latest with a binlog position)")
    add_tables_argument(p, "only these tables of the run")
    p.add_argument("--from-position", metavar="FILE:POS", help="start here instead of the recorded position")
    p.add_argument(
        "--stop-at-head",
        action="store_true",
        help="apply everything up to the binlog head as of now, then exit",
    )
    p.add_argument("--window", type=float, default=0.5, help="seconds changes are coalesced per item (0.5)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def _find_run(output_dir: str, run: str | None) -> Any:
    from dynamigrate.replicate.position import CHECKPOINT_FILE, START_FILE
    from dynamigrate.runstate import RunDir, list_runs

    if run:
        return RunDir.find(output_dir, run)
    for path in reversed(list_runs(output_dir)):
        if (Path(path) / START_FILE).exists() or (Path(path) / CHECKPOINT_FILE).exists():
            return RunDir.open(path)
    return RunDir.find(output_dir)


def run(args: argparse.Namespace) -> int:
    from dynamigrate.config import load_config
    from dynamigrate.errors import ConfigError

    cfg = load_config(args.config, overrides={"migration.output_dir": args.output_dir})
    if not cfg.mysql.database:
        raise ConfigError("no MySQL database configured", hint="set mysql.database in the config file")
    if args.window < 0:
        raise ConfigError("--window must be >= 0 seconds")
    run_dir = _find_run(cfg.migration.output_dir, run_value(args))
    return _replicate(
        cfg,
        run_dir,
        args.contract,
        split_names(args.tables),
        from_position=args.from_position,
        stop_at_head=args.stop_at_head,
        window=args.window,
        as_json=args.json,
    )


def follow(cfg: Any, run_path: str, contract: str | None, *, as_json: bool = False) -> int:
    """``migrate --follow``: replicate the run just loaded until SIGINT/SIGTERM."""
    from dynamigrate.runstate import RunDir

    print(f"following the binlog for run {Path(run_path).name} (stop with Ctrl-C / SIGTERM)", file=sys.stderr)
    return _replicate(cfg, RunDir.open(run_path), contract, [], as_json=as_json)


def _replicate(
    cfg: Any,
    run_dir: Any,
    contract_arg: str | None,
    table_names: list[str],
    *,
    from_position: str | None = None,
    stop_at_head: bool = False,
    window: float = 0.5,
    as_json: bool = False,
) -> int:
    from dynamigrate.contract.verdict import load_valid_contract
    from dynamigrate.errors import ConfigError
    from dynamigrate.replicate.stream import replicate
    from dynamigrate.target.client import dynamodb_client

    meta = run_dir.meta
    path = contract_arg or cfg.resolve_path(cfg.migration.contract_file) or meta.get("contract_path")
    if not path:
        raise ConfigError("no contract", hint="pass --contract FILE or set migration.contract_file")
    contract = load_valid_contract(Path(path), cfg=cfg)
    names = table_names or meta.get("tables") or None
    tables = contract.select(list(names) if names else None)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        print(f"replicate: signal {signum}, stopping after the next checkpoint", file=sys.stderr)
        stop.set()

    from dynamigrate.runlock import acquire

    # one replicate per run: a second one applied the same changes alongside and moved the checkpoint
    # under the first (rollback and cleanup of the run wait for it too)
    lock = acquire(run_dir.path, command="dynamigrate replicate")
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    client = dynamodb_client(cfg.aws, max_pool_connections=16, sdk_attempts=3)
    try:
        summary = replicate(
            cfg,
            contract,
            tables,
            run_dir,
            client,
            from_position=from_position,
            stop_at_head=stop_at_head,
            window=window,
            stop=stop,
        )
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        lock.release()
    if as_json:
        print(json.dumps(summary.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(summary.render_text())
    return 0
