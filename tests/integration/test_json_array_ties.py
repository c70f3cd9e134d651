"""json-construction `order_by` with ties: MariaDB returned rows equal in the sort column by primary
key DESCENDING (a filesort detail), the reference evaluator by primary key ascending, so validation
FAILED a correct load ("the view does not match the contract ... a view generator bug") and cut-over
said NO-GO. With the live schema the view now breaks ties by the related table's primary key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration


def test_ties_in_order_by_come_by_primary_key_in_view_and_validation(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE p (code VARCHAR(10) PRIMARY KEY)")
        cur.execute(
            "CREATE TABLE c (id INT PRIMARY KEY, code VARCHAR(10) NOT NULL, at DATETIME NOT NULL, KEY (code))"
        )
        cur.execute("INSERT INTO p VALUES ('p-é')")
        cur.executemany(
            "INSERT INTO c VALUES (%s, 'p-é', %s)",
            [(i, "2024-01-02 00:00:00" if i % 2 else "2024-01-01 00:00:00") for i in range(1, 41)],
        )
    mysql_conn.commit()
    table = f"{ddb_prefix}P"

    def arr(name: str, **extra: Any) -> dict[str, Any]:
        construction = {"type": "array", "select_columns": {"id": "id"}, "order_by": "at DESC", **extra}
        join = {"type": "json-construction", "target_table": "c", "join_condition": "c.code = p.code"}
        return {
            "name": name,
            "type": "L",
            "source_table": "p",
            "source_column": "code",
            "join": {**join, "construction": construction},
        }

    contract = tmp_path / "contract.json"
    attrs = [
        {"name": "code", "type": "S", "source_table": "p", "source_column": "code"},
        arr("top"),
        arr("all_rows"),
    ]
    attrs[1]["join"]["construction"]["limit"] = 4
    contract.write_text(
        json.dumps(
            [
                {
                    "table": table,
                    "type": "single-entity",
                    "source_table": "p",
                    "pk": "code",
                    "attributes": attrs,
                }
            ]
        ),
        encoding="utf-8",
    )
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract)
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert summary.exit_code() == 0, summary.render_text()  # validation compared the item: PASSED

    item = ddb_client.get_item(TableName=table, Key={"code": {"S": "p-é"}})["Item"]
    ids = [int(e["M"]["id"]["N"]) for e in item["all_rows"]["L"]]
    odd, even = list(range(1, 41, 2)), list(range(2, 41, 2))  # the later day first, ties by id ascending
    assert ids == odd + even
    assert [int(e["M"]["id"]["N"]) for e in item["top"]["L"]] == odd[:4]
