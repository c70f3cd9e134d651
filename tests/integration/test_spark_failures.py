"""Spark engine: table-level DynamoDB errors fail the table (never rejected rows), and the accounting
equation fails a table whose reader lost rows.

* the target table is missing: the table FAILS with ResourceNotFound, rejected.jsonl stays empty, no
  partition with rows is checkpointed done; once the table exists, the same run resumes and lands
  every item;
* the credentials lack a permission (AccessDenied, through the task client factory) and the table's
  key schema does not match the contract (ValidationException): the table fails, nothing rejected;
* a view that loses rows (rows dropped by a WHERE the contract does not have): the source counted in
  the base tables does not add up, the table FAILS with the equation and ``migrate`` exits non-zero;
* resume onto a target that lost its items reloads the table; the job script's own entry point
  (spark-submit, Glue) finds the keys in the view without a live schema.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import compare, make_config, scan_items
from _shapes_scenario import S_COMP, contract_dict, create_source, expected_items

from dynamigrate.contract.load import load_contract
from dynamigrate.etl.base import EtlContext, EtlOptions
from dynamigrate.runstate import RunDir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TABLES = ("ShComp", "ShVc")


@pytest.fixture(scope="module")
def spark() -> Any:
    from _spark_faults import ship_by_value

    from dynamigrate.etl.spark import spark_session

    ship_by_value()
    session = spark_session(None, "local[2,2]")
    yield session
    session.stop()


def _scenario(conn: Any, db: str, endpoint: str, prefix: str, tmp: Path, create: bool = True) -> Any:
    """The shape tables, the ShComp and ShVc contract, views applied; DynamoDB tables when ``create``."""
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements
    from dynamigrate.target.client import dynamodb_client
    from dynamigrate.target.provision import ensure_table

    create_source(conn)
    data = contract_dict(prefix)
    data["tables"] = [t for t in data["tables"] if t["table"].removeprefix(prefix) in TABLES]
    path = tmp / "contract.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cfg, cfg_path = make_config(tmp, db, endpoint, path)
    cfg = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": 10, "chunk_rows": 5}})
    contract = load_contract(path)
    schema = introspect(conn, db)
    with conn.cursor() as cur:
        for stmt in generate_statements(contract, dialect="mariadb", schema=schema):
            cur.execute(stmt.sql)
    if create:
        client = dynamodb_client(cfg.aws)
        for t in contract.tables:
            ensure_table(client, t)
    return cfg, cfg_path, contract, schema


def _ctx(cfg: Any, contract: Any, schema: Any, run: RunDir | None = None) -> EtlContext:
    return EtlContext(
        config=cfg,
        contract=contract,
        run=run or RunDir.create(cfg.migration.output_dir),
        options=EtlOptions(write_mode="insert"),
        database=cfg.mysql.database,
        schema=schema,
    )


def _done_with_rows(run: RunDir, table: str) -> list[dict[str, Any]]:
    out = []
    for p in (run.path / "spark-checkpoints").glob("*/*.done"):
        rec = json.loads(p.read_text())
        if rec["table"] == table and rec["counters"]["read"] > 0:
            out.append(rec)
    return out


def test_a_missing_target_table_fails_the_table_and_resume_loads_it(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    from dynamigrate.etl.spark import SparkEngine
    from dynamigrate.target.provision import ensure_table

    cfg, _, contract, schema = _scenario(
        mysql_conn, mysql_db, ddb_endpoint, ddb_prefix, tmp_path, create=False
    )
    comp = contract.table(ddb_prefix + "ShComp")
    ctx = _ctx(cfg, contract, schema)
    failed = SparkEngine(spark).run_table(ctx, comp)
    assert failed.status == "failed" and "ResourceNotFoundException" in str(failed.error), failed.error
    assert "--resume" in str(failed.error)  # what to do
    state = ctx.run.state()["tables"][comp.name]
    assert state["status"] == "failed" and state["rejected"] == {} and state["written"] == 0
    assert list(ctx.run.read_lines("rejected.jsonl")) == []
    assert _done_with_rows(ctx.run, comp.name) == []

    ensure_table(ddb_client, comp)
    result = SparkEngine(spark).run_table(ctx, comp)  # the same run: --resume
    assert result.status == "done"
    assert (result.read, result.written, result.rejected) == (len(S_COMP), len(S_COMP), {})
    assert compare(scan_items(ddb_client, comp.name), expected_items()["ShComp"]) == []


@pytest.mark.parametrize("fault", ["access_denied", "key_schema"])
def test_permission_and_key_schema_errors_fail_the_table_not_rows(
    fault: str,
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    from _spark_faults import DeniedWrites

    from dynamigrate.etl.spark import SparkEngine

    cfg, _, contract, schema = _scenario(
        mysql_conn, mysql_db, ddb_endpoint, ddb_prefix, tmp_path, create=False
    )
    vc = contract.table(ddb_prefix + "ShVc")
    if fault == "access_denied":
        from dynamigrate.target.provision import ensure_table

        ensure_table(ddb_client, vc)
        engine = SparkEngine(spark, task_client_factory=DeniedWrites("us-east-1", ddb_endpoint))
        expected = "AccessDeniedException"
    else:  # the table exists with another key schema than the contract's (PK, S)
        ddb_client.create_table(
            TableName=vc.name,
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        engine = SparkEngine(spark)
        expected = "ValidationException"
    ctx = _ctx(cfg, contract, schema)
    failed = engine.run_table(ctx, vc)
    assert failed.status == "failed" and expected in str(failed.error), json.dumps(
        failed.to_dict(), default=str
    )[:3000]
    state = ctx.run.state()["tables"][vc.name]
    assert state["status"] == "failed" and state["rejected"] == {}
    assert list(ctx.run.read_lines("rejected.jsonl")) == []
    assert _done_with_rows(ctx.run, vc.name) == []
    assert scan_items(ddb_client, vc.name) == {}


def test_a_view_that_loses_rows_fails_the_equation_and_migrate_exits_non_zero(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    from dynamigrate.cli import main

    _, cfg_path, contract, _ = _scenario(mysql_conn, mysql_db, ddb_endpoint, ddb_prefix, tmp_path)
    comp = contract.table(ddb_prefix + "ShComp")
    lost = sum(1 for book, _, _ in S_COMP if book == 5)
    with mysql_conn.cursor() as cur:  # the view drops book 5's rows: a reader that loses rows
        cur.execute(f"SHOW CREATE VIEW `{comp.view_name}`")
        ddl = cur.fetchone()[1]
        body = ddl[ddl.index(" AS select ") + 4 :]
        cur.execute(f"CREATE OR REPLACE VIEW `{comp.view_name}` AS {body} WHERE `s_comp`.`book_id` <> 5")
    raw = json.loads(cfg_path.read_text())
    cfg_path.write_text(json.dumps({**raw, "spark": {"partition_rows": 10}}))
    rc = main(
        [
            "migrate",
            "--config",
            str(cfg_path),
            "--engine",
            "spark",
            "--progress",
            "quiet",
            "--skip-views",
            "--skip-preflight",
            "--skip-validation",
            "--tables",
            comp.name,
        ]
    )
    assert rc != 0
    (run_path,) = (tmp_path / "runs").iterdir()
    entry = json.loads((run_path / "state.json").read_text())["tables"][comp.name]
    assert entry["status"] == "failed"
    assert entry["written"] == len(S_COMP) - lost
    acc = entry["accounting"]
    assert acc["status"] == "mismatch" and acc["table"]["missing"] == lost
    assert acc["table"]["source_rows_before"] == len(S_COMP)
    assert f"{lost} source row(s) NOT accounted for" in entry["error"]


def test_resume_onto_a_target_that_lost_its_items_loads_the_table_again(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    from dynamigrate.etl.spark import SparkEngine
    from dynamigrate.target.provision import ensure_table

    cfg, _, contract, schema = _scenario(mysql_conn, mysql_db, ddb_endpoint, ddb_prefix, tmp_path)
    vc = contract.table(ddb_prefix + "ShVc")
    want = expected_items()["ShVc"]  # every code but the empty one, which is a rejected row
    ctx = _ctx(cfg, contract, schema)
    first = SparkEngine(spark).run_table(ctx, vc)
    assert first.status == "done" and first.written == len(want) and first.rejected == {"empty_key": 1}
    # the endpoint loses the table's data (deleted and created again, empty)
    ddb_client.delete_table(TableName=vc.name)
    ddb_client.get_waiter("table_not_exists").wait(TableName=vc.name)
    ensure_table(ddb_client, vc)

    again = SparkEngine(spark).run_table(ctx, vc)  # the same run: --resume
    assert again.status == "done"
    assert "the target lost its data" in again.extra["reloaded"]
    assert again.extra["spark"]["skipped_partitions"] == 0  # every partition read again
    assert (again.read, again.written, again.skipped) == (len(want) + 1, len(want), 0)
    assert again.rejected == {"empty_key": 1}
    assert again.accounting is not None and again.accounting["status"] == "ok"
    assert compare(scan_items(ddb_client, vc.name), want) == []
    # the written keys of the run are the reload's (each item once); the rejected row is listed once
    keys = [json.dumps(r["key"], sort_keys=True) for r in ctx.run.read_lines(ctx.run.written_file(vc.name))]
    assert len(keys) == len(set(keys)) == len(want)
    assert [r["code"] for r in ctx.run.read_lines("rejected.jsonl")] == ["empty_key"]


def test_the_job_script_entry_point_discovers_the_keys_in_the_view(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``spark_job.py --table ...`` as spark-submit and Glue run it: no live schema, the job finds each
    entity's key columns in the view; exact items, the summary with per-entity counters."""
    from dynamigrate.etl import spark_job

    _scenario(mysql_conn, mysql_db, ddb_endpoint, ddb_prefix, tmp_path)
    out = tmp_path / "job-output"
    monkeypatch.setenv("DYNAMIGRATE_MYSQL_PASSWORD", "dynamigrate")
    for name in TABLES:
        table = ddb_prefix + name
        rc = spark_job.main(
            ["spark_job.py", "--table", table, "--contract_file", str(tmp_path / "contract.json"),
             "--jdbc_url", f"jdbc:mariadb://127.0.0.1:3306/{mysql_db}", "--jdbc_user", "dynamigrate",
             "--region", "us-east-1", "--dynamodb_endpoint", ddb_endpoint, "--run_id", "job-script",
             "--output_uri", str(out), "--partition_rows", "10"]
        )  # fmt: skip
        assert rc == 0
        summary = json.loads((out / f"spark-summary/{table}.json").read_text())
        want = expected_items()[name]
        rejected = 1 if name == "ShVc" else 0  # the empty VARCHAR key
        assert summary["schemes"] == ({"range": 4} if name == "ShComp" else {"text-range": 4}), summary[
            "schemes"
        ]
        (entity,) = summary["entities"].values()
        assert (entity["read"], entity["written"], entity["rejected"]) == (
            len(want) + rejected,
            len(want),
            rejected,
        )
        assert compare(scan_items(ddb_client, table), want) == []
