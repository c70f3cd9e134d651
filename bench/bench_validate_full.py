"""Benchmark: ``validate --full`` against the contract (reference evaluator) vs the old view-based one.

For each size N: a MariaDB table of N rows (~300 B each), its generated view, and a DynamoDB Local
table loaded with the same items (the ETL's encoder, marker included). Then, each in a fresh child
process whose peak RSS (``VmHWM``) and wall time are measured, in the same run:

* ``evaluator``: ``validate_run(mode="full")``: every item computed from the base table by
  :mod:`dynamigrate.evaluate`, its key into the on-disk key set, compared with DynamoDB in batches,
  and the whole view read through the ETL's reader and encoder and compared with the contract;
* ``views`` (the baseline, the algorithm ``validate --full`` used before issue 11): the view streamed
  through the ETL's reader and encoder, keys into the key set, the same batched comparison.

Both sides do the whole work: every item is read from DynamoDB and compared (each run must pass with
``compared == N``, else the benchmark stops). The runs are interleaved (views, evaluator, then
evaluator, views, ...: ``--rounds`` pairs) so both see the same machine load; the best time of each
side, their ratio (evaluator/views; issue 11 asks for at most 2x), the largest peak RSS of each side
(it should stay flat as N grows) and the load average (1/5/15 min) before each run are printed.

    .venv/bin/python bench/bench_validate_full.py --sizes 20000

Needs MariaDB (127.0.0.1:3306, user dynamigrate) and DynamoDB Local (127.0.0.1:8000, or
``DYNAMIGRATE_DDB_ENDPOINT``). Loading DynamoDB Local is the slow part: unconditional
``BatchWriteItem`` through the lean sender (:mod:`dynamigrate.target.lean`) from 8 threads, ~5k
items/s on the 2-core machine. ``--keep`` keeps the loaded database and table (``--rounds 0``: load
only), ``--reuse N DB TABLE`` measures them again. The 1M figure wants a private DynamoDB Local with a
bigger heap, so a shared one is not flooded::

    java -Xmx6g -Djava.library.path=.../DynamoDBLocal_lib -jar .../DynamoDBLocal.jar -inMemory -sharedDb -port 8799 &
    export DYNAMIGRATE_DDB_ENDPOINT=http://127.0.0.1:8799
    .venv/bin/python bench/bench_validate_full.py --sizes 1000000 --rounds 0 --keep   # prints the names
    .venv/bin/python bench/bench_validate_full.py --reuse 1000000 dm_bench_XXXXXX bench_XXXXXX --rounds 2

(then drop the database and the table, or stop the private DynamoDB Local).

Measured figures: docs/validation.md.
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
LOAD_THREADS = 8


def contract_for(table: str) -> Any:
    def attr(name: str, typ: str, **extra: Any) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": "bench", "source_column": name, **extra}

    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": table,
                    "type": "single-entity",
                    "source_table": "bench",
                    "pk": "PK",
                    "attributes": [
                        {
                            **attr("PK", "S", transformation={"type": "string-format", "format": "U#{id}"}),
                            "source_column": "id",
                        },
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
    from dynamigrate.source.introspect import introspect
    from dynamigrate.source.reader import ViewReader
    from dynamigrate.sqlgen import generate_views
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
        schema = introspect(conn, database)
        for stmt in generate_views(contract_for(table_name), dialect="mariadb", schema=schema).statements:
            cur.execute(stmt.sql)
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

    from dynamigrate.target.lean import lean_sender

    # unconditional BatchWriteItem through the lean sender (orjson, no botocore per call) when it can
    sender: Any = lean_sender(client) or client

    def put(items: list[dict[str, Any]]) -> None:
        for i in range(0, len(items), 25):
            req: dict[str, Any] = {table_name: [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]}
            while req:
                req = sender.batch_write_item(RequestItems=req).get("UnprocessedItems") or {}

    with (
        cf.ThreadPoolExecutor(LOAD_THREADS) as pool,
        ViewReader(
            settings(database), table.view_name, database=database, chunk_rows=2000, keep_bytes=["flag"]
        ) as reader,
    ):
        pending: set[cf.Future[None]] = set()
        for chunk in reader.iter_entity(table.entities[0].entity_type):
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


def views_full(cfg: Config, table: Any, segments: int | None, workers: int = 4) -> dict[str, Any]:
    """The baseline: ``validate --full`` as it was before issue 11 (the view through the ETL's reader and
    encoder is the expectation), built from the same parts as today's (key set, scan, batched compare)."""
    import tempfile

    from dynamigrate.source.reader import ViewReader
    from dynamigrate.target.client import dynamodb_client
    from dynamigrate.target.encode import ItemEncoder
    from dynamigrate.validate.compare import key_string
    from dynamigrate.validate.dynamo import BATCH_GET_MAX, SCAN_THREADS, DynamoSide
    from dynamigrate.validate.keyset import KeySetStore
    from dynamigrate.validate.results import TableValidation
    from dynamigrate.validate.values import ValueComparer

    marker = cfg.migration.marker_attribute
    client = dynamodb_client(cfg.aws, max_pool_connections=max(SCAN_THREADS, workers) + 4, sdk_attempts=5)
    dyn = DynamoSide(client, table.name, table.key_names, marker, segments)
    result = TableValidation(table.name, table.name, table.view_name, "full")
    comparer = ValueComparer(dyn, result, frozenset({marker}), 100)
    enc = ItemEncoder(table, marker)
    keep = [n for n, t in table.attribute_types().items() if t in ("B", "BS", "BOOL")]
    store = KeySetStore(Path(tempfile.mkdtemp()) / "keys.sqlite")
    pending: set[cf.Future[None]] = set()
    with (
        cf.ThreadPoolExecutor(workers) as pool,
        ViewReader(cfg.mysql, table.view_name, database=cfg.mysql.database, keep_bytes=keep) as reader,
    ):
        for entity in table.entities:
            for chunk in reader.iter_entity(entity.entity_type):
                batch, keys = [], []
                for row in chunk.rows:
                    e = enc.encode(row)
                    if e.rejected or e.item is None:
                        continue
                    keys.append((key_string(e.key), entity.entity_type, e.rowid))
                    batch.append((e.key, e.item, entity.entity_type))
                store.add_source(keys)
                for i in range(0, len(batch), BATCH_GET_MAX):
                    pending.add(pool.submit(comparer.compare, batch[i : i + BATCH_GET_MAX]))
                while len(pending) > 2 * workers:
                    done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                    for f in done:
                        f.result()
        for f in pending:
            f.result()
    store.commit()
    dyn.scan_keys(store.add_target, expected_items=store.source_count())  # as validate does
    store.commit()
    missing = store.missing_count()
    store.close()
    dyn.close()
    return {"passed": missing == 0 and result.mismatched == 0, "compared": result.compared, "error": None}


