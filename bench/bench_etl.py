"""One benchmark, one table: the tool against raw boto3 ceilings measured in the same run (issue 13).

    PYTHONPATH=src .venv/bin/python bench/bench_etl.py --scale 13700 --put-rows 3000 \
        --memory-rows 20000,100000 --json /tmp/bench_etl.json                       # 156k items
    .venv/bin/python bench/bench_etl.py --scale 2000 --memory-rows '' --no-spark    # quick look

On the sample shop with the workshop contract (examples/workshop-contract.json), each figure is a
ratio to its raw counterpart measured in this run against the same endpoint:

* **raw flood**: the items pre-encoded in memory (marker included), unconditional BatchWriteItem, 25
  per request, 8 threads, a plain boto3 client (the unconditional ceiling).
* **raw transactions**: the same items, TransactWriteItems of 100 conditional puts
  (``attribute_not_exists``), 8 threads, plain boto3 (the conditional ceiling on DynamoDB Local,
  which runs transactions through one thread).
* **tool default**: ``migrate`` in this process with default options (conditional writes; the ``auto``
  strategy is ``transact`` against a local endpoint), validation included: ETL phase rate and end to
  end rate (items / whole run), vs raw transactions.
* **tool batch**: ``migrate --strategy batch``: ETL and end to end vs the raw flood; and
  ``--strategy batch --workers N`` (``--workers``, default 2: writer processes, their CPU counted).
  Each end-to-end row says where the time outside the ETL phase went: preflight, the validation left
  after the load (a table's source side is validated while the next one loads), the rest.
* **client CPU per item**: ``time.process_time`` of this process during the tool's ETL phase (reading
  MySQL, encoding, fingerprints, requests: every thread) / items, vs the raw client's CPU / items
  (pre-encoded: nothing read or encoded). DynamoDB Local runs in its own process, not counted;
  validation's threads (dynamigrate.validate.cpu) are subtracted.
* **PutItem path**: the conditional ``put`` strategy (the default against AWS): rows of the Users
  view, encoded first (CPU per row reported apart), then written by the tool's writer (16 threads),
  CPU per call; vs plain boto3 ``put_item`` of the same items with the same condition (16 threads).
* **peak RSS**: ``migrate`` in a child process on a synthetic table at two sizes (VmHWM).
* **Spark engine** (``--no-spark`` leaves it out): ``migrate --engine spark`` in local mode at the same
  size, its session start timed apart; ETL rate vs the tool's default ETL.

Tables are prefixed ``perf<hex>_`` and the databases ``perf_bench_<hex>``; both are dropped at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import dataclasses
import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.config
import pymysql

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_local_engine as ble

import dynamigrate.pipeline as pipeline
from dynamigrate.config import AwsSettings, MySQLSettings, Secret, load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.contract.model import Table
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.sample import load_sample
from dynamigrate.source.reader import ViewReader
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.encode import ItemEncoder
from dynamigrate.target.provision import ensure_table
from dynamigrate.target.writer import TableWriter, WriterOptions

log = ble.log


def raw_client(endpoint: str) -> Any:
    """A plain boto3 client, as a hand-written loader would make it (defaults, 32 connections)."""
    return boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
        config=botocore.config.Config(max_pool_connections=32),
    )


def _timed(fn: Any, items: int) -> dict[str, Any]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {
        "items": items,
        "seconds": round(seconds, 2),
        "rate": round(items / seconds, 1),
        "cpu_us_per_item": round(cpu / items * 1e6, 1),
    }


def raw_flood(
    client: Any, tables: tuple[Table, ...], encoded: dict[str, list[Any]], prefix: str
) -> dict[str, Any]:
    twins = []
    for table in tables:
        twin = dataclasses.replace(table, name=f"{prefix}flood_{table.name}")
        ensure_table(client, twin)
        twins.append((twin.name, encoded[table.name]))
    total = sum(len(items) for _, items in twins)
    return _timed(lambda: [ble.flood(client, name, items, threads=8) for name, items in twins], total)


def raw_transactions(
    client: Any, tables: tuple[Table, ...], encoded: dict[str, list[Any]], prefix: str
) -> dict[str, Any]:
    twins = []
    for table in tables:
        twin = dataclasses.replace(table, name=f"{prefix}tx_{table.name}")
        ensure_table(client, twin)
        twins.append((twin.name, table.pk, encoded[table.name]))

    def write(name: str, pk: str, batch: list[Any]) -> None:
        client.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": name,
                        "Item": it,
                        "ConditionExpression": "attribute_not_exists(#pk)",
                        "ExpressionAttributeNames": {"#pk": pk},
                    }
                }
                for it in batch
            ]
        )

    def run() -> None:
        with cf.ThreadPoolExecutor(8) as ex:
            futures = [
                ex.submit(write, name, pk, items[i : i + 100])
                for name, pk, items in twins
                for i in range(0, len(items), 100)
            ]
            for f in futures:
                f.result()

    return _timed(run, sum(len(items) for _, _, items in twins))


def _cpu_with_children() -> float:
    """CPU of this process and of its waited-for children (writer processes of --workers)."""
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + kids.ru_utime + kids.ru_stime


def tool_run(
    config: Path, strategy: str | None, workers: int | None = None, engine: str | None = None
) -> dict[str, Any]:
    """``migrate`` in this process; CPU of this process (and its writer processes) around the ETL phase
    only, minus what validation's threads spent meanwhile (migrate checks a table's source side while
    the next one loads: dynamigrate.validate.cpu)."""
    from dynamigrate.validate.cpu import METER

    cpu: dict[str, float] = {}
    original = pipeline._phase_etl

    def timed_etl(*a: Any, **kw: Any) -> Any:
        c0, v0 = _cpu_with_children(), METER.seconds
        try:
            return original(*a, **kw)
        finally:
            cpu["validation_during_etl"] = METER.seconds - v0
            cpu["etl"] = _cpu_with_children() - c0 - cpu["validation_during_etl"]

    pipeline._phase_etl = timed_etl  # type: ignore[assignment]
    try:
        v0 = METER.seconds
        t0 = time.perf_counter()
        options = MigrateOptions(progress_mode="quiet", strategy=strategy, workers=workers, engine=engine)
        summary = migrate(load_config(config), options)
        total_s = time.perf_counter() - t0
        validation_cpu = METER.seconds - v0
    finally:
        pipeline._phase_etl = original  # type: ignore[assignment]
    if summary.status != "ok":
        raise SystemExit("migrate failed:\n" + summary.render_text())
    etl_s = float(summary.phases["etl"]["duration"])
    written = sum(t.written for t in summary.tables)
    phases = {k: v.get("duration") for k, v in summary.phases.items()}
    validate_s = float(phases.get("validate") or 0.0)
    return {
        "items": written,
        "etl_seconds": round(etl_s, 2),
        "etl_rate": round(written / etl_s, 1),
        "end_to_end_seconds": round(total_s, 2),
        "end_to_end_rate": round(written / total_s, 1),
        # the validation phase: what is left after the load (the source side of all tables but the
        # last ran during the load); validation_busy_seconds: every table's validation, in all
        "validate_seconds": round(validate_s, 2),
        "validation_busy_seconds": _busy(summary),
        "validation_cpu_seconds": round(validation_cpu, 2),
        "outside_etl_seconds": round(total_s - etl_s, 2),
        "cpu_us_per_item": round(cpu["etl"] / written * 1e6, 1),
        "phases": phases,
        "workers": {t.table: (t.extra.get("workers") or {}).get("count") for t in summary.tables},
    }


def _busy(summary: Any) -> float | None:
    v = summary.validation
    return round(sum(t.seconds or 0 for t in v.tables), 2) if v is not None else None


def spark_run(config: Path) -> dict[str, Any]:
    """``migrate --engine spark`` (local mode, this process); the session's start timed apart."""
    from dynamigrate.etl.spark import spark_session

    cfg = load_config(config)
    t0 = time.perf_counter()
    spark = spark_session(cfg)
    start = time.perf_counter() - t0
    try:
        res = tool_run(config, None, engine="spark")
    finally:
        spark.stop()
    res["session_start_seconds"] = round(start, 2)
    return res


