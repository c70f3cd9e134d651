"""``dynamigrate cutover``: is it safe to switch the application to DynamoDB? (docs/replication.md)"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import run_value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "cutover",
        help="go/no-go for the switch: replication lag under a threshold, then a sampled validation",
        description=(
            "Checks readiness to switch the application to DynamoDB: the run's replication checkpoint "
            "against the binlog head (lag under --max-lag seconds), then a validation (counts, keys and "
            "sampled item values against the reference evaluator). Prints GO or NO-GO with the "
            "numbers; exit 0 for GO, 1 for NO-GO. Changes nothing."
        ),
    )
    p.add_argument("--config", help="config file")
    p.add_argument("--contract", help="contract file (default: the configured one, else the run's)")
    p.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    p.add_argument(
        "--run", metavar="RUN", help="the replicated run (default: the latest with a binlog position)"
    )
    p.add_argument(
        "--max-lag", type=float, default=5.0, help="largest acceptable replication lag, seconds (5)"
    )
    p.add_argument("--sample", type=int, default=1000, help="items validated per table (1000)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dynamigrate.cli.replicate import _find_run
    from dynamigrate.config import load_config
    from dynamigrate.contract.verdict import load_valid_contract
    from dynamigrate.errors import ConfigError
    from dynamigrate.replicate.cutover import readiness

    cfg = load_config(args.config, overrides={"migration.output_dir": args.output_dir})
    if not cfg.mysql.database:
        raise ConfigError("no MySQL database configured", hint="set mysql.database in the config file")
    if args.sample < 1:
        raise ConfigError("--sample needs a positive number of items")
    run_dir = _find_run(cfg.migration.output_dir, run_value(args))
    meta = run_dir.meta
    path = args.contract or cfg.resolve_path(cfg.migration.contract_file) or meta.get("contract_path")
    if not path:
        raise ConfigError("no contract", hint="pass --contract FILE or set migration.contract_file")
    contract = load_valid_contract(Path(path), cfg=cfg)
    names = meta.get("tables") or None
    tables = contract.select(list(names) if names else None)
    result = readiness(cfg, contract, tables, run_dir, max_lag=args.max_lag, sample=args.sample)
    run_dir.write_json("cutover.json", result.as_dict())
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=str))
    else:
        print(result.render_text())
    return 0 if result.go else 1
