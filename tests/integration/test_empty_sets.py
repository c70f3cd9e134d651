"""Empty sets: DynamoDB cannot store one, so the attribute is absent; never silently.

A MySQL SET with no member ('') or a JSON array of nothing going into SS/NS: the item has no such
attribute, preflight warns (P131 ``empty_set``, count per attribute) and the load counts the items per
attribute (``empty_sets`` in the table's report entry, a warning among its problems). NULL is not an
empty set: absent like every NULL, not counted here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from tests.integration._etl_expect import make_config

from dynamigrate.cli import main


def _items(ddb_client: Any, table: str) -> list[dict[str, Any]]:
    td = TypeDeserializer()
    out = []
    for page in ddb_client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            item = {k: td.deserialize(v) for k, v in raw.items() if k != "_dm_marker"}
            out.append(
                {k: sorted(str(m) for m in v) if isinstance(v, set) else str(v) for k, v in item.items()}
            )
    return sorted(out, key=lambda d: d["PK"])


def test_empty_sets_are_absent_counted_and_reported(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE tg (id VARCHAR(10) PRIMARY KEY, tags SET('a','b','c😀') NULL, nums TEXT NULL)"
            " DEFAULT CHARSET utf8mb4"
        )
        cur.execute(
            "INSERT INTO tg VALUES ('r1','a,c😀','[1, 1.0, 2]'),('r2','','[]'),('r3',NULL,''),"
            "('r4','',' [3] '),('r5','b',NULL)"
        )
    mysql_conn.commit()
    table = f"{ddb_prefix}Tg"
    doc = {
        "table": table,
        "type": "single-entity",
        "source_table": "tg",
        "pk": "PK",
        "attributes": [
            {"name": "PK", "type": "S", "source_table": "tg", "source_column": "id"},
            {"name": "tags", "type": "SS", "source_table": "tg", "source_column": "tags"},
            {"name": "nums", "type": "NS", "source_table": "tg", "source_column": "nums"},
        ],
    }
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps({"tables": [doc]}), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=2)
    assert main(["migrate", "--config", str(cfg), "--skip-validation"]) == 0

    assert _items(ddb_client, table) == [
        {"PK": "r1", "tags": ["a", "c😀"], "nums": ["1", "2"]},
        {"PK": "r2"},
        {"PK": "r3"},
        {"PK": "r4", "nums": ["3"]},
        {"PK": "r5", "tags": ["b"]},
    ]
    run_dir = next(p for p in (tmp_path / "runs").iterdir() if (p / "report.json").exists())
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    (t,) = report["tables"]
    assert t["empty_sets"] == {"nums": 2, "tags": 2}
    problems = [p for p in report.get("problems") or t.get("problems") or [] if "empty set" in p["title"]]
    assert sorted((p["title"], p["count"]) for p in problems) == [
        ("2 item(s) without 'nums': empty set", 2),
        ("2 item(s) without 'tags': empty set", 2),
    ]
    pre = json.loads((run_dir / "preflight.json").read_text(encoding="utf-8"))
    found = sorted(
        (f["code"], f["attribute"], f["count"]) for f in pre["findings"] if f["check"] == "empty_set"
    )
    assert found == [("P131", "nums", 2), ("P131", "tags", 2)]
