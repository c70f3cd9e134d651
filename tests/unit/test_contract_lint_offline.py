"""Contract lint against a schema built by hand (no database): paths, messages, suggestions."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.contract.lint import backquoted_names, lint_contract
from dynamigrate.contract.load import load_contract, parse_contract
from dynamigrate.contract.problems import ProblemList
from dynamigrate.contract.validate import check_contract
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo

WORKSHOP = Path("/work/shared/reference/workshop-migrationContract.json")
if not WORKSHOP.exists():
    WORKSHOP = Path(__file__).resolve().parents[1] / "data" / "workshop-migrationContract.json"


def _t(name: str, cols: list[tuple[str, str]], pk: tuple[str, ...] = ("id",)) -> TableInfo:
    return TableInfo(name=name, columns={c: ColumnInfo(c, dt, dt) for c, dt in cols}, primary_key=pk)


def shop_schema(**replace: TableInfo) -> SchemaInfo:
    tables = [
        _t(
            "users",
            [
                ("id", "int"),
                ("email", "varchar"),
                ("username", "varchar"),
                ("password_hash", "varchar"),
                ("first_name", "varchar"),
                ("last_name", "varchar"),
                ("is_seller", "tinyint"),
                ("created_at", "timestamp"),
                ("updated_at", "timestamp"),
            ],
        ),
        _t(
            "categories",
            [("id", "int"), ("name", "varchar"), ("parent_id", "int"), ("created_at", "timestamp")],
        ),
        _t(
            "products",
            [
                ("id", "int"),
                ("seller_id", "int"),
                ("category_id", "int"),
                ("name", "varchar"),
                ("description", "text"),
                ("price", "decimal"),
                ("inventory_quantity", "int"),
                ("image_url", "varchar"),
                ("created_at", "timestamp"),
                ("updated_at", "timestamp"),
            ],
        ),
        _t(
            "shopping_carts",
            [
                ("id", "int"),
                ("user_id", "int"),
                ("product_id", "int"),
                ("quantity", "int"),
                ("created_at", "timestamp"),
                ("updated_at", "timestamp"),
            ],
        ),
        _t(
            "orders",
            [
                ("id", "int"),
                ("user_id", "int"),
                ("status", "enum"),
                ("total_amount", "decimal"),
                ("created_at", "timestamp"),
                ("updated_at", "timestamp"),
            ],
        ),
        _t(
            "order_items",
            [
                ("id", "int"),
                ("order_id", "int"),
                ("product_id", "int"),
                ("quantity", "int"),
                ("price_at_time", "decimal"),
            ],
        ),
    ]
    by_name = {t.name: t for t in tables}
    by_name.update(replace)
    return SchemaInfo(database="shop", tables=by_name)


def _workshop_raw() -> dict[str, Any]:
    import json

    return json.loads(WORKSHOP.read_text(encoding="utf-8"))


def lint(raw: dict[str, Any], schema: SchemaInfo | None = None) -> ProblemList:
    contract, problems = parse_contract(raw)
    assert contract is not None and not problems.errors, problems
    return lint_contract(contract, schema or shop_schema())


def test_workshop_lints_clean_of_errors() -> None:
    problems = lint_contract(load_contract(WORKSHOP), shop_schema())
    assert problems.errors == []
    # the undeclared alias 'parent' of the categories self-reference is read as the joined row, and said
    assert [(p.code, p.path) for p in problems.warnings] == [
        ("C206", "tables[2].attributes[0].join.else_value"),
        ("C206", "tables[2].attributes[11].join.else_value"),
    ]


def _mutated(fn: Any) -> dict[str, Any]:
    raw = _workshop_raw()
    fn(raw)
    return raw


def _attr(raw: dict[str, Any], t: int, i: int, e: int | None = None) -> dict[str, Any]:
    table = raw["tables"][t]
    attrs = table["entities"][e]["attributes"] if e is not None else table["attributes"]
    return attrs[i]


CASES = [
    (
        "missing-source-table",
        lambda r: r["tables"][1].update(source_table="product"),
        "tables[1].source_table",
        "source table 'product' does not exist",
        "did you mean 'products'?",
    ),
    (
        "missing-entity-source-table",
        lambda r: r["tables"][0]["entities"][1].update(source_table="shopping_cart"),
        "tables[0].entities[1].source_table",
        "'shopping_cart' does not exist",
        "did you mean 'shopping_carts'?",
    ),
    (
        "missing-column",
        lambda r: _attr(r, 1, 5).update(source_column="product_name"),
        "tables[1].attributes[5].source_column",
        "column 'product_name' does not exist in table 'products'",
        None,
    ),
    (
        "column-typo",
        lambda r: _attr(r, 0, 2, 0).update(source_column="usrname"),
        "tables[0].entities[0].attributes[2].source_column",
        "column 'usrname'",
        "did you mean 'username'?",
    ),
    (
        "join-select-column-missing",
        lambda r: _attr(r, 0, 4, 1)["join"].update(select_column="products.title"),
        "tables[0].entities[1].attributes[4].join.select_column",
        "column 'title' does not exist in table 'products'",
        None,
    ),
    (
        "join-condition-unknown-qualifier",
        lambda r: _attr(r, 0, 0, 1)["join"].update(join_condition="user.id = shopping_carts.user_id"),
        "tables[0].entities[1].attributes[0].join.join_condition",
        "refers to 'user'",
        "did you mean 'users.id'?",
    ),
    (
        "join-target-table-missing",
        lambda r: _attr(r, 0, 4, 1)["join"].update(target_table="product"),
        "tables[0].entities[1].attributes[4].join.target_table",
        "target table 'product' does not exist",
        "did you mean 'products'?",
    ),
    (
        "construction-column-missing",
        lambda r: _attr(r, 0, 5, 2)["join"]["construction"]["select_columns"].update(price="price"),
        "tables[0].entities[2].attributes[5].join.construction.select_columns.price",
        "column 'price' exists in none of order_items",
        "did you mean 'price_at_time'?",
    ),
    (
        "placeholder-column-missing",
        lambda r: _attr(r, 0, 1, 2)["transformation"].update(format="ORDER#{created}#{id}"),
        "tables[0].entities[2].attributes[1].transformation.format",
        "placeholder '{created}' names no column of 'orders'",
        "did you mean '{created_at}'?",
    ),
    (
        "aggregate-column-missing",
        lambda r: _attr(r, 2, 9)["calculation"].update(select_column="products.sku"),
        "tables[2].attributes[9].calculation.select_column",
        "column 'sku' does not exist in table 'products'",
        None,
    ),
    (
        "sql-not-parseable",
        lambda r: _attr(r, 0, 4, 1)["join"].update(
            join_condition="products.id = = shopping_carts.product_id"
        ),
        "tables[0].entities[1].attributes[4].join.join_condition",
        "not a valid MySQL expression",
        None,
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "fragment", "fix"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_lint_reports_path_and_suggestion(mutate: Any, path: str, fragment: str, fix: str | None) -> None:
    problems = lint(_mutated(mutate))
    found = [p for p in problems.errors if p.path == path and fragment in p.message]
    assert found, "\n".join(str(p) for p in problems)
    if fix:
        assert any(fix in (p.fix or "") for p in found), [p.fix for p in found]


def test_reserved_word_names_get_the_backquoted_snippet() -> None:
    # MySQL reads `group.select` as table.column; the parser does not, and the fix is the backquoted form
    grp = _t("group", [("id", "int"), ("select", "varchar"), ("product_id", "int")])
    raw = _workshop_raw()
    _attr(raw, 0, 4, 1)["join"].update(
        target_table="group", join_condition="group.select = shopping_carts.product_id"
    )
    (p,) = [p for p in lint(raw, shop_schema(group=grp)).errors if p.code == "C205"]
    assert p.path == "tables[0].entities[1].attributes[4].join.join_condition"
    assert p.fix == (
        "a table or column name here is a reserved word: backquote it, e.g. "
        "'`group`.`select` = `shopping_carts`.`product_id`'"
    )
    # the corrected snippet lints clean; an error nothing can fix keeps the generic hint
    _attr(raw, 0, 4, 1)["join"]["join_condition"] = "`group`.`select` = shopping_carts.product_id"
    assert not [p for p in lint(raw, shop_schema(group=grp)).errors if p.code == "C205"]
    assert backquoted_names("a.b = = c.d", "expression") is None
    assert backquoted_names("x.`order` = 'group.select'", "expression") is None  # nothing to quote


def test_key_of_type_n_from_varchar_warns() -> None:
    raw = _workshop_raw()
    _attr(raw, 1, 0).update(type="N", source_column="name")  # Products PK as a number from VARCHAR
    problems = lint(raw)
    (p,) = [p for p in problems.warnings if p.path == "tables[1].attributes[0].type"]
    assert p.code == "C220" and "key attribute 'PK' is N but column name is varchar" in p.message


def test_bool_from_text_column_warns() -> None:
    raw = _workshop_raw()
    _attr(raw, 0, 6, 0).update(source_column="username")
    problems = lint(raw)
    assert [p.code for p in problems.at("tables[0].entities[0].attributes[6].type")] == ["C222"]


def test_self_reference_without_primary_key_is_an_error() -> None:
    cats = shop_schema().tables["categories"]
    schema = shop_schema(categories=TableInfo(name="categories", columns=cats.columns, primary_key=()))
    problems = lint_contract(load_contract(WORKSHOP), schema)
    (p,) = [p for p in problems.errors if p.path == "tables[2].source_table"]
    assert p.code == "C230" and "no primary key" in p.message


def test_table_without_row_key_warns_and_a_varchar_key_does_not() -> None:
    orders = shop_schema().tables["orders"]
    schema = shop_schema(orders=TableInfo(name="orders", columns=orders.columns, primary_key=()))
    problems = lint_contract(load_contract(WORKSHOP), schema)
    (p,) = [p for p in problems.warnings if p.code == "C231"]
    assert "'orders' has no primary key and no unique key" in p.message
    schema = shop_schema(orders=TableInfo(name="orders", columns=orders.columns, primary_key=("status",)))
    problems = lint_contract(load_contract(WORKSHOP), schema)
    assert not [p for p in problems.warnings if p.code == "C231"]


def test_check_contract_combines_validate_and_lint() -> None:
    raw = copy.deepcopy(_workshop_raw())
    _attr(raw, 1, 5).update(source_column="product_name")
    contract, _ = parse_contract(raw)
    assert contract is not None
    codes = {p.code for p in check_contract(contract, shop_schema())}
    assert {"C112", "C202", "C206"} <= codes


def test_type_of_a_joined_column_is_checked() -> None:
    raw = _workshop_raw()
    # CART price (N) from products.name (VARCHAR) through the foreign-key join
    _attr(raw, 0, 4, 1)["join"]["select_column"] = "products.name"
    problems = lint(raw)
    (p,) = problems.at("tables[0].entities[1].attributes[4].type")
    assert p.code == "C220" and "'price' is N but column name is varchar" in p.message


def test_number_set_from_json_text_is_its_usual_source_and_messages_name_the_type() -> None:
    """NS is read from a JSON array text (MariaDB's JSON is LONGTEXT): no C220 for it; an NS from a
    DATE column warns and says NS; the FLOAT warning names the column and its type in words."""
    schema = SchemaInfo(
        database="ops",
        tables={
            "hosts": _t("hosts", [("id", "int"), ("ports", "longtext"), ("built", "date"), ("load", "float")])
        },
    )
    attrs = [
        {"name": "PK", "type": "N", "source_table": "hosts", "source_column": "id"},
        {"name": "ports", "type": "NS", "source_table": "hosts", "source_column": "ports"},
        {"name": "built", "type": "NS", "source_table": "hosts", "source_column": "built"},
        {"name": "load", "type": "N", "source_table": "hosts", "source_column": "load"},
    ]
    raw = {
        "tables": [
            {
                "table": "Hosts",
                "type": "single-entity",
                "source_table": "hosts",
                "pk": "PK",
                "attributes": attrs,
            }
        ]
    }
    problems = lint(raw, schema)
    assert problems.at("tables[0].attributes[1].type") == []
    (built,) = problems.at("tables[0].attributes[2].type")
    assert built.code == "C220" and "attribute 'built' is NS but column built is date" in built.message
    (load,) = problems.at("tables[0].attributes[3].type")
    assert (
        load.code == "C220"
        and "attribute 'load' comes from column load (float): binary floating" in load.message
    )


def test_unknown_unqualified_column_lists_the_columns_in_scope() -> None:
    schema = SchemaInfo(database="ops", tables={"hosts": _t("hosts", [("id", "int"), ("code", "varchar")])})
    attrs = [
        {"name": "PK", "type": "N", "source_table": "hosts", "source_column": "id"},
        {
            "name": "label",
            "type": "S",
            "source_table": "hosts",
            "source_column": "code",
            "calculation": {"type": "concat", "parts": ["code", "zzzz"], "separator": "-"},
        },
    ]
    raw = {
        "tables": [
            {
                "table": "Hosts",
                "type": "single-entity",
                "source_table": "hosts",
                "pk": "PK",
                "attributes": attrs,
            }
        ]
    }
    (p,) = lint(raw, schema).at("tables[0].attributes[1].calculation.parts[1]")
    assert p.code == "C202" and p.message == "column 'zzzz' exists in none of hosts"
    assert (
        p.fix == "use a column of hosts (code, id), or qualify a column of another table with its table name"
    )
