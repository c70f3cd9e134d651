"""Contract lint against the live sample shop (information_schema), and ``contract check --config``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.contract.lint import lint_contract
from dynamigrate.contract.load import load_contract, parse_contract
from dynamigrate.contract.validate import check_contract
from dynamigrate.source.introspect import introspect

pytestmark = pytest.mark.integration

WORKSHOP = Path("/work/shared/reference/workshop-migrationContract.json")
if not WORKSHOP.exists():
    WORKSHOP = Path(__file__).resolve().parents[1] / "data" / "workshop-migrationContract.json"


@pytest.fixture(scope="module")
def shop_schema(shop_db: str, mysql_settings: Any) -> Any:
    from dynamigrate.source.connect import connect

    conn = connect(mysql_settings, shop_db)
    try:
        return introspect(conn, shop_db)
    finally:
        conn.close()


def _raw() -> dict[str, Any]:
    return json.loads(WORKSHOP.read_text(encoding="utf-8"))


def test_workshop_contract_lints_clean_of_errors(shop_schema: Any) -> None:
    problems = lint_contract(load_contract(WORKSHOP), shop_schema)
    assert problems.errors == [], "\n".join(str(p) for p in problems.errors)
    # what the live schema adds: the undeclared alias 'parent' of the categories self-reference
    assert {(p.code, p.path) for p in problems.warnings} >= {
        ("C206", "tables[2].attributes[0].join.else_value"),
        ("C206", "tables[2].attributes[11].join.else_value"),
    }
    assert all(p.fix for p in problems)


def test_missing_table_column_and_wrong_key_type_reported(shop_schema: Any) -> None:
    raw = _raw()
    raw["tables"][0]["entities"][1]["source_table"] = "shopping_cart"  # table typo
    raw["tables"][1]["attributes"][5]["source_column"] = "product_name"  # no such column
    raw["tables"][0]["entities"][2]["attributes"][4]["source_column"] = "totl_amount"  # typo
    raw["tables"][1]["attributes"][0].update(type="N", source_column="name")  # N key from VARCHAR
    raw["tables"][0]["entities"][0]["attributes"][5]["join"]["construction"]["select_columns"]["first"] = (
        "frist_name"
    )
    contract, problems = parse_contract(raw)
    assert contract is not None and not problems.errors
    problems = check_contract(contract, shop_schema)
    by_path = {p.path: p for p in problems}

    p = by_path["tables[0].entities[1].source_table"]
    assert p.severity == "error" and p.code == "C201"
    assert (
        "source table 'shopping_cart' does not exist" in p.message
        and p.fix == "did you mean 'shopping_carts'?"
    )

    p = by_path["tables[1].attributes[5].source_column"]
    assert p.code == "C202" and "column 'product_name' does not exist in table 'products'" in p.message
    assert p.fix is not None and "columns of products:" in p.fix

    p = by_path["tables[0].entities[2].attributes[4].source_column"]
    assert "column 'totl_amount'" in p.message and p.fix == "did you mean 'total_amount'?"

    p = by_path["tables[1].attributes[0].type"]
    assert p.severity == "warning" and p.code == "C220"
    assert "key attribute 'PK' is N but column name is varchar(255)" in p.message

    p = by_path["tables[0].entities[0].attributes[5].join.construction.select_columns.first"]
    assert p.code == "C202" and "'frist_name'" in p.message and p.fix == "did you mean 'first_name'?"


def test_join_fragments_checked_against_live_columns(shop_schema: Any) -> None:
    raw = _raw()
    cart_price = raw["tables"][0]["entities"][1]["attributes"][4]["join"]
    cart_price["select_column"] = "products.prize"
    cart_price["join_condition"] = "products.id = shopping_carts.product"
    contract, _ = parse_contract(raw)
    assert contract is not None
    problems = lint_contract(contract, shop_schema)
    base = "tables[0].entities[1].attributes[4].join"
    sel = problems.at(f"{base}.select_column")
    assert [p.fix for p in sel] == ["did you mean 'price'?"]
    cond = problems.at(f"{base}.join_condition")
    assert len(cond) == 1 and "column 'product' does not exist in table 'shopping_carts'" in cond[0].message
    assert cond[0].fix == "did you mean 'product_id'?"


def _config(tmp_path: Path, mysql_settings: Any, database: str) -> Path:
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "mysql": {
                    "host": mysql_settings.host,
                    "port": mysql_settings.port,
                    "user": mysql_settings.user,
                    "password": mysql_settings.password.reveal(),
                    "database": database,
                }
            }
        )
    )
    return cfg


def test_cli_contract_check_with_config(
    tmp_path: Path, shop_db: str, mysql_settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from dynamigrate.cli import main

    cfg = _config(tmp_path, mysql_settings, shop_db)
    # the workshop's Products.category_path stops (C301): accepted knowingly here
    assert main(["contract", "check", str(WORKSHOP), "--config", str(cfg), "--accept", "C301"]) == 0
    out = capsys.readouterr()
    assert f"linted against database '{shop_db}'" in out.out
    assert "C206" in out.out
    password = mysql_settings.password.reveal()
    assert f"password={password}" not in out.out + out.err and "'password'" not in out.out + out.err

    raw = _raw()
    raw["tables"][2]["attributes"][1]["source_column"] = "nam"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(raw))
    assert main(["contract", "check", str(bad), "--config", str(cfg), "--json", "--accept", "C301"]) == 2
    report = json.loads(capsys.readouterr().out)
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert errors == [
        {
            "path": "tables[2].attributes[1].source_column",
            "severity": "error",
            "code": "C202",
            "message": "column 'nam' does not exist in table 'categories'",
            "fix": "did you mean 'name'?",
        }
    ]


def test_cli_contract_check_unreachable_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dynamigrate.cli import main

    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "mysql": {
                    "host": "127.0.0.1",
                    "port": 1,
                    "user": "u",
                    "password": "pw-xyz-123",
                    "database": "d",
                }
            }
        )
    )
    assert main(["contract", "check", str(WORKSHOP), "--config", str(cfg)]) == 2
    out = capsys.readouterr()
    assert "cannot lint against the live schema" in out.err
    assert "pw-xyz-123" not in out.out + out.err


def test_table_found_only_by_ignoring_case_is_a_warning(shop_schema: Any) -> None:
    """'Shopping_Carts' for 'shopping_carts' lints clean by a case-blind lookup, then the views fail with
    1146 on a case-sensitive server (lower_case_table_names=0): C203 says so, on the source table and on a
    join's target table."""
    raw = _raw()
    cart = raw["tables"][0]["entities"][1]
    cart["source_table"] = "Shopping_Carts"
    cart["attributes"][4]["join"]["target_table"] = "PRODUCTS"
    contract, problems = parse_contract(raw)
    assert contract is not None and not problems.errors
    found = [
        (p.path, p.severity, p.message, p.fix)
        for p in lint_contract(contract, shop_schema)
        if p.code == "C203"
    ]
    assert found == [
        (
            "tables[0].entities[1].source_table",
            "warning",
            "table 'Shopping_Carts' is named 'shopping_carts' in the database: where table names are "
            "case-sensitive (lower_case_table_names=0, the default on Linux) the views fail with 'Table doesn't "
            "exist' (1146)",
            "write 'shopping_carts'",
        ),
        (
            "tables[0].entities[1].attributes[4].join.target_table",
            "warning",
            "table 'PRODUCTS' is named 'products' in the database: where table names are "
            "case-sensitive (lower_case_table_names=0, the default on Linux) the views fail with 'Table doesn't "
            "exist' (1146)",
            "write 'products'",
        ),
    ]
