"""replicate on table shapes the sample shop lacks: a VARCHAR key in a case-insensitive collation, a
composite key whose parts change, a table with no key at all, NULLs and emoji everywhere; a parent
feeding a to-one join, an aggregate and an array. After the changes, every item equals a fresh full
migration of the final source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_replicate import PORT, _connect, _exec, _replicate, binlog_on  # noqa: F401 - fixture

from dynamigrate.config import load_config
from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration

QUIET = {"progress_mode": "quiet", "skip_validation": True}


def _a(name: str, t: str, table: str, column: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": t, "source_table": table, "source_column": column, **extra}


CONTRACT = {
    "tables": [
        {
            "table": "Parents",
            "type": "single-entity",
            "source_table": "parent",
            "pk": "PK",
            "attributes": [
                _a("PK", "S", "parent", "code"),
                _a("label", "S", "parent", "label"),
                _a(
                    "n_children",
                    "N",
                    "parent",
                    "code",
                    calculation={
                        "type": "aggregate",
                        "target_table": "child",
                        "join_condition": "child.parent_code = parent.code",
                        "operation": "COUNT",
                        "select_column": "child.a",
                    },
                ),
                _a(
                    "kids",
                    "L",
                    "parent",
                    "code",
                    join={
                        "type": "json-construction",
                        "target_table": "child",
                        "join_condition": "child.parent_code = parent.code",
                        "construction": {
                            "type": "array",
                            "select_columns": {"a": "a", "b": "b", "note": "note"},
                            "order_by": "a, b",
                        },
                    },
                ),
            ],
        },
        {
            "table": "Children",
            "type": "single-entity",
            "source_table": "child",
            "pk": "PK",
            "sk": "SK",
            "attributes": [
                _a("PK", "S", "child", "a", transformation={"type": "string-format", "format": "C#{a}"}),
                _a("SK", "S", "child", "b"),
                _a("note", "S", "child", "note"),
                _a(
                    "parent_label",
                    "S",
                    "child",
                    "parent_code",
                    join={
                        "type": "foreign-key",
                        "target_table": "parent",
                        "join_condition": "parent.code = child.parent_code",
                        "select_column": "parent.label",
                    },
                ),
            ],
        },
        {
            "table": "Loose",
            "type": "single-entity",
            "source_table": "loose",
            "pk": "PK",
            "attributes": [
                _a("PK", "S", "loose", "y", transformation={"type": "string-format", "format": "L#{y}"}),
                _a("x", "N", "loose", "x"),
            ],
        },
    ]
}


def _setup(conn: Any) -> None:
    _exec(
        conn,
        "CREATE TABLE parent (code VARCHAR(20) COLLATE utf8mb4_general_ci PRIMARY KEY, label VARCHAR(50) NULL)",
    )
    _exec(
        conn,
        "CREATE TABLE child (a INT NOT NULL, b VARCHAR(10) NOT NULL, parent_code VARCHAR(20) NULL, "
        "note TEXT NULL, PRIMARY KEY (a, b))",
    )
    _exec(conn, "CREATE TABLE loose (x INT NULL, y VARCHAR(10) NULL)")
    _exec(conn, "INSERT INTO parent VALUES ('p1', 'Eins ✨'), ('p2', NULL), ('Ünï', '')")
    _exec(
        conn,
        "INSERT INTO child VALUES (1, 'a', 'p1', NULL), (1, 'b', 'p1', '🚀'), (2, 'a', 'P2', 'x'), "
        "(3, 'z', NULL, 'orphan'), (4, 'q', 'ünï', '')",
    )
    _exec(conn, "INSERT INTO loose VALUES (1, 'k1'), (NULL, 'k2'), (3, 'k3'), (NULL, 'k5')")


def _config(tmp: Path, name: str, db: str, endpoint: str, prefix: str) -> Path:
    data = json.loads(json.dumps(CONTRACT))
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    contract = tmp / f"{name}-contract.json"
    contract.write_text(json.dumps(data), encoding="utf-8")
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "mysql": {
            "host": "127.0.0.1",
            "port": PORT,
            "user": "dynamigrate",
            "password": "dynamigrate",
            "database": db,
        },
        "migration": {"contract_file": str(contract), "output_dir": str(tmp / f"{name}-runs")},
    }
    path = tmp / f"{name}-config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def _items(client: Any, table: str) -> dict[str, dict[str, Any]]:
    out = {}
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            item.pop("_dm_marker", None)
            out[json.dumps({k: item[k] for k in ("PK", "SK") if k in item}, sort_keys=True)] = item
    return out


@pytest.mark.usefixtures("binlog_on")
def test_replicate_shapes_equal_fresh_migration(
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
) -> None:
    conn = _connect(mysql_db)
    _setup(conn)
    cfg_path = _config(tmp_path, "main", mysql_db, ddb_endpoint, ddb_prefix)
    first = migrate(load_config(cfg_path), MigrateOptions(**QUIET))
    assert first.status == "ok", first.render_text()

    # the parent's label (to-one join) and a case-only change of its key: 'p1' -> 'P1' still matches
    _exec(conn, "UPDATE parent SET label = 'Zwei 🎉', code = 'P1' WHERE code = 'p1'")
    # a child's key parts change (old item gone, new one written; both parents' counts and arrays)
    _exec(conn, "UPDATE child SET a = 9, b = 'n', parent_code = 'p2' WHERE a = 1 AND b = 'b'")
    # NULLs in and out, emoji, an accent-insensitive match of the parent key
    _exec(conn, "UPDATE child SET note = NULL, parent_code = 'UNI' WHERE a = 4")
    _exec(conn, "UPDATE parent SET code = 'UNI' WHERE code = 'Ünï'")
    _exec(conn, "INSERT INTO child VALUES (5, '∅', 'P2', 'neu 🦄'), (6, 'e', 'gone', NULL)")
    _exec(conn, "DELETE FROM child WHERE a = 2")
    _exec(conn, "INSERT INTO parent VALUES ('new', 'Neu')")
    _exec(conn, "DELETE FROM parent WHERE code = 'new'")
    # the keyless table: a row deleted, key changes, a NULL set and one filled in
    _exec(conn, "DELETE FROM loose WHERE y = 'k3'")
    _exec(conn, "UPDATE loose SET y = 'k4' WHERE y = 'k5'")
    _exec(conn, "UPDATE loose SET y = 'k9' WHERE x = 1")
    _exec(conn, "UPDATE loose SET x = 7 WHERE x IS NULL")

    result = json.loads(_replicate(cfg_path, "--stop-at-head", "--json").stdout)
    assert result["status"] == "caught up" and result["conflicts"] == 0, result

    fresh = _config(tmp_path, "fresh", mysql_db, ddb_endpoint, f"{ddb_prefix}f_")
    again = migrate(load_config(fresh), MigrateOptions(**QUIET))
    assert again.status == "ok", again.render_text()
    for t in ("Parents", "Children", "Loose"):
        got, want = _items(ddb_client, ddb_prefix + t), _items(ddb_client, f"{ddb_prefix}f_{t}")
        assert got == want, (
            t,
            {k: (got.get(k), want.get(k)) for k in set(got) | set(want) if got.get(k) != want.get(k)},
        )
