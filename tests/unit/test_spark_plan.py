"""Pure parts of the Spark job: partition plan, JDBC URL, value conversion (no Spark needed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dynamigrate.etl.spark_job import (
    EntityStats,
    KeyStats,
    PartitionBuffer,
    normalise_jdbc_url,
    plan_partitions,
    stats_query,
    to_wire,
)


def _covered(parts, entity):  # type: ignore[no-untyped-def]
    ids: list[int] = []
    for p in parts:
        if p.entity == entity and p.lo is not None:
            ids += list(range(p.lo, p.hi + 1))
    return ids


def test_single_entity_range_is_cut_into_even_closed_slices() -> None:
    parts = plan_partitions([EntityStats("users", 1, 1000, 1000, 1000)], partition_rows=300)
    assert len(parts) == 4
    assert [p.index for p in parts] == [0, 1, 2, 3]
    assert _covered(parts, "users") == list(range(1, 1001))  # every id exactly once
    assert parts[0].predicate == "`_dm_entity` = 'users' AND `_dm_rowid` BETWEEN 1 AND 250"
    assert all(240 <= p.estimated_rows <= 260 for p in parts)


def test_multi_entity_slices_are_per_entity_and_even() -> None:
    stats = [EntityStats("ORDER", 1, 50_000, 50_000, 50_000), EntityStats("USER", 1, 1000, 1000, 1000)]
    parts = plan_partitions(stats, partition_rows=10_000)
    orders = [p for p in parts if p.entity == "ORDER"]
    users = [p for p in parts if p.entity == "USER"]
    assert len(orders) == 5 and len(users) == 1  # the small entity is not split into tiny slices
    assert max(p.estimated_rows for p in parts) <= 10_000
    assert _covered(parts, "ORDER") == list(range(1, 50_001))
    assert all(p.predicate.startswith("`_dm_entity` = 'ORDER' AND") for p in orders)


def test_rows_without_rowid_get_their_own_partition() -> None:
    parts = plan_partitions([EntityStats("T", 5, 9, 8, 5), EntityStats("U", None, None, 3, 0)], 100)
    preds = [p.predicate for p in parts]
    assert "`_dm_entity` = 'T' AND `_dm_rowid` BETWEEN 5 AND 9" in preds
    assert "`_dm_entity` = 'T' AND `_dm_rowid` IS NULL" in preds
    assert "`_dm_entity` = 'U'" in preds  # no rowid and no key: the whole entity in one partition
    assert len(parts) == 3


def test_a_key_starting_with_an_integer_is_cut_into_ranges_of_that_column() -> None:
    keys = (KeyStats("_dm_k1", True, 10, 109, 400), KeyStats("_dm_k2", False, None, None, 400))
    parts = plan_partitions([EntityStats("TAG", None, None, 400, 0, keys)], partition_rows=100)
    assert [p.predicate for p in parts] == [
        f"`_dm_entity` = 'TAG' AND `_dm_k1` BETWEEN {a} AND {a + 24}" for a in (10, 35, 60, 85)
    ]
    assert {p.scheme for p in parts} == {"range"}


def test_other_keys_are_cut_into_hash_buckets_that_cover_every_row() -> None:
    keys = (KeyStats("_dm_k1", False, None, None, 250), KeyStats("_dm_k2", True, 1, 9, 250))
    parts = plan_partitions([EntityStats("CODE", None, None, 250, 0, keys)], partition_rows=100)
    expr = "CRC32(CONCAT_WS('|', `_dm_k1`, `_dm_k2`))"
    assert [p.predicate for p in parts] == [
        f"`_dm_entity` = 'CODE' AND MOD({expr}, 3) = {i}" for i in range(3)
    ]
    # a small keyed entity, and one without a key: one partition each, the whole entity
    small = plan_partitions(
        [EntityStats("S", None, None, 5, 0, keys[:1]), EntityStats("N", None, None, 900, 0)], 100
    )
    assert [p.predicate for p in small] == ["`_dm_entity` = 'N'", "`_dm_entity` = 'S'"]


def test_restart_extends_key_ranges_below_and_above_the_first_plan() -> None:
    from dynamigrate.etl.spark_job import extend_plan

    first = plan_partitions([EntityStats("T", None, None, 10, 0, (KeyStats("_dm_k1", True, 5, 14, 10),))], 5)
    grown = [EntityStats("T", None, None, 14, 0, (KeyStats("_dm_k1", True, 2, 16, 14),))]
    again = extend_plan(first, grown, 5)
    assert again[:2] == first
    assert [p.predicate for p in again[2:]] == [
        "`_dm_entity` = 'T' AND `_dm_k1` BETWEEN 15 AND 16",
        "`_dm_entity` = 'T' AND `_dm_k1` BETWEEN 2 AND 4",
    ]


def test_stats_come_from_the_columns_each_entity_fills() -> None:
    from dynamigrate.etl.spark_plan import ViewColumn, entity_stats_from_rows

    cols = [
        ViewColumn("PK", "varchar"),
        ViewColumn("_dm_rowid", "binary", "binary(0)"),
        ViewColumn("_dm_k1", "int"),
        ViewColumn("_dm_k2", "varchar"),
    ]
    q = stats_query("v", cols)
    assert "NULL AS lo" in q and "COUNT(`_dm_k2`) AS `n_dm_k2`" in q and "MIN(`_dm_k2`)" not in q
    rows = [
        {
            "entity": "A",
            "n": 4,
            "lo": None,
            "hi": None,
            "nr": 0,
            "n_dm_k1": 4,
            "lo_dm_k1": 1,
            "hi_dm_k1": 3,
            "n_dm_k2": 4,
        },
        {
            "entity": "B",
            "n": 2,
            "lo": None,
            "hi": None,
            "nr": 0,
            "n_dm_k1": 0,
            "lo_dm_k1": None,
            "hi_dm_k1": None,
            "n_dm_k2": 2,
        },
    ]
    a, b = entity_stats_from_rows(rows, cols)
    assert a.keys == (KeyStats("_dm_k1", True, 1, 3, 4), KeyStats("_dm_k2", False, None, None, 4))
    assert b.keys == (KeyStats("_dm_k2", False, None, None, 2),)
    # the key plan's order wins over the view's column order
    (a2, _) = entity_stats_from_rows(rows, cols, {"A": ["_dm_k2", "_dm_k1"]})
    assert [k.column for k in a2.keys] == ["_dm_k2", "_dm_k1"]


def test_null_typed_columns_are_cast_for_spark() -> None:
    from dynamigrate.etl.spark_plan import ViewColumn, read_query

    q = read_query(
        "v",
        [
            ViewColumn("PK", "varchar"),
            ViewColumn("_dm_rowid", "binary", "binary(0)"),
            ViewColumn("x", "null"),
        ],
    )
    assert (
        q
        == "(SELECT `PK`, CAST(`_dm_rowid` AS DECIMAL(20,0)) AS `_dm_rowid`, CAST(`x` AS CHAR) AS `x` FROM `v`) dm_view"
    )


def test_more_partitions_than_ids_never_gives_empty_ranges() -> None:
    parts = plan_partitions([EntityStats("T", 1, 3, 3, 3)], partition_rows=1)
    assert [(p.lo, p.hi) for p in parts] == [(1, 1), (2, 2), (3, 3)]


def test_entity_names_are_quoted_as_sql_strings() -> None:
    (p,) = plan_partitions([EntityStats("it's", 1, 2, 2, 2)], 10)
    assert "`_dm_entity` = 'it''s'" in p.predicate


def test_checkpoint_key_is_stable_and_depends_on_table_and_predicate() -> None:
    (a,) = plan_partitions([EntityStats("T", 1, 2, 2, 2)], 10)
    (b,) = plan_partitions([EntityStats("T", 1, 3, 3, 3)], 10)
    assert a.key("X") == a.key("X") and a.key("X") != a.key("Y") and a.key("X") != b.key("X")


def test_stats_query_groups_by_entity() -> None:
    q = stats_query("ddb_users_view")
    assert "GROUP BY `_dm_entity`" in q and "FROM `ddb_users_view`" in q and q.endswith("dm_stats")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("jdbc:mariadb://h:3306/db", "jdbc:mysql://h:3306/db?tinyInt1isBit=false&serverTimezone=UTC"),
        ("jdbc:mysql://h:3306", "jdbc:mysql://h:3306/shop?tinyInt1isBit=false&serverTimezone=UTC"),
        (
            "jdbc:mysql://h/db?useSSL=true",
            "jdbc:mysql://h/db?useSSL=true&tinyInt1isBit=false&serverTimezone=UTC",
        ),
    ],
)
def test_jdbc_url_uses_the_mysql_scheme_and_utc(url: str, expected: str) -> None:
    assert normalise_jdbc_url(url, "shop") == expected


def test_values_become_the_text_mysql_prints() -> None:
    assert to_wire(None) is None
    assert to_wire("x") == "x"
    assert to_wire(42) == "42"
    assert to_wire(Decimal("12345678901234567890.1234567890")) == "12345678901234567890.1234567890"
    assert to_wire(Decimal("1E+3")) == "1000"
    assert to_wire(bytearray(b"\x00\xff")) == b"\x00\xff"
    assert to_wire(True) == b"\x01" and to_wire(False) == b"\x00"
    assert to_wire(dt.datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02 03:04:05"
    assert to_wire(dt.datetime(2024, 1, 2, 3, 4, 5, 120000)) == "2024-01-02 03:04:05.120000"
    assert to_wire(dt.date(2024, 1, 2)) == "2024-01-02"


def test_partition_buffer_collects_sink_output_per_kind() -> None:
    from dynamigrate.target.writer import RunDirSink

    buf = PartitionBuffer("T")
    sink = RunDirSink(buf, "T")
    sink.on_written({"PK": {"S": "a"}}, "run:fp")
    sink.on_conflict({"PK": {"S": "b"}}, "changed")
    sink.flush()  # written records are buffered per batch (TableWriter.write_batch flushes)
    assert set(buf.lines) == {"written", "conflicts"}
    assert '"marker":"run:fp"' in buf.lines["written"][0]


def test_job_arguments_parse_without_glue() -> None:
    from dynamigrate.etl.spark_job import parse_args

    args = parse_args(
        [
            "spark_job.py",
            "--table",
            "Users",
            "--contract_file",
            "c.json",
            "--partition_rows",
            "10",
            "--unknown",
            "x",
        ]
    )
    assert args["table"] == "Users" and args["contract_file"] == "c.json" and args["partition_rows"] == "10"
    assert args["connection_name"] is None


def test_glue_job_arguments_are_all_understood_by_the_job() -> None:
    """Every --key the Glue job definition passes is an argument of the job script (or Glue's own)."""
    from pathlib import Path

    from dynamigrate.etl import glue as g
    from dynamigrate.etl.spark_job import ARGUMENTS

    spec = g.JobSpec("T", "v", "j", "db", "us-west-2", "insert", "R", "_dm_marker", "conn", "version")
    layout = g.S3Layout("b", "p/", "R")
    glue_own = {
        "--job-language",
        "--extra-py-files",
        "--enable-continuous-cloudwatch-log",
        "--enable-metrics",
    }
    for key in g.job_arguments(spec, layout, g.GlueOptions()):
        assert key in glue_own or key[2:] in ARGUMENTS, key
    assert Path(g.__file__).parent.joinpath("spark_job.py").exists()


def test_restart_keeps_the_first_plan_and_adds_only_new_rows() -> None:
    from dynamigrate.etl.spark_job import extend_plan

    first = plan_partitions([EntityStats("A", 1, 100, 100, 100)], partition_rows=50)
    grown = [EntityStats("A", 1, 130, 130, 130), EntityStats("B", 1, 10, 10, 10)]
    again = extend_plan(first, grown, partition_rows=50)
    assert again[: len(first)] == first  # same predicates: the checkpoints still match
    extra = [p.predicate for p in again[len(first) :]]
    assert extra == [
        "`_dm_entity` = 'A' AND `_dm_rowid` BETWEEN 101 AND 130",
        "`_dm_entity` = 'B' AND `_dm_rowid` BETWEEN 1 AND 10",
    ]
    assert [p.index for p in again] == list(range(len(again)))
    assert extend_plan(again, grown, 50) == again  # nothing new: nothing added


def test_jdbc_source_hides_the_password_and_errors_are_redacted() -> None:
    from dynamigrate.config import Config, MySQLSettings, Secret
    from dynamigrate.etl.spark import _redact, jdbc_source

    cfg = Config(mysql=MySQLSettings(user="u", password=Secret("s3cret-pw"), database="shop"))
    jdbc = jdbc_source(cfg, None)
    assert jdbc.properties()["password"] == "s3cret-pw"  # needed by the JDBC driver, and only there
    assert "s3cret-pw" not in repr(jdbc)
    assert _redact("Access denied (password s3cret-pw)", jdbc.password) == "Access denied (password ***)"
    assert _redact("no secret here", "") == "no secret here"


def test_spark_errors_show_the_task_or_jvm_exception_not_py4j_boilerplate() -> None:
    from dynamigrate.etl.spark import _spark_error_text

    jdbc = Exception(
        "An error occurred while calling o67.jdbc.\n: java.sql.SQLSyntaxErrorException: (conn=9) Table "
        "'db.ddb_x_view' doesn't exist\n\tat org.mariadb.jdbc.internal.util.exceptions.Foo(Foo.java:1)"
    )
    assert _spark_error_text(jdbc) == "SQLSyntaxErrorException: (conn=9) Table 'db.ddb_x_view' doesn't exist"
    task = Exception(
        "An error occurred while calling o99.foreachPartition.\n: org.apache.spark.SparkException: Job "
        "aborted due to stage failure: Task 1 in stage 2.0 failed 2 times, most recent failure: "
        "org.apache.spark.api.python.PythonException: Traceback (most recent call last):\n"
        '  File "x.py", line 1, in f\nRuntimeError: injected failure in partition 1, attempt 1\n\n\tat x'
    )
    assert _spark_error_text(task) == "RuntimeError: injected failure in partition 1, attempt 1"


def test_entity_counters_come_from_the_finished_partitions_of_each_entity() -> None:
    from dynamigrate.etl.spark_job import entity_counters

    parts = plan_partitions(
        [EntityStats("A", 1, 20, 20, 20), EntityStats("B", None, None, 7, 0)], partition_rows=10
    )
    a1, a2, b = parts
    done = {
        a1.key("T"): {"counters": {"read": 10, "written": 9, "skipped": 1}, "rejected": {}},
        b.key("T"): {"counters": {"read": 7, "written": 5, "conflicts": 1}, "rejected": {"null_key": 1}},
        "other": {"counters": {"read": 99}},  # not a partition of this plan
    }
    assert entity_counters(parts, done, "T") == {
        "A": {"read": 10, "written": 9, "skipped": 1, "unchanged": 0, "conflicts": 0, "rejected": 0},
        "B": {"read": 7, "written": 5, "skipped": 0, "unchanged": 0, "conflicts": 1, "rejected": 1},
    }
    assert a2.key("T") not in done  # an unfinished partition counts nothing


@given(
    ids=st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), min_size=1, max_size=60, unique=True),
    grown=st.lists(st.integers(min_value=-(2**63), max_value=2**64 - 1), max_size=20, unique=True),
    target=st.integers(min_value=1, max_value=25),
    column=st.sampled_from(["_dm_rowid", "_dm_k1"]),
)
def test_ranges_select_every_key_exactly_once_also_after_the_source_grew(
    ids: list[int], grown: list[int], target: int, column: str
) -> None:
    """Any integer keys (sparse, negative, unsigned BIGINT): each falls into exactly one partition of
    the plan; keys added before a restart fall into exactly one partition of the extended plan."""
    from dynamigrate.etl.spark_job import extend_plan

    def stats(keys: list[int]) -> EntityStats:
        lo, hi, n = min(keys), max(keys), len(keys)
        if column == "_dm_rowid":
            return EntityStats("E", lo, hi, n, n)
        return EntityStats("E", None, None, n, 0, (KeyStats("_dm_k1", True, lo, hi, n),))

    def owners(parts: list[Any], k: int) -> list[int]:
        return [p.index for p in parts if p.lo is not None and p.hi is not None and p.lo <= k <= p.hi]

    parts = plan_partitions([stats(ids)], target)
    assert all(p.column == column for p in parts)
    assert all(len(owners(parts, k)) == 1 for k in ids)
    every = sorted(set(ids) | set(grown))
    extended = extend_plan(parts, [stats(every)], target)
    assert extended[: len(parts)] == parts
    assert all(len(owners(extended, k)) == 1 for k in every)


