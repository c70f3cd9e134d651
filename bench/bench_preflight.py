"""Benchmark: preflight time against one ``SELECT COUNT(*)`` over each view, in the same run.

Loads the sample shop at a large scale into a database of its own, generates and applies the workshop
contract's views, then measures (best of ``--repeat``):

* ``COUNT(*)`` over each view,
* ``run_preflight`` over all views (and its passes: aggregate, examples and counts, duplicates),

and prints the ratio per view and overall. The database is dropped at the end (``--keep`` keeps it,
``--database`` reuses an existing one without loading).

    .venv/bin/python bench/bench_preflight.py --scale 20000
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import pymysql

from dynamigrate.config import MySQLSettings, Secret
from dynamigrate.contract.load import load_contract
from dynamigrate.source.introspect import introspect
from dynamigrate.validate.preflight import qi, run_preflight

WORKSHOP = Path("/work/shared/reference/workshop-migrationContract.json")
if not WORKSHOP.exists():
    WORKSHOP = Path(__file__).resolve().parents[1] / "tests" / "data" / "workshop-migrationContract.json"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=20000)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=3306)
    ap.add_argument("--user", default="dynamigrate")
    ap.add_argument("--password", default="dynamigrate")
    ap.add_argument("--database", help="use this existing database (no load, not dropped)")
    ap.add_argument("--contract", default=str(WORKSHOP))
    ap.add_argument("--repeat", type=int, default=2, help="best of N for each measurement")
    ap.add_argument("--keep", action="store_true", help="keep the loaded database")
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)

    settings = MySQLSettings(host=args.host, port=args.port, user=args.user, password=Secret(args.password))
    kwargs = settings.connect_kwargs()
    database = args.database or f"dm_bench_{secrets.token_hex(3)}"
    created = False
    admin = pymysql.connect(**{**kwargs, "database": None}, autocommit=True)
    try:
        if not args.database:
            from dynamigrate.sample.generator import load_sample

            t = time.monotonic()
            created = True
            load_sample(kwargs, database, args.scale)  # creates the database
            print(f"loaded sample shop at scale {args.scale} into {database} in {time.monotonic() - t:.1f} s")
        conn = pymysql.connect(**{**kwargs, "database": database}, autocommit=True)
        figures = _measure(conn, database, args)
        conn.close()
        figures["scale"] = args.scale if not args.database else None
        if args.json:
            Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if created and not args.keep:
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS {qi(database)}")
        admin.close()
    return 0


def _best(fn: Any, repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.monotonic()
        result = fn()
        best = min(best, time.monotonic() - t)
    return best, result


def _measure(conn: Any, database: str, args: argparse.Namespace) -> dict[str, Any]:
    from dynamigrate.sqlgen import generate_views

    contract = load_contract(args.contract)
    schema = introspect(conn, database)
    views = generate_views(contract, dialect=schema.dialect, schema=schema)
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)

    def count(view: str) -> int:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM {qi(database)}.{qi(view)}")
            return int(cur.fetchone()[0])

    def full_read(view: str) -> int:
        # what the migration itself does: stream every row of the view to the client (SSCursor)
        n = 0
        with conn.cursor(pymysql.cursors.SSCursor) as cur:
            cur.execute(f"SELECT * FROM {qi(database)}.{qi(view)}")
            for _ in cur:
                n += 1
        return n

    counts: dict[str, tuple[float, int]] = {}
    reads: dict[str, float] = {}
    per_table: dict[str, float] = {}
    passes: dict[str, dict[str, float]] = {}
    for table in contract.tables:
        counts[table.name] = _best(lambda v=table.view_name: count(v), args.repeat)
        reads[table.name] = _best(lambda v=table.view_name: full_read(v), args.repeat)[0]
        best, rep = _best(lambda n=table.name: run_preflight(conn, database, contract, [n]), args.repeat)
        per_table[table.name] = best
        passes[table.name] = rep.tables[0].seconds
    pf_time, report = _best(lambda: run_preflight(conn, database, contract), args.repeat)

    total_count = sum(t for t, _ in counts.values())
    total_read = sum(reads.values())
    print(
        f"\n{'table':12} {'rows':>9} {'COUNT(*) s':>11} {'read all s':>11} {'preflight s':>12} "
        f"{'/COUNT':>7} {'/read':>6}   preflight passes (s)"
    )
    out: dict[str, Any] = {"database": database, "server": schema.version, "tables": {}}
    for table in contract.tables:
        c_time, rows = counts[table.name]
        r_time, p_time = reads[table.name], per_table[table.name]
        detail = ", ".join(f"{k} {v:.3f}" for k, v in passes[table.name].items())
        print(
            f"{table.name:12} {rows:>9} {c_time:>11.3f} {r_time:>11.3f} {p_time:>12.3f} "
            f"{p_time / c_time:>7.2f} {p_time / r_time:>6.2f}   {detail}"
        )
        out["tables"][table.name] = {
            "rows": rows,
            "count_seconds": round(c_time, 4),
            "read_all_seconds": round(r_time, 4),
            "preflight_seconds": round(p_time, 4),
            "ratio_to_count": round(p_time / c_time, 2),
            "ratio_to_read_all": round(p_time / r_time, 2),
            "passes": {k: round(v, 4) for k, v in passes[table.name].items()},
        }
    print(
        f"{'all views':12} {sum(r for _, r in counts.values()):>9} {total_count:>11.3f} {total_read:>11.3f} "
        f"{pf_time:>12.3f} {pf_time / total_count:>7.2f} {pf_time / total_read:>6.2f}"
    )
    print(
        f"\nfindings: {len(report.errors)} error(s), {len(report.warnings)} warning(s): "
        + ", ".join(sorted({f"{f.table}:{f.check}" for f in report.findings}))
    )
    out.update(
        count_seconds=round(total_count, 4),
        read_all_seconds=round(total_read, 4),
        preflight_seconds=round(pf_time, 4),
        ratio_to_count=round(pf_time / total_count, 2),
        ratio_to_read_all=round(pf_time / total_read, 2),
        findings=[f.to_dict() | {"examples": f.examples[:2]} for f in report.findings],
    )
    return out


if __name__ == "__main__":
    sys.exit(main())
