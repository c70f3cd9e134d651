"""Readings that are not certain stop, on the sample shop in MariaDB (declared foreign keys): the
workshop's original contract (Products.category_path, a self-join of products on
products.category_id) stops `contract check`, `views generate` and `migrate` with the corrected
snippet; `--accept C301` proceeds knowingly; the corrected example contract passes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import connect, make_config, scan_items

from dynamigrate.cli import main

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WORKSHOP = ROOT / "tests" / "data" / "workshop-migrationContract.json"
EXAMPLE = ROOT / "examples" / "workshop-contract.json"
SNIPPET = (
    '{"type": "foreign-key", "target_table": "categories", "join_condition": '
    '"categories.id = products.category_id", "select_column": "categories.name"}'
)
PATH = "tables[1].attributes[4].join.join_condition"


def _renamed(src: Path, tmp: Path, prefix: str) -> Path:
    data = json.loads(src.read_text(encoding="utf-8"))
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    out = tmp / src.name
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_contract_check_and_views_generate_stop_on_the_workshop_original(
    shop_db: str, ddb_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, cfg = make_config(tmp_path, shop_db, ddb_endpoint, WORKSHOP)

    assert main(["contract", "check", str(WORKSHOP), "--config", str(cfg)]) == 2
    out = capsys.readouterr().out
    assert f"ERROR   C301  {PATH}" in out
    assert "references categories.id (declared foreign key)" in out
    assert SNIPPET in out
    assert main(["contract", "check", str(WORKSHOP), "--config", str(cfg), "--accept", "C301"]) == 0
    assert f"WARNING C301  {PATH}" in capsys.readouterr().out

    sql = tmp_path / "views.sql"
    argv = ["views", "generate", str(WORKSHOP), "--config", str(cfg), "--schema-from-db", "-o", str(sql)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert PATH in err and SNIPPET in err and "--accept C301" in err
    assert not sql.exists()
    assert main([*argv, "--accept", "C301"]) == 0
    assert "accepted knowingly (C301), generated as written" in sql.read_text(encoding="utf-8")

    # the corrected example contract is certain: no C301, the views generate
    assert main(["contract", "check", str(EXAMPLE), "--config", str(cfg)]) == 0
    assert "C301" not in capsys.readouterr().out
    assert (
        main(["views", "generate", str(EXAMPLE), "--config", str(cfg), "--schema-from-db", "-o", str(sql)])
        == 0
    )


def test_migrate_stops_and_proceeds_knowingly_with_accept(
    shop_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    contract = _renamed(WORKSHOP, tmp_path, ddb_prefix)
    _, cfg = make_config(tmp_path, shop_db, ddb_endpoint, contract)
    products_t = f"{ddb_prefix}Products"
    base = [
        "migrate",
        "--config",
        str(cfg),
        "--tables",
        products_t,
        "--progress",
        "quiet",
        "--skip-validation",
    ]

    assert main(base) == 2
    assert products_t not in ddb_client.list_tables()["TableNames"]  # stopped before anything was created

    assert main([*base, "--accept", "C301"]) == 0
    # generated as written, knowingly: the category path is the name of the *product* whose id is the
    # product's category_id (the workshop's self-join), "" without one
    conn = connect(shop_db)
    with conn.cursor() as cur:
        cur.execute("SELECT p.id, q.name FROM products p LEFT JOIN products q ON q.id = p.category_id")
        expected = {str(pid): (name if name is not None else "") for pid, name in cur.fetchall()}
    conn.close()
    items = scan_items(ddb_client, products_t)
    assert {pk: item["category_path"] for (pk, _sk), item in items.items()} == expected
