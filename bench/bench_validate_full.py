"""Benchmark: ``validate --full`` keeps memory bounded whatever the table size.

For each size N: a MariaDB table of N rows (~300 B each) and its view, a DynamoDB Local table loaded
with the same items (the ETL's encoder, marker included), then ``validate_run(mode="full")`` in a fresh
child process whose peak RSS (``VmHWM``) and wall time are measured. Peak RSS should stay flat as N
grows (the source is streamed, keys go to an on-disk SQLite key set, items are compared in batches of
100 with a bounded number in flight); time grows linearly.

    .venv/bin/python bench/bench_validate_full.py --sizes 20000 100000 200000

Needs MariaDB (127.0.0.1:3306, user dynamigrate) and DynamoDB Local (127.0.0.1:8000, or
``DYNAMIGRATE_DDB_ENDPOINT``): ``scripts/services.sh start``. Loading DynamoDB Local is the slow part
(2-8k items/s). For 1M items use a private DynamoDB Local with a bigger heap, so the shared one (1 GB)
is not filled::

    java -Xmx6g -Djava.library.path=.../DynamoDBLocal_lib -jar .../DynamoDBLocal.jar -inMemory -port 8799 &
    DYNAMIGRATE_DDB_ENDPOINT=http://127.0.0.1:8799 .venv/bin/python bench/bench_validate_full.py --sizes 100000 1000000

Measured (docs/validation.md): peak RSS 77.6 / 89.6 / 87.9 MB at 20k / 100k / 300k items, and
88.8 / 87.3 MB at 100k / 1M items (1M: 623.6 s).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dynamigrate.config import AwsSettings, Config, MigrationSettings, MySQLSettings, Secret  # noqa: E402
from dynamigrate.contract.load import parse_contract  # noqa: E402

DDB = os.environ.get("DYNAMIGRATE_DDB_ENDPOINT", "http://127.0.0.1:8000")


def contract_for(table: str) -> Any:
    def attr(name: str, typ: str) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": "bench", "source_column": name}

    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": table,
                    "type": "single-entity",
                    "source_table": "bench",
                    "pk": "PK",
                    "attributes": [
                        attr("PK", "S"),
                        attr("name", "S"),
                        attr("n", "N"),
                        attr("payload", "S"),
                        attr("flag", "BOOL"),
                    ],
                }
            ]
        }
    )
    assert contract is not None, problems
    return contract


def settings(database: str = "") -> MySQLSettings:
    return MySQLSettings(
        host="127.0.0.1", port=3306, user="dynamigrate", password=Secret("dynamigrate"), database=database
    )


def config(database: str, out: Path) -> Config:
    return Config(
        mysql=settings(database),
        aws=AwsSettings(region="us-east-1", dynamodb_endpoint_url=DDB),
        migration=MigrationSettings(output_dir=str(out)),
    )


def ddb() -> Any:
    import boto3
    import botocore.config

    return boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=DDB,
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
        config=botocore.config.Config(
            max_pool_connections=32, retries={"max_attempts": 10, "mode": "standard"}
        ),
    )


def setup(n: int, database: str, table_name: str) -> float:
    import pymysql

    from dynamigrate.runstate import new_run_id
    from dynamigrate.source.reader import ViewReader
    from dynamigrate.target.encode import ItemEncoder, marker_value

    conn = pymysql.connect(**settings().connect_kwargs(), autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}`")
        cur.execute(f"USE `{database}`")
        cur.execute(
            "CREATE TABLE bench (id INT PRIMARY KEY, name VARCHAR(64), n DECIMAL(12,2), payload TEXT, flag TINYINT)"
        )
        cur.execute(
            f"INSERT INTO bench SELECT seq, CONCAT('name ', seq), seq / 7, REPEAT(MD5(seq), 8), seq % 2 "
            f"FROM seq_1_to_{n}"
        )
        cur.execute(
            f"CREATE VIEW ddb_{table_name.lower()}_view AS SELECT CONCAT('U#', id) AS PK, name, "
            "CAST(n AS CHAR) AS n, payload, flag, 'bench' AS _dm_entity, id AS _dm_rowid FROM bench"
        )
    conn.close()
    client = ddb()
    client.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table = contract_for(table_name).tables[0]
    enc = ItemEncoder(table)
    run_id = new_run_id()
    t0 = time.monotonic()

    def put(items: list[dict[str, Any]]) -> None:
        for i in range(0, len(items), 25):
            req: dict[str, Any] = {table_name: [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]}
            while req:
                req = client.batch_write_item(RequestItems=req).get("UnprocessedItems") or {}

    with (
        cf.ThreadPoolExecutor(8) as pool,
        ViewReader(
            settings(database), table.view_name, database=database, chunk_rows=2000, keep_bytes=["flag"]
        ) as reader,
    ):
        pending: set[cf.Future[None]] = set()
        for chunk in reader.iter_entity("bench"):
            items = []
            for row in chunk.rows:
                e = enc.encode(row)
                assert e.item is not None and e.fingerprint
                items.append({**e.item, "_dm_marker": {"S": marker_value(run_id, e.fingerprint)}})
            pending.add(pool.submit(put, items))
            if len(pending) >= 16:
                done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for f in done:
                    f.result()
        for f in pending:
            f.result()
    return time.monotonic() - t0


def teardown(database: str, table_name: str) -> None:
    import pymysql

    conn = pymysql.connect(**settings().connect_kwargs(), autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    conn.close()
    try:
        ddb().delete_table(TableName=table_name)
    except Exception as exc:  # best effort
        print(f"  (could not delete {table_name}: {exc})", file=sys.stderr)


def _vm_kb(field: str) -> int:
    """VmHWM (peak RSS) / VmRSS of this process from /proc; ru_maxrss would include the parent's
    high-water mark, which Linux carries over fork and exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(database: str, table_name: str, out: str) -> None:
    """Run the validation and print its figures (peak RSS of this process only)."""
    from dynamigrate.validate.post import validate_run

    rss0 = _vm_kb("VmRSS")
    t0 = time.monotonic()
    report = validate_run(
        config(database, Path(out)), contract_for(table_name), None, mode="full", gsi_sample=0
    )
    t = report.tables[0]
    print(
        json.dumps(
            {
                "seconds": round(time.monotonic() - t0, 2),
                "rss_before_kb": rss0,
                "peak_rss_kb": _vm_kb("VmHWM"),
                "passed": report.passed,
                "expected": t.expected,
                "compared": t.compared,
                "error": t.error,
            }
        )
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 100_000, 200_000])
    ap.add_argument("--child", nargs=3, metavar=("DB", "TABLE", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    results = []
    for n in args.sizes:
        tag = secrets.token_hex(3)
        database, table_name = f"dm_bench_{tag}", f"bench_{tag}"
        print(f"N={n}: loading MariaDB and DynamoDB Local ...", file=sys.stderr, flush=True)
        try:
            load_s = setup(n, database, table_name)
            print(
                f"  loaded in {load_s:.1f} s ({n / load_s:,.0f} items/s); validating --full ...",
                file=sys.stderr,
            )
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    database,
                    table_name,
                    str(ROOT / ".cache" / "bench-runs"),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            r["n"], r["load_seconds"] = n, round(load_s, 1)
            assert r["passed"] and r["compared"] == n, r
            results.append(r)
            print(f"  {json.dumps(r)}", file=sys.stderr)
        finally:
            teardown(database, table_name)
    base = results[0]
    print(
        f"\n{'items':>10} {'validate s':>11} {'items/s':>9} {'peak RSS MB':>12} {'RSS ratio':>10} {'size ratio':>11}"
    )
    for r in results:
        print(
            f"{r['n']:>10,} {r['seconds']:>11.1f} {r['n'] / r['seconds']:>9,.0f} {r['peak_rss_kb'] / 1024:>12.1f} "
            f"{r['peak_rss_kb'] / base['peak_rss_kb']:>10.2f} {r['n'] / base['n']:>11.1f}"
        )
    last = results[-1]
    rate = last["n"] / last["seconds"]
    # marginal growth between the two largest sizes, extrapolated linearly: an upper bound, since the
    # part that grows (SQLite's page cache, capped at keyset.CACHE_KIB) stops growing once full
    prev = results[-2] if len(results) > 1 else base
    growth = (last["peak_rss_kb"] - prev["peak_rss_kb"]) / max(1, last["n"] - prev["n"])  # KiB per item
    print(
        f"\nextrapolated to 1,000,000 items: ~{1_000_000 / rate / 60:.1f} min; peak RSS at most ~"
        f"{(last['peak_rss_kb'] + max(growth, 0) * (1_000_000 - last['n'])) / 1024:.0f} MB "
        f"(marginal growth {growth * 1024:.1f} bytes per item between N={prev['n']:,} and N={last['n']:,}; "
        f"the input grew {last['n'] / base['n']:.0f}x, peak RSS {last['peak_rss_kb'] / base['peak_rss_kb']:.2f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
