"""``migrate --dry-run`` counts the rows the load will read: the filter's kept rows, the filtered apart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tests.integration._etl_expect import make_config

from dynamigrate.cli import main


@pytest.mark.parametrize("where", ["table", "entity"])
def test_dry_run_shows_kept_and_filtered_rows(
    where: str,
    mysql_db: str,
    mysql_conn: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE bk (isbn VARCHAR(20) PRIMARY KEY, title TEXT, deleted_at DATETIME(6) NULL)")
        cur.execute(
            "INSERT INTO bk VALUES ('978-0','😀',NULL),('978-1','b','2024-01-01 00:00:00.000001'),"
            "('978-2',NULL,NULL),('X','',NULL)"
        )
        cur.execute("CREATE TABLE au (id INT PRIMARY KEY, name TEXT)")
        cur.execute("INSERT INTO au VALUES (1,'a'),(2,'b')")
    mysql_conn.commit()
    attrs = [
        {"name": "PK", "type": "S", "source_table": "bk", "source_column": "isbn"},
        {"name": "title", "type": "S", "source_table": "bk", "source_column": "title"},
    ]
    books: dict[str, Any] = {
        "table": f"{ddb_prefix}Books",
        "type": "single-entity",
        "source_table": "bk",
        "pk": "PK",
        "attributes": attrs,
    }
    if where == "table":
        books["filter"] = "deleted_at IS NULL"
    else:
        books = {
            "table": f"{ddb_prefix}Books",
            "type": "multi-entity",
            "pk": "PK",
            "entities": [
                {
                    "entity_type": "book",
                    "source_table": "bk",
                    "filter": "deleted_at IS NULL",
                    "attributes": attrs,
                }
            ],
        }
    authors = {
        "table": f"{ddb_prefix}Authors",
        "type": "single-entity",
        "source_table": "au",
        "pk": "PK",
        "attributes": [{"name": "PK", "type": "N", "source_table": "au", "source_column": "id"}],
    }
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps({"tables": [books, authors]}), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract)
    assert main(["migrate", "--config", str(cfg), "--dry-run"]) == 0
    out = capsys.readouterr().out
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("    ")}
    assert "3 rows kept (4 source rows, 1 filtered out);" in lines[f"{ddb_prefix}Books"], out
    assert " 2 rows; " in lines[f"{ddb_prefix}Authors"], out
    assert "filtered" not in lines[f"{ddb_prefix}Authors"]
