"""Which rows the Spark job skips as duplicate keys (etl/spark_dups.py): pure, no Spark, no MySQL.

The plan walks the rows of repeated keys in read order with the encoder's exact key: the first row of
a key wins, later ones are named for the tasks; rows without a row key are let through by count. The
SQL is valid MySQL 8 (sqlglot) and the MariaDB side is exercised by tests/integration/test_spark_dups.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from dynamigrate.contract.load import parse_contract_text
from dynamigrate.contract.model import Table
from dynamigrate.etl.spark_dups import (
    DuplicateFilter,
    EncodedKey,
    check_query,
    id_columns,
    plan_duplicates,
    rows_query,
)
from dynamigrate.etl.spark_plan import ViewColumn

IDS = ("_dm_entity", "_dm_k1", "_dm_k2")


def _table(sk_type: str = "N", note: bool = False) -> Table:
    extra = [{"name": "note", "type": "S", "source_table": "t", "source_column": "c"}] if note else []
    contract = {
        "tables": [
            {
                "table": "T",
                "type": "single-entity",
                "source_table": "t",
                "pk": "PK",
                "sk": "SK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": "t", "source_column": "a"},
                    {"name": "SK", "type": sk_type, "source_table": "t", "source_column": "b"},
                    *extra,
                ],
            }
        ]
    }
    parsed, problems = parse_contract_text(json.dumps(contract))
    assert parsed is not None, problems
    return parsed.table("T")


def _row(entity: str, k1: Any, k2: Any, pk: Any, sk: Any) -> dict[str, Any]:
    return {"_dm_entity": entity, "_dm_k1": k1, "_dm_k2": k2, "PK": pk, "SK": sk}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"N": sk}}


def test_the_first_row_of_a_key_wins_with_the_encoders_equality() -> None:
    rows = [
        _row("A", "r1", "1", "a@x", "1"),
        _row("A", "r2", "1", "A@x", "1"),  # another key: DynamoDB compares bytes, not a _ci collation
        _row("A", "r3", "1", "a@x", "1.0"),  # the same number: a duplicate of r1
        _row("B", "s1", None, "a@x", "1e0"),  # another entity, later in read order: a duplicate
        _row("B", "s2", None, "b@x", "2"),  # alone
        _row("B", "s3", None, "", "2"),  # an empty key: rejected by the encoder, never a claim
        _row("B", "s4", None, "b@x", "two"),  # not a number: rejected too
        _row("B", "s5", None, "A@x", "01"),  # a duplicate of r2
    ]
    plan = plan_duplicates(rows, EncodedKey(_table()), IDS)
    assert plan.rows == 3
    assert plan.skip == {("A", "r3", "1"), ("B", "s1", None), ("B", "s5", None)}
    assert [json.loads(k) for k in plan.keys] == [_key("a@x", "1"), _key("A@x", "1")]
    assert plan.examples(1) == [_key("a@x", "1")]
    lines = [json.loads(line) for line in plan.file_lines("T").splitlines()]
    assert lines == [{"table": "T", "key": _key("a@x", "1")}, {"table": "T", "key": _key("A@x", "1")}]

    check = DuplicateFilter(plan)
    assert [check(r, {}) for r in rows] == [False, False, True, True, False, False, False, True]


def test_rows_without_a_row_key_are_let_through_by_count_per_attempt() -> None:
    # entity N has no row key (its rows cannot be named): its first row of (n@x, 1) wins, the other two
    # are duplicates; its (k@x, 5) row comes after a named row of entity K: a duplicate
    rows = [
        _row("K", "k1", "1", "k@x", "5"),
        _row("N", None, None, "n@x", "1"),
        _row("N", None, None, "k@x", "5"),
        _row("N", None, None, "n@x", "1"),
        _row("N", None, None, "n@x", "1.00"),
        _row("N", None, None, "solo", "1"),
    ]
    table = _table()
    plan = plan_duplicates(rows, EncodedKey(table), IDS)
    assert plan.rows == 3 and plan.skip == frozenset()

    def canonical(pk: str, sk: str) -> str:
        return json.dumps(_key(pk, sk), sort_keys=True, separators=(",", ":"))

    # (k@x, 5): a named row of K is its first, no row of N with it may pass
    assert plan.unnamed == {("N", canonical("n@x", "1")): 1, ("N", canonical("k@x", "5")): 0}
    make = EncodedKey(table)

    def encoded_key(r: dict[str, Any]) -> dict[str, Any]:
        return dict(json.loads(make(r) or "{}"))

    for _attempt in range(2):  # a retried task starts again from the plan: the same rows pass
        check = DuplicateFilter(plan)
        assert [check(r, encoded_key(r)) for r in rows[1:]] == [False, True, True, True, False]


def test_a_first_row_the_encoder_rejects_claims_no_key() -> None:
    # r1 is rejected (too large an item: not its key): r2 is the item, as in the local engine
    huge = "x" * 500_000
    rows = [
        {**_row("A", "r1", "1", "p", "1"), "note": huge},
        _row("A", "r2", "1", "p", "1.0"),
        _row("A", "r3", "1", "p", "1"),
    ]
    plan = plan_duplicates(rows, EncodedKey(_table(note=True)), IDS)
    assert plan.rows == 1 and plan.skip == {("A", "r3", "1")}


def test_no_duplicates_gives_an_empty_plan() -> None:
    rows = [_row("A", str(i), "1", f"u{i}", "1") for i in range(5)]
    plan = plan_duplicates(rows, EncodedKey(_table()), IDS)
    assert (plan.rows, plan.keys, plan.skip) == (0, (), frozenset())


def test_binary_keys_compare_as_bytes() -> None:
    rows = [
        _row("A", "1", None, "p", b"\x00\x01"),
        _row("A", "2", None, "p", b"\x00\x01"),
        _row("A", "3", None, "p", b"\x00"),
    ]
    plan = plan_duplicates(rows, EncodedKey(_table("B")), IDS)
    assert plan.rows == 1 and plan.skip == {("A", "2", None)}


COLUMNS = [
    ViewColumn("_dm_entity", "varchar", "varchar(10)", "utf8mb4_general_ci"),
    ViewColumn("_dm_rowid", "null", "binary(0)"),
    ViewColumn("_dm_k1", "varchar", "varchar(20)", "utf8mb4_general_ci"),
    ViewColumn("_dm_k2", "int", "int(11)"),
    ViewColumn("PK", "varchar", "varchar(50)", "utf8mb4_general_ci"),
    ViewColumn("SK", "varchar", "varchar(50)", "utf8mb4_general_ci"),
]


@pytest.mark.parametrize("sk_type", ["N", "S"])
def test_the_queries_are_mysql_8_syntax(sk_type: str) -> None:
    table = _table(sk_type)
    ids = id_columns(COLUMNS)
    assert ids == ("_dm_entity", "_dm_k1", "_dm_k2")  # the NULL-typed row id names nothing
    check = check_query("ddb_t_view", table)
    rows = rows_query(
        "ddb_t_view", table, COLUMNS, [("A", ["_dm_k1", "_dm_k2"]), ("B", ["_dm_k2", "_dm_k1"])]
    )
    for derived in (check, rows):
        tree = sqlglot.parse_one(f"SELECT * FROM {derived}", read="mysql")
        assert tree.find(exp.Subquery) is not None
    tree = sqlglot.parse_one(f"SELECT * FROM {rows}", read="mysql")
    windows = list(tree.find_all(exp.Window))
    assert len(windows) == 2  # the count per key, the position in read order
    cast = "DECIMAL(65, 30)" if sk_type == "N" else "BINARY"
    assert f"CAST(`SK` AS {cast})" in tree.sql(dialect="mysql")
    assert "CAST(`PK` AS BINARY)" in tree.sql(dialect="mysql")
    # entity B orders by its own key order (k2 then k1), each column in a CASE of its own
    assert (
        "CASE WHEN `_dm_entity` = 'B' THEN `_dm_k2` END, CASE WHEN `_dm_entity` = 'B' THEN `_dm_k1` END"
        in rows
    )


def test_the_engine_copies_the_jobs_list_and_reports_it_as_the_local_engine(tmp_path: Any) -> None:
    """What Spark in-process and Glue share: the job's list (under its output location, S3 on Glue) is
    copied to ``duplicates/<T>.jsonl`` and the summary's counters make ``extra.duplicate_keys``."""
    from dynamigrate.etl.base import TableResult, utc_iso
    from dynamigrate.etl.spark import apply_job_summary, merge_partition_outputs
    from dynamigrate.etl.spark_dups import write_duplicates
    from dynamigrate.etl.spark_job import Storage
    from dynamigrate.runstate import RunDir

    run = RunDir.create(tmp_path / "runs")
    output = Storage(str(tmp_path / "job-output"))
    rows = [
        _row("A", "1", "1", "a@x", "1"),
        _row("A", "2", "1", "a@x", "1.0"),
        _row("A", "3", "1", "a@x", "1"),
    ]
    plan = plan_duplicates(rows, EncodedKey(_table()), IDS)
    info = write_duplicates(output, "T.x", plan)
    assert info == {
        "rows": 2,
        "keys": 1,
        "examples": [_key("a@x", "1")],
        "file": "spark-duplicates/T.x.jsonl",
    }
    merge_partition_outputs(run, "T.x", storage=output)
    listed = run.file("duplicates/T.x.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in listed] == [{"table": "T.x", "key": _key("a@x", "1")}]

    result = TableResult(table="T.x", engine="glue", status="running", started=utc_iso())
    # this invocation skipped one, a resumed partition the other
    summary = {
        "counters": {"read": 2, "written": 1, "skipped": 1, "duplicate_keys": 1},
        "resumed_counters": {"read": 1, "skipped": 1, "duplicate_keys": 1},
        "duplicates": info,
    }
    apply_job_summary(result, summary)
    assert result.extra["duplicate_keys"] == {
        "skipped": 2,
        "examples": [_key("a@x", "1")],
        "file": "duplicates/T.x.jsonl",
    }
    assert (result.read, result.written, result.skipped) == (3, 1, 2)

    # the source deduplicated, the table loaded again: no list, no figure left over
    write_duplicates(output, "T.x", None)
    merge_partition_outputs(run, "T.x", storage=output)
    assert not run.file("duplicates/T.x.jsonl").exists()
    apply_job_summary(result, {"counters": {"read": 3, "written": 3}})
    assert "duplicate_keys" not in result.extra
