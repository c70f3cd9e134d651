"""The reference evaluator's plan of a contract entity (evaluate/plan.py), offline: base tables written by
hand (_evaluate_plan_fixtures.py), expectations read from docs/contract-format.md. A plan says which
single-table SELECT fetches each kind of row (slot), how those rows pair with the current row (which
side of a self-reference is joined), which conjuncts filter the joined rows or gate the match, the
order and limit of related rows, and the node that computes each attribute."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from _evaluate_plan_fixtures import TABLES, contract_table, plan, shape

from dynamigrate.contract.model import Calculation, Construction, Join, Transformation
from dynamigrate.evaluate import nodes as N
from dynamigrate.evaluate.fragments import EvaluationUnsupported
from dynamigrate.evaluate.plan import Planner
from dynamigrate.evaluate.schema import Catalog
from dynamigrate.evaluate.slots import Cross

PK = {"name": "PK", "type": "S", "source_table": "users", "source_column": "id"}
W = "WEIGHT_STRING(TRIM(TRAILING ' ' FROM {}))"


def attr(name: str, atype: str = "S", **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": atype, "source_table": "users", "source_column": "id", **kw}


def E(slot: str, index: int, absent: bool = False) -> N.Expr:
    return N.Expr(slot, index, absent)


def test_source_columns_float_widening_and_filter() -> None:
    p = plan(
        [
            {**PK, "source_column": "users.id"},
            attr("e", source_column="`users`.`email`"),
            attr("s", "N", source_column="score"),
            attr("again", source_column="ID"),
        ],
        filter="deleted_at IS NULL AND score > 1",
    )
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": ["`_t`.`id`", "`_t`.`email`", "CAST(`_t`.`score` AS DOUBLE)"]},
        "attributes": {"PK": E("src", 0), "e": E("src", 1), "s": E("src", 2), "again": E("src", 0)},
        "filter": "(`_t`.`deleted_at` IS NULL AND CAST(`_t`.`score` AS DOUBLE) > 1)",
    }  # fmt: skip
    assert p.source is p.slots["src"]
    assert p.table.name == "Tab" and p.entity.source_table == "users"


def test_source_key_comes_first_and_keyless_tables_fetch_every_column() -> None:
    p = plan([{"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}], "lines")
    assert p.source.exprs == ["`_t`.`order_id`", "`_t`.`line`", "`_t`.`sku`"]
    p = plan([{"name": "PK", "type": "S", "source_table": "logs", "source_column": "msg"}], "logs")
    assert p.source.exprs == ["`_t`.`user_id`", "`_t`.`msg`"]
    p = plan([{"name": "PK", "type": "S", "source_table": "tags", "source_column": "user_id"}], "tags")
    assert p.source.exprs == ["`_t`.`tag`", "`_t`.`user_id`"]  # the NOT NULL unique key


def test_to_one_joins_share_a_slot_filter_and_gate() -> None:
    p = plan(
        [
            PK,
            attr("st", join={"type": "lookup-table", "target_table": "orders",
                             "join_condition": "orders.user_id = users.id", "select_column": "orders.status"}),
            attr("t", "N", join={"type": "foreign-key", "target_table": "orders",
                                 "join_condition": "orders.user_id = users.id", "select_column": "total"}),
            attr("c", join={"type": "foreign-key", "target_table": "codes",
                            "join_condition": "codes.code = users.email AND codes.label IS NOT NULL AND users.id > 0",
                            "select_column": "'x'"}),
            attr("w", "N", join={"type": "foreign-key", "target_table": "orders",
                                 "join_condition": "users.id = orders.user_id", "select_column": "weight"}),
        ]
    )  # fmt: skip
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": [
            "`_t`.`id`", "`_t`.`email`", "(`_t`.`id` > 0)", "(CASE WHEN (`_t`.`id` > 0) THEN 1 ELSE 0 END)",
            W.format("`_t`.`email`")]},
        "one1": {"table": "orders", "kind": "one", "exprs": ["(`_t`.`status`)", "(`_t`.`total`)"],
                 "pairs": [("src", 0, "user_id", "id", None)]},
        # text on both sides: matched by the server's collation weight of the current row's value
        "one2": {"table": "codes", "kind": "one", "exprs": ["('x')"], "pairs": [("src", 1, "code", "email", 4)],
                 "where": ["(NOT `_t`.`label` IS NULL)"], "gates": [("src", 3)]},
        "one3": {"table": "orders", "kind": "one", "exprs": ["(CAST(`_t`.`weight` AS DOUBLE))"],
                 "pairs": [("src", 0, "user_id", "id", None)]},
        "attributes": {"PK": E("src", 0), "st": E("one1", 0, True), "t": E("one1", 1, True),
                       "c": E("one2", 0, True), "w": E("one3", 0, True)},
    }  # fmt: skip


def test_self_join_self_reference_and_the_row_itself() -> None:
    cat = {"name": "PK", "type": "S", "source_table": "cats", "source_column": "id"}
    sj = {"type": "self-join", "target_table": "cats", "join_alias": "parent",
          "join_condition": "parent.id = cats.parent_id", "select_column": "parent.name"}  # fmt: skip
    p = plan(
        [
            cat,
            {**cat, "name": "p", "join": {**sj, "null_value": "ROOT"}},
            {**cat, "name": "p2", "join": sj},
            {**cat, "name": "p3", "join": {"type": "foreign-key", "target_table": "cats",
                                          "join_condition": "cats.id = cats.parent_id", "select_column": "cats.name"}},
            {**cat, "name": "p4", "join": {"type": "foreign-key", "target_table": "cats",
                                          "join_condition": "(cats.parent_id = cats.id)", "select_column": "name"}},
            {**cat, "name": "n", "type": "N", "calculation": {
                "type": "aggregate", "operation": "count", "target_table": "cats",
                "join_condition": "cats.parent_id = cats.id", "select_column": "*"}},
            {**cat, "name": "n2", "type": "N", "calculation": {
                "type": "aggregate", "operation": "COUNT", "target_table": "cats",
                "join_condition": "cats.id = cats.parent_id", "select_column": "id"}},
            {**cat, "name": "me", "type": "N", "join": {"type": "foreign-key", "target_table": "cats",
                                                       "join_condition": "cats.id = cats.id", "select_column": "cats.id"}},
        ],
        "cats",
    )  # fmt: skip
    count_star = N.Aggregate("many4", "COUNT", None)
    count_id = N.Aggregate("many5", "COUNT", 0)
    parent = [("src", 1, "id", "parent_id", None)]
    assert shape(p) == {
        "src": {"table": "cats", "kind": "source", "exprs": ["`_t`.`id`", "`_t`.`parent_id`"]},
        # to-one: the joined row is the one whose primary key is compared (whichever side it is written on)
        "one1": {"table": "cats", "kind": "one", "exprs": ["(`_t`.`name`)"], "pairs": parent},
        "one2": {"table": "cats", "kind": "one", "exprs": ["(`_t`.`name`)"], "pairs": parent},
        "one3": {"table": "cats", "kind": "one", "exprs": ["(`_t`.`name`)"], "pairs": parent},
        # to-many: the related rows are those whose foreign key points at the current row (either side)
        "many4": {"table": "cats", "kind": "many", "exprs": [], "pairs": [("src", 0, "parent_id", "id", None)],
                  "aggregate": count_star},
        "many5": {"table": "cats", "kind": "many", "exprs": ["(`_t`.`id`)"], "pairs": [("src", 0, "parent_id", "id", None)],
                  "aggregate": count_id},
        "one6": {"table": "cats", "kind": "one", "exprs": ["(`_t`.`id`)"], "pairs": [("src", 0, "id", "id", None)]},
        "attributes": {
            "PK": E("src", 0),
            "p": N.IfElse(N.Matched("one1"), E("one1", 0), N.Const("ROOT")),
            "p2": E("one1", 0, True),
            "p3": E("one2", 0, True),
            "p4": E("one3", 0, True),
            "n": count_star,
            "n2": count_id,
            "me": E("one6", 0, True),
        },
        "notes": ["tables[0].attributes[7].join.join_condition: 'cats.id = cats.id' is the row itself"],
    }  # fmt: skip


def test_conditional_joins_and_else_values() -> None:
    cat = {"name": "PK", "type": "S", "source_table": "cats", "source_column": "id"}
    cond = {"type": "conditional", "target_table": "cats", "join_condition": "cats.id = cats.parent_id",
            "condition": "cats.parent_id IS NOT NULL", "select_column": "cats.name"}  # fmt: skip
    p = plan(
        [
            cat,
            {**cat, "name": "c", "join": {**cond, "else_value": "'none'"}},
            {**cat, "name": "c2", "join": {**cond, "select_column": "parent.name", "else_value": "parent.id"}},
            {**cat, "name": "c3", "type": "N", "join": {**cond, "condition": "cats.parent_id > 1", "else_value": 0}},
            {**cat, "name": "c4", "join": {**cond, "else_value": "it's"}},
            {**cat, "name": "c5", "type": "BOOL", "join": {**cond, "else_value": True}},
            {**cat, "name": "c6", "join": {**cond, "else_value": "cats.name"}},
            {**cat, "name": "c7", "join": {**cond, "else_value": "'a' 'b'"}},
            {**cat, "name": "c8", "join": {**cond, "else_value": "''"}},
        ],
        "cats",
    )  # fmt: skip
    when = E("src", 3)
    assert shape(p) == {
        "src": {"table": "cats", "kind": "source", "exprs": [
            "`_t`.`id`", "`_t`.`parent_id`", "(`_t`.`parent_id` IS NOT NULL)",
            "(CASE WHEN (`_t`.`parent_id` IS NOT NULL) THEN 1 ELSE 0 END)", "(`_t`.`parent_id` > 1)",
            "(CASE WHEN (`_t`.`parent_id` > 1) THEN 1 ELSE 0 END)"]},
        "one1": {"table": "cats", "kind": "one", "exprs": ["(`_t`.`name`)", "(`_t`.`id`)"],
                 "pairs": [("src", 1, "id", "parent_id", None)]},
        "attributes": {
            "PK": E("src", 0),
            "c": N.IfElse(when, E("one1", 0), N.Const("none")),
            # an undeclared qualifier stands for the joined row (and says so)
            "c2": N.IfElse(when, E("one1", 0), E("one1", 1)),
            "c3": N.IfElse(E("src", 5), E("one1", 0), N.Const("0")),
            "c4": N.IfElse(when, E("one1", 0), N.Const("it's")),
            "c5": N.IfElse(when, E("one1", 0), N.Const(1)),
            "c6": N.IfElse(when, E("one1", 0), E("one1", 0)),
            "c7": N.IfElse(when, E("one1", 0), N.Const("'a' 'b'")),
            "c8": N.IfElse(when, E("one1", 0), N.Const("")),
        },
        "notes": [
            "tables[0].attributes[2].join.select_column: 'parent.name' read as the joined row",
            "tables[0].attributes[2].join.else_value: 'parent.id' read as the joined row",
        ],
    }  # fmt: skip


def test_conditional_join_to_another_table() -> None:
    p = plan(
        [PK, attr("c", join={"type": "conditional", "target_table": "orders", "join_condition": "orders.user_id = users.id",
                             "condition": "orders.total > 10", "select_column": "status", "else_value": "users.name"})]
    )  # fmt: skip
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": ["`_t`.`id`", "(`_t`.`name`)"]},
        "one1": {"table": "orders", "kind": "one",
                 "exprs": ["(`_t`.`status`)", "(`_t`.`total` > 10)", "(CASE WHEN (`_t`.`total` > 10) THEN 1 ELSE 0 END)"],
                 "pairs": [("src", 0, "user_id", "id", None)]},
        "attributes": {"PK": E("src", 0), "c": N.IfElse(E("one1", 2), E("one1", 0), E("src", 1))},
    }  # fmt: skip


def test_chains_and_multi_column_joins() -> None:
    line = {"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}
    steps = [
        {
            "target_table": "orders",
            "join_condition": "orders.id = lines.order_id",
            "select_column": "orders.status",
        },
        {
            "target_table": "users",
            "join_condition": "users.id = orders.user_id",
            "select_column": "users.name",
        },
    ]
    p = plan(
        [
            line,
            {**line, "name": "ch", "join": {"type": "chain", "joins": steps}},
            {**line, "name": "ch2", "join": {"type": "chain", "chain_separator": " > ", "joins": steps}},
            {**line, "name": "mc", "join": {"type": "multi-column", "target_table": "codes",
                                           "join_conditions": ["codes.code = lines.sku", "codes.label = 'x'"],
                                           "select_column": "label"}},
        ],
        "lines",
    )  # fmt: skip
    assert shape(p) == {
        "src": {"table": "lines", "kind": "source",
                "exprs": ["`_t`.`order_id`", "`_t`.`line`", "`_t`.`sku`", W.format("`_t`.`sku`")]},
        "one1": {"table": "orders", "kind": "one", "exprs": ["(`_t`.`status`)", "`_t`.`user_id`"],
                 "pairs": [("src", 0, "id", "order_id", None)]},
        "one2": {"table": "users", "kind": "one", "exprs": ["(`_t`.`name`)"], "pairs": [("one1", 1, "id", "user_id", None)]},
        "one3": {"table": "codes", "kind": "one", "exprs": ["(`_t`.`label`)"], "pairs": [("src", 2, "code", "sku", 3)],
                 "where": ["(`_t`.`label` = 'x')"]},
        "attributes": {
            "PK": E("src", 2),
            "ch": E("one2", 0),
            "ch2": N.Join((E("one1", 0), E("one2", 0)), " > "),
            "mc": E("one3", 0, True),
        },
    }  # fmt: skip


def test_constructions_order_limit_and_aggregates() -> None:
    to_orders = {"target_table": "orders", "join_condition": "orders.user_id = users.id"}
    p = plan(
        [
            PK,
            attr("a", "L", join={"type": "json-construction", **to_orders, "construction": {
                "type": "array", "select_columns": {"s": "status", "t": "orders.total"},
                "order_by": "status DESC, users.name, total", "limit": 3}}),
            attr("o", "M", join={"type": "json-construction", "target_table": "users", "join_condition": "users.id = users.id",
                                 "construction": {"type": "object", "select_columns": {"d": "doc", "n": "name"}}}),
            attr("mx", calculation={"type": "aggregate", "operation": "max", **to_orders, "select_column": "status"}),
            attr("cd", "N", calculation={"type": "aggregate", "operation": "COUNT", **to_orders,
                                         "select_column": "DISTINCT total"}),
            attr("av", "N", calculation={"type": "aggregate", "operation": "AVG", **to_orders, "select_column": " weight "}),
            attr("sm", "N", calculation={"type": "aggregate", "operation": "SUM", **to_orders, "select_column": "total"}),
        ],
        div_precision=6,
    )  # fmt: skip
    mx = N.Aggregate("many3", "MAX", 0, False, 6, weight_index=1)
    cd = N.Aggregate("many4", "COUNT", 0, True, 6, weight_index=1)
    av = N.Aggregate("many5", "AVG", 0, False, 6)
    sm = N.Aggregate("many6", "SUM", 0, False, 6)
    pairs = [("src", 0, "user_id", "id", None)]
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": ["`_t`.`id`", "(`_t`.`name`)"]},
        "many1": {"table": "orders", "kind": "many",
                  "exprs": ["(`_t`.`status`)", "(`_t`.`total`)", W.format("(`_t`.`status`)"), W.format("(`_t`.`total`)")],
                  "pairs": pairs, "order": [(0, True), (1, False)], "order_weights": [2, 3], "limit": 3},
        "many2": {"table": "users", "kind": "many", "exprs": ["(`_t`.`doc`)", "(`_t`.`name`)"],
                  "pairs": [("src", 0, "id", "id", None)], "limit": 1},
        "many3": {"table": "orders", "kind": "many", "exprs": ["(`_t`.`status`)", W.format("(`_t`.`status`)")],
                  "pairs": pairs, "aggregate": mx},
        "many4": {"table": "orders", "kind": "many", "exprs": ["(`_t`.`total`)", W.format("(`_t`.`total`)")],
                  "pairs": pairs, "aggregate": cd},
        "many5": {"table": "orders", "kind": "many", "exprs": ["(CAST(`_t`.`weight` AS DOUBLE))"], "pairs": pairs,
                  "aggregate": av},
        "many6": {"table": "orders", "kind": "many", "exprs": ["(`_t`.`total`)"], "pairs": pairs, "aggregate": sm},
        "attributes": {
            "PK": E("src", 0),
            "a": N.Construct("many1", "array", (N.Member("s", 0), N.Member("t", 1))),
            "o": N.Construct("many2", "object", (N.Member("d", 0, True), N.Member("n", 1, False))),
            "mx": mx, "cd": cd, "av": av, "sm": sm,
        },
        "notes": ["tables[0].attributes[2].join.join_condition: 'users.id = users.id' is the row itself"],
    }  # fmt: skip


def test_constants_and_more_aggregates() -> None:
    to_orders = {"target_table": "orders", "join_condition": "orders.user_id = users.id"}
    p = plan(
        [
            PK,
            attr("a", "L", join={"type": "json-construction", **to_orders, "construction": {
                "type": "array", "select_columns": {"k": "'x'", "s": "status"}, "order_by": "'c' DESC"}}),
            attr("mn", "N", calculation={"type": "aggregate", "operation": "MIN", **to_orders, "select_column": "total"}),
            attr("n", "N", calculation={"type": "aggregate", "operation": "COUNT", **to_orders, "select_column": "*"}),
            attr("one", "N", calculation={"type": "aggregate", "operation": "SUM", **to_orders, "select_column": "1"}),
        ],
        div_precision=6,
    )  # fmt: skip
    mn = N.Aggregate("many2", "MIN", 0, False, 6, weight_index=1)
    n = N.Aggregate("many3", "COUNT", None, False, 6)
    one = N.Aggregate("many4", "SUM", 0, False, 6)
    pairs = [("src", 0, "user_id", "id", None)]
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": ["`_t`.`id`"]},
        "many1": {"table": "orders", "kind": "many", "exprs": ["('x')", "(`_t`.`status`)", "('c')", W.format("('c')")],
                  "pairs": pairs, "order": [(2, True)], "order_weights": [3]},
        "many2": {"table": "orders", "kind": "many", "exprs": ["(`_t`.`total`)", W.format("(`_t`.`total`)")],
                  "pairs": pairs, "aggregate": mn},
        "many3": {"table": "orders", "kind": "many", "exprs": [], "pairs": pairs, "aggregate": n},
        "many4": {"table": "orders", "kind": "many", "exprs": ["(1)"], "pairs": pairs, "aggregate": one},
        "attributes": {"PK": E("src", 0), "a": N.Construct("many1", "array", (N.Member("k", 0), N.Member("s", 1))),
                       "mn": mn, "n": n, "one": one},
    }  # fmt: skip


def test_chains_of_three_steps_constants_and_unqualified_columns() -> None:
    line = {"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}
    steps = [
        {"target_table": "orders", "join_condition": "orders.id = lines.order_id", "select_column": "'o'"},
        {"target_table": "users", "join_condition": "users.id = orders.user_id", "select_column": "name"},
        {"target_table": "codes", "join_condition": "codes.code = users.email", "select_column": "label"},
    ]
    p = plan([line, {**line, "name": "ch", "join": {"type": "chain", "joins": steps}},
              {**line, "name": "all", "join": {"type": "chain", "chain_separator": ",", "joins": steps}}], "lines")  # fmt: skip
    assert p.attributes[1].node == E("one3", 0)
    assert p.attributes[2].node == N.Join((E("one1", 0), E("one2", 0), E("one3", 0)), ",")
    assert [p.slots[s].exprs[0] for s in ("one1", "one2", "one3")] == [
        "('o')",
        "(`_t`.`name`)",
        "(`_t`.`label`)",
    ]


def test_array_without_limit_and_object_limit() -> None:
    p = plan(
        [PK, attr("a", "L", join={"type": "json-construction", "target_table": "orders", "join_condition": "orders.user_id = users.id",
                                  "construction": {"type": "array", "select_columns": {"s": "status"}}})]
    )  # fmt: skip
    assert p.slots["many1"].limit is None and p.slots["many1"].order == []


def test_calculations() -> None:
    p = plan(
        [
            PK,
            attr("k", calculation={"type": "case", "else": "email", "cases": [
                {"when": "score > 1", "then": "'hi'"}, {"when": "users.email IS NULL", "then": "name"},
                {"when": "id = 2", "then": "LOW"}]}),
            attr("k2", calculation={"type": "case", "cases": [{"when": "id = 1", "then": "'x'"}]}),
            attr("k3", calculation={"type": "case", "else": "NONE", "cases": [{"when": "id = 1", "then": "users.id"}]}),
            attr("cc", calculation={"type": "concat", "parts": ["name", "users.email", "'!'"], "separator": " "}),
            attr("dm", calculation={"type": "date-math", "expression": "born", "interval": "-2 months", "format": "YYYY"}),
            attr("dm2", calculation={"type": "date-math", "expression": "born", "interval": " 3 day "}),
        ]
    )  # fmt: skip
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": [
            "`_t`.`id`",
            "(CASE WHEN (CAST(`_t`.`score` AS DOUBLE) > 1) THEN ('hi') WHEN (`_t`.`email` IS NULL) THEN (`_t`.`name`) "
            "WHEN (`_t`.`id` = 2) THEN 'LOW' ELSE (`_t`.`email`) END)",
            "(CASE WHEN (`_t`.`id` = 1) THEN ('x') ELSE NULL END)",
            "(CASE WHEN (`_t`.`id` = 1) THEN (`_t`.`id`) ELSE 'NONE' END)",
            "(`_t`.`name`)", "(`_t`.`email`)", "('!')", "(`_t`.`born`)"]},
        "attributes": {
            "PK": E("src", 0), "k": E("src", 1), "k2": E("src", 2), "k3": E("src", 3),
            "cc": N.Join((E("src", 4), E("src", 5), E("src", 6)), " "),
            "dm": N.DateMath(E("src", 7), -2, "MONTH", "YYYY"),
            "dm2": N.DateMath(E("src", 7), 3, "DAY", None),
        },
    }  # fmt: skip


def test_transformations() -> None:
    p = plan(
        [
            PK,
            attr("f", transformation={"type": "string-format", "format": "U#{users.id}{{x}}#{ name }#"}),
            attr("t", transformation={"type": "template", "template": "{id}"}),
            attr("c", transformation={"type": "string-format", "format": "#META"}),
            attr("st", "N", transformation={"type": "static", "value": 5}),
            attr("yes", "BOOL", transformation={"type": "static", "value": True}),
            attr("no", "S", transformation={"type": "static", "value": False}),
            attr("jp", "M", source_column="doc", transformation={"type": "json-parse"}),
            attr("df", source_column="born", transformation={"type": "date-format", "format": "YYYY",
                                                             "source_format": "DD/MM/YYYY"}),
            attr("df2", source_column="born", transformation={"type": "date-format", "format": "MM"}),
            attr("nf", transformation={"type": "number-format", "format": " 000.00 "}),
            attr("nf2", transformation={"type": "number-format", "format": "0000"}),
            {"name": "nul", "type": "NULL", "source_table": "users", "source_column": None},
            attr("nul2", "NULL", source_column="email"),
        ]
    )  # fmt: skip
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": ["`_t`.`id`", "`_t`.`name`", "`_t`.`doc`", "`_t`.`born`", "`_t`.`email`"]},
        "attributes": {
            "PK": E("src", 0),
            "f": N.Format(("U#", E("src", 0), "{x}#", E("src", 1), "#")),
            "t": N.Format((E("src", 0),)),
            "c": N.Format(("#META",)),
            "st": N.Const("5"),
            "yes": N.Const(1),
            "no": N.Const("false"),
            "jp": E("src", 2),
            "df": N.DateFormat(E("src", 3), "YYYY", "DD/MM/YYYY"),
            "df2": N.DateFormat(E("src", 3), "MM", None),
            "nf": N.NumberFormat(E("src", 0), 3, 2),
            "nf2": N.NumberFormat(E("src", 0), 4, 0),
            "nul": N.Const(None),
            "nul2": E("src", 4),
        },
    }  # fmt: skip


def test_a_join_condition_part_over_both_rows_is_a_cross_test() -> None:
    p = plan(
        [PK, attr("x", join={"type": "foreign-key", "target_table": "orders", "select_column": "status",
                             "join_condition": "orders.user_id = users.id AND orders.created >= users.since"})]
    )  # fmt: skip
    assert shape(p) == {
        "src": {"table": "users", "kind": "source", "exprs": ["`_t`.`id`"]},
        "one1": {"table": "orders", "kind": "one", "exprs": ["`_t`.`id`", "(`_t`.`status`)"],
                 "pairs": [("src", 0, "user_id", "id", None)],
                 "cross": [Cross("src", "(CASE WHEN (`_t`.`created` >= `_o`.`since`) THEN 1 ELSE 0 END)", [0], ("id",), [0])]},
        "attributes": {"PK": E("src", 0), "x": E("one1", 1, True)},
    }  # fmt: skip


# -- what the evaluator refuses (EvaluationUnsupported: message, JSON path, hint) --------------------------


def _refused(attrs: list[dict[str, Any]], source: str = "users", **extra: Any) -> EvaluationUnsupported:
    with pytest.raises(EvaluationUnsupported) as exc:
        plan(attrs, source, **extra)
    return exc.value


def _fk(cond: str, select: str = "status", target: str = "orders") -> dict[str, Any]:
    return {"type": "foreign-key", "target_table": target, "join_condition": cond, "select_column": select}


@pytest.mark.parametrize(
    ("attrs", "message", "path", "hint"),
    [
        ([attr("e", source_column="orders.email")], "source_column 'orders.email' is not a column of users",
         "tables[0].attributes[1].source_column", None),
        ([attr("e", source_column="nope")], "table 'users' has no column 'nope'", "tables[0].attributes[1].source_column", None),
        ([attr("e", source_column=["id", "email"])], "attribute 'e' needs exactly one source_column here (got 2)",
         "tables[0].attributes[1].source_column", None),
        ([attr("e", join=_fk("orders.user_id = users.id", "x.status"))],
         "'x.status' refers to 'x', which is not in scope here", "tables[0].attributes[1].join.select_column",
         "usable here: orders, users"),
        ([attr("e", join=_fk("orders.user_id = users.id", "nope"))], "table 'orders' has no column 'nope'",
         "tables[0].attributes[1].join.select_column", None),
        ([attr("e", join=_fk("orders.user_id = users.id", "CONCAT(orders.status, users.name)"))],
         "'CONCAT(orders.status, users.name)' mixes columns of several rows (orders, users); the evaluator computes "
         "expressions over one row at a time", "tables[0].attributes[1].join.select_column", None),
        ([attr("e", join=_fk("user_id = id"))], "unqualified column 'id' exists in orders and users",
         "tables[0].attributes[1].join.join_condition", "qualify it, e.g. table.id"),
        ([attr("e", join=_fk("orders.user_id = users.id AND zzz = 1"))],
         "unqualified column 'zzz' is in none of the tables in scope", "tables[0].attributes[1].join.join_condition",
         "qualify it, e.g. table.zzz"),
        ([attr("e", join=_fk("orders.user_id > users.id"))],
         "the join condition 'orders.user_id > users.id' has no equality between the joined and the current row",
         "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", join=_fk("orders.nope = users.id"))], "the join condition names an unknown column 'nope'",
         "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", join=_fk("orders.user_id = users.nope"))], "the join condition names an unknown column 'nope'",
         "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", join=_fk("orders.user_id = users.id AND orders.nope = 1"))], "table 'orders' has no column 'nope'",
         "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", join=_fk("orders.user_id = users.id AND orders.created > users.nope"))],
         "table 'users' has no column 'nope'", "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", join=_fk("orders.user_id = users.id AND orders.nope > users.since"))],
         "table 'orders' has no column 'nope'", "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", join=_fk("logs.user_id = users.id AND logs.msg > users.name", "msg", "logs"))],
         "the join condition part 'logs.msg > users.name' compares the rows by something other than an equality; the "
         "evaluator needs a key on users and a primary key on logs to evaluate it row by row",
         "tables[0].attributes[1].join.join_condition", None),
        ([attr("e", calculation={"type": "aggregate", "operation": "SUM", "target_table": "orders",
                                 "join_condition": "orders.user_id = users.id", "select_column": "*"})],
         "SUM(*) is not valid SQL", "tables[0].attributes[1].calculation.select_column", None),
        ([attr("e", calculation={"type": "aggregate", "operation": "SUM", "target_table": "orders",
                                 "join_condition": "orders.user_id = users.id", "select_column": "users.id"})],
         "aggregate select_column 'users.id' is not over the related rows",
         "tables[0].attributes[1].calculation.select_column", None),
        ([attr("e", "L", join={"type": "json-construction", "target_table": "orders", "join_condition": "orders.user_id = users.id",
                               "construction": {"type": "array", "select_columns": {"n": "users.name"}}})],
         "select column 'users.name' is not over the related rows",
         "tables[0].attributes[1].join.construction.select_columns.n", None),
        ([attr("e", calculation={"type": "date-math", "expression": "born", "interval": "2 fortnights"})],
         "unsupported interval '2 fortnights'", "tables[0].attributes[1].calculation.interval", None),
        ([attr("e", transformation={"type": "number-format", "format": "#,##0"})], "unsupported number format '#,##0'",
         "tables[0].attributes[1].transformation.format", None),
        ([attr("e", transformation={"type": "string-format", "format": "a{id"})], "unclosed '{' in format 'a{id'",
         "tables[0].attributes[1].transformation.format", None),
        ([attr("e", transformation={"type": "string-format", "format": "{orders.id}"})],
         "placeholder '{orders.id}' names another table", "tables[0].attributes[1].transformation.format", None),
        ([attr("e", calculation={"type": "concat", "parts": ["name", "nope"], "separator": ""})],
         "table 'users' has no column 'nope'", "tables[0].attributes[1].calculation.parts[1]", None),
        ([attr("e", calculation={"type": "concat", "parts": ["orders.total"], "separator": ""})],
         "'orders.total' refers to 'orders', which is not in scope here", "tables[0].attributes[1].calculation.parts[0]",
         "usable here: users"),
        ([attr("e", calculation={"type": "case", "cases": [{"when": "orders.total > 1", "then": "'x'"}]})],
         "'orders.total' refers to 'orders', which is not in scope here", "tables[0].attributes[1].calculation.cases[0].when",
         "usable here: users"),
        ([attr("e", calculation={"type": "case", "cases": [{"when": "id > 1", "then": "orders.total"}]})],
         "'orders.total' refers to 'orders', which is not in scope here", "tables[0].attributes[1].calculation.cases[0].then",
         "usable here: users"),
        ([attr("e", calculation={"type": "date-math", "expression": "nope", "interval": "1 DAY"})],
         "table 'users' has no column 'nope'", "tables[0].attributes[1].calculation.expression", None),
        ([attr("e", join={"type": "chain", "joins": [
            {"target_table": "orders", "join_condition": "orders.user_id = users.id", "select_column": "status"},
            {"target_table": "cats", "join_condition": "cats.id = orders.id", "select_column": "nope"}]})],
         "table 'cats' has no column 'nope'", "tables[0].attributes[1].join.joins[1].select_column", None),
        ([attr("e", "L", join={"type": "json-construction", "target_table": "orders", "join_condition": "orders.user_id = users.id",
                               "construction": {"type": "array", "select_columns": {"s": "status"}, "order_by": "nope"}})],
         "table 'orders' has no column 'nope'", "tables[0].attributes[1].join.construction.order_by", None),
        ([attr("e", transformation={"type": "string-format", "format": "{nope}"})],
         "placeholder '{nope}' is not a column of users", "tables[0].attributes[1].transformation.format", None),
        ([attr("e", join=_fk("cats.id = cats.parent_id", "cats.name", "cats"))],
         "the join condition 'cats.id = cats.parent_id' has no equality between the joined and the current row",
         "tables[0].attributes[1].join.join_condition", None),
    ],
)  # fmt: skip
def test_refusals(attrs: list[dict[str, Any]], message: str, path: str, hint: str | None) -> None:
    err = _refused([PK, *attrs])
    assert err.message == message
    assert err.where.get("path") == path and err.where.get("table") == "Tab"
    assert err.hint == hint


CAT = {"name": "PK", "type": "S", "source_table": "cats", "source_column": "id"}


@pytest.mark.parametrize(
    ("join", "message", "path", "hint"),
    [
        ({"type": "foreign-key", "target_table": "cats", "join_condition": "cats.parent_id > cats.id", "select_column": "name"},
         "the condition 'cats.parent_id > cats.id' compares cats with itself and is not one equality",
         "tables[0].attributes[1].join.join_condition",
         'declare an alias, e.g. {"type": "self-join", "join_alias": "parent", ...}'),
        ({"type": "foreign-key", "target_table": "cats", "join_condition": "cats.parent_id = 1", "select_column": "name"},
         "the condition 'cats.parent_id = 1' compares cats with itself and is not one equality",
         "tables[0].attributes[1].join.join_condition",
         'declare an alias, e.g. {"type": "self-join", "join_alias": "parent", ...}'),
        ({"type": "foreign-key", "target_table": "cats", "join_condition": "cats.parent_id = cats.name", "select_column": "name"},
         "the condition 'cats.parent_id = cats.name' compares cats with itself and no reading is certain (primary key id)",
         "tables[0].attributes[1].join.join_condition", "declare an alias for the joined row and qualify both sides"),
        ({"type": "foreign-key", "target_table": "cats", "join_condition": "cats.parent_id = cats.parent_id",
          "select_column": "name"},
         "the condition 'cats.parent_id = cats.parent_id' compares cats with itself and no reading is certain (primary key id)",
         "tables[0].attributes[1].join.join_condition", "declare an alias for the joined row and qualify both sides"),
    ],
)  # fmt: skip
def test_self_references_without_a_certain_reading_are_refused(
    join: dict[str, Any], message: str, path: str, hint: str
) -> None:
    err = _refused([CAT, {**CAT, "name": "x", "join": join}], "cats")
    assert (err.message, err.where.get("path"), err.hint) == (message, path, hint)


def test_self_referencing_collections_read_the_table_name_as_the_related_rows() -> None:
    p = plan(
        [CAT, {**CAT, "name": "kids", "type": "L", "join": {"type": "json-construction", "target_table": "cats",
               "join_condition": "cats.parent_id = cats.id", "construction": {"type": "array",
               "select_columns": {"n": "cats.name"}, "order_by": "cats.name"}}}],
        "cats",
    )  # fmt: skip
    assert p.slots["many1"].exprs[0] == "(`_t`.`name`)" and p.slots["many1"].order == [(0, False)]
    assert p.slots["many1"].pairs[0].column == "parent_id"


def test_multi_column_self_reference_keeps_every_condition() -> None:
    p = plan(
        [CAT, {**CAT, "name": "m", "join": {"type": "multi-column", "target_table": "cats", "select_column": "cats.name",
               "join_conditions": ["cats.id = cats.parent_id", "cats.id = cats.id"]}}],
        "cats",
    )  # fmt: skip
    pairs = [(x.other, x.index, x.column, x.other_column) for x in p.slots["one1"].pairs]
    assert pairs == [("src", 1, "id", "parent_id"), ("src", 0, "id", "id")]


def test_self_join_reads_its_alias_not_the_primary_key_rule() -> None:
    sj = {"type": "self-join", "target_table": "cats", "join_alias": "child"}
    p = plan(
        [CAT, {**CAT, "name": "c", "join": {**sj, "join_condition": "child.parent_id = cats.id", "select_column": "child.name"}},
         {**CAT, "name": "me", "join": {**sj, "join_condition": "child.parent_id = cats.id", "select_column": "cats.name"}}],
        "cats",
    )  # fmt: skip
    # the joined row is the child (its parent_id is the current id), not the parent the primary key rule would pick
    assert [(x.other, x.index, x.column, x.other_column) for x in p.slots["one1"].pairs] == [
        ("src", 0, "parent_id", "id")
    ]
    assert p.attributes[1].node == E("one1", 0, True)
    # the table's own name is the current row in a self-join with an alias
    assert p.attributes[2].node == E("src", 1) and p.source.exprs[1] == "(`_t`.`name`)"


def test_parenthesised_equalities_pair_the_rows() -> None:
    p = plan([PK, attr("e", join=_fk("(orders.user_id = users.id) AND (orders.status = 'PAID')"))])
    assert [(x.other, x.column) for x in p.slots["one1"].pairs] == [("src", "user_id")]
    assert p.slots["one1"].where == ["(`_t`.`status` = 'PAID')"] and p.slots["one1"].cross == []


@pytest.mark.parametrize("else_value", ["users.name", "orders.total"])
def test_a_conditional_reads_undeclared_qualifiers_only_when_else_names_one(else_value: str) -> None:
    cond = {"type": "conditional", "target_table": "orders", "join_condition": "orders.user_id = users.id",
            "condition": "orders.total > 1", "select_column": "x.status", "else_value": else_value}  # fmt: skip
    err = _refused([PK, attr("c", join=cond)])
    assert err.message == "'x.status' refers to 'x', which is not in scope here"
    assert err.where["path"] == "tables[0].attributes[1].join.select_column"


def test_a_chain_step_condition_over_two_earlier_rows_is_refused() -> None:
    line = {"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}
    steps = [
        {"target_table": "orders", "join_condition": "orders.id = lines.order_id", "select_column": "status"},
        {"target_table": "users", "join_condition": "users.id = orders.user_id AND orders.id = lines.order_id",
         "select_column": "name"},
    ]  # fmt: skip
    err = _refused([line, {**line, "name": "c", "join": {"type": "chain", "joins": steps}}], "lines")
    assert err.message == (
        "the join condition part 'orders.id = `lines`.order_id' relates rows of orders, lines but none of the "
        "joined table users; the evaluator resolves a part over the joined row alone, or over it and one other row"
    )
    assert err.where["path"] == "tables[0].attributes[1].join.joins[1].join_condition"


def test_a_chain_step_condition_over_three_rows_is_refused_naming_them() -> None:
    line = {"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}
    steps = [
        {"target_table": "orders", "join_condition": "orders.id = lines.order_id", "select_column": "status"},
        {"target_table": "users", "join_condition": "users.id = orders.user_id AND users.id > orders.id + lines.qty",
         "select_column": "name"},
    ]  # fmt: skip
    err = _refused([line, {**line, "name": "c", "join": {"type": "chain", "joins": steps}}], "lines")
    assert err.message == (
        "the join condition part 'users.id > orders.id + `lines`.qty' relates rows of 3 tables (users, orders, "
        "lines); the evaluator resolves a part over the joined row alone, or over it and one other row"
    )


def test_conditional_conditions_null_values_and_unqualified_columns() -> None:
    cond = {"type": "conditional", "target_table": "cats", "join_condition": "cats.id = cats.parent_id",
            "select_column": "cats.name", "else_value": "'-'"}  # fmt: skip
    p = plan(
        [
            CAT,
            {**CAT, "name": "always", "join": {**cond, "condition": "1 = 1"}},
            {**CAT, "name": "plain", "join": {**cond, "condition": "parent_id IS NOT NULL"}},
            {**CAT, "name": "alias", "join": {**cond, "condition": "parent.id IS NULL", "else_value": "parent.name"}},
            {**CAT, "name": "flag", "type": "BOOL", "join": {"type": "self-join", "target_table": "cats", "join_alias": "p",
             "join_condition": "p.id = cats.parent_id", "select_column": "1", "null_value": False}},
        ],
        "cats",
    )  # fmt: skip
    nodes = {a.attribute.name: a.node for a in p.attributes}
    assert p.source.exprs[2:] == ["(1 = 1)", "(CASE WHEN (1 = 1) THEN 1 ELSE 0 END)", "(`_t`.`parent_id` IS NOT NULL)",
                                  "(CASE WHEN (`_t`.`parent_id` IS NOT NULL) THEN 1 ELSE 0 END)"]  # fmt: skip
    assert nodes["always"] == N.IfElse(E("src", 3), E("one1", 0), N.Const("-"))
    assert nodes["plain"] == N.IfElse(E("src", 5), E("one1", 0), N.Const("-"))
    # an undeclared alias named by else_value is the joined row in the condition too
    assert p.slots["one1"].exprs[1:3] == [
        "(`_t`.`id` IS NULL)",
        "(CASE WHEN (`_t`.`id` IS NULL) THEN 1 ELSE 0 END)",
    ]
    assert nodes["alias"] == N.IfElse(E("one1", 2), E("one1", 0), E("one1", 0))
    assert nodes["flag"] == N.IfElse(N.Matched("one2"), E("one2", 0), N.Const(0))  # BOOL: 1/0


def test_unqualified_columns_of_a_related_table_and_text_weights_only_between_texts() -> None:
    p = plan(
        [PK, attr("n", "N", calculation={"type": "aggregate", "operation": "COUNT", "target_table": "orders",
                                         "join_condition": "user_id = users.id", "select_column": "*"}),
         attr("e", join=_fk("orders.user_id = users.email")), attr("f", join=_fk("orders.status = users.id"))]
    )  # fmt: skip
    assert [(x.other, x.column, x.other_column) for x in p.slots["many1"].pairs] == [("src", "user_id", "id")]
    assert [x.weight_index for x in p.slots["one2"].pairs] == [None]  # INT = VARCHAR compares numerically
    assert [x.weight_index for x in p.slots["one3"].pairs] == [None]


def test_errors_in_else_and_filter_name_their_paths() -> None:
    err = _refused([PK, attr("e", calculation={"type": "case", "cases": [{"when": "id > 1", "then": "'x'"}],
                                                "else": "orders.total"})])  # fmt: skip
    assert (err.message, err.where["path"]) == (
        "'orders.total' refers to 'orders', which is not in scope here",
        "tables[0].attributes[1].calculation.else",
    )
    err = _refused([PK], filter="id > 1 -- x")
    assert (err.message, err.where["path"]) == (
        "the SQL fragment 'id > 1 -- x' holds a comment",
        "tables[0].filter",
    )
    cond = {"type": "conditional", "target_table": "orders", "join_condition": "orders.user_id = users.id",
            "condition": "orders.total > 1 -- x", "select_column": "status", "else_value": "'-'"}  # fmt: skip
    err = _refused([PK, attr("c", join=cond)])
    assert err.where["path"] == "tables[0].attributes[1].join.condition"


def test_the_planners_default_div_precision_is_the_servers_default() -> None:
    t = contract_table([PK, attr("a", "N", calculation={"type": "aggregate", "operation": "AVG", "target_table": "orders",
                                                        "join_condition": "orders.user_id = users.id", "select_column": "total"})])  # fmt: skip
    p = Planner(Catalog(None, dict(TABLES)), t, t.entities[0]).plan()
    assert p.attributes[1].node == N.Aggregate("many1", "AVG", 0, False, 4)


def test_a_join_condition_with_a_comment_is_refused_at_its_path() -> None:
    err = _refused([PK, attr("e", join=_fk("orders.user_id = users.id -- x"))])
    assert err.message == "the SQL fragment 'orders.user_id = users.id -- x' holds a comment"
    assert err.where["path"] == "tables[0].attributes[1].join.join_condition"


def test_an_else_literal_with_a_comment_is_refused() -> None:
    cond = {"type": "conditional", "target_table": "cats", "join_condition": "cats.id = cats.parent_id",
            "condition": "cats.parent_id IS NOT NULL", "select_column": "cats.name", "else_value": "'a' -- '"}  # fmt: skip
    err = _refused([CAT, {**CAT, "name": "c", "join": cond}], "cats")
    assert err.message == "the SQL fragment \"'a' -- '\" holds a comment"
    assert err.where["path"] == "tables[0].attributes[1].join.else_value"


def test_self_reference_needs_a_single_column_primary_key() -> None:
    line = {"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}
    err = _refused(
        [line, {**line, "name": "n", "type": "N", "calculation": {"type": "aggregate", "operation": "COUNT",
         "target_table": "lines", "join_condition": "lines.order_id = lines.line", "select_column": "*"}}],
        "lines",
    )  # fmt: skip
    assert err.message == (
        "table 'lines' has no single-column primary key; a condition that compares it with itself cannot be read "
        "by the primary key rule"
    )
    assert err.hint == "declare an alias (self-join with join_alias) and qualify both sides"
    assert err.where.get("path") == "tables[0].attributes[1].calculation.join_condition"


def _planner_with(attr_changes: dict[str, Any]) -> Planner:
    t = contract_table([PK, attr("x", transformation={"type": "static", "value": "v"})])
    e = t.entities[0]
    changed = dataclasses.replace(e.attributes[1], **attr_changes)
    entity = dataclasses.replace(e, attributes=(e.attributes[0], changed))
    table = dataclasses.replace(t, entities=(entity,))
    return Planner(Catalog(None, dict(TABLES)), table, entity)


@pytest.mark.parametrize(
    ("changes", "message", "path"),
    [
        ({"transformation": Transformation("uppercase", path="P")}, "transformation type 'uppercase' is not known to the evaluator", "P"),
        ({"transformation": None, "calculation": Calculation("pivot", path="P")}, "calculation type 'pivot' is not known to the evaluator", "P"),
        ({"transformation": None, "calculation": Calculation("aggregate", "orders", "orders.user_id = users.id", "MEDIAN",
                                                              "total", path="P")},
         "unknown aggregate operation 'MEDIAN'", "P.operation"),
        ({"transformation": None, "join": Join("json-construction", "orders", None, path="P",
                                                construction=Construction("array", (("s", "status"),), path="C"))},
         "empty SQL fragment ''", "P.join_condition"),
        ({"transformation": None, "calculation": Calculation("aggregate", "orders", None, "SUM", "total", path="P")},
         "empty SQL fragment ''", "P.join_condition"),
        ({"transformation": None, "calculation": Calculation("aggregate", "orders", "orders.user_id = users.id", "SUM",
                                                             None, path="P")},
         "empty SQL fragment ''", "P.select_column"),
        ({"transformation": None, "calculation": Calculation("date-math", expression=None, interval="1 DAY", path="P")},
         "empty SQL fragment ''", "P.expression"),
        ({"transformation": None, "join": Join("foreign-key", "orders", None, select_column="status", path="P")},
         "empty SQL fragment ''", "P.join_condition"),
        ({"transformation": None, "join": Join("foreign-key", "orders", "orders.user_id = users.id", path="P")},
         "empty SQL fragment ''", "P.select_column"),
        ({"transformation": None, "join": Join("foreign-key", "orders", "orders.user_id = users.id", select_column="o.status",
                                               join_alias="o", path="P")},
         "'o.status' refers to 'o', which is not in scope here", "P.select_column"),
        ({"transformation": None, "join": Join("conditional", "orders", "orders.user_id = users.id", select_column="status",
                                               else_value="'-'", path="P")},
         "empty SQL fragment ''", "P.condition"),
        ({"transformation": None, "join": Join("cross-join", path="P")}, "join type 'cross-join' is not known to the evaluator", "P"),
        ({"transformation": None, "join": Join("self-join", "users", "users.id = users.id", select_column="id", path="P")},
         "a self-join needs 'join_alias'", "P.join_alias"),
        ({"transformation": None, "join": Join("chain", path="P")}, "a chain needs at least one join", "P.joins"),
        ({"transformation": None, "join": Join("json-construction", "orders", "orders.user_id = users.id", path="P")},
         "json-construction without 'construction'", "P"),
    ],
)  # fmt: skip
def test_refusals_of_shapes_the_contract_check_stops_first(
    changes: dict[str, Any], message: str, path: str
) -> None:
    with pytest.raises(EvaluationUnsupported) as exc:
        _planner_with(changes).plan()
    assert exc.value.message == message and exc.value.where["path"] == path


def test_transformations_without_a_format() -> None:
    p = _planner_with({"transformation": Transformation("string-format", path="P")}).plan()
    assert p.attributes[1].node == N.Format(())
    p = _planner_with({"transformation": Transformation("date-format", path="P")}).plan()
    assert p.attributes[1].node == N.DateFormat(E("src", 0), "", None)


def test_a_case_without_then_gives_null() -> None:
    from dynamigrate.contract.model import Case

    calc = Calculation("case", cases=(Case("id = 1", None, "P.cases[0]"),), path="P")  # type: ignore[arg-type]
    p = _planner_with({"transformation": None, "calculation": calc}).plan()
    assert p.source.exprs == ["`_t`.`id`", "(CASE WHEN (`_t`.`id` = 1) THEN NULL ELSE NULL END)"]


def test_construction_of_an_unknown_type_is_refused() -> None:
    c = Construction("set", (("s", "status"),), path="C")
    j = Join("json-construction", "orders", "orders.user_id = users.id", construction=c, path="P")
    with pytest.raises(EvaluationUnsupported) as exc:
        _planner_with({"transformation": None, "join": j}).plan()
    assert exc.value.message == "construction type 'set' is not array or object"
    assert exc.value.where["path"] == "C.type"


def test_conditional_else_value_null_is_absent() -> None:
    j = Join("conditional", "orders", "orders.user_id = users.id", select_column="status", condition="orders.total > 1",
             else_value=None, path="P")  # fmt: skip
    p = _planner_with({"transformation": None, "join": j}).plan()
    assert p.attributes[1].node == N.IfElse(E("one1", 2), E("one1", 0), N.Const(None))
