"""The reference evaluator joins text columns of different collations as the server does.

A ``utf8mb4_bin`` key joined from a column of the database's case-insensitive collation: the server
compares under the ``_bin`` collation ('Web-1' and 'web-1' are two hosts). The evaluator took each
side's weight under its own collation, so nothing matched and validation failed every item of a
correct migration (COUNT 0, arrays empty, denormalised attributes missing)."""

from __future__ import annotations

from typing import Any

import pymysql
import pytest

from dynamigrate.contract import parse_contract
from dynamigrate.evaluate import Evaluator

pytestmark = pytest.mark.integration


def _a(name: str, typ: str, table: str, col: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": typ, "source_table": table, "source_column": col, **kw}


CONTRACT = {
    "tables": [
        {
            "table": "Hosts",
            "type": "single-entity",
            "source_table": "hosts",
            "pk": "host",
            "attributes": [
                _a("host", "S", "hosts", "host"),
                _a(
                    "n",
                    "N",
                    "hosts",
                    "host",
                    calculation={
                        "type": "aggregate",
                        "target_table": "metrics",
                        "join_condition": "metrics.host = hosts.host",
                        "operation": "COUNT",
                        "select_column": "metrics.ts",
                    },
                ),
            ],
        },
        {
            "table": "Metrics",
            "type": "single-entity",
            "source_table": "metrics",
            "pk": "host",
            "sk": "ts",
            "attributes": [
                _a("host", "S", "metrics", "host"),
                _a("ts", "N", "metrics", "ts"),
                _a(
                    "rack",
                    "N",
                    "metrics",
                    "host",
                    join={
                        "type": "foreign-key",
                        "target_table": "hosts",
                        "join_condition": "hosts.host = metrics.host",
                        "select_column": "hosts.rack",
                    },
                ),
            ],
        },
    ]
}


def _key(item: dict[str, Any]) -> tuple[str, str]:
    """Items in key order (not by their text: attribute order is not part of an item)."""
    return item["host"]["S"], item.get("ts", {}).get("N", "")


def test_bin_key_joined_from_a_case_insensitive_column(
    mysql_conn: Any, mysql_db: str, mysql_settings: Any
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE hosts (host VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PRIMARY KEY, rack INT)"
        )
        cur.execute(
            "CREATE TABLE metrics (host VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL,"
            " ts INT NOT NULL, PRIMARY KEY (host, ts))"
        )
        cur.execute("INSERT INTO hosts VALUES ('web-1', 1), ('Web-1', 2), ('db-😀', 3)")
        cur.execute("INSERT INTO metrics VALUES ('web-1', 1), ('web-1', 2), ('db-😀', 3), ('DB-😀', 4)")
        # what the server says (the view's joins): case-sensitive under utf8mb4_bin
        cur.execute("SELECT COUNT(*) FROM metrics m JOIN hosts h ON h.host = m.host")
        assert cur.fetchone() == (3,)
    mysql_conn.commit()
    contract, problems = parse_contract(CONTRACT)
    assert contract is not None and not problems.errors, problems

    def factory() -> Any:
        return pymysql.connect(
            **{**mysql_settings.connect_kwargs(), "database": mysql_db, "autocommit": True}
        )

    def items(table: str) -> list[dict[str, Any]]:
        with Evaluator(factory, contract, table) as ev:
            out = [r.item for r in ev.iter_items(None, 10) if r.ok]
        return sorted(out, key=_key)

    assert items("Hosts") == sorted(
        [
            {"host": {"S": "web-1"}, "n": {"N": "2"}},
            {"host": {"S": "Web-1"}, "n": {"N": "0"}},
            {"host": {"S": "db-😀"}, "n": {"N": "1"}},
        ],
        key=_key,
    )
    assert items("Metrics") == sorted(
        [
            {"host": {"S": "web-1"}, "ts": {"N": "1"}, "rack": {"N": "1"}},
            {"host": {"S": "web-1"}, "ts": {"N": "2"}, "rack": {"N": "1"}},
            {"host": {"S": "db-😀"}, "ts": {"N": "3"}, "rack": {"N": "3"}},
            {"host": {"S": "DB-😀"}, "ts": {"N": "4"}},
        ],
        key=_key,
    )
