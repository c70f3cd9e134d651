"""Benchmark: the local engine against its ceiling and against the reference tools' approach.

All figures are measured in the same run, against the same DynamoDB endpoint, and printed as ratios:

* **engine**: ``dynamigrate migrate`` (local engine, insert mode, default options) of the workshop
  contract on the sample shop (>= 200k items at the default scale); rate = items / ETL phase time.
* **ceiling** (baseline A): the same items, pre-encoded in memory (marker included), written by a raw
  unconditional ``BatchWriteItem`` flood (25 per request, UnprocessedItems re-sent) from 8 threads into
  tables of the same definition (keys, GSIs). Nothing is read or encoded while timing.
* **reference** (baseline B): the workshop tools' local approach: ``fetchall()`` of a view, then one
  unconditional ``PutItem`` per row from a single thread; run on a sample of ``--sample-rows`` rows of
  the Users view, rate extrapolated, compared with the engine's rate on the same (Users) table.
* Before measuring, DynamoDB Local is warmed up (a fresh JVM is several times slower until its JIT
  has compiled the hot paths); engine and ceiling then alternate for ``--rounds`` rounds, best of each.
* **memory**: peak RSS (``VmHWM`` of the child, polled) of a ``dynamigrate migrate`` process loading a
  synthetic single-entity table of N rows, for each N in ``--memory-rows``.

    .venv/bin/python bench/bench_local_engine.py                 # scale 27000: ~200k items
    .venv/bin/python bench/bench_local_engine.py --scale 3000 --memory-rows 20000,100000   # quick

The databases and DynamoDB tables it creates are removed at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pymysql

from dynamigrate.config import AwsSettings, load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.contract.model import Table
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.sample import load_sample
from dynamigrate.source.reader import ViewReader, _conv
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.encode import ItemEncoder, marker_value
from dynamigrate.target.provision import ensure_table

ROOT = Path(__file__).resolve().parents[1]
CONTRACT = ROOT / "examples" / "workshop-contract.json"
if not CONTRACT.exists():
    CONTRACT = Path("/work/shared/reference/workshop-migrationContract.json")

MYSQL = {
    "host": "127.0.0.1",
    "port": 3306,
    "user": "dynamigrate",
    "password": "dynamigrate",
    "charset": "utf8mb4",
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def write_config(tmp: Path, database: str, endpoint: str, contract: Path, **migration: Any) -> Path:
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "mysql": {**{k: v for k, v in MYSQL.items() if k != "charset"}, "database": database},
        "migration": {"contract_file": str(contract), "output_dir": str(tmp / "runs"), **migration},
    }
    path = tmp / f"config-{database}.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def prefixed_contract(tmp: Path, prefix: str) -> Path:
    data = json.loads(CONTRACT.read_text(encoding="utf-8"))
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    path = tmp / f"contract-{prefix}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def delete_tables(client: Any, prefix: str) -> None:
    for page in client.get_paginator("list_tables").paginate():
        for name in page.get("TableNames", []):
            if name.startswith(prefix):
                client.delete_table(TableName=name)


# -- engine -------------------------------------------------------------------------------------------


def run_engine(config: Path, strategy: str | None = None, concurrency: int | None = None) -> dict[str, Any]:
    cfg = load_config(config)
    options = MigrateOptions(
        progress_mode="quiet",
        skip_validation=True,
        skip_preflight=True,
        strategy=strategy,
        concurrency=concurrency,
    )
    summary = migrate(cfg, options)
    if summary.status != "ok":
        raise SystemExit("engine run failed:\n" + summary.render_text())
    etl_s = float(summary.phases["etl"]["duration"])
    written = sum(t.written for t in summary.tables)
    return {
        "items": written,
        "seconds": round(etl_s, 2),
        "rate": round(written / etl_s, 1),
        "per_table": {t.table: {"items": t.written, "seconds": round(t.duration, 2)} for t in summary.tables},
        "run_id": summary.run_id,
    }


# -- baseline A: raw BatchWriteItem flood ---------------------------------------------------------------


def create_views(database: str, contract: Any) -> None:
    from dynamigrate.config import MySQLSettings, Secret
    from dynamigrate.source.connect import connect
    from dynamigrate.source.executor import DirectExecutor, apply_statements
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen import generate_views

    settings = MySQLSettings(user="dynamigrate", password=Secret("dynamigrate"), database=database)
    conn = connect(settings, database)
    schema = introspect(conn, database)
    conn.close()
    views = generate_views(contract, None, schema.dialect, schema)
    with DirectExecutor(settings, database=database) as ex:
        report = apply_statements(ex, views.statements)
    if not report.ok:
        raise SystemExit(report.render_text())


def encode_all(database: str, tables: tuple[Table, ...]) -> dict[str, list[dict[str, Any]]]:
    from dynamigrate.config import MySQLSettings, Secret

    settings = MySQLSettings(user="dynamigrate", password=Secret("dynamigrate"), database=database)
    run_id = "20260101T000000Z-bench"
    out: dict[str, list[dict[str, Any]]] = {}
    for table in tables:
        enc = ItemEncoder(table)
        items = []
        with ViewReader(settings, table.view_name, chunk_rows=5000) as reader:
            for entity in table.entities:
                for chunk in reader.iter_entity(entity.entity_type):
                    for e in enc.encode_many(chunk.rows):
                        if e.item is not None:
                            items.append({**e.item, "_dm_marker": {"S": marker_value(run_id, e.fingerprint)}})
        out[table.name] = items
    return out


def flood(client: Any, table: str, items: list[dict[str, Any]], threads: int = 8) -> float:
    def write(batch: list[dict[str, Any]]) -> None:
        req: dict[str, Any] = {table: [{"PutRequest": {"Item": it}} for it in batch]}
        delay = 0.02
        while req:
            resp = client.batch_write_item(RequestItems=req)
            req = resp.get("UnprocessedItems") or {}
            if req:
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    batches = [items[i : i + 25] for i in range(0, len(items), 25)]
    t0 = time.perf_counter()
    with cf.ThreadPoolExecutor(threads) as ex:
        list(ex.map(write, batches))
    return time.perf_counter() - t0


def run_flood(
    client: Any, tables: tuple[Table, ...], encoded: dict[str, list[dict[str, Any]]], prefix: str
) -> dict[str, Any]:
    total_items, total_s = 0, 0.0
    per_table = {}
    for table in tables:
        twin = dataclasses.replace(table, name=f"{prefix}flood_{table.name}")
        ensure_table(client, twin)
        items = encoded[table.name]
        s = flood(client, twin.name, items)
        per_table[table.name] = {"items": len(items), "seconds": round(s, 2)}
        total_items += len(items)
        total_s += s
    return {
        "items": total_items,
        "seconds": round(total_s, 2),
        "rate": round(total_items / total_s, 1),
        "per_table": per_table,
    }


# -- baseline B: fetchall + one PutItem per row, one thread ----------------------------------------------


def run_reference(client: Any, database: str, table: Table, prefix: str, sample_rows: int) -> dict[str, Any]:
    twin = dataclasses.replace(table, name=f"{prefix}ref_{table.name}")
    ensure_table(client, twin)
    enc = ItemEncoder(table)
    t0 = time.perf_counter()
    conn = pymysql.connect(**MYSQL, database=database, conv=_conv())  # buffered cursor: fetchall
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{table.view_name}` LIMIT {int(sample_rows)}")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    conn.close()
    n = 0
    for row in rows:
        e = enc.encode(row)
        if e.item is None:
            continue
        client.put_item(
            TableName=twin.name, Item={**e.item, "_dm_marker": {"S": marker_value("ref", e.fingerprint)}}
        )
        n += 1
    s = time.perf_counter() - t0
    return {"items": n, "seconds": round(s, 2), "rate": round(n / s, 1), "table": table.name}


# -- memory ---------------------------------------------------------------------------------------------


def load_synthetic(database: str, rows: int) -> None:
    conn = pymysql.connect(**MYSQL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{database}`")
        cur.execute(
            "CREATE TABLE events (id BIGINT PRIMARY KEY, kind VARCHAR(20) NOT NULL, payload VARCHAR(200),"
            " amount DECIMAL(12,2), created_at DATETIME NOT NULL)"
        )
        done = 0
        while done < rows:
            n = min(100_000, rows - done)
            cur.execute(
                "INSERT INTO events SELECT seq, CONCAT('k', seq % 7), REPEAT('x', 100 + seq % 50),"
                " seq / 100, '2024-01-01' + INTERVAL (seq % 100000) SECOND"
                f" FROM seq_{done + 1}_to_{done + n}"
            )
            done += n
    conn.close()


def synthetic_contract(tmp: Path, table_name: str) -> Path:
    def attr(name: str, typ: str, col: str) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": "events", "source_column": col}

    data = {
        "tables": [
            {
                "table": table_name,
                "type": "single-entity",
                "source_table": "events",
                "pk": "PK",
                "sk": None,
                "gsis": [],
                "attributes": [
                    attr("PK", "S", "id"),
                    attr("kind", "S", "kind"),
                    attr("payload", "S", "payload"),
                    attr("amount", "N", "amount"),
                    attr("created_at", "S", "created_at"),
                ],
            }
        ]
    }
    path = tmp / f"contract-{table_name}.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measure_memory(tmp: Path, endpoint: str, rows: int, prefix: str) -> dict[str, Any]:
    database = f"dynamigrate_bench_mem_{secrets.token_hex(3)}"
    log(f"memory: loading {rows} synthetic rows")
    load_synthetic(database, rows)
    try:
        contract = synthetic_contract(tmp, f"{prefix}mem{rows}")
        config = write_config(tmp, database, endpoint, contract)
        cmd = [
            sys.executable, "-m", "dynamigrate", "-q", "migrate", "--config", str(config), "--progress", "quiet",
            "--skip-validation", "--skip-preflight", "--json",
        ]  # fmt: skip
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy"}
        log(f"memory: migrating {rows} rows in a child process")
        out_path, err_path = tmp / f"mem{rows}.out", tmp / f"mem{rows}.err"
        t0 = time.perf_counter()
        peak_kb = 0
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err)
            # the child's own high-water mark (VmHWM, reset at exec; ru_maxrss of a child would include
            # the parent's image at fork time), polled until it exits
            while proc.poll() is None:
                peak_kb = max(peak_kb, _vm_hwm_kb(proc.pid))
                time.sleep(0.2)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"memory run failed: {err_path.read_text()[-2000:]}")
        summary = json.loads(out_path.read_text())
        return {
            "rows": rows,
            "written": summary["totals"]["written"],
            "seconds": round(seconds, 1),
            "rate": round(rows / seconds, 1),
            "peak_rss_mb": round(peak_kb / 1024, 1),
        }
    finally:
        conn = pymysql.connect(**MYSQL, autocommit=True)
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        conn.close()


# -- main -----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=27000, help="sample shop users (27000 -> ~200k items)")
    ap.add_argument("--endpoint", default=os.environ.get("DYNAMIGRATE_DDB_ENDPOINT", "http://127.0.0.1:8000"))
    ap.add_argument("--sample-rows", type=int, default=20000, help="rows for the reference approach")
    ap.add_argument("--memory-rows", default="100000,1000000", help="comma-separated row counts ('' to skip)")
    ap.add_argument("--rounds", type=int, default=2, help="engine/ceiling rounds (best of each is kept)")
    ap.add_argument("--database", help="reuse an existing sample shop database (not dropped)")
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--concurrency", type=int, help="the engine's concurrency (default: the engine's own)")
    ap.add_argument(
        "--strategy",
        default="auto",
        help="the engine's write strategy: auto (conditional, the default) or batch (opt-in, unconditional "
        "BatchWriteItem into the tables the run created)",
    )
    args = ap.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "dummy")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "dummy")

    prefix = f"bench{secrets.token_hex(3)}_"
    database = args.database or f"dynamigrate_bench_local_{secrets.token_hex(3)}"
    client = dynamodb_client(
        AwsSettings(region="us-east-1", dynamodb_endpoint_url=args.endpoint), max_pool_connections=64
    )
    results: dict[str, Any] = {
        "scale": args.scale,
        "endpoint": args.endpoint,
        "cpus": os.cpu_count(),
        "strategy": args.strategy,
    }
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        try:
            if not args.database:
                log(f"loading the sample shop at scale {args.scale} into {database}")
                t0 = time.perf_counter()
                counts = load_sample(dict(MYSQL), database, args.scale)
                results["source_rows"] = counts
                results["load_seconds"] = round(time.perf_counter() - t0, 1)
            contract_path = prefixed_contract(tmp, prefix)
            contract = load_contract(contract_path)

            log("ceiling: creating the views and encoding the same items in memory")
            create_views(database, contract)
            encoded = encode_all(database, contract.tables)
            # a fresh DynamoDB Local JVM is several times slower until its JIT has warmed up: warm it
            # with a throwaway flood first, then alternate engine and ceiling, keeping the best of each
            log("warm-up: throwaway flood of 30000 items")
            warm = dataclasses.replace(contract.tables[0], name=f"{prefix}warmup")
            ensure_table(client, warm)
            flood(client, warm.name, encoded[contract.tables[0].name][:30000])
            client.delete_table(TableName=warm.name)
            rounds: dict[str, list[dict[str, Any]]] = {"engine": [], "ceiling": []}
            for r in range(args.rounds):
                round_prefix = f"{prefix}r{r}_"
                round_contract = prefixed_contract(tmp, round_prefix)
                log(f"round {r + 1}: engine: dynamigrate migrate (local engine, insert mode)")
                eng = run_engine(
                    write_config(tmp, database, args.endpoint, round_contract),
                    args.strategy,
                    args.concurrency,
                )
                rounds["engine"].append(eng)
                log(f"round {r + 1}: engine: {eng['items']} items at {eng['rate']} items/s")
                log(f"round {r + 1}: ceiling: raw BatchWriteItem flood, 8 threads")
                ceil = run_flood(client, contract.tables, encoded, round_prefix)
                rounds["ceiling"].append(ceil)
                log(f"round {r + 1}: ceiling: {ceil['items']} items at {ceil['rate']} items/s")
                delete_tables(client, round_prefix)
            del encoded
            results["rounds"] = rounds
            best_round = max(range(args.rounds), key=lambda i: rounds["engine"][i]["rate"])
            results["engine"] = rounds["engine"][best_round]
            results["ceiling"] = max(rounds["ceiling"], key=lambda x: x["rate"])
            results["ratio_per_round"] = [
                round(e["rate"] / c["rate"], 3)
                for e, c in zip(rounds["engine"], rounds["ceiling"], strict=True)
            ]

            users = next(t for t in contract.tables if t.name.endswith("Users"))
            log(f"reference: fetchall + PutItem per row, 1 thread, {args.sample_rows} rows")
            results["reference"] = run_reference(client, database, users, prefix, args.sample_rows)
            log(f"reference: {results['reference']['rate']} items/s")

            results["ratio_engine_vs_ceiling"] = round(
                results["engine"]["rate"] / results["ceiling"]["rate"], 3
            )
            # like for like: the reference ran on the Users view, so compare with the engine's Users table
            eng_users = results["engine"]["per_table"][
                users.name.replace(prefix, f"{prefix}r{best_round}_", 1)
            ]
            results["engine_users_rate"] = round(eng_users["items"] / eng_users["seconds"], 1)
            results["ratio_engine_vs_reference"] = round(
                results["engine_users_rate"] / results["reference"]["rate"], 2
            )

            mem_rows = [int(x) for x in args.memory_rows.split(",") if x.strip()]
            if mem_rows:
                results["memory"] = [measure_memory(tmp, args.endpoint, n, prefix) for n in sorted(mem_rows)]
                first, last = results["memory"][0], results["memory"][-1]
                results["memory_growth"] = round(last["peak_rss_mb"] / first["peak_rss_mb"] - 1, 3)
        finally:
            delete_tables(client, prefix)
            if not args.database:
                conn = pymysql.connect(**MYSQL, autocommit=True)
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
                conn.close()
    print(json.dumps(results, indent=2))
    print(
        f"\nengine {results['engine']['rate']:.0f} items/s; ceiling {results['ceiling']['rate']:.0f}; "
        f"reference {results['reference']['rate']:.0f}\n"
        f"engine/ceiling = {results['ratio_engine_vs_ceiling']:.2f} (goal >= 0.8); "
        f"engine/reference = {results['ratio_engine_vs_reference']:.1f}x (goal >= 5x)"
    )
    if "memory" in results:
        for m in results["memory"]:
            print(f"memory: {m['rows']} rows -> peak RSS {m['peak_rss_mb']} MB ({m['seconds']} s)")
        print(f"memory growth {results['memory_growth'] * 100:.1f}% (goal < 20%)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
