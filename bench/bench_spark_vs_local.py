"""Spark local mode against the local engine on the same data, in the same run: rows per second.

    .venv/bin/python bench/bench_spark_vs_local.py --scale 300 [--master 'local[*]'] [--partition-rows 2000]

Loads the sample shop at ``--scale`` into a fresh MariaDB database, creates the workshop contract's
views, and migrates every table twice into DynamoDB Local (fresh tables each time): once with the
local engine, once with the Spark engine (SparkSession in this process; the session start-up is
timed separately). Prints rows/s per engine and the ratio. Expect Spark to be slower on a 2-core
machine: one JVM, Python workers and a JDBC connection per partition are pure overhead at this size;
the figure documents that overhead (docs/spark-glue.md records it).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import contextlib

import boto3
import pymysql

from dynamigrate.config import load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.etl.base import EtlContext, EtlOptions, get_engine
from dynamigrate.runstate import RunDir

CONTRACTS = (
    Path("/work/shared/reference/workshop-migrationContract.json"),
    Path(__file__).resolve().parents[1] / "tests" / "data" / "workshop-migrationContract.json",
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=300, help="sample shop users (other tables follow)")
    ap.add_argument("--master", default="local[*]")
    ap.add_argument("--partition-rows", type=int, default=2000)
    ap.add_argument("--endpoint", default="http://127.0.0.1:8000")
    ap.add_argument("--mysql", default="dynamigrate:dynamigrate@127.0.0.1:3306")
    ap.add_argument("--contract", type=Path, default=next((c for c in CONTRACTS if c.exists()), CONTRACTS[0]))
    ap.add_argument("--keep", action="store_true", help="keep the database and tables")
    args = ap.parse_args()

    cred, _, hostport = args.mysql.partition("@")
    user, _, password = cred.partition(":")
    host, _, port = hostport.partition(":")
    db = f"dm_bench_{secrets.token_hex(3)}"
    prefix = f"b{secrets.token_hex(3)}_"
    out = Path("/tmp") / f"dm-bench-{prefix}"
    cfg = load_config(
        None,
        overrides={
            "mysql.host": host,
            "mysql.port": int(port or 3306),
            "mysql.user": user,
            "mysql.password": password,
            "mysql.database": db,
            "aws.region": "us-east-1",
            "aws.dynamodb_endpoint_url": args.endpoint,
            "migration.output_dir": str(out),
        },
    )
    cfg = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": args.partition_rows}})
    from dynamigrate.sample.generator import load_sample
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements
    from dynamigrate.target.provision import ensure_table

    t = time.perf_counter()
    counts = load_sample(cfg.mysql.connect_kwargs(), db, args.scale)
    print(f"sample shop scale {args.scale} in {db}: {counts} ({time.perf_counter() - t:.1f}s)")
    base = load_contract(args.contract)
    contract = dataclasses.replace(
        base, tables=tuple(dataclasses.replace(x, name=prefix + x.name) for x in base.tables)
    )
    conn = pymysql.connect(**{**cfg.mysql.connect_kwargs(), "autocommit": True})
    with conn.cursor() as cur:
        for stmt in generate_statements(contract, dialect="mariadb", schema=introspect(conn, db)):
            cur.execute(stmt.sql)
    ddb = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=args.endpoint,
        aws_access_key_id="d",
        aws_secret_access_key="d",
    )

    def fresh_tables() -> None:
        for tb in contract.tables:
            try:
                ddb.delete_table(TableName=tb.name)
                ddb.get_waiter("table_not_exists").wait(TableName=tb.name)
            except ddb.exceptions.ResourceNotFoundException:
                pass
            ensure_table(ddb, tb)

    def run_engine(engine: Any) -> tuple[float, int]:
        run = RunDir.create(out)
        ctx = EtlContext(config=cfg, contract=contract, run=run, options=EtlOptions(), database=db)
        t0 = time.perf_counter()
        rows = sum(engine.run_table(ctx, tb).read for tb in contract.tables)
        return time.perf_counter() - t0, rows

    results: dict[str, Any] = {
        "scale": args.scale,
        "master": args.master,
        "partition_rows": args.partition_rows,
    }
    try:
        fresh_tables()
        secs, rows = run_engine(get_engine("local"))
        results["local"] = {"rows": rows, "seconds": round(secs, 2), "rows_per_s": round(rows / secs, 1)}
        print(f"local engine: {rows} rows in {secs:.2f}s = {rows / secs:.0f} rows/s")

        from dynamigrate.etl.spark import SparkEngine, spark_session

        t0 = time.perf_counter()
        spark = spark_session(cfg, args.master)
        startup = time.perf_counter() - t0
        fresh_tables()
        secs2, rows2 = run_engine(SparkEngine(spark))
        results["spark"] = {
            "rows": rows2,
            "seconds": round(secs2, 2),
            "rows_per_s": round(rows2 / secs2, 1),
            "session_startup_s": round(startup, 2),
            "cores": spark.sparkContext.defaultParallelism,
        }
        print(
            f"spark {args.master}: {rows2} rows in {secs2:.2f}s = {rows2 / secs2:.0f} rows/s "
            f"(+ {startup:.1f}s session start-up, {spark.sparkContext.defaultParallelism} cores)"
        )
        ratio = (rows2 / secs2) / (rows / secs)
        results["spark_over_local"] = round(ratio, 3)
        print(f"ratio spark/local throughput: {ratio:.2f}")
        print(json.dumps(results))
        spark.stop()
    finally:
        if not args.keep:
            for tb in contract.tables:
                with contextlib.suppress(ddb.exceptions.ResourceNotFoundException):
                    ddb.delete_table(TableName=tb.name)
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
