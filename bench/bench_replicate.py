"""replicate under a steady write load: sustained row changes per second and lag (issue 15).

    DYNAMIGRATE_MYSQL_PORT=3307 .venv/bin/python bench/bench_replicate.py --scale 200 --rate 200 --seconds 20

Needs a MariaDB with the binlog in ROW format (scripts/services.sh starts one) and DynamoDB Local.
On a private sample shop (workshop contract, tables Users/Products/Categories/Tags): a full
``migrate``, then ``replicate`` follows in a thread while a writer commits single-row UPDATEs of
``products`` (name and price: each one rewrites the product item and the cart items that carry its
name and price) at ``--rate`` per second for ``--seconds``. Printed, each as a ratio to its raw
counterpart measured in this run against the same endpoint:

* **applied**: source row changes applied per second by replicate (the offered rate is the ceiling
  of what it can show; the lag says whether it kept up);
* **item writes**: items written per second by replicate vs the **raw PutItem ceiling**: plain boto3
  ``put_item`` of the same product items, 16 threads, for 5 seconds;
* **lag**: for probe rows, seconds from the UPDATE's commit to the item showing the new value
  (median and max), and the time to catch up after the load stops.

The database ``perf_repl_<hex>`` and the tables ``perfr<hex>_*`` are dropped at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import json
import os
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PORT = int(os.environ.get("DYNAMIGRATE_MYSQL_PORT", "3306"))
ENDPOINT = os.environ.get("DYNAMIGRATE_DDB_ENDPOINT", "http://127.0.0.1:8000")
TABLES = ("Users", "Products", "Categories", "Tags")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=int, default=200)
    ap.add_argument("--rate", type=float, default=200.0, help="offered row changes per second")
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    for k, v in (
        ("AWS_ACCESS_KEY_ID", "dummy"),
        ("AWS_SECRET_ACCESS_KEY", "dummy"),
        ("AWS_REGION", "us-east-1"),
    ):
        os.environ.setdefault(k, v)

    import pymysql

    from dynamigrate.config import load_config
    from dynamigrate.contract.verdict import load_valid_contract
    from dynamigrate.pipeline import MigrateOptions, migrate
    from dynamigrate.replicate.stream import replicate
    from dynamigrate.runstate import RunDir
    from dynamigrate.sample import load_sample
    from dynamigrate.target.client import dynamodb_client

    tag = secrets.token_hex(4)
    db, prefix = f"perf_repl_{tag}", f"perfr{tag}_"
    mysql = {"host": "127.0.0.1", "port": PORT, "user": "dynamigrate", "password": "dynamigrate"}
    load_sample({**mysql, "charset": "utf8mb4"}, db, args.scale)
    tmp = Path(tempfile.mkdtemp(prefix="bench_repl_"))
    data = json.loads((ROOT / "examples" / "workshop-contract.json").read_text(encoding="utf-8"))
    data["tables"] = [t for t in data["tables"] if t["table"] in TABLES]
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    (tmp / "contract.json").write_text(json.dumps(data), encoding="utf-8")
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": ENDPOINT},
        "mysql": {**mysql, "database": db},
        "migration": {"contract_file": str(tmp / "contract.json"), "output_dir": str(tmp / "runs")},
    }
    (tmp / "config.json").write_text(json.dumps(raw), encoding="utf-8")
    cfg = load_config(tmp / "config.json")
    client = dynamodb_client(cfg.aws, max_pool_connections=32, sdk_attempts=3)
    conn = pymysql.connect(**mysql, database=db, autocommit=True, charset="utf8mb4")
    try:
        summary = migrate(cfg, MigrateOptions(progress_mode="quiet", skip_validation=True))
        assert summary.status == "ok", summary.render_text()
        run = RunDir.open(summary.run_dir or "")
        contract = load_valid_contract(tmp / "contract.json", cfg=cfg)
        tables = contract.select(None)
        with conn.cursor() as cur:
            cur.execute("SELECT id FROM products ORDER BY id")
            products = [r[0] for r in cur.fetchall()]

        # raw PutItem ceiling: the product items as they are, 16 threads, 5 s
        items = []
        for page in client.get_paginator("scan").paginate(TableName=prefix + "Products"):
            items.extend(page["Items"])
        stop_raw = time.monotonic() + 5
        count = [0]
        lock = threading.Lock()

        def put_loop(i: int) -> None:
            n = 0
            while time.monotonic() < stop_raw:
                client.put_item(TableName=prefix + "Products", Item=items[(i * 7919 + n) % len(items)])
                n += 1
            with lock:
                count[0] += n

        with cf.ThreadPoolExecutor(16) as pool:
            list(pool.map(put_loop, range(16)))
        raw_puts = count[0] / 5

        stop = threading.Event()
        result: dict[str, Any] = {}

        def follow() -> None:
            result["summary"] = replicate(cfg, contract, tables, run, client, stop=stop, window=0.2)

        follower = threading.Thread(target=follow)
        follower.start()
        time.sleep(1.0)
        lags: list[float] = []
        probes: list[tuple[int, int, float]] = []  # (product id, update number, commit time)
        probe_lock = threading.Lock()
        load_done = threading.Event()

        def watch() -> None:
            # polls the probe items while the load runs: lag = commit -> the item shows it
            while True:
                with probe_lock:
                    todo = list(probes)
                    probes.clear()
                if not todo and load_done.is_set():
                    return
                for pid, number, committed in todo:
                    while True:
                        item = client.get_item(
                            TableName=prefix + "Products",
                            Key={"PK": {"S": str(pid)}, "SK": {"S": "#META"}},
                            ConsistentRead=True,
                        ).get("Item", {})
                        got = item.get("product_name", {}).get("S", "")
                        if got.startswith("bench ") and int(got.split()[1]) >= number:
                            lags.append(time.monotonic() - committed)
                            break
                        time.sleep(0.02)
                time.sleep(0.02)

        watcher = threading.Thread(target=watch)
        watcher.start()
        t0 = time.monotonic()
        n = 0
        interval = 1.0 / args.rate
        while time.monotonic() - t0 < args.seconds:
            pid = products[n % len(products)]
            with conn.cursor() as cur:
                cur.execute(
                    "UPDATE products SET name = %s, price = %s WHERE id = %s",
                    (f"bench {n}", n % 997 + 0.5, pid),
                )
            if n % max(1, int(args.rate) // 2) == 0:
                with probe_lock:
                    probes.append((pid, n, time.monotonic()))
            n += 1
            sleep = t0 + n * interval - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
        offered = n / (time.monotonic() - t0)
        load_end = time.monotonic()
        load_done.set()
        watcher.join()
        # caught up: the checkpoint reached the binlog head as of the load's end (items can show new
        # values earlier: a window reads the source as it is when applied)
        from dynamigrate.replicate.position import head, read_checkpoint

        top = head(conn)
        while True:
            cp = read_checkpoint(run)
            if cp is not None and top is not None and cp >= top:
                break
            time.sleep(0.02)
        caught_up = time.monotonic() - load_end
        stop.set()
        follower.join()
        s = result["summary"].as_dict()
        busy = (load_end - t0) + caught_up  # the load and the catch-up after it
        applied = s["rows"] / busy
        written = s["written"] / busy
        print(
            json.dumps(
                {
                    "scale": args.scale,
                    "offered_rows_per_s": round(offered, 1),
                    "applied_rows_per_s": round(applied, 1),
                    "applied_vs_offered": round(applied / offered, 3) if offered else None,
                    "items_written_per_s": round(written, 1),
                    "raw_putitem_per_s": round(raw_puts, 1),
                    "item_writes_vs_raw_putitem": round(written / raw_puts, 3) if raw_puts else None,
                    "lag_median_s": round(statistics.median(lags), 3) if lags else None,
                    "lag_max_s": round(max(lags), 3) if lags else None,
                    "catch_up_after_load_s": round(caught_up, 3),
                    "windows": s["windows"],
                    "rows": s["rows"],
                    "items_recomputed": s["items_recomputed"],
                },
                indent=1,
            )
        )
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
        for t in TABLES:
            with contextlib.suppress(Exception):
                client.delete_table(TableName=prefix + t)


if __name__ == "__main__":
    main()
