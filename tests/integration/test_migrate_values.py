"""`migrate` on a small hand-made table: every item and every rejected row written out by hand.

Each row probes one rule of docs/contract-format.md that a bug could break silently: ``source_format``
says how to read a text date, a NULL sort key is rejected (never written, never dropped), numbers keep
all 38 significant digits, NULL values leave the attribute out, empty strings stay.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, plain, without_marker

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir, read_jsonl

pytestmark = pytest.mark.integration

ROWS = [
    # id, sensor, taken, day_text (DD/MM/YYYY), amount DECIMAL(38,10), note
    (1, "s1", "t1", "31/12/2023", "1234567890123456789012345678.0123456789", "x"),
    (2, "s1", "t2", "01/02/2024", "-0.0000000001", None),
    (3, "s2", None, "15/06/2022", "1.0000000000", None),  # NULL sort key: rejected
    (4, "s2", "t4", None, None, None),  # NULLs: attributes absent
    (5, "s3", "", "09/09/1999", "99999999999999999999999999.9999999999", None),  # empty sort key: rejected
    (6, "s3", "t6", "29/02/2024", "0E-10", ""),  # an empty string is kept
]


def _contract(name: str) -> dict[str, Any]:
    def attr(n: str, t: str, col: str, **extra: Any) -> dict[str, Any]:
        return {"name": n, "type": t, "source_table": "readings", "source_column": col, **extra}

    return {
        "tables": [
            {
                "table": name,
                "type": "single-entity",
                "source_table": "readings",
                "pk": "PK",
                "sk": "SK",
                "attributes": [
                    attr("PK", "S", "sensor"),
                    attr("SK", "S", "taken"),
                    attr(
                        "month",
                        "S",
                        "day_text",
                        transformation={
                            "type": "date-format",
                            "format": "YYYY-MM",
                            "source_format": "DD/MM/YYYY",
                        },
                    ),
                    attr("day", "S", "day_text"),
                    attr("amount", "N", "amount"),
                    attr("note", "S", "note"),
                ],
            }
        ]
    }


def test_hand_written_items_and_rejections(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE readings (id INT PRIMARY KEY, sensor VARCHAR(20) NOT NULL, taken VARCHAR(20) NULL,"
            " day_text VARCHAR(10) NULL, amount DECIMAL(38,10) NULL, note VARCHAR(20) NULL) DEFAULT CHARSET=utf8mb4"
        )
        cur.executemany("INSERT INTO readings VALUES (%s, %s, %s, %s, %s, %s)", ROWS)
    name = f"{ddb_prefix}Readings"
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(_contract(name)), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract)

    summary = migrate(cfg, MigrateOptions(accept=("key_missing",), progress_mode="quiet"))
    assert summary.status == "ok", summary.render_text()

    items = {
        (i["PK"]["S"], i["SK"]["S"]): without_marker({k: plain(v) for k, v in i.items()})
        for i in ddb_client.scan(TableName=name, ConsistentRead=True)["Items"]
    }
    assert items == {
        ("s1", "t1"): {
            "PK": "s1",
            "SK": "t1",
            "month": "2023-12",
            "day": "31/12/2023",
            "amount": Decimal("1234567890123456789012345678.0123456789"),
            "note": "x",
        },
        ("s1", "t2"): {
            "PK": "s1",
            "SK": "t2",
            "month": "2024-02",
            "day": "01/02/2024",
            "amount": Decimal("-1E-10"),
        },
        ("s2", "t4"): {"PK": "s2", "SK": "t4"},
        ("s3", "t6"): {
            "PK": "s3",
            "SK": "t6",
            "month": "2024-02",
            "day": "29/02/2024",
            "amount": Decimal(0),
            "note": "",
        },
    }
    # the exact text DynamoDB holds for the 38-digit number (no rounding to 28 digits anywhere)
    got = ddb_client.get_item(TableName=name, Key={"PK": {"S": "s1"}, "SK": {"S": "t1"}})["Item"]
    assert got["amount"] == {"N": "1234567890123456789012345678.0123456789"}

    (t,) = summary.tables
    assert (t.read, t.written, t.skipped) == (6, 4, 0)
    assert t.rejected == {"null_key": 1, "empty_key": 1}
    rejected = sorted(
        read_jsonl(RunDir.open(summary.run_dir).file("rejected.jsonl")), key=lambda r: r["code"]
    )
    assert [(r["code"], r["entity"], str(r["row"]["_dm_rowid"])) for r in rejected] == [
        ("empty_key", "readings", "5"),
        ("null_key", "readings", "3"),
    ]
    assert all("SK" in r["reason"] for r in rejected)
