"""dynamigrate's ``filter`` extension without a database: where the loader puts it, which texts the
checks refuse (with the JSON path and code), the SQL the views and the engines use."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.contract.lint import lint_contract
from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.validate import validate_contract
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo
from dynamigrate.sqlgen import filter_sql, generate_views


def _single(**extra: Any) -> dict[str, Any]:
    return {
        "table": "Users",
        "type": "single-entity",
        "source_table": "users",
        "pk": "PK",
        "attributes": [{"name": "PK", "type": "S", "source_column": "id"}],
        **extra,
    }


def _multi(table_extra: dict[str, Any] | None = None, **entity_extra: Any) -> dict[str, Any]:
    def entity(et: str, src: str, extra: dict[str, Any]) -> dict[str, Any]:
        return {
            "entity_type": et,
            "source_table": src,
            "attributes": [{"name": "PK", "type": "S", "source_column": "id"}],
            **extra,
        }

    return {
        "table": "Shop",
        "type": "multi-entity",
        "pk": "PK",
        "entities": [entity("USER", "users", entity_extra), entity("ORDER", "orders", {})],
        **(table_extra or {}),
    }


def test_filter_of_a_single_entity_table_goes_to_its_entity() -> None:
    contract, problems = parse_contract({"tables": [_single(filter="deleted_at IS NULL")]})
    assert contract is not None and problems == []
    (entity,) = contract.tables[0].entities
    assert entity.filter == "deleted_at IS NULL"
    assert filter_sql(entity) == "`users`.`deleted_at` IS NULL"
    assert filter_sql(entity, qualifier="u") == "`u`.`deleted_at` IS NULL"


def test_filter_of_an_entity_stays_with_that_entity() -> None:
    contract, problems = parse_contract({"tables": [_multi(filter="users.active = 1 OR id < 0")]})
    assert contract is not None and problems == []
    users, orders = contract.tables[0].entities
    assert users.filter == "users.active = 1 OR id < 0" and orders.filter is None
    assert filter_sql(orders) is None
    sql = generate_views(contract).statements[0].sql
    users_branch, orders_branch = sql.split("UNION ALL")
    # the condition becomes the WHERE of its own branch only; OR keeps its meaning
    assert users_branch.rstrip().endswith("WHERE `users`.`active` = 1 OR `users`.`id` < 0")
    assert "WHERE" not in orders_branch


def test_filter_on_a_multi_entity_table_is_an_error_with_the_fix() -> None:
    _, problems = parse_contract({"tables": [_multi({"filter": "deleted_at IS NULL"})]})
    (p,) = problems.errors
    assert p.path == "tables[0].filter"
    assert "entities[].filter" in (p.fix or "")


@pytest.mark.parametrize("value", ["", "   ", 3, ["deleted_at IS NULL"], {"sql": "x"}])
def test_filter_must_be_a_non_empty_text(value: Any) -> None:
    _, problems = parse_contract({"tables": [_single(filter=value)]})
    (p,) = problems.errors
    assert p.path == "tables[0].filter"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("deleted_at IS NULL; DROP TABLE users", "C140", "';'"),
        ("deleted_at IS NULL -- soft", "C140", "comment"),
        ("id IN (SELECT user_id FROM bans)", "C140", "subquery"),
        ("SLEEP(5) = 0", "C140", "SLEEP"),
        ("@x := 1", "C140", "variable"),
        ("deleted_at IS", "C140", "filter"),
        ("orders.status = 'x'", "C141", "orders.status"),
        ("shop.users.id = 1", "C141", "database"),
    ],
)
def test_unsafe_or_foreign_filters_are_contract_errors(text: str, code: str, words: str) -> None:
    for data, path in (
        (_single(filter=text), "tables[0].filter"),
        (_multi(filter=text), "tables[0].entities[0].filter"),
    ):
        contract, problems = parse_contract({"tables": [data]})
        assert contract is not None and problems == []
        (p,) = validate_contract(contract).errors
        assert (p.path, p.code) == (path, code)
        assert words in p.message and p.fix


def test_lint_names_a_filter_column_missing_from_the_source_table() -> None:
    schema = SchemaInfo(
        database="shop",
        tables={
            "users": TableInfo(
                "users",
                {"id": ColumnInfo("id", "int"), "deleted_at": ColumnInfo("deleted_at", "datetime")},
                ("id",),
            )
        },
    )
    contract, _ = parse_contract({"tables": [_single(filter="deleted_on IS NULL AND id > 0")]})
    assert contract is not None
    (p,) = lint_contract(contract, schema).errors
    assert (p.path, p.code) == ("tables[0].filter", "C202")
    assert "deleted_on" in p.message and "deleted_at" in (p.fix or "")
