"""``dynamigrate sample load``: create the sample online shop in a MySQL database.

The shop is the schema the workshop's migration contract describes (users, categories, products,
shopping_carts, orders, order_items), filled deterministically with ``--scale`` users and awkward but
legal values in non-key columns. The database is dropped and recreated unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from dynamigrate.cli._common import add_mysql_arguments, mysql_overrides, print_help_handler
from dynamigrate.config import load_config


def register(subparsers: Any) -> None:
    sample = subparsers.add_parser("sample", help="the sample online shop database (demo, tests)")
    sample_sub = sample.add_subparsers(dest="sample_command", metavar="SUBCOMMAND")
    sample.set_defaults(handler=print_help_handler(sample))

    p = sample_sub.add_parser(
        "load",
        help="create the sample shop in a MySQL database",
        description=(__doc__ or "").split("\n\n")[1],
    )
    p.add_argument("--database", required=True, help="database to (re)create, e.g. dynamigrate_demo")
    p.add_argument(
        "--scale", type=int, default=200, help="number of users (default 200); other tables follow"
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default: the fixed built-in seed)")
    p.add_argument("--keep", action="store_true", help="do not drop an existing database of that name first")
    p.add_argument("--config", help="config file (workshop config.json layout); its mysql section is used")
    # --database above is the database to create, not a connection setting
    add_mysql_arguments(p, password=True, database=None)
    p.add_argument("--json", action="store_true", help="print the row counts as JSON")
    p.set_defaults(handler=run_load)


def run_load(args: argparse.Namespace) -> int:
    from dynamigrate.sample import DEFAULT_SEED, load_sample

    cfg = load_config(args.config, overrides=mysql_overrides(args, database=False))
    mysql = cfg.mysql
    started = time.perf_counter()
    counts = load_sample(
        mysql.connect_kwargs(),
        args.database,
        args.scale,
        drop=not args.keep,
        seed=DEFAULT_SEED if args.seed is None else args.seed,
    )
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    if args.json:
        print(json.dumps({"database": args.database, "scale": args.scale, "rows": counts,
                          "seconds": round(elapsed, 3)}))  # fmt: skip
    else:
        print(f"sample shop loaded into {args.database} on {mysql.user}@{mysql.host}:{mysql.port}")
        for table, n in counts.items():
            print(f"  {table:<15} {n:>10}")
        print(
            f"  {'total':<15} {total:>10}  ({elapsed:.1f}s, {total / elapsed if elapsed else 0:.0f} rows/s)"
        )
    return 0