def putitem_path(
    client_raw: Any, endpoint: str, database: str, table: Table, prefix: str, rows: int
) -> dict[str, Any]:
    """CPU per item of the conditional PutItem path: the tool's writer vs plain boto3 put_item."""
    settings = MySQLSettings(user="dynamigrate", password=Secret("dynamigrate"), database=database)
    view_rows: list[Any] = []
    with ViewReader(settings, table.view_name, chunk_rows=5000) as reader:
        for entity in table.entities:
            for chunk in reader.iter_entity(entity.entity_type):
                view_rows.extend(chunk.rows)
                if len(view_rows) >= rows:
                    break
    view_rows = view_rows[:rows]
    enc = ItemEncoder(table)
    # tool: encode + conditional PutItem through the writer (16 threads, the put strategy's default)
    tool_t = dataclasses.replace(table, name=f"{prefix}put_tool")
    ensure_table(client_raw, tool_t)
    client = dynamodb_client(
        AwsSettings(region="us-east-1", dynamodb_endpoint_url=endpoint), 64, parameter_validation=False
    )
    opts = WriterOptions(mode="insert", run_id="bench", strategy="put", concurrency=16)
    c0 = time.process_time()
    encoded = enc.encode_many(view_rows)
    encode_us = (time.process_time() - c0) / len(view_rows) * 1e6
    with TableWriter(client, tool_t.name, table, opts) as writer:
        lean = writer._lean is not None

        def tool() -> None:
            for i in range(0, len(encoded), 1000):
                writer.write_batch(encoded[i : i + 1000])

        tool_res = _timed(tool, len(encoded))
    # raw: pre-encoded items, boto3 put_item with the same condition, 16 threads
    items = []
    for r in view_rows:
        e = enc.encode(r)
        if e.item is not None:
            items.append({**e.item, "_dm_marker": {"S": f"bench:{e.fingerprint}"}})
    raw_t = dataclasses.replace(table, name=f"{prefix}put_raw")
    ensure_table(client_raw, raw_t)

    def raw() -> None:
        def put(it: Any) -> None:
            client_raw.put_item(
                TableName=raw_t.name,
                Item=it,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": table.pk},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )

        with cf.ThreadPoolExecutor(16) as ex:
            list(ex.map(put, items))

    raw_res = _timed(raw, len(items))
    return {
        "tool": tool_res,
        "raw": raw_res,
        "encode_us_per_row": round(encode_us, 1),
        "lean_sender": lean,
        "table": table.name,
    }


def _outside(run: dict[str, Any]) -> str:
    """Where the time outside the ETL phase went (issue 13's end-to-end ratio)."""
    ph = run["phases"]
    other = run["outside_etl_seconds"] - sum(float(ph.get(k) or 0) for k in ("preflight", "validate"))
    return (
        f"outside ETL {run['outside_etl_seconds']} s: preflight {ph.get('preflight')} s, validation after "
        f"the load {run['validate_seconds']} s (all tables {run['validation_busy_seconds']} s), "
        f"other {other:.1f} s"
    )


def drop_database(name: str) -> None:
    conn = pymysql.connect(**ble.MYSQL, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def ratio(a: float, b: float) -> float:
    return round(a / b, 2) if b else 0.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=int, default=13700, help="sample shop users (13700 -> ~100k items)")
    ap.add_argument("--endpoint", default=os.environ.get("DYNAMIGRATE_DDB_ENDPOINT", "http://127.0.0.1:8000"))
    ap.add_argument("--put-rows", type=int, default=3000, help="rows for the PutItem path comparison")
    ap.add_argument("--memory-rows", default="20000,100000", help="two row counts for peak RSS ('' to skip)")
    ap.add_argument(
        "--workers", type=int, default=2, help="writer processes of the extra batch row (<2: none)"
    )
    ap.add_argument(
        "--spark",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the Spark engine row (local mode)",
    )
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "dummy")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "dummy")

    tag = secrets.token_hex(3)
    prefix = f"perf{tag}_"
    database = f"perf_bench_{tag}"
    client = raw_client(args.endpoint)
    res: dict[str, Any] = {
        "scale": args.scale,
        "cpus": os.cpu_count(),
        "load_average_start": os.getloadavg(),
    }
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        try:
            log(f"loading the sample shop at scale {args.scale} into {database}")
            res["source_rows"] = load_sample(dict(ble.MYSQL), database, args.scale)
            contract = load_contract(ble.prefixed_contract(tmp, prefix))
            ble.create_views(database, contract)
            log("encoding the items in memory for the raw runs")
            encoded = ble.encode_all(database, contract.tables)
            res["items"] = sum(len(v) for v in encoded.values())
            log("warm-up flood (a fresh DynamoDB Local JVM is slow until its JIT warms up)")
            warm = dataclasses.replace(contract.tables[0], name=f"{prefix}warmup")
            ensure_table(client, warm)
            ble.flood(client, warm.name, encoded[contract.tables[0].name][:20000])

            log("raw flood: BatchWriteItem, 8 threads")
            res["raw_flood"] = raw_flood(client, contract.tables, encoded, f"{prefix}a_")
            log(f"  {res['raw_flood']}")
            log("raw transactions: TransactWriteItems of 100 conditional puts, 8 threads")
            res["raw_transactions"] = raw_transactions(client, contract.tables, encoded, f"{prefix}b_")
            log(f"  {res['raw_transactions']}")
            del encoded

            runs: list[tuple[str, str | None, int | None]] = [
                ("tool_default", None, None),
                ("tool_batch", "batch", None),
            ]
            if args.workers > 1:
                runs.append(("tool_batch_workers", "batch", args.workers))
            for i, (name, strategy, workers) in enumerate(runs):
                run_prefix = f"{prefix}t{i}_"
                config = ble.write_config(
                    tmp, database, args.endpoint, ble.prefixed_contract(tmp, run_prefix)
                )
                flags = (f" --strategy {strategy}" if strategy else "") + (
                    f" --workers {workers}" if workers else ""
                )
                log(f"{name}: migrate{flags} (preflight and validation included)")
                res[name] = tool_run(config, strategy, workers)
                log(f"  {res[name]}")
            if args.spark:
                config = ble.write_config(
                    tmp, database, args.endpoint, ble.prefixed_contract(tmp, f"{prefix}s_")
                )
                log("spark: migrate --engine spark (local mode in this process)")
                res["spark"] = spark_run(config)
                log(f"  {res['spark']}")

            users = next(t for t in contract.tables if t.name.endswith("Users"))
            log(f"PutItem path: {args.put_rows} rows of {users.name}")
            res["putitem"] = putitem_path(
                client, args.endpoint, database, users, f"{prefix}p_", args.put_rows
            )
            log(f"  {res['putitem']}")

            mem_rows = [int(x) for x in args.memory_rows.split(",") if x.strip()]
            if mem_rows:
                res["memory"] = [ble.measure_memory(tmp, args.endpoint, n, f"{prefix}m_") for n in mem_rows]
        finally:
            ble.delete_tables(client, prefix)
            drop_database(database)
    res["load_average_end"] = os.getloadavg()

    rf, rt, td, tb = res["raw_flood"], res["raw_transactions"], res["tool_default"], res["tool_batch"]
    pt = res["putitem"]
    table = [
        ("raw flood (BatchWriteItem, 8 thr)", f"{rf['rate']:.0f} items/s", "1.00", "unconditional ceiling"),
        ("raw transactions (100 cond. puts)", f"{rt['rate']:.0f} items/s", "1.00", "conditional ceiling"),
        (
            "tool default, ETL",
            f"{td['etl_rate']:.0f} items/s",
            f"{ratio(td['etl_rate'], rt['rate'])}",
            "vs raw tx",
        ),
        (
            "tool default, end to end",
            f"{td['end_to_end_rate']:.0f} items/s",
            f"{ratio(td['end_to_end_rate'], rt['rate'])}",
            f"vs raw tx; {_outside(td)}",
        ),
        (
            "tool batch, ETL",
            f"{tb['etl_rate']:.0f} items/s",
            f"{ratio(tb['etl_rate'], rf['rate'])}",
            "vs raw flood",
        ),
        (
            "tool batch, end to end",
            f"{tb['end_to_end_rate']:.0f} items/s",
            f"{ratio(tb['end_to_end_rate'], rf['rate'])}",
            f"vs raw flood; {_outside(tb)}",
        ),
        (
            "client CPU/item, default vs raw tx",
            f"{td['cpu_us_per_item']} / {rt['cpu_us_per_item']} us",
            f"{ratio(td['cpu_us_per_item'], rt['cpu_us_per_item'])}",
            "tool reads+encodes too",
        ),
        (
            "client CPU/item, batch vs raw flood",
            f"{tb['cpu_us_per_item']} / {rf['cpu_us_per_item']} us",
            f"{ratio(tb['cpu_us_per_item'], rf['cpu_us_per_item'])}",
            "tool reads+encodes too",
        ),
        (
            "PutItem path CPU/call vs boto3 put_item",
            f"{pt['tool']['cpu_us_per_item']} / {pt['raw']['cpu_us_per_item']} us",
            f"{ratio(pt['tool']['cpu_us_per_item'], pt['raw']['cpu_us_per_item'])}",
            f"16 threads each; encoding apart: {pt['encode_us_per_row']} us/row; lean: {pt['lean_sender']}",
        ),
    ]
    tw = res.get("tool_batch_workers")
    if tw:
        n = max((c or 1) for c in tw["workers"].values()) if tw["workers"] else args.workers
        table += [
            (
                f"tool batch --workers {args.workers}, ETL",
                f"{tw['etl_rate']:.0f} items/s",
                f"{ratio(tw['etl_rate'], rf['rate'])}",
                f"vs raw flood; {n} writer process(es) on the largest table",
            ),
            (
                f"tool batch --workers {args.workers}, end to end",
                f"{tw['end_to_end_rate']:.0f} items/s",
                f"{ratio(tw['end_to_end_rate'], rf['rate'])}",
                f"vs raw flood; {_outside(tw)}",
            ),
            (
                f"client CPU/item, batch --workers {args.workers} vs raw flood",
                f"{tw['cpu_us_per_item']} / {rf['cpu_us_per_item']} us",
                f"{ratio(tw['cpu_us_per_item'], rf['cpu_us_per_item'])}",
                "writer processes' CPU included",
            ),
        ]
    sp = res.get("spark")
    if sp:
        table.append(
            (
                "spark engine (local mode), ETL",
                f"{sp['etl_rate']:.0f} items/s",
                f"{ratio(sp['etl_rate'], td['etl_rate'])}",
                f"vs tool default ETL; session start {sp['session_start_seconds']} s apart; "
                f"end to end {sp['end_to_end_rate']:.0f} items/s",
            )
        )
    res["table"] = [list(row) for row in table]
    print(json.dumps(res, indent=2, default=str))
    print(
        f"\n{res['items']} items, {res['cpus']} CPUs, load average {res['load_average_start']} -> "
        f"{res['load_average_end']}"
    )
    print("| what | measured | ratio | note |\n|---|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")
    for m in res.get("memory", []):
        print(f"peak RSS: {m['rows']} rows -> {m['peak_rss_mb']} MB ({m['seconds']} s)")
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
