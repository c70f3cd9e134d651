"""The reference evaluator's small parts, offline: SQL fragments (evaluate/fragments.py), slots and static
values (slots.py), the base-table model and SQL's matching/ordering of values (schema.py), and the
comparison of items (compare.py). Expectations are hand-written from docs/contract-format.md and SQL's
rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from _evaluate_plan_fixtures import TABLES, contract_table

from dynamigrate.evaluate.compare import (
    Difference,
    canonical,
    compare_items,
    json_text_attributes,
    values_equal,
)
from dynamigrate.evaluate.fragments import (
    ColumnRef,
    EvaluationUnsupported,
    order_items,
    parse,
    quote,
    split_and,
    subfragment,
)
from dynamigrate.evaluate.schema import BaseTable, Catalog, Column, match_key, sort_key
from dynamigrate.evaluate.slots import Slot, is_json_column, sql_text, static_text

# -- fragments ---------------------------------------------------------------------------------------------


def test_quote() -> None:
    assert quote("a`b") == "`a``b`"
    assert quote("off%") == "`off%%`"  # statements are formatted by PyMySQL: '%' doubled
    assert quote("é x") == "`é x`"
    for bad in ("", "a\x00"):
        with pytest.raises(EvaluationUnsupported) as exc:
            quote(bad)
        assert exc.value.message == f"invalid SQL identifier {bad!r}"


@pytest.mark.parametrize(
    ("text", "refs", "rendered"),
    [
        ("a.b + `c`", [("a", "b", "a.b"), (None, "c", "`c`")], "(`_t`.`b` + `_t`.`c`)"),
        ("`t`.`x y` = 1", [("t", "x y", "`t`.`x y`")], "(`_t`.`x y` = 1)"),
        ("t.`x`", [("t", "x", "t.`x`")], "(`_t`.`x`)"),
        ("`t`.x", [("t", "x", "`t`.x")], "(`_t`.`x`)"),
        ("CONCAT(`a`, b)", [(None, "a", "`a`"), (None, "b", "b")], "(CONCAT(`_t`.`a`, `_t`.`b`))"),
        ("`a``b` + 1", [(None, "a`b", "`a``b`")], "(`_t`.`a``b` + 1)"),
        ("T.X=`y`", [("T", "X", "T.X"), (None, "y", "`y`")], "(`_t`.`X`=`_t`.`y`)"),
        ("UPPER( t . c )", [("t", "c", "t . c")], "(UPPER( `_t`.`c` ))"),
        ("'it''s' = a", [(None, "a", "a")], "('it''s' = `_t`.`a`)"),
        ("COUNT(*)", [], "(COUNT(*))"),
        ("1", [], "(1)"),
    ],
)
def test_parse_finds_column_references_in_the_text(text: str, refs: list[Any], rendered: str) -> None:
    frag = parse(text, "P")
    assert [(r.qualifier, r.name, text[r.start : r.end]) for r in frag.columns] == refs
    assert frag.render(lambda _r: "_t") == rendered
    assert frag.text == text and frag.path == "P"


def test_render_doubles_percent_signs() -> None:
    frag = parse("name LIKE 'R%' AND `off%` > 5 % 3", "P")
    assert frag.render(lambda _r: "_t") == "(`_t`.`name` LIKE 'R%%' AND `_t`.`off%%` > 5 %% 3)"


def test_render_keeps_unqualified_columns_and_widens_floats() -> None:
    frag = parse("x.a + b * a", "P")
    assert frag.render(lambda _r: None) == "(`a` + `b` * `a`)"
    assert frag.render(lambda r: r.qualifier) == "(`x`.`a` + `b` * `a`)"
    assert (
        frag.render(lambda _r: "q", lambda r: "DOUBLE" if r.name == "a" else None)
        == "(CAST(`q`.`a` AS DOUBLE) + `q`.`b` * CAST(`q`.`a` AS DOUBLE))"
    )
    assert parse("a", "P").is_bare_column and parse("t.a", "P").is_bare_column
    assert not parse("a + 1", "P").is_bare_column and not parse("'a'", "P").is_bare_column


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty SQL fragment ''"),
        ("  ", "empty SQL fragment '  '"),
        (None, "empty SQL fragment None"),
        ("a; b", "the SQL fragment 'a; b' is not one expression"),
        ("a;", "the SQL fragment 'a;' is not one expression"),
        ("@x", "the SQL fragment '@x' is not one expression"),
        ("@@sql_mode", "the SQL fragment '@@sql_mode' is not one expression"),
        ("a -- c", "the SQL fragment 'a -- c' holds a comment"),
        ("/* x */ a", "the SQL fragment '/* x */ a' holds a comment"),
        ("a # c", "the SQL fragment 'a # c' holds a comment"),  # MySQL's '#' comment
        ("(SELECT 1)", "the SQL fragment '(SELECT 1)' holds a subquery, statement or variable"),
        (
            "a IN (SELECT b FROM t)",
            "the SQL fragment 'a IN (SELECT b FROM t)' holds a subquery, statement or variable",
        ),
        ("?", "the SQL fragment '?' holds a subquery, statement or variable"),
        (":x", "the SQL fragment ':x' holds a subquery, statement or variable"),
        ("db.t.c", "the SQL fragment 'db.t.c' names a database"),
        ("t.*", "'*' in the SQL fragment 't.*'"),
    ],
)
def test_fragments_that_are_not_one_plain_expression_are_refused(text: Any, message: str) -> None:
    with pytest.raises(EvaluationUnsupported) as exc:
        parse(text, "P")
    assert exc.value.message == message and exc.value.where == {"path": "P"}


@pytest.mark.parametrize("text", ["a b c", "%s", "'unclosed"])
def test_unreadable_fragments_are_refused(text: str) -> None:
    with pytest.raises(EvaluationUnsupported) as exc:
        parse(text, "P")
    assert exc.value.message.startswith(
        f"cannot read the SQL fragment {text!r}: "
    ) or exc.value.message.startswith(f"cannot parse the SQL fragment {text!r}: ")
    assert exc.value.where == {"path": "P"}


def test_split_and_and_subfragments() -> None:
    frag = parse("users.id = 1 AND (b = 2 OR c = 3) AND d", "P")
    parts = [subfragment(frag, node) for node in split_and(frag)]
    assert [p.text for p in parts] == ["users.id = 1", "b = 2 OR c = 3", "d"]
    assert all(p.path == "P" for p in parts)
    assert [c.name for c in parts[1].columns] == ["b", "c"]
    assert [p.sql() for p in split_and(parse("((a = 1 AND b = 2))", "P"))] == ["a = 1", "b = 2"]
    assert [p.sql() for p in split_and(parse("a = 1 OR b = 2", "P"))] == ["a = 1 OR b = 2"]


def test_order_items() -> None:
    assert [(f.text, [c.name for c in f.columns], d) for f, d in order_items("`x y` DESC", "P")] == [
        ("`x y`", ["x y"], True)
    ]
    assert parse("a").path == ""
    items = order_items("a DESC, t.b, c asc", "P")
    assert [(f.text, f.path, desc) for f, desc in items] == [
        ("a", "P", True),
        ("t.b", "P", False),
        ("c", "P", False),
    ]
    assert items[1][0].columns == (ColumnRef("t", "b", 0, 3),)
    for bad in ("", "SELECT"):
        with pytest.raises(EvaluationUnsupported) as exc:
            order_items(bad, "P")
        assert exc.value.message.startswith(f"cannot parse order_by {bad!r}")
        assert exc.value.where == {"path": "P"}


# -- slots -------------------------------------------------------------------------------------------------


def test_slot_expressions_are_shared_and_floats_widened() -> None:
    slot = Slot("s", TABLES["orders"], "one")
    assert slot.add("(1)") == 0
    assert slot.add("(2)") == 1
    assert slot.add("(1)") == 0
    assert slot.column("weight") == 2 and slot.exprs[2] == "CAST(`_t`.`weight` AS DOUBLE)"
    assert slot.column("status") == 3 and slot.exprs[3] == "`_t`.`status`"
    assert slot.column("nope") == 4 and slot.exprs[4] == "`_t`.`nope`"
    assert slot.weight(3) == 5 and slot.exprs[5] == "WEIGHT_STRING(TRIM(TRAILING ' ' FROM `_t`.`status`))"
    assert slot.weight(3) == 5


def test_is_json_column() -> None:
    users = Slot("s", TABLES["users"], "one")
    assert is_json_column(users, parse("doc", "P"))
    assert is_json_column(users, parse("users.DOC", "P"))
    assert not is_json_column(users, parse("name", "P"))
    assert not is_json_column(users, parse("nope", "P"))
    assert not is_json_column(users, parse("COALESCE(doc, '{}')", "P"))


def test_sql_text() -> None:
    assert sql_text("it's") == "'it''s'"
    assert sql_text("") == "''"
    assert sql_text("a\\b") == "CAST(X'615c62' AS CHAR CHARACTER SET utf8mb4)"
    assert sql_text("é\n") == "CAST(X'c3a90a' AS CHAR CHARACTER SET utf8mb4)"
    assert sql_text("\x1f") == "CAST(X'1f' AS CHAR CHARACTER SET utf8mb4)"
    assert sql_text(" ") == "' '"
    assert sql_text("50%") == "'50%%'"


@pytest.mark.parametrize(
    ("value", "atype", "text"),
    [
        (None, "S", None),
        (True, "BOOL", 1),
        (False, "BOOL", 0),
        (True, "S", "true"),
        (False, "N", "false"),
        (5, "N", "5"),
        (1.5, "N", "1.5"),
        ({"é": [1, None]}, "M", '{"é":[1,null]}'),
        ([], "L", "[]"),
        ("#META", "S", "#META"),
        (Decimal("1.50"), "N", "1.50"),
    ],
)
def test_static_text(value: Any, atype: str, text: Any) -> None:
    got = static_text(value, atype)
    assert got == text and type(got) is type(text)


# -- schema ------------------------------------------------------------------------------------------------


def test_columns_and_row_keys() -> None:
    assert Column("a", "decimal", None, True).numeric and not Column("a", "decimal", None, True).text
    assert Column("a", "bit", None, True).numeric and Column("a", "year", None, True).numeric
    assert Column("a", "enum", "utf8mb4_general_ci", True).text and not Column("a", "blob", None, True).text
    assert not Column("a", "datetime", None, True).numeric and not Column("a", "datetime", None, True).text
    assert Column("a", "varchar", "utf8mb4_general_ci", True).case_insensitive
    assert not Column("a", "varchar", "utf8mb4_bin", True).case_insensitive
    assert not Column("a", "varchar", None, True).case_insensitive
    assert not Column("a", "varchar", "", True).case_insensitive
    assert TABLES["users"].column("EMAIL") is TABLES["users"].columns["email"]
    assert TABLES["users"].column("nope") is None
    assert TABLES["lines"].row_key == ("order_id", "line")
    assert TABLES["tags"].row_key == ("tag",)
    assert TABLES["logs"].row_key == ()
    both = BaseTable("t", {}, ("id",), (("u",),))
    assert both.row_key == ("id",)
    two = BaseTable("t", {}, (), (("u",), ("v",)))
    assert two.row_key == ("u",)


def test_catalog_reads_each_table_once() -> None:
    cat = Catalog(None, {"users": TABLES["users"]})
    assert cat.table("USERS") is TABLES["users"]
    assert cat.table("users") is TABLES["users"]


CI = Column("c", "varchar", "utf8mb4_general_ci", True)
BIN = Column("c", "varchar", "utf8mb4_bin", True)


@pytest.mark.parametrize(
    ("value", "column", "numeric", "key"),
    [
        (None, CI, True, None),
        (None, CI, False, None),
        (1, None, True, ("n", Decimal(1))),
        ("1.0", None, True, ("n", Decimal(1))),
        (" 1.50 ", None, True, ("n", Decimal("1.5"))),
        (Decimal("100"), None, True, ("n", Decimal("1E+2"))),
        (b"2", None, True, ("n", Decimal(2))),
        (bytearray(b"2.0"), None, True, ("n", Decimal(2))),
        # text compared with a number: its leading number, else 0, as the server reads it ('x' = 0 is true)
        ("abc", None, True, ("n", Decimal(0))),
        ("", None, True, ("n", Decimal(0))),
        ("12abc", None, True, ("n", Decimal(12))),
        ("1e1", None, True, ("n", Decimal("1E+1"))),
        ("-.5x", None, True, ("n", Decimal("-0.5"))),
        ("+3.e", None, True, ("n", Decimal(3))),
        (b"\xff", None, True, ("n", Decimal(0))),
        (b"7\xff", None, True, ("n", Decimal(7))),
        (dt.date(2024, 1, 2), None, True, ("x", dt.date(2024, 1, 2))),
        ("Émile  ", CI, False, ("s", "emile")),
        ("STRASSE", None, False, ("s", "strasse")),
        ("Émile  ", BIN, False, ("s", "Émile")),
        (" a", BIN, False, ("s", " a")),
        ("a\t ", BIN, False, ("s", "a\t")),  # PAD SPACE pads spaces only
        ("bX", BIN, False, ("s", "bX")),
        (b"ab", None, False, ("b", b"ab")),
        (bytearray(b"ab"), None, False, ("b", b"ab")),
        (dt.date(2024, 1, 2), None, False, ("v", dt.date(2024, 1, 2))),
    ],
)
def test_match_key_compares_like_sql(value: Any, column: Column | None, numeric: bool, key: Any) -> None:
    got = match_key(value, column, numeric)
    assert got == key
    if key is not None and key[0] == "n":
        assert str(got[1]) == str(key[1])  # normalised: 1.0 and 1 are one key


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (None, (0, 0)),
        (True, (1, Decimal(1))),
        (3, (1, Decimal(3))),
        (0.5, (1, Decimal("0.5"))),
        (Decimal("2.50"), (1, Decimal("2.50"))),
        ("Ab ", (2, "ab")),
        (b"\x01", (3, b"\x01")),
        (bytearray(b"\x02"), (3, b"\x02")),
        (dt.date(2024, 1, 2), (4, dt.date(2024, 1, 2))),
    ],
)
def test_sort_key_orders_like_sql(value: Any, key: Any) -> None:
    assert sort_key(value) == key
    assert sort_key("Ab ", BIN) == (2, "Ab")
    assert sorted([3, None, 1], key=sort_key) == [None, 1, 3]


# -- compare -----------------------------------------------------------------------------------------------


def test_json_text_attributes() -> None:
    construction = {"type": "json-construction", "target_table": "orders", "join_condition": "orders.user_id = users.id",
                    "construction": {"type": "array", "select_columns": {"s": "status"}}}  # fmt: skip
    t = contract_table(
        [
            {"name": "PK", "type": "S", "source_table": "users", "source_column": "id"},
            {"name": "js", "type": "S", "source_table": "users", "source_column": "id", "join": construction},
            {"name": "jl", "type": "L", "source_table": "users", "source_column": "id", "join": construction},
            {"name": "fk", "type": "S", "source_table": "users", "source_column": "id",
             "join": {"type": "foreign-key", "target_table": "orders", "join_condition": "orders.user_id = users.id",
                      "select_column": "status"}},
        ]
    )  # fmt: skip
    assert json_text_attributes(t.entities[0]) == frozenset({"js"})


class _Binary:
    def __init__(self, value: bytes):
        self.value = value


def test_canonical_forms() -> None:
    assert canonical({"N": "1.50"}) == canonical({"N": "1.5"}) == ("N", Decimal("1.5"))
    assert canonical({"N": "x"}) == ("N?", "x")
    assert canonical({"NS": ["1", "2.0"]}) == ("NS", frozenset({("N", Decimal(1)), ("N", Decimal(2))}))
    assert canonical({"SS": ["b", "a", "b"]}) == ("SS", frozenset({"a", "b"}))
    assert canonical({"BS": [b"\x01", "Ag=="]}) == ("BS", frozenset({b"\x01", b"\x02"}))
    assert canonical({"B": _Binary(b"\x03")}) == ("B", b"\x03")
    assert canonical({"B": memoryview(b"\x04")}) == ("B", b"\x04")
    assert canonical({"B": bytearray(b"\x05")}) == ("B", b"\x05")
    assert canonical({"B": "Bg=="}) == ("B", b"\x06")
    assert canonical({"B": [7]}) == ("B", b"\x07")
    assert canonical({"M": {"a": {"N": "1.0"}}}) == ("M", {"a": ("N", Decimal(1))})
    assert canonical({"L": [{"N": "1.0"}, {"S": "x"}]}) == ("L", [("N", Decimal(1)), ("S", "x")])
    assert canonical({"NULL": True}) == canonical({"NULL": 1}) == ("NULL", True)
    assert canonical({"BOOL": False}) == ("BOOL", False)
    assert canonical({"S": "x"}) == ("S", "x")


def test_values_equal() -> None:
    assert values_equal({"N": "1.50"}, {"N": "1.5"})
    assert not values_equal({"N": "1.5"}, {"N": "1.51"})
    assert values_equal({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert not values_equal({"L": [{"S": "a"}, {"S": "b"}]}, {"L": [{"S": "b"}, {"S": "a"}]})  # order counts
    assert not values_equal({"S": "1"}, {"N": "1"})
    # JSON text built by a json-construction: compared as JSON (layout and number spelling do not count)
    assert values_equal({"S": '[{"a": 1.50}]'}, {"S": '[{"a":1.5}]'}, json_text=True)
    assert not values_equal({"S": '[{"a": 1.50}]'}, {"S": '[{"a":1.5}]'})
    assert not values_equal({"S": '[{"a": 1}]'}, {"S": '[{"a": 2}]'}, json_text=True)
    assert not values_equal({"S": '[{"a": 1}, {"b": 2}]'}, {"S": '[{"b": 2}, {"a": 1}]'}, json_text=True)
    assert values_equal({"S": "not json"}, {"S": "not json"}, json_text=True)
    assert not values_equal({"S": "not json"}, {"S": "not  json"}, json_text=True)
    assert not values_equal({"S": "[1]"}, {"N": "1"}, json_text=True)


def test_compare_items() -> None:
    expected = {
        "PK": {"S": "1"},
        "a": {"N": "1.50"},
        "b": {"S": "x"},
        "c": {"S": "[1]"},
        "_dm_marker": {"S": "m"},
    }
    actual = {
        "PK": {"S": "1"},
        "a": {"N": "1.5"},
        "d": {"BOOL": True},
        "c": {"S": "[1.0]"},
        "_dm_marker": {"S": "n"},
    }
    assert compare_items(expected, actual, ["c"]) == [
        Difference("b", "missing_attribute", {"S": "x"}, None),
        Difference("d", "unexpected_attribute", None, {"BOOL": True}),
    ]
    assert (
        compare_items(expected, actual)
        == [
            Difference("_dm_marker", "changed", {"S": "m"}, {"S": "n"}),
            Difference("b", "missing_attribute", {"S": "x"}, None),
            Difference("c", "changed", {"S": "[1]"}, {"S": "[1.0]"}),
            Difference("d", "unexpected_attribute", None, {"BOOL": True}),
        ][1:]
    )
    assert compare_items(expected, actual, ignore=("b", "d", "_dm_marker")) == [
        Difference("c", "changed", {"S": "[1]"}, {"S": "[1.0]"})
    ]
    assert compare_items({}, {}) == []
    assert Difference("x", "changed") == Difference("x", "changed", None, None)
