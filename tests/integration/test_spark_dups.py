"""Duplicate DynamoDB keys with the Spark engine: exactly what the local engine does.

Source rows that produce one key fall into different Spark partitions (``partition_rows: 3``): the
first row in the local engine's read order (entities in contract order, rows by source key in the key
column's collation) is the item, the later ones are ``skipped`` (``duplicate_key``) and never sent,
listed once per key in ``duplicates/<T>.jsonl``, reported, in the accounting equation, and validation
passes. Then the local engine loads the same data into other tables: the same items and numbers.
A partition that fails after its first write and is retried skips the same rows and counts its own
earlier write as written, not as a duplicate.

Expected items and counts are written out by hand from the rows below.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config
from _spark_faults import FailingWrites, ship_by_value
from boto3.dynamodb.types import TypeDeserializer

from dynamigrate.cli import main

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Any:
    from dynamigrate.etl.spark import spark_session

    ship_by_value()
    session = spark_session(None, "local[2,2]")
    yield session
    session.stop()


CI = "DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_general_ci"
# 'a@x' three times (rows 1 and 5 identical, row 8 other content), 'A@x' is another DynamoDB key
PEOPLE = [
    (1, "a@x", "A1"),
    (2, "b@x", "B"),
    (3, "c@x", "C"),
    (4, "d@x", "D"),
    (5, "a@x", "A1"),
    (6, "e@x", "E"),
    (7, "f@x", "F"),
    (8, "a@x", "A3"),
    (9, "A@x", "UP"),
    (10, "h@x", "H"),
]
# composite VARCHAR+INT key, _ci: read order a1 a2 a3 B1 c1 d1 e1 (binary order would put B1 first)
LINES = [
    ("B", 1, "g1", "1", "L-B1"),
    ("a", 2, "g1", "1.0", "L-a2"),  # the same number as B1's: a2 comes first, it wins
    ("a", 1, "g2", "5", "L-a1"),
    ("a", 3, "g2", "5", "L-a1"),  # identical item to a1's: skipped, not "our own earlier write"
    ("c", 1, "G2", "5", "L-c1"),  # G2 is not g2
    ("d", 1, "g3", "7", "L-d1"),
    ("e", 1, "g4", "8", "L-e1"),
]
# VARCHAR key, the second entity: x repeats a line's key; y before Z (_ci) share (g6, 3)
NOTES = [
    ("w", "g7", "4", "N-w"),
    ("x", "g1", "1.00", "N-x"),
    ("Z", "g6", "3.0", "N-Z"),
    ("y", "g6", "3", "N-y"),
]
# no key at all, the third entity: (g7, 4) is the note w's key; (g8, 2) twice, identical
LOOSE = [("g7", "4", "X-1"), ("g8", "2", "X-2"), ("g8", "2", "X-2")]

EXPECTED_PEOPLE = {
    "a@x": {"name": "A1"},
    "A@x": {"name": "UP"},
    **{f"{c}@x": {"name": c.upper()} for c in "bcdefh"},
}
EXPECTED_MULTI = {
    ("g2", "5"): {"label": "L-a1"},
    ("g1", "1"): {"label": "L-a2"},
    ("G2", "5"): {"label": "L-c1"},
    ("g3", "7"): {"label": "L-d1"},
    ("g4", "8"): {"label": "L-e1"},
    ("g7", "4"): {"label": "N-w"},
    ("g6", "3"): {"label": "N-y"},
    ("g8", "2"): {"label": "X-2"},
}
# each repeated key once, in the order the pass meets its first duplicate (a3, B1, Z, g7 of LOOSE, g8)
DUP_KEYS_MULTI = [("g2", "5"), ("g1", "1"), ("g6", "3"), ("g7", "4"), ("g8", "2")]


def _source(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE TABLE people (id INT PRIMARY KEY, email VARCHAR(50) NOT NULL, name VARCHAR(20)) {CI}"
        )
        cur.executemany("INSERT INTO people VALUES (%s, %s, %s)", PEOPLE)
        cur.execute(
            "CREATE TABLE dlines (code VARCHAR(10) NOT NULL, n INT NOT NULL, grp VARCHAR(10), num VARCHAR(20),"
            f" label VARCHAR(20), PRIMARY KEY (code, n)) {CI}"
        )
        cur.executemany("INSERT INTO dlines VALUES (%s, %s, %s, %s, %s)", LINES)
        cur.execute(
            "CREATE TABLE notes (ref VARCHAR(10) NOT NULL PRIMARY KEY, grp VARCHAR(10), num VARCHAR(20),"
            f" label VARCHAR(20)) {CI}"
        )
        cur.executemany("INSERT INTO notes VALUES (%s, %s, %s, %s)", NOTES)
        cur.execute(f"CREATE TABLE loose (grp VARCHAR(10), num VARCHAR(20), label VARCHAR(20)) {CI}")
        cur.executemany("INSERT INTO loose VALUES (%s, %s, %s)", LOOSE)
    conn.commit()


def _a(name: str, table: str, column: str, type_: str = "S") -> dict[str, Any]:
    return {"name": name, "type": type_, "source_table": table, "source_column": column}


def _entity(name: str, source: str) -> dict[str, Any]:
    return {
        "entity_type": name,
        "source_table": source,
        "pk_template": "{grp}",
        "sk_template": "{num}",
        "attributes": [_a("PK", source, "grp"), _a("SK", source, "num", "N"), _a("label", source, "label")],
    }


def _contract(prefix: str) -> dict[str, Any]:
    return {
        "tables": [
            {
                "table": f"{prefix}People",
                "type": "single-entity",
                "source_table": "people",
                "pk": "PK",
                "attributes": [_a("PK", "people", "email"), _a("name", "people", "name")],
            },
            {
                "table": f"{prefix}Multi",
                "type": "multi-entity",
                "source_table": "dlines",
                "pk": "PK",
                "sk": "SK",
                "entities": [_entity("LINE", "dlines"), _entity("NOTE", "notes"), _entity("LOOSE", "loose")],
            },
        ]
    }


def _items(ddb_client: Any, table: str) -> dict[tuple[str, ...], dict[str, str]]:
    td = TypeDeserializer()
    out = {}
    for page in ddb_client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            item = {k: str(td.deserialize(v)) for k, v in raw.items() if k != "_dm_marker"}
            key = tuple(item.pop(k) for k in ("PK", "SK") if k in item)
            out[key] = item
    return out


def _migrate(tmp: Path, mysql_db: str, endpoint: str, prefix: str, engine: str) -> dict[str, Any]:
    tmp.mkdir()
    contract = tmp / "contract.json"
    contract.write_text(json.dumps(_contract(prefix)), encoding="utf-8")
    _, cfg = make_config(tmp, mysql_db, endpoint, contract, chunk_rows=2)
    raw = json.loads(cfg.read_text())
    cfg.write_text(json.dumps({**raw, "spark": {"partition_rows": 3, "chunk_rows": 2}}))
    argv = [
        "migrate",
        "--config",
        str(cfg),
        "--engine",
        engine,
        "--accept",
        "duplicate_key",
        "--progress",
        "quiet",
    ]
    assert main(argv) == 0
    (run_dir,) = (tmp / "runs").iterdir()
    state = json.loads((run_dir / "state.json").read_text())
    report = json.loads((run_dir / "report.json").read_text())
    tables = {t["name"].removeprefix(prefix): t for t in report["tables"]}
    files = {
        name: [json.loads(line) for line in (run_dir / t["duplicate_keys"]["file"]).read_text().splitlines()]
        for name, t in tables.items()
    }
    return {"state": state, "tables": tables, "files": files}


FIGURES = ("read", "written", "skipped", "conflicts", "rejected", "bytes")


def test_duplicate_keys_across_partitions_like_the_local_engine(
    spark: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
) -> None:
    _source(mysql_conn)
    sp = _migrate(tmp_path / "spark", mysql_db, ddb_endpoint, ddb_prefix + "S", "spark")

    assert sp["state"]["phases"]["validate"]["detail"].startswith("PASSED")
    assert _items(ddb_client, f"{ddb_prefix}SPeople") == {(k,): v for k, v in EXPECTED_PEOPLE.items()}
    assert _items(ddb_client, f"{ddb_prefix}SMulti") == EXPECTED_MULTI
    people, multi = sp["tables"]["People"], sp["tables"]["Multi"]
    n_multi = len(LINES) + len(NOTES) + len(LOOSE)
    assert people["accounting"]["equation"] == (
        f"{len(PEOPLE)} source rows = written {len(EXPECTED_PEOPLE)} + skipped 2 + conflicts 0 + rejected 0"
        " + filtered 0"
    )
    assert multi["accounting"]["equation"] == (
        f"{n_multi} source rows = written {len(EXPECTED_MULTI)} + skipped 6 + conflicts 0 + rejected 0"
        " + filtered 0"
    )
    assert people["duplicate_keys"]["skipped"] == 2 and multi["duplicate_keys"]["skipped"] == 6
    assert sp["files"]["People"] == [{"table": f"{ddb_prefix}SPeople", "key": {"PK": {"S": "a@x"}}}]
    assert sp["files"]["Multi"] == [
        {"table": f"{ddb_prefix}SMulti", "key": {"PK": {"S": pk}, "SK": {"N": sk}}}
        for pk, sk in DUP_KEYS_MULTI
    ]
    states = sp["state"]["tables"]
    assert states[f"{ddb_prefix}SMulti"]["extra"]["spark"]["partitions"] >= 4  # the rows are spread

    # the local engine on the same rows: the same items, figures, lists and report entries
    lo = _migrate(tmp_path / "local", mysql_db, ddb_endpoint, ddb_prefix + "L", "local")
    verdicts = [re.sub(r"[0-9.]+ s of", "", r["state"]["phases"]["validate"]["detail"]) for r in (sp, lo)]
    assert verdicts[0] == verdicts[1]
    for name in ("People", "Multi"):
        assert _items(ddb_client, f"{ddb_prefix}L{name}") == _items(ddb_client, f"{ddb_prefix}S{name}")
        s_entry, l_entry = states[f"{ddb_prefix}S{name}"], lo["state"]["tables"][f"{ddb_prefix}L{name}"]
        assert {f: s_entry[f] for f in FIGURES} == {f: l_entry[f] for f in FIGURES}, name
        assert s_entry["entities"] == l_entry["entities"], name
        s_dups, l_dups = sp["tables"][name]["duplicate_keys"], lo["tables"][name]["duplicate_keys"]
        assert s_dups["skipped"] == l_dups["skipped"], name
        assert s_dups["file"] == f"duplicates/{ddb_prefix}S{name}.jsonl", name
        assert l_dups["file"] == f"duplicates/{ddb_prefix}L{name}.jsonl", name
        # the local engine orders keys met in one chunk as it likes: the same examples, any order
        assert sorted(map(json.dumps, s_dups["examples"])) == sorted(map(json.dumps, l_dups["examples"]))
        assert sp["tables"][name]["accounting"]["equation"] == lo["tables"][name]["accounting"]["equation"]
        keys = [r["key"] for r in sp["files"][name]]
        assert sorted(map(json.dumps, keys)) == sorted(json.dumps(r["key"]) for r in lo["files"][name])


def test_a_retried_partition_with_duplicates_counts_exactly(
    spark: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
) -> None:
    import dataclasses

    from dynamigrate.contract.load import load_contract
    from dynamigrate.etl.base import EtlContext, EtlOptions
    from dynamigrate.etl.spark import SparkEngine
    from dynamigrate.runstate import RunDir
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements
    from dynamigrate.target.provision import ensure_table
    from dynamigrate.validate.post import validate_run

    _source(mysql_conn)
    contract_file = tmp_path / "contract.json"
    contract_file.write_text(json.dumps(_contract(ddb_prefix)), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract_file)
    cfg = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": 3, "chunk_rows": 2}})
    contract = load_contract(contract_file)
    schema = introspect(mysql_conn, mysql_db)
    with mysql_conn.cursor() as cur:
        for stmt in generate_statements(contract, dialect="mariadb", schema=schema):
            cur.execute(stmt.sql)
    table = contract.table(f"{ddb_prefix}People")
    ensure_table(ddb_client, table)
    run = RunDir.create(cfg.migration.output_dir)
    ctx = EtlContext(
        config=cfg, contract=contract, run=run, options=EtlOptions(), database=mysql_db, schema=schema
    )
    # partition 1 holds ids 4..6 (5 repeats 1's item exactly): its first attempt writes id 4 (chunk
    # 4, 5), then fails on id 6; the retry meets id 4's item (its own write) and skips id 5 again
    flaky = FailingWrites("us-east-1", ddb_endpoint, partition=1, after_items=1)
    r = SparkEngine(spark, task_client_factory=flaky).run_table(ctx, table)

    assert r.status == "done", r.error
    parts = sorted(p.name for p in (run.path / "spark-parts" / table.name).glob("part-00001-*"))
    assert [p.rsplit("-", 1)[1] for p in parts] == ["a0", "a1"], parts
    assert _items(ddb_client, table.name) == {(k,): v for k, v in EXPECTED_PEOPLE.items()}
    assert (r.read, r.written, r.skipped, r.conflicts) == (len(PEOPLE), len(EXPECTED_PEOPLE), 2, 0)
    assert r.extra["duplicate_keys"]["skipped"] == 2
    assert r.accounting is not None and r.accounting["status"] == "ok"
    run.update_state(tables={table.name: r.to_dict()})
    validation = validate_run(cfg, contract, run, tables=[table], mode="full")
    assert validation.passed
