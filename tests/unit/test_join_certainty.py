"""The join-certainty check (C301) without a database: which columns reference which table, and which
join conditions compare them with the wrong one."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.readings import reading_problems, references, split_accepted
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo


def _t(
    name: str, *cols: str, pk: tuple[str, ...] = ("id",), fks: dict[str, tuple[str, str]] | None = None
) -> TableInfo:
    return TableInfo(name, {c: ColumnInfo(c, "int") for c in ("id", *cols)}, pk, foreign_keys=fks or {})


SCHEMA = SchemaInfo(
    "shop",
    {
        "products": _t("products", "category_id", "owner"),
        "categories": _t("categories", "parent_id", fks={"parent_id": ("categories", "id")}),
        "users": _t("users"),
        "companies": _t("companies"),
        "boxes": _t("boxes"),
        # 'owner' references users only by its declared foreign key
        "orders": _t("orders", "user_id", "owner", fks={"owner": ("users", "id")}),
        "tiers": TableInfo("tiers", {"code": ColumnInfo("code", "char")}, ("code",)),
        "customers": _t("customers", "tier_code", "company_id", "box_id"),
        "order_tags": _t("order_tags", "order_id", "tag", pk=("order_id", "tag")),
    },
)


@pytest.mark.parametrize(
    ("table", "column", "expected"),
    [
        ("products", "category_id", ("categories", "id", "name")),  # <stem>ies
        ("customers", "company_id", ("companies", "id", "name")),
        ("customers", "box_id", ("boxes", "id", "name")),  # <stem>es
        ("orders", "user_id", ("users", "id", "name")),
        ("orders", "owner", ("users", "id", "foreign key")),
        ("categories", "parent_id", ("categories", "id", "foreign key")),
        ("customers", "tier_code", None),  # not named after a key
        ("products", "id", None),
        ("order_tags", "order_id", ("orders", "id", "name")),
    ],
)
def test_references(table: str, column: str, expected: Any) -> None:
    known = {t.lower(): t for t in SCHEMA.tables}
    assert references(table, column, SCHEMA, known) == expected


def _contract(join: dict[str, Any], source: str = "products") -> Any:
    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": "Things",
                    "type": "single-entity",
                    "source_table": source,
                    "pk": "PK",
                    "attributes": [
                        {"name": "PK", "type": "S", "source_column": "id"},
                        {"name": "v", "type": "S", "source_column": "id", "join": join},
                    ],
                }
            ]
        }
    )
    assert contract is not None and not problems.errors, problems
    return contract


CERTAIN = [
    {
        "type": "foreign-key",
        "target_table": "categories",
        "join_condition": "categories.id = products.category_id",
        "select_column": "categories.name",
    },
    {
        "type": "foreign-key",
        "target_table": "categories",
        "join_condition": "products.category_id = categories.id AND categories.id > 0",
        "select_column": "categories.name",
    },
    {
        "type": "self-join",
        "join_alias": "p2",
        "join_condition": "p2.id = products.id",
        "select_column": "p2.owner",
    },
]


@pytest.mark.parametrize("join", CERTAIN)
def test_certain_conditions_pass(join: dict[str, Any]) -> None:
    assert reading_problems(_contract(join), SCHEMA) == []


def test_junction_rows_of_the_right_table_are_certain_and_of_another_stop() -> None:
    tags = {
        "type": "json-construction",
        "target_table": "order_tags",
        "join_condition": "order_tags.order_id = orders.id",
        "construction": {"type": "array", "select_columns": {"t": "tag"}},
    }
    assert reading_problems(_contract(tags, "orders"), SCHEMA) == []
    wrong = {**tags, "join_condition": "order_tags.order_id = products.id"}
    (p,) = reading_problems(_contract(wrong), SCHEMA)
    assert p.code == "C301" and "order_tags.order_id, which references orders.id" in p.message


def test_self_reference_through_a_declared_self_fk_is_certain() -> None:
    join = {
        "type": "self-join",
        "join_alias": "parent",
        "join_condition": "parent.id = categories.parent_id",
        "select_column": "parent.name",
    }
    assert reading_problems(_contract(join, "categories"), SCHEMA) == []


@pytest.mark.parametrize("with_schema", [True, False])
def test_self_join_on_a_reference_to_another_table_stops(with_schema: bool) -> None:
    join = {
        "type": "self-join",
        "join_alias": "cat",
        "join_condition": "cat.id = products.category_id",
        "select_column": "cat.name",
        "null_value": "",
    }
    contract = _contract(join)
    if not with_schema:  # the name rule over the contract's own tables
        contract = _contract(
            {
                "type": "chain",
                "joins": [
                    {
                        "target_table": "categories",
                        "join_condition": "categories.id = products.category_id",
                        "select_column": "categories.name",
                    },
                    {
                        "target_table": "users",
                        "join_condition": "users.id = categories.id",
                        "select_column": "users.id",
                    },
                ],
            }
        )
    problems = reading_problems(contract, SCHEMA if with_schema else None)
    if with_schema:
        (p,) = problems
        assert (p.path, p.code) == ("tables[0].attributes[1].join.join_condition", "C301")
        assert (
            '"join_condition": "categories.id = products.category_id", "select_column": "categories.name"'
            in (p.fix or "")
        )
    else:
        assert problems == []  # categories.id compared with users.id: no column references another table
    kept, accepted = split_accepted(list(problems), ("c301",))
    assert kept == [] and accepted == list(problems)


def test_declared_fk_compared_with_the_wrong_target_stops_in_chains_and_aggregates() -> None:
    chain = {
        "type": "chain",
        "joins": [
            {
                "target_table": "companies",
                "join_condition": "companies.id = orders.owner",
                "select_column": "companies.id",
            },
        ],
    }
    (p,) = reading_problems(_contract(chain, "orders"), SCHEMA)
    assert (p.path, p.code) == ("tables[0].attributes[1].join.joins[0].join_condition", "C301")
    assert "declared foreign key" in p.message


def test_aggregate_over_the_wrong_table_stops() -> None:
    contract, _ = parse_contract(
        {
            "tables": [
                {
                    "table": "Things",
                    "type": "single-entity",
                    "source_table": "users",
                    "pk": "PK",
                    "attributes": [
                        {"name": "PK", "type": "S", "source_column": "id"},
                        {
                            "name": "n",
                            "type": "N",
                            "source_column": "id",
                            "calculation": {
                                "type": "aggregate",
                                "operation": "COUNT",
                                "target_table": "orders",
                                "join_condition": "orders.user_id = orders.id",
                                "select_column": "orders.id",
                            },
                        },
                    ],
                }
            ]
        }
    )
    assert contract is not None
    (p,) = reading_problems(contract, SCHEMA)
    assert (p.path, p.code) == ("tables[0].attributes[1].calculation.join_condition", "C301")


def test_views_generate_without_schema_warns_about_the_assumed_primary_key(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from pathlib import Path

    from dynamigrate.cli import main

    example = Path(__file__).resolve().parents[2] / "examples" / "workshop-contract.json"
    out = tmp_path / "v.sql"
    assert main(["views", "generate", str(example), "-t", "Categories", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "assumed primary key 'id'" in err and "--schema-from-db" in err
    # a table without self-references says nothing of the kind
    assert main(["views", "generate", str(example), "-t", "Products", "-o", str(out)]) == 0
    assert "assumed primary key" not in capsys.readouterr().err


def test_migrate_accept_with_a_typo_is_a_usage_error(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from dynamigrate.cli import main

    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"mysql": {"host": "203.0.113.1", "database": "x"}}))
    assert main(["migrate", "--config", str(cfg), "--accept", "C3O1,key_missing"]) == 2
    err = capsys.readouterr().err
    assert "--accept C3O1" in err and "C301" in err and "key_missing" not in err.split("hint")[0]