def test_text_and_binary_keys_are_cut_at_boundaries_taken_from_the_data() -> None:
    from dynamigrate.etl.spark_plan import (
        ViewColumn,
        boundaries_query,
        literal_form,
        needs_boundaries,
        with_boundaries,
    )

    text = ViewColumn("_dm_k1", "varchar", "varchar(32)", "utf8mb4_unicode_ci")
    assert literal_form(text) == ("CONVERT(X'", "' USING utf8mb4) COLLATE utf8mb4_unicode_ci")
    assert literal_form(ViewColumn("_dm_k1", "binary", "binary(16)")) == ("X'", "'")
    assert literal_form(ViewColumn("_dm_k1", "date", "date")) is None  # hash buckets instead
    assert literal_form(ViewColumn("_dm_k1", "varchar", "varchar(3)", "x'; DROP")) is None

    key = KeyStats("_dm_k1", False, None, None, 250, literal_form(text))
    st = EntityStats("CODE", None, None, 250, 0, (key,))
    assert needs_boundaries(st, 100) == 84  # 3 slices of at most 84 rows: 2 boundaries
    assert needs_boundaries(EntityStats("S", None, None, 80, 0, (key,)), 100) == 0  # one slice
    q = boundaries_query("v", "CODE", "_dm_k1", 84)
    assert "ROW_NUMBER() OVER (ORDER BY `_dm_k1`)" in q and "MOD(dm_rn - 1, 84) = 0 AND dm_rn > 1" in q
    parts = plan_partitions([with_boundaries(st, ["6162", "6B30"])], 100)
    lit = "CONVERT(X'{}' USING utf8mb4) COLLATE utf8mb4_unicode_ci".format
    assert [p.predicate for p in parts] == [
        f"`_dm_entity` = 'CODE' AND `_dm_k1` < {lit('6162')}",
        f"`_dm_entity` = 'CODE' AND `_dm_k1` >= {lit('6162')} AND `_dm_k1` < {lit('6B30')}",
        f"`_dm_entity` = 'CODE' AND `_dm_k1` >= {lit('6B30')}",
    ]
    assert {p.scheme for p in parts} == {"text-range"}
    # anything but hex digits never reaches the SQL: the entity falls back to hash buckets
    (bad,) = {p.scheme for p in plan_partitions([with_boundaries(st, ["61'--"])], 100)}
    assert bad == "hash"
