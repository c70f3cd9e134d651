"""What only execution shows: one view over odd identifiers, run on MariaDB, every row asserted exactly.

Array order (explicit ORDER BY/LIMIT and the primary-key default) is compared as is, never sorted; JSON
members of the current row nested as JSON; a self-referencing parent and children; the entity filter
(NULL excludes); the key column. The exact SQL of each pattern is pinned in tests/unit/test_sqlgen_exact.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynamigrate.contract import parse_contract
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views

pytestmark = pytest.mark.integration

SCHEMA = [
    "CREATE TABLE `Nodes` (id INT NOT NULL PRIMARY KEY, parent_id INT NULL, `lab``el é` VARCHAR(50) NULL,"
    " meta JSON NULL, made DATETIME NULL, hidden TINYINT NULL) DEFAULT CHARSET=utf8mb4",
    "INSERT INTO `Nodes` VALUES (1, NULL, 'root', '{\"k\": [1, 2]}', '2024-01-02 03:04:05', 0),"
    " (2, 1, 'kid b', NULL, NULL, 0), (3, 1, 'kid a', '[]', '2024-05-06 07:08:09', NULL),"
    " (4, 1, 'kid c', NULL, NULL, 1), (5, 2, 'grand''kid', NULL, NULL, 0)",
    "CREATE TABLE parts (node_id INT NOT NULL, line INT NOT NULL, sku VARCHAR(20) NULL, qty INT NULL,"
    " PRIMARY KEY (node_id, line)) DEFAULT CHARSET=utf8mb4",
    # inserted out of key order: the default array order is the primary key's, not the insertion's
    "INSERT INTO parts VALUES (1, 2, 'B', 5), (1, 3, 'C', 1), (1, 1, 'A', 7), (2, 1, 'Z', NULL)",
]


def _attr(name: str, type_: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, "source_table": "Nodes", "source_column": "id", **kw}


CONTRACT = {
    "tables": [
        {
            "table": "Node_rows",
            "type": "single-entity",
            "source_table": "Nodes",
            "pk": "PK",
            "filter": "hidden = 0",
            "attributes": [
                _attr("PK", "S", transformation={"type": "string-format", "format": "N#{id}"}),
                {"name": "label", "type": "S", "source_table": "Nodes", "source_column": "lab`el é"},
                _attr(
                    "parent_label",
                    "S",
                    join={
                        "type": "self-join",
                        "join_alias": "p",
                        "join_condition": "p.id = Nodes.parent_id",
                        "select_column": "p.`lab``el é`",
                        "null_value": "none",
                    },
                ),
                _attr(
                    "children",
                    "L",
                    join={
                        "type": "json-construction",
                        "target_table": "Nodes",
                        "join_condition": "Nodes.parent_id = Nodes.id",
                        "construction": {
                            "type": "array",
                            "select_columns": {"l": "`lab``el é`"},
                            "order_by": "`lab``el é` DESC",
                            "limit": 2,
                        },
                    },
                ),
                _attr(
                    "parts",
                    "L",
                    join={
                        "type": "json-construction",
                        "target_table": "parts",
                        "join_condition": "parts.node_id = Nodes.id",
                        "construction": {
                            "type": "array",
                            "select_columns": {"sku": "sku", "meta": "Nodes.meta", "made": "Nodes.made"},
                        },
                    },
                ),
                _attr(
                    "part_count",
                    "N",
                    calculation={
                        "type": "aggregate",
                        "target_table": "parts",
                        "join_condition": "parts.node_id = Nodes.id",
                        "operation": "COUNT",
                        "select_column": "*",
                    },
                ),
                _attr(
                    "top_part",
                    "M",
                    join={
                        "type": "json-construction",
                        "target_table": "parts",
                        "join_condition": "parts.node_id = Nodes.id",
                        "construction": {
                            "type": "object",
                            "select_columns": {"sku": "sku"},
                            "order_by": "qty DESC",
                        },
                    },
                ),
            ],
        }
    ]
}


def test_view_rows_of_every_to_one_and_to_many_shape(mysql_conn: Any, mysql_db: str) -> None:
    with mysql_conn.cursor() as cur:
        for stmt in SCHEMA:
            cur.execute(stmt)
    mysql_conn.commit()
    contract, problems = parse_contract(CONTRACT)
    assert contract is not None and not problems.errors, problems
    schema = introspect(mysql_conn, mysql_db)
    (stmt,) = generate_views(contract, dialect="mariadb", schema=schema).statements
    with mysql_conn.cursor() as cur:
        cur.execute(stmt.sql)
        cur.execute(
            "SELECT `PK`, `label`, `parent_label`, `children`, `parts`, `part_count`, `top_part`, `_dm_entity`,"
            " `_dm_rowid`, `_dm_k1` FROM `ddb_node_rows_view` ORDER BY `_dm_k1`"
        )
        rows = [
            (
                *r[:3],
                json.loads(r[3]),
                json.loads(r[4]),
                r[5],
                None if r[6] is None else json.loads(r[6]),
                *r[7:],
            )
            for r in cur.fetchall()
        ]
    meta = {"k": [1, 2]}
    assert rows == [
        (
            "N#1",
            "root",
            "none",
            [{"l": "kid c"}, {"l": "kid b"}],
            [
                {"sku": "A", "meta": meta, "made": "2024-01-02 03:04:05"},
                {"sku": "B", "meta": meta, "made": "2024-01-02 03:04:05"},
                {"sku": "C", "meta": meta, "made": "2024-01-02 03:04:05"},
            ],
            "3",
            {"sku": "A"},
            "Nodes",
            1,
            1,
        ),
        (
            "N#2",
            "kid b",
            "root",
            [{"l": "grand'kid"}],
            [{"sku": "Z", "meta": None, "made": None}],
            "1",
            {"sku": "Z"},
            "Nodes",
            2,
            2,
        ),
        ("N#5", "grand'kid", "kid b", [], [], "0", None, "Nodes", 5, 5),
    ]
