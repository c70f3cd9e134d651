"""Offline plans of the reference evaluator: base tables written by hand (what information_schema would
say), so the planner runs without a server (tests/unit/test_evaluate_plan.py)."""

from __future__ import annotations

from typing import Any

from dynamigrate.contract import parse_contract
from dynamigrate.contract.model import Table
from dynamigrate.evaluate.plan import Planner
from dynamigrate.evaluate.schema import BaseTable, Catalog, Column
from dynamigrate.evaluate.slots import Plan

CI = "utf8mb4_general_ci"


def table(
    name: str, cols: list[tuple[str, str]], pk: tuple[str, ...] = (), uks: tuple[tuple[str, ...], ...] = ()
) -> BaseTable:
    columns = {
        c.lower(): Column(c, t, CI if t in ("varchar", "char", "text") else None, c not in pk)
        for c, t in cols
    }
    return BaseTable(name, columns, pk, uks)


TABLES = {
    t.name.lower(): t
    for t in (
        table(
            "users",
            [("id", "int"), ("email", "varchar"), ("name", "varchar"), ("score", "float"), ("doc", "json"),
             ("born", "date"), ("deleted_at", "datetime"), ("since", "date")],
            ("id",),
        ),
        table("orders", [("id", "int"), ("user_id", "int"), ("total", "decimal"), ("status", "varchar"),
                         ("created", "date"), ("weight", "float")], ("id",)),
        table("cats", [("id", "int"), ("parent_id", "int"), ("name", "varchar")], ("id",)),
        table("codes", [("code", "varchar"), ("label", "varchar")], ("code",)),
        table("lines", [("order_id", "int"), ("line", "int"), ("sku", "varchar")], ("order_id", "line")),
        table("logs", [("user_id", "int"), ("msg", "text")]),
        table("tags", [("tag", "varchar"), ("user_id", "int")], (), (("tag",),)),
    )
}  # fmt: skip


def contract_table(attrs: list[dict[str, Any]], source: str = "users", **extra: Any) -> Table:
    data = {
        "table": "Tab",
        "type": "single-entity",
        "source_table": source,
        "pk": "PK",
        "attributes": attrs,
        **extra,
    }
    contract, problems = parse_contract({"tables": [data]})
    assert contract is not None and not problems.errors, problems
    return contract.tables[0]


def plan(attrs: list[dict[str, Any]], source: str = "users", div_precision: int = 4, **extra: Any) -> Plan:
    t = contract_table(attrs, source, **extra)
    return Planner(Catalog(None, dict(TABLES)), t, t.entities[0], div_precision).plan()


def shape(p: Plan) -> dict[str, Any]:
    """A plan as plain data: per slot its table, kind, expressions, pairs, filters, gates, order and
    limit; per attribute its node."""
    out: dict[str, Any] = {}
    for sid, s in p.slots.items():
        d: dict[str, Any] = {"table": s.table.name, "kind": s.kind, "exprs": s.exprs}
        if s.pairs:
            d["pairs"] = [(x.other, x.index, x.column, x.other_column, x.weight_index) for x in s.pairs]
        for name in ("where", "gates", "order", "order_weights", "cross"):
            if getattr(s, name):
                d[name] = getattr(s, name)
        if s.limit is not None:
            d["limit"] = s.limit
        if s.aggregate is not None:
            d["aggregate"] = s.aggregate
        out[sid] = d
    out["attributes"] = {a.attribute.name: a.node for a in p.attributes}
    if p.filter_sql:
        out["filter"] = p.filter_sql
    if p.notes:
        out["notes"] = p.notes
    return out
