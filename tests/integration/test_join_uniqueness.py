"""A to-one join on columns that are no key of the joined table (C302), on real MariaDB and DynamoDB
Local: ``contract check``, ``views generate --schema-from-db`` and ``migrate`` stop naming the JSON path
and the fix; ``--accept C302`` proceeds knowingly, and the load's accounting equation then fails the
table (one source row became two view rows) instead of passing with an arbitrary customer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, scan_items

from dynamigrate.cli import main

pytestmark = pytest.mark.integration

SCHEMA = [
    "CREATE TABLE customers (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL, name VARCHAR(20))",
    "CREATE TABLE regions (code VARCHAR(10) NOT NULL, label VARCHAR(20), UNIQUE KEY uq_code (code))",
    "CREATE TABLE orders (id INT NOT NULL PRIMARY KEY, customer_code VARCHAR(10), region VARCHAR(10))",
    # code 'A' twice: not unique, although customers has a primary key
    "INSERT INTO customers VALUES (1, 'A', 'Ann'), (2, 'A', 'Abe'), (3, 'B', 'Bea')",
    "INSERT INTO regions VALUES ('N', 'North'), ('S', 'South')",
    "INSERT INTO orders VALUES (10, 'A', 'N'), (11, 'B', 'S'), (12, 'C', NULL)",
]
SOURCE_ROWS = 3
PATH = "tables[0].attributes[1].join"


def _contract(tmp: Path, prefix: str) -> Path:
    data = {
        "tables": [
            {
                "table": f"{prefix}Orders",
                "type": "single-entity",
                "source_table": "orders",
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_column": "id"},
                    {
                        "name": "customer",
                        "type": "S",
                        "join": {
                            "type": "foreign-key",
                            "target_table": "customers",
                            "join_condition": "customers.code = orders.customer_code",
                            "select_column": "customers.name",
                        },
                    },
                    {
                        "name": "region",
                        "type": "S",
                        "join": {
                            "type": "lookup-table",
                            "target_table": "regions",
                            "join_condition": "regions.code = orders.region",
                            "select_column": "regions.label",
                        },
                    },
                ],
            }
        ]
    }
    path = tmp / "contract.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_to_one_join_on_a_column_that_is_not_unique(
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with mysql_conn.cursor() as cur:
        for stmt in SCHEMA:
            cur.execute(stmt)
    mysql_conn.commit()
    contract = _contract(tmp_path, ddb_prefix)
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract)

    assert main(["contract", "check", str(contract), "--config", str(cfg)]) == 2
    out = capsys.readouterr().out
    assert f"ERROR   C302  {PATH}" in out
    assert "compares code, which is not a primary or unique key of customers (its keys: (id))" in out
    assert "json-construction" in out and "--accept C302" in out
    # the join on regions' UNIQUE code is certain: one finding only
    assert "tables[0].attributes[2]" not in out

    sql = tmp_path / "views.sql"
    argv = ["views", "generate", str(contract), "--config", str(cfg), "--schema-from-db", "-o", str(sql)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert PATH in err and "--accept C302" in err
    assert not sql.exists()
    assert main([*argv, "--accept", "C302"]) == 0
    assert "accepted knowingly (C302), generated as written" in sql.read_text(encoding="utf-8")

    orders = f"{ddb_prefix}Orders"
    base = ["migrate", "--config", str(cfg), "--progress", "quiet", "--skip-validation"]
    assert main(base) == 2
    assert orders not in ddb_client.list_tables()["TableNames"]  # stopped before anything was created
    capsys.readouterr()

    # accepted knowingly: order 10 matches two customers, the view has 4 rows for 3 source rows;
    # preflight counts that (P110 row_count, P121 duplicate_key) and stops before anything is written
    assert main([*base, "--accept", "C302"]) == 1
    out = capsys.readouterr().out
    assert f"ERROR   P110 row_count: {orders}: 1 row(s)" in out
    assert f"ERROR   P121 duplicate_key: {orders}.PK: 2 row(s)" in out
    assert orders not in ddb_client.list_tables()["TableNames"]

    # past preflight too: the load's accounting equation fails the table
    assert main([*base, "--accept", "C302,P110,P121"]) == 1
    states = [
        json.loads((r / "state.json").read_text(encoding="utf-8")) for r in (tmp_path / "runs").iterdir()
    ]
    (t,) = [s["tables"][orders] for s in states if orders in s.get("tables", {})]  # the run that loaded
    assert (t["status"], t["read"], t["written"], t["skipped"]) == ("failed", 4, 3, 1)
    equation = (
        f"{SOURCE_ROWS} source rows != written 3 + skipped 1 + conflicts 0 + rejected 0 + filtered 0: "
        "1 outcome(s) MORE than source rows (a join that multiplies rows?)"
    )
    assert t["accounting"]["status"] == "mismatch" and t["accounting"]["equation"] == equation
    assert t["accounting"]["table"]["source_rows_before"] == SOURCE_ROWS
    assert "do not add up" in t["error"] and "contract check" in t["error"]
    # the orders whose join is certain landed exactly; the table is failed, not reported done
    items = scan_items(ddb_client, orders)
    assert sorted(pk for pk, _ in items) == ["10", "11", "12"]
    assert (items[("11", None)]["customer"], items[("11", None)]["region"]) == ("Bea", "South")
    assert "customer" not in items[("12", None)] and "region" not in items[("12", None)]
