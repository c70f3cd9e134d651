"""The Spark job in local mode: the sample shop from MariaDB into DynamoDB Local.

* the items Spark writes are identical to the local engine's (marker run ids aside: the content
  fingerprint inside the marker must match too);
* a partition made to fail once (attempt 0, after it wrote part of its rows) is retried by Spark
  (``local[2,2]``: two attempts per task) without duplicates or loss, and the counters stay exact;
* a restart of the same run skips the finished partitions (checkpoints).

One SparkSession for the module; small partitions so that every table is split.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.config import load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.contract.model import Contract
from dynamigrate.etl.base import EtlContext, EtlOptions, get_engine
from dynamigrate.runstate import RunDir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONTRACT = Path("/work/shared/reference/workshop-migrationContract.json")
if not CONTRACT.exists():
    CONTRACT = Path(__file__).resolve().parents[1] / "data" / "workshop-migrationContract.json"
PARTITION_ROWS = 20


@pytest.fixture(scope="module")
def spark() -> Any:
    from dynamigrate.etl.spark import spark_session

    session = spark_session(None, "local[2,2]")
    yield session
    session.stop()


def _setup(
    shop_db_copy: str, mysql_settings: Any, ddb_endpoint: str, prefix: str, tmp_path: Path
) -> tuple[Any, Contract]:
    import pymysql

    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements

    base = load_contract(CONTRACT)
    contract = dataclasses.replace(
        base, tables=tuple(dataclasses.replace(t, name=prefix + t.name) for t in base.tables)
    )
    cfg = load_config(
        None,
        overrides={
            "mysql.host": mysql_settings.host,
            "mysql.port": mysql_settings.port,
            "mysql.user": mysql_settings.user,
            "mysql.password": mysql_settings.password.reveal(),
            "mysql.database": shop_db_copy,
            "aws.region": "us-east-1",
            "aws.dynamodb_endpoint_url": ddb_endpoint,
            "migration.output_dir": str(tmp_path / "runs"),
        },
    )
    conn = pymysql.connect(**{**cfg.mysql.connect_kwargs(), "autocommit": True})
    try:
        schema = introspect(conn, shop_db_copy)
        with conn.cursor() as cur:
            for stmt in generate_statements(contract, dialect="mariadb", schema=schema):
                cur.execute(stmt.sql)
    finally:
        conn.close()
    return cfg, contract


def _recreate_tables(ddb_client: Any, contract: Contract) -> None:
    from dynamigrate.target.provision import ensure_table

    for t in contract.tables:
        try:
            ddb_client.delete_table(TableName=t.name)
            ddb_client.get_waiter("table_not_exists").wait(TableName=t.name)
        except ddb_client.exceptions.ResourceNotFoundException:
            pass
        ensure_table(ddb_client, t)


def _run(
    engine_name: str, cfg: Any, contract: Contract, run: RunDir | None = None, engine: Any = None
) -> tuple[RunDir, dict[str, Any]]:
    run = run or RunDir.create(cfg.migration.output_dir)
    ctx = EtlContext(
        config=cfg,
        contract=contract,
        run=run,
        options=EtlOptions(write_mode="insert"),
        database=cfg.mysql.database,
    )
    eng = engine or get_engine(engine_name)
    return run, {t.name: eng.run_table(ctx, t) for t in contract.tables}


def _items(ddb_client: Any, table: str) -> dict[str, dict[str, Any]]:
    """Items by key, with the marker reduced to its content fingerprint (the run id differs)."""
    out: dict[str, dict[str, Any]] = {}
    for page in ddb_client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            marker = item.pop("_dm_marker")["S"]
            item["_fp"] = marker.rsplit(":", 1)[1]
            key = repr(sorted((k, v) for k, v in item.items() if k in ("PK", "SK")))
            assert key not in out, f"duplicate key {key} in {table}"
            out[key] = item
    return out


def _view_count(cfg: Any, view: str) -> int:
    import pymysql

    conn = pymysql.connect(**cfg.mysql.connect_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(*) FROM `{view}`")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def test_spark_items_equal_local_engine_items_with_a_retried_partition(
    spark: Any,
    shop_db_copy: str,
    mysql_settings: Any,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dynamigrate.etl.spark import SparkEngine

    cfg, contract = _setup(shop_db_copy, mysql_settings, ddb_endpoint, ddb_prefix, tmp_path)
    cfg = dataclasses.replace(
        cfg, raw={**cfg.raw, "spark": {"partition_rows": PARTITION_ROWS, "chunk_rows": 10}}
    )

    _recreate_tables(ddb_client, contract)
    _, local_results = _run("local", cfg, contract)
    local_items = {t.name: _items(ddb_client, t.name) for t in contract.tables}

    _recreate_tables(ddb_client, contract)
    monkeypatch.setenv("DYNAMIGRATE_TEST_FAIL_PARTITION", "1")
    run, spark_results = _run("spark", cfg, contract, engine=SparkEngine(spark))
    spark_items = {t.name: _items(ddb_client, t.name) for t in contract.tables}

    for t in contract.tables:
        lr, sr = local_results[t.name], spark_results[t.name]
        rows = _view_count(cfg, t.view_name)
        assert sr.status == "done" and lr.status == "done"
        assert sr.extra["spark"]["partitions"] >= 2, "the table should be split"
        # identical items (content, keys, marker fingerprints), none lost, none duplicated
        assert spark_items[t.name] == local_items[t.name], t.name
        assert len(spark_items[t.name]) == rows - sr.rejected_total
        # exact counters despite the retried partition: the failed attempt's counts are dropped, and
        # the items it wrote are recognised by attempt 1 (same run marker, same content) as written
        assert sr.read == rows == lr.read
        assert sr.written == rows - sr.rejected_total and sr.skipped == 0 and sr.conflicts == 0
        assert sr.rejected == lr.rejected
        # the failed attempt left its files; partition 1 finished on attempt 1
        parts = sorted(p.name for p in (run.path / "spark-parts").glob(f"{t.name}/part-00001-*"))
        assert [p.rsplit("-", 1)[1] for p in parts] == ["a0", "a1"], parts
    # attempt 0 of partition 1 did write items before it failed (so the retry really re-met them)
    a0_written = [p for p in (run.path / "spark-parts").glob("*/part-00001-*-a0/written.jsonl")]
    assert any(p.read_text().strip() for p in a0_written)

    # rejected rows of the run are in rejected.jsonl once (not once per attempt)
    rejected = list(run.read_lines("rejected.jsonl"))
    assert len(rejected) == sum(r.rejected_total for r in spark_results.values())
    # written keys (rollback) cover every item, including those written by the failed attempt
    for t in contract.tables:
        keys = {repr(sorted(r["key"].items())) for r in run.read_lines(run.written_file(t.name))}
        assert len(keys) == len(spark_items[t.name])

    # restart of the same run: every partition is checkpointed, nothing is read again
    monkeypatch.delenv("DYNAMIGRATE_TEST_FAIL_PARTITION")
    _, again = _run("spark", cfg, contract, run=run, engine=SparkEngine(spark))
    for t in contract.tables:
        assert (
            again[t.name].extra["spark"]["skipped_partitions"] == again[t.name].extra["spark"]["partitions"]
        )
        assert again[t.name].read == spark_results[t.name].read
        assert again[t.name].written == spark_results[t.name].written
    assert {t.name: _items(ddb_client, t.name) for t in contract.tables} == spark_items

    # a job that fails for good (partition 1 fails on every attempt) is restarted without redoing
    # the partitions it finished
    from dynamigrate.errors import EngineError

    cats = next(t for t in contract.tables if t.name.endswith("Categories"))
    one = dataclasses.replace(contract, tables=(cats,))
    failed_run = RunDir.create(cfg.migration.output_dir)
    # 3 partitions on 2 task slots: partition 2 only starts once partition 0 or 1 has finished
    cfg3 = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": 10, "chunk_rows": 5}})
    monkeypatch.setenv("DYNAMIGRATE_TEST_FAIL_PARTITION", "2!")
    with pytest.raises(EngineError, match="injected failure in partition 2"):
        _run("spark", cfg3, one, run=failed_run, engine=SparkEngine(spark))
    assert failed_run.state()["tables"][cats.name]["status"] == "failed"
    done_before = list((failed_run.path / "spark-checkpoints").glob("*/*.done"))
    assert done_before, "a partition finished before the job failed"
    monkeypatch.delenv("DYNAMIGRATE_TEST_FAIL_PARTITION")
    _, resumed = _run("spark", cfg3, one, run=failed_run, engine=SparkEngine(spark))
    r = resumed[cats.name]
    assert r.status == "done" and r.extra["spark"]["partitions"] == 3
    assert r.extra["spark"]["skipped_partitions"] == len(done_before) >= 1
    assert r.read == _view_count(cfg, cats.view_name)  # whole-table figures: resumed + new partitions
    # another run's items: insert mode leaves them alone (skipped), nothing duplicated or lost
    assert r.skipped == r.read - r.rejected_total and r.written == 0
    assert {t.name: _items(ddb_client, t.name) for t in contract.tables} == spark_items


def test_migrate_command_with_the_spark_engine(
    spark: Any,
    shop_db_copy: str,
    mysql_settings: Any,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    """`dynamigrate migrate --engine spark`: views, tables and the load, through the CLI."""
    import json

    from dynamigrate.cli import main

    raw = json.loads(CONTRACT.read_text())
    tables = raw["tables"] if isinstance(raw, dict) else raw
    for t in tables:
        t["table"] = ddb_prefix + t["table"]
    contract_file = tmp_path / "contract.json"
    contract_file.write_text(json.dumps({"tables": tables}))
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "aws": {"region": "us-east-1", "dynamodb_endpoint_url": ddb_endpoint},
                "mysql": {
                    "host": mysql_settings.host,
                    "port": mysql_settings.port,
                    "user": mysql_settings.user,
                    "password": mysql_settings.password.reveal(),
                    "database": shop_db_copy,
                },
                "migration": {"contract_file": str(contract_file), "output_dir": str(tmp_path / "runs")},
                "spark": {"partition_rows": 50},
            }
        )
    )
    rc = main(
        ["migrate", "--config", str(config), "--engine", "spark", "--progress", "quiet", "--skip-validation"]
    )
    assert rc == 0
    (run_path,) = (tmp_path / "runs").iterdir()
    state = json.loads((run_path / "state.json").read_text())
    cfg = load_config(config)
    for t in tables:
        name = t["table"]
        entry = state["tables"][name]
        assert entry["engine"] == "spark" and entry["status"] == "done"
        view = f"ddb_{name.lower()}_view"
        pages = ddb_client.get_paginator("scan").paginate(TableName=name, Select="COUNT", ConsistentRead=True)
        count = sum(page["Count"] for page in pages)
        assert count == _view_count(cfg, view) - sum(entry["rejected"].values())
