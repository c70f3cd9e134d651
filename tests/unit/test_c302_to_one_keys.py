"""C302: every to-one join kind whose compared columns of the joined row are no primary/unique key of
the joined table stops (at the join's JSON path); keys (also composite and UNIQUE), constants, to-many
constructs, self-references resolved by the generator and schema-less checks do not."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.contract import parse_contract
from dynamigrate.contract.readings import reading_problems, split_accepted
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo


def _t(
    name: str, pk: tuple[str, ...], cols: tuple[str, ...], unique: tuple[tuple[str, ...], ...] = ()
) -> TableInfo:
    return TableInfo(
        name=name,
        columns={c: ColumnInfo(name=c, data_type="varchar") for c in cols},
        primary_key=pk,
        unique_keys=unique,
    )


SCHEMA = SchemaInfo(
    database="db",
    version="10.11.6-MariaDB",
    tables={
        t.name: t
        for t in (
            _t("orders", ("id",), ("id", "cust", "region", "country", "parent_ref", "kind")),
            _t("customers", ("id",), ("id", "code", "name"), unique=(("email",),)),
            _t("prices", ("sku", "currency"), ("sku", "currency", "amount")),
            _t("regions", (), ("country", "code", "label"), unique=(("country", "code"),)),
            _t("countries", ("iso",), ("iso", "continent")),
            _t("continents", (), ("name", "label")),
        )
    },
)


def _problems(join: dict[str, Any], schema: SchemaInfo | None = SCHEMA) -> list[tuple[str, str | None]]:
    data = {
        "tables": [
            {
                "table": "Orders",
                "type": "single-entity",
                "source_table": "orders",
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_column": "id"},
                    {"name": "v", "type": "S", "join": join},
                ],
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    return [(p.path, p.code) for p in reading_problems(contract, schema) if p.code == "C302"]


def _fk(kind: str, target: str, cond: str, select: str) -> dict[str, Any]:
    return {"type": kind, "target_table": target, "join_condition": cond, "select_column": select}


JOIN = "tables[0].attributes[1].join"


@pytest.mark.parametrize("kind", ["foreign-key", "lookup-table"])
def test_a_column_that_is_no_key_stops(kind: str) -> None:
    assert _problems(_fk(kind, "customers", "customers.code = orders.cust", "customers.name")) == [
        (JOIN, "C302")
    ]
    # the primary key, or a UNIQUE key, is certain; so is an unqualified column only the target has
    assert _problems(_fk(kind, "customers", "customers.id = orders.cust", "customers.name")) == []
    assert _problems(_fk(kind, "customers", "customers.email = orders.cust", "customers.name")) == []
    assert _problems(_fk(kind, "customers", "code = orders.cust AND customers.id = orders.id", "name")) == []


def test_composite_keys_need_every_column() -> None:
    part = {"type": "multi-column", "target_table": "prices", "join_conditions": ["prices.sku = orders.kind"]}
    assert _problems({**part, "select_column": "prices.amount"}) == [(JOIN, "C302")]
    full = {**part, "join_conditions": ["prices.sku = orders.kind", "prices.currency = 'EUR'"]}
    assert _problems({**full, "select_column": "prices.amount"}) == []  # a constant fixes a column too
    uq = _fk(
        "lookup-table", "regions", "regions.country = orders.country AND regions.code = orders.region", "x"
    )
    assert _problems(uq) == []
    assert _problems(_fk("lookup-table", "regions", "regions.code = orders.region", "regions.label")) == [
        (JOIN, "C302")
    ]
    # an OR fixes nothing
    assert _problems(
        _fk("foreign-key", "customers", "customers.id = orders.cust OR customers.id = 1", "x")
    ) == [(JOIN, "C302")]


def test_self_join_conditional_and_chain_steps() -> None:
    alias = {"type": "self-join", "join_alias": "parent", "select_column": "parent.kind"}
    assert _problems({**alias, "join_condition": "parent.kind = orders.parent_ref"}) == [(JOIN, "C302")]
    assert _problems({**alias, "join_condition": "parent.id = orders.parent_ref"}) == []
    cond = {
        **_fk("conditional", "customers", "customers.code = orders.cust", "customers.name"),
        "condition": "1=1",
    }
    assert _problems({**cond, "else_value": "none"}) == [(JOIN, "C302")]
    chain = {
        "type": "chain",
        "joins": [
            {
                "target_table": "countries",
                "join_condition": "countries.iso = orders.country",
                "select_column": "x",
            },
            {
                "target_table": "continents",
                "join_condition": "continents.name = countries.continent",
                "select_column": "continents.label",
            },
        ],
    }
    assert _problems(chain) == [(f"{JOIN}.joins[1]", "C302")]


def test_to_many_constructs_self_references_and_no_schema_are_not_checked() -> None:
    agg_like = {
        "type": "json-construction",
        "target_table": "customers",
        "join_condition": "customers.code = orders.cust",
        "construction": {"type": "array", "select_columns": {"n": "customers.name"}},
    }
    assert _problems(agg_like) == []
    # a self-reference without alias: the generator joins the row whose primary key is compared
    assert _problems(_fk("foreign-key", "orders", "orders.id = orders.parent_ref", "orders.kind")) == []
    assert (
        _problems(_fk("foreign-key", "customers", "customers.code = orders.cust", "customers.name"), None)
        == []
    )


def test_accepted_knowingly() -> None:
    data = {
        "tables": [
            {
                "table": "Orders",
                "type": "single-entity",
                "source_table": "orders",
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_column": "id"},
                    {
                        "name": "v",
                        "type": "S",
                        "join": _fk("foreign-key", "customers", "customers.code = orders.cust", "x"),
                    },
                ],
            }
        ]
    }
    contract, _ = parse_contract(data)
    assert contract is not None
    problems = list(reading_problems(contract, SCHEMA))
    kept, accepted = split_accepted(problems, ["c302"])
    assert kept == [] and [p.code for p in accepted] == ["C302"]
    (p,) = accepted
    assert (
        "compares code, which is not a primary or unique key of customers (its keys: (id); (email))"
        in p.message
    )
    assert "json-construction" in (p.fix or "") and "aggregate" in (p.fix or "")
