"""Benchmark the write strategies on DynamoDB Local (or any endpoint): items per second.

    .venv/bin/python bench/bench_writers.py --items 20000 --endpoint http://127.0.0.1:8000

Runs, each into a fresh table:
  * flood      - raw BatchWriteItem (25 per request, unconditional), 8 threads: the baseline
  * put@N      - TableWriter insert mode, strategy put (one conditional PutItem per item), N threads
  * transact@N - TableWriter insert mode, strategy transact (100 conditional puts per transaction)
  * overwrite  - TableWriter overwrite mode (BatchWriteItem through the writer)
and prints throughput and the ratio against a flood measured right before each run (median of
``--repeat`` pairs, because DynamoDB Local on a shared machine is noisy). Figures are recorded in docs/writing.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from dynamigrate.config import AwsSettings
from dynamigrate.contract.load import parse_contract
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.encode import ItemEncoder
from dynamigrate.target.provision import ensure_table
from dynamigrate.target.writer import TableWriter, WriterOptions

TABLE = {
    "table": "Bench",
    "type": "single-entity",
    "source_table": "orders",
    "pk": "PK",
    "sk": "SK",
    "attributes": [
        {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"},
        {"name": "SK", "type": "S", "source_table": "orders", "source_column": "id"},
        {"name": "status", "type": "S", "source_table": "orders", "source_column": "status"},
        {"name": "total", "type": "N", "source_table": "orders", "source_column": "total"},
        {"name": "note", "type": "S", "source_table": "orders", "source_column": "note"},
    ],
}


def rows(n: int) -> list[dict[str, Any]]:
    return [
        {"PK": f"ORDER#{i:08d}", "SK": "#META", "status": "NEW", "total": f"{i}.25", "note": "x" * 60}
        for i in range(n)
    ]


def count_items(client: Any, name: str) -> int:
    total, kwargs = 0, {"TableName": name, "Select": "COUNT"}
    while True:
        resp = client.scan(**kwargs)
        total += resp["Count"]
        if not resp.get("LastEvaluatedKey"):
            return total
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def fresh_table(client: Any, table: Any) -> str:
    name = f"bench_{uuid.uuid4().hex[:8]}"
    ensure_table(client, table, table_name=name)
    return name


def flood(client: Any, name: str, items: list[dict[str, Any]], threads: int = 8) -> None:
    chunks = [items[i : i + 25] for i in range(0, len(items), 25)]

    def send(chunk: list[dict[str, Any]]) -> None:
        pending = [{"PutRequest": {"Item": it}} for it in chunk]
        while pending:
            resp = client.batch_write_item(RequestItems={name: pending})
            pending = resp.get("UnprocessedItems", {}).get(name, [])

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(send, chunks))


def run_writer(client: Any, name: str, table: Any, encoded: list[Any], batch: int, **opts: Any) -> Any:
    options = WriterOptions(run_id="bench", **opts)
    with TableWriter(client, name, table, options) as writer:
        total = None
        for i in range(0, len(encoded), batch):
            r = writer.write_batch(encoded[i : i + batch])
            if total is None:
                total = r
            else:
                total.add(r)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=20000)
    ap.add_argument("--endpoint", default="http://127.0.0.1:8000")
    ap.add_argument("--batch", type=int, default=1000, help="items per write_batch call (the engine's chunk)")
    ap.add_argument("--concurrency", default="8,16,32")
    ap.add_argument("--repeat", type=int, default=3, help="flood/run pairs per configuration (median)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    contract, problems = parse_contract({"tables": [TABLE]})
    assert contract is not None, problems
    table = contract.tables[0]
    client = dynamodb_client(
        AwsSettings(endpoint_url=args.endpoint, region="us-east-1"), max_pool_connections=64
    )
    encoder = ItemEncoder(table)
    t0 = time.perf_counter()
    encoded = [encoder.encode(r) for r in rows(args.items)]
    enc_rate = args.items / (time.perf_counter() - t0)
    plain = [e.item for e in encoded]

    created: list[str] = []

    def timed(label: str, fn: Any) -> float:
        name = fresh_table(client, table)
        created.append(name)
        start = time.perf_counter()
        fn(name)
        secs = time.perf_counter() - start
        count = count_items(client, name)
        assert count == args.items, (label, count)
        client.delete_table(TableName=name)
        created.remove(name)
        return args.items / secs

    runs: list[tuple[str, Any]] = []
    for c in [int(x) for x in args.concurrency.split(",")]:
        runs.append(
            (f"put@{c}", lambda n, c=c: run_writer(client, n, table, encoded, args.batch, concurrency=c))
        )
    for c in (4, 8):
        runs.append(
            (
                f"transact@{c}",
                lambda n, c=c: run_writer(
                    client, n, table, encoded, args.batch, concurrency=c, strategy="transact"
                ),
            )
        )
    runs.append(
        (
            "overwrite@8",
            lambda n: run_writer(client, n, table, encoded, args.batch, concurrency=8, mode="overwrite"),
        )
    )

    # the machine may be shared: measure the flood right before each run and keep the pair's ratio;
    # report the median over --repeat pairs
    print(f"encoder: {enc_rate:,.0f} rows/s; load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    results: list[dict[str, Any]] = []
    try:
        for label, fn in runs:
            pairs = []
            for _ in range(args.repeat):
                base = timed("flood@8", lambda n: flood(client, n, plain, 8))
                rate = timed(label, fn)
                pairs.append((rate / base, rate, base))
                print(
                    f"  {label:<14} {rate:8.0f} items/s  flood {base:8.0f}  ratio {rate / base:5.2f}",
                    file=sys.stderr,
                )
            ratio, rate, base = statistics.median_low(pairs)
            results.append(
                {
                    "run": label,
                    "items_per_s": round(rate),
                    "flood_items_per_s": round(base),
                    "ratio": round(ratio, 2),
                }
            )
    finally:
        for name in created:
            client.delete_table(TableName=name)

    print(
        f"\n{'run':<14} {'items/s':>9} {'flood':>9} {'vs flood':>9}   (load average {os.getloadavg()[0]:.1f})"
    )
    for r in results:
        print(f"{r['run']:<14} {r['items_per_s']:>9} {r['flood_items_per_s']:>9} {r['ratio']:>8}x")
    if args.json:
        print(
            json.dumps(
                {"items": args.items, "encoder_rows_per_s": round(enc_rate), "runs": results}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
