"""The Spark job in local mode: the sample shop from MariaDB into DynamoDB Local.

* every item Spark writes is the one the source rows say (expectations computed from the base tables
  with plain SQL and Python in ``_etl_expect``, not with the views, the encoder or the other engine);
* a partition made to fail once (attempt 0, after it wrote part of its rows) is retried by Spark
  (``local[2,2]``: two attempts per task) without duplicates or loss, and the counters stay exact;
  the failure comes through the engine's task client factory (``_spark_faults``), not a hook in
  production code;
* a restart of the same run skips the finished partitions (checkpoints).

One SparkSession for the module; small partitions so that every table is split.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import (
    compare,
    connect,
    expected_categories,
    expected_products,
    expected_users,
    make_config,
    normalise_users_item,
    scan_items,
    without_marker,
    write_contract,
)
from _spark_faults import FailingWrites, ship_by_value

from dynamigrate.contract.load import load_contract
from dynamigrate.contract.model import Contract
from dynamigrate.etl.base import EtlContext, EtlOptions
from dynamigrate.runstate import RunDir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PARTITION_ROWS = 20


@pytest.fixture(scope="module")
def spark() -> Any:
    from dynamigrate.etl.spark import spark_session

    ship_by_value()
    session = spark_session(None, "local[2,2]")
    yield session
    session.stop()


def _setup(database: str, endpoint: str, prefix: str, tmp_path: Path, **spark: Any) -> tuple[Any, Contract]:
    """The workshop contract (tables renamed with ``prefix``), its views in ``database``, its tables."""
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements
    from dynamigrate.target.client import dynamodb_client
    from dynamigrate.target.provision import ensure_table

    contract_file = write_contract(tmp_path, prefix)
    cfg, _ = make_config(tmp_path, database, endpoint, contract_file)
    cfg = dataclasses.replace(cfg, raw={**cfg.raw, "spark": spark})
    contract = load_contract(contract_file)
    conn = connect(database)
    try:
        schema = introspect(conn, database)
        with conn.cursor() as cur:
            for stmt in generate_statements(contract, dialect="mariadb", schema=schema):
                cur.execute(stmt.sql)
    finally:
        conn.close()
    client = dynamodb_client(cfg.aws)
    for t in contract.tables:
        ensure_table(client, t)
    return cfg, contract


def _run(
    cfg: Any, contract: Contract, engine: Any, run: RunDir | None = None
) -> tuple[RunDir, dict[str, Any]]:
    run = run or RunDir.create(cfg.migration.output_dir)
    ctx = EtlContext(
        config=cfg,
        contract=contract,
        run=run,
        options=EtlOptions(write_mode="insert"),
        database=cfg.mysql.database,
    )
    return run, {t.name: engine.run_table(ctx, t) for t in contract.tables}


def _count(conn: Any, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        return int(cur.fetchone()[0])


def _source_rows(conn: Any) -> dict[str, int]:
    """Rows per DynamoDB table, counted in the base tables (the workshop contract's entities)."""
    return {
        "Products": _count(conn, "SELECT COUNT(*) FROM products"),
        "Categories": _count(conn, "SELECT COUNT(*) FROM categories"),
        "Users": sum(
            _count(conn, f"SELECT COUNT(*) FROM {t}") for t in ("users", "shopping_carts", "orders")
        ),
    }


def _expected(conn: Any) -> dict[str, tuple[dict[Any, Any], Any]]:
    return {
        "Products": (expected_products(conn), without_marker),
        "Categories": (expected_categories(conn), without_marker),
        "Users": (expected_users(conn), normalise_users_item),
    }


def _assert_items(ddb_client: Any, prefix: str, conn: Any) -> dict[str, dict[Any, Any]]:
    """Every table holds exactly the expected items; returns the items as scanned."""
    out = {}
    for name, (want, normalise) in _expected(conn).items():
        got = scan_items(ddb_client, prefix + name)
        assert compare(got, want, normalise=normalise) == [], name
        out[name] = got
    return out


def test_spark_lands_the_expected_items_with_a_retried_partition(
    spark: Any, shop_db_copy: str, ddb_endpoint: str, ddb_client: Any, ddb_prefix: str, tmp_path: Path
) -> None:
    from dynamigrate.etl.spark import SparkEngine

    conn = connect(shop_db_copy)
    with conn.cursor() as cur:
        # a user whose email (the USER item's partition key) is empty: one rejected row, known by hand
        cur.execute(
            "INSERT INTO users (email, username, password_hash, first_name, last_name, is_seller, created_at)"
            " VALUES ('', 'no_email_user', 'hash-x', 'Nobody', NULL, 0, '2022-02-02 10:00:00')"
        )
        empty_email_user = cur.lastrowid
    cfg, contract = _setup(
        shop_db_copy, ddb_endpoint, ddb_prefix, tmp_path, partition_rows=PARTITION_ROWS, chunk_rows=5
    )
    rows = _source_rows(conn)
    rejected_by_hand = {"Users": {"empty_key": 1}, "Products": {}, "Categories": {}}

    # partition 1 of every table fails on its first attempt after 5 items were written
    flaky = FailingWrites("us-east-1", ddb_endpoint, partition=1, after_items=5)
    run, results = _run(cfg, contract, SparkEngine(spark, task_client_factory=flaky))
    before = _assert_items(ddb_client, ddb_prefix, conn)
    # the USER items: the empty-email user left out, nothing else
    assert all(k[0] != "" for k in before["Users"])

    for name, n in rows.items():
        r = results[ddb_prefix + name]
        assert r.status == "done"
        assert r.extra["spark"]["partitions"] >= 2, "the table should be split"
        # exact counters despite the retried partition: the failed attempt's counts are dropped, and
        # the items it wrote are recognised by attempt 1 (same run marker, same content) as written
        assert r.read == n
        assert r.rejected == rejected_by_hand[name]
        assert r.written == n - sum(rejected_by_hand[name].values()) == len(before[name])
        assert r.skipped == 0 and r.conflicts == 0
        # the failed attempt left its files; partition 1 finished on attempt 1
        parts = sorted(p.name for p in (run.path / "spark-parts").glob(f"{ddb_prefix}{name}/part-00001-*"))
        assert [p.rsplit("-", 1)[1] for p in parts] == ["a0", "a1"], parts
        # attempt 0 did write items before it failed (so the retry really met them)
        assert (
            (run.path / "spark-parts" / f"{ddb_prefix}{name}" / parts[0] / "written.jsonl")
            .read_text()
            .strip()
        )
        # written keys (rollback) cover every item, including those written by the failed attempt
        keys = {
            repr(sorted(rec["key"].items())) for rec in run.read_lines(run.written_file(ddb_prefix + name))
        }
        assert len(keys) == len(before[name])

    # rejected rows of the run are in rejected.jsonl once (not once per attempt): the empty email
    rejected = list(run.read_lines("rejected.jsonl"))
    assert [(r["table"], r["code"], str(r["row"]["_dm_rowid"])) for r in rejected] == [
        (ddb_prefix + "Users", "empty_key", str(empty_email_user))
    ]

    # restart of the same run: every partition is checkpointed, nothing is read again
    _, again = _run(cfg, contract, SparkEngine(spark), run=run)
    for name in rows:
        a = again[ddb_prefix + name]
        assert a.extra["spark"]["skipped_partitions"] == a.extra["spark"]["partitions"]
        assert (a.read, a.written) == (results[ddb_prefix + name].read, results[ddb_prefix + name].written)
    assert _assert_items(ddb_client, ddb_prefix, conn) == before

    # a job that fails for good (partition 2 fails on every attempt) is restarted without redoing
    # the partitions it finished; 3 partitions on 2 task slots: partition 2 only starts once
    # partition 0 or 1 has finished
    cats = next(t for t in contract.tables if t.name.endswith("Categories"))
    one = dataclasses.replace(contract, tables=(cats,))
    failed_run = RunDir.create(cfg.migration.output_dir)
    cfg3 = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": 10, "chunk_rows": 5}})
    broken = FailingWrites("us-east-1", ddb_endpoint, partition=2, after_items=0, every_attempt=True)
    _, failed = _run(cfg3, one, SparkEngine(spark, task_client_factory=broken), run=failed_run)
    assert failed[cats.name].status == "failed"
    assert "injected failure in partition 2" in str(failed[cats.name].error)
    assert failed_run.state()["tables"][cats.name]["status"] == "failed"
    done_before = list((failed_run.path / "spark-checkpoints").glob("*/*.done"))
    assert done_before, "a partition finished before the job failed"
    _, resumed = _run(cfg3, one, SparkEngine(spark), run=failed_run)
    r = resumed[cats.name]
    assert r.status == "done" and r.extra["spark"]["partitions"] == 3
    assert r.extra["spark"]["skipped_partitions"] == len(done_before) >= 1
    assert r.read == rows["Categories"]  # whole-table figures: resumed + new partitions
    # another run's items: insert mode leaves them alone (skipped), nothing duplicated or lost
    assert r.skipped == r.read and r.written == 0
    assert _assert_items(ddb_client, ddb_prefix, conn) == before
    conn.close()


def test_migrate_command_with_the_spark_engine(
    spark: Any, shop_db_copy: str, ddb_endpoint: str, ddb_client: Any, ddb_prefix: str, tmp_path: Path
) -> None:
    """`dynamigrate migrate --engine spark`: views, tables and the load, through the CLI."""
    import json

    from dynamigrate.cli import main

    contract_file = write_contract(tmp_path, ddb_prefix)
    _, config = make_config(tmp_path, shop_db_copy, ddb_endpoint, contract_file)
    raw = json.loads(config.read_text())
    config.write_text(json.dumps({**raw, "spark": {"partition_rows": 50}}))
    rc = main(
        ["migrate", "--config", str(config), "--engine", "spark", "--progress", "quiet", "--skip-validation"]
    )
    assert rc == 0
    (run_path,) = (tmp_path / "runs").iterdir()
    state = json.loads((run_path / "state.json").read_text())
    conn = connect(shop_db_copy)
    items = _assert_items(ddb_client, ddb_prefix, conn)
    for name, n in _source_rows(conn).items():
        entry = state["tables"][ddb_prefix + name]
        assert entry["engine"] == "spark" and entry["status"] == "done"
        assert entry["read"] == entry["written"] == len(items[name]) == n
    conn.close()