def child(mode: str, database: str, table_name: str, out: str, segments: str) -> None:
    """Run one validation and print its figures (peak RSS of this process only)."""
    from dynamigrate.validate.post import validate_run

    cfg, contract = config(database, Path(out)), contract_for(table_name)
    rss0 = _vm_kb("VmRSS")
    t0 = time.monotonic()
    if mode == "views":
        figures = views_full(cfg, contract.tables[0], int(segments) or None)
    else:
        report = validate_run(cfg, contract, None, mode="full", gsi_sample=0, segments=int(segments) or None)
        t = report.tables[0]
        figures = {"passed": report.passed, "compared": t.compared, "error": t.error}
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": round(time.monotonic() - t0, 2),
                "rss_before_kb": rss0,
                "peak_rss_kb": _vm_kb("VmHWM"),
                **figures,
            }
        )
    )


def _run_child(mode: str, database: str, table_name: str, segments: int) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            mode,
            database,
            table_name,
            str(ROOT / ".cache" / "bench-runs"),
            str(segments),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr[-4000:])
        raise SystemExit(f"the {mode} run failed (exit {out.returncode}); its stderr is above")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _load() -> str:
    """The 1-, 5- and 15-minute load averages (the machine is shared: every figure carries them)."""
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def measure(
    n: int, database: str, table_name: str, rounds: int, segments: int, first: int = 0
) -> dict[str, Any]:
    """``rounds`` interleaved pairs (views, evaluator, views, ...; every other pair starts with the
    evaluator): best time of each side, the largest peak RSS of each side, the load beside each run."""
    got: dict[str, Any] = {}
    for i in range(rounds):
        order = ("views", "evaluator") if (i + first) % 2 == 0 else ("evaluator", "views")
        for mode in order:
            before = _load()
            r = _run_child(mode, database, table_name, segments)
            r["load_before"], r["load_after"] = before, _load()
            # honesty: both sides read and compared every item
            assert r["passed"] and r["compared"] == n, r
            print(f"  {json.dumps(r)}", file=sys.stderr, flush=True)
            runs = got.setdefault(mode, [])
            runs.append(r)
    out: dict[str, Any] = {}
    for mode, runs in got.items():
        best = min(runs, key=lambda r: r["seconds"])
        out[mode] = {
            **best,
            "peak_rss_kb": max(r["peak_rss_kb"] for r in runs),
            "all_seconds": [r["seconds"] for r in runs],
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000])
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="interleaved pairs of runs per size (default 2; 0: load only, with --keep)",
    )
    ap.add_argument("--evaluator-first", action="store_true", help="start each size with the evaluator run")
    ap.add_argument("--keep", action="store_true", help="keep the loaded database and table (for --reuse)")
    ap.add_argument(
        "--reuse",
        nargs=3,
        metavar=("N", "DB", "TABLE"),
        help="measure an N-item database and table loaded by an earlier --keep run (not dropped)",
    )
    ap.add_argument(
        "--segments",
        type=int,
        default=0,
        help="parallel Scan segments of the key scan, both sides (default 0: validate's own choice from "
        "the table's size, validate.dynamo.scan_segments; DynamoDB Local's Scan reads a whole segment "
        "for every page, so 4 segments make the key scan of 1M items quadratic)",
    )
    ap.add_argument("--child", nargs=5, metavar=("MODE", "DB", "TABLE", "OUT", "SEG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    print(f"machine: {os.cpu_count()} cores, load {_load()}; DynamoDB Local {DDB}", file=sys.stderr)
    rows = []
    if args.reuse:
        n, database, table_name = int(args.reuse[0]), args.reuse[1], args.reuse[2]
        rows.append(
            (n, measure(n, database, table_name, args.rounds, args.segments, int(args.evaluator_first)))
        )
    for n in [] if args.reuse else args.sizes:
        tag = secrets.token_hex(3)
        database, table_name = f"dm_bench_{tag}", f"bench_{tag}"
        print(f"N={n}: loading MariaDB and DynamoDB Local ...", file=sys.stderr, flush=True)
        try:
            load_s = setup(n, database, table_name)
            print(
                f"  loaded in {load_s:.1f} s ({n / load_s:,.0f} items/s), load {_load()}; "
                f"reuse with: --reuse {n} {database} {table_name}",
                file=sys.stderr,
                flush=True,
            )
            if args.rounds:
                rows.append(
                    (
                        n,
                        measure(
                            n, database, table_name, args.rounds, args.segments, int(args.evaluator_first)
                        ),
                    )
                )
        finally:
            if not args.keep:
                teardown(database, table_name)
    print(
        f"\n{'items':>10} {'views s':>8} {'evaluator s':>12} {'ratio':>6} {'views MB':>9} {'evaluator MB':>13} "
        f"{'evaluator items/s':>18}  load avg (1/5/15 min) before views / evaluator"
    )
    for n, got in rows:
        v, e = got["views"], got["evaluator"]
        print(
            f"{n:>10,} {v['seconds']:>8.1f} {e['seconds']:>12.1f} {e['seconds'] / v['seconds']:>6.2f} "
            f"{v['peak_rss_kb'] / 1024:>9.1f} {e['peak_rss_kb'] / 1024:>13.1f} {n / e['seconds']:>18,.0f}"
            f"  {v['load_before']} / {e['load_before']}"
        )
        print(f"{'':>10} all runs: views {v['all_seconds']} s, evaluator {e['all_seconds']} s")
    print(f"\n(best of {args.rounds} interleaved runs each; peak RSS (VmHWM) is the largest of them)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
