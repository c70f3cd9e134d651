"""How the reference evaluator turns computed values into an item or a rejection (evaluate/engine.py),
offline: the plan comes from hand-written base tables, the rows are written here, the connection only
answers ``@@div_precision_increment``. Rules from docs/contract-format.md "Values in DynamoDB": NULL ->
absent, a NULL or empty key rejects the row, an empty GSI key is left out (and named), an empty set is
absent, constructions as native lists/maps or JSON text, items over 400 KB (with the marker's budget)
rejected."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import pytest
from _evaluate_plan_fixtures import TABLES, contract_table

from dynamigrate.contract.model import Table
from dynamigrate.evaluate import DEFAULT_MARKER_OVERHEAD, EvalRow, EvaluationUnsupported, Evaluator
from dynamigrate.evaluate import nodes as N
from dynamigrate.evaluate.engine import IN_BATCH, _after, _Chunk, _Ctx, _fsp
from dynamigrate.evaluate.nodes import SlotRow
from dynamigrate.evaluate.schema import Catalog
from dynamigrate.evaluate.values import MAX_ITEM_BYTES


class _Cursor:
    description: Any = None

    def __enter__(self) -> _Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def execute(self, sql: str, params: Any = None) -> None:
        assert sql == "SELECT @@div_precision_increment", sql

    def fetchone(self) -> tuple[Any, ...]:
        return ("5",)


class _Conn:
    closed = False

    def cursor(self, *_a: Any) -> _Cursor:
        return _Cursor()

    def close(self) -> None:
        self.closed = True


def evaluator(table: Table, **kw: Any) -> Evaluator:
    ev = Evaluator(_Conn, None, table, **kw)
    ev.catalog = Catalog(None, dict(TABLES))
    return ev


def evaluate(ev: Evaluator, src: Sequence[Any], entity: str | None = None, **slots: Any) -> EvalRow:
    """One source row (and what its other slots hold) -> EvalRow."""
    plan = ev.plan(entity)
    one = {"src": [SlotRow(tuple(src), [None] * len(src))]}
    many: dict[str, list[list[SlotRow]]] = {}
    folded: dict[str, list[Any]] = {}
    for sid, value in slots.items():
        if sid.startswith("one"):
            one[sid] = [value]
        elif plan.slots[sid].aggregate is not None:
            folded[sid] = [value]
        else:
            many[sid] = [value]
    chunk = _Chunk(ev, plan, one, many, [["a note"]], folded)
    key = tuple(src[: len(ev.key_columns(entity))])
    return ev._item(plan, _Ctx(chunk, 0), key, chunk.notes[0])


def u(name: str, atype: str = "S", column: str = "id", **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": atype, "source_table": "users", "source_column": column, **kw}


# users: id, email, name, score, doc, born, deleted_at, since (source expressions in first-use order)
KEYED = contract_table(
    [
        u("doc", "M", "doc", transformation={"type": "json-parse"}),
        u("PK", "S", "email"),
        u("SK", "N", "id"),
        u("GP", "S", "name"),
        u("GS", "N", "score"),
        u("tags", "SS", "born"),
    ],
    sk="SK",
    gsis=[{"index_name": "g", "pk": "GP", "sk": "GS", "projection": "ALL"}, {"index_name": "h", "pk": "SK", "projection": "ALL"}],
)  # fmt: skip
# the source row: id, doc, email, name, score, born
ROW = (7, '{"a": 1.50}', "ann@x.io", "Ann", 2.5, "x, y")


def _row(**changes: Any) -> tuple[Any, ...]:
    names = ["id", "doc", "email", "name", "score", "born"]
    values = dict(zip(names, ROW, strict=True)) | changes
    return tuple(values[n] for n in names)


def test_keyed_item_in_the_tables_attribute_order() -> None:
    ev = evaluator(KEYED)
    assert ev.plan(None).source.exprs == ["`_t`.`id`", "`_t`.`doc`", "`_t`.`email`", "`_t`.`name`",
                                          "CAST(`_t`.`score` AS DOUBLE)", "`_t`.`born`"]  # fmt: skip
    assert ev.div_precision == 5
    r = evaluate(ev, ROW)
    assert r.ok and r.rejection is None and r.code is None
    assert r.item == {
        "doc": {"M": {"a": {"N": "1.5"}}},
        "PK": {"S": "ann@x.io"},
        "SK": {"N": "7"},
        "GP": {"S": "Ann"},
        "GS": {"N": "2.5"},
        "tags": {"SS": ["x", "y"]},
    }
    assert list(r.item or {}) == ["doc", "PK", "SK", "GP", "GS", "tags"]
    assert (r.source_key, r.entity, r.omitted_gsi_keys, r.notes) == ((7,), "users", (), ("a note",))


@pytest.mark.parametrize(
    ("changes", "code", "reason"),
    [
        ({"email": None}, "null_key", "key attribute 'PK' is NULL"),
        ({"email": ""}, "empty_key", "key attribute 'PK' is empty"),
        ({"id": None}, "null_key", "key attribute 'SK' is NULL"),
        ({"id": ""}, "empty_key", "key attribute 'SK' is empty"),
        ({"id": "abc"}, "bad_number", "attribute 'SK' (N): 'abc' is not a decimal number"),
        ({"score": "abc"}, "bad_number", "attribute 'GS' (N): 'abc' is not a decimal number"),
        ({"doc": "[1]"}, "bad_json", "attribute 'doc' (M): a M attribute needs an object, got '[1]'"),
        ({"doc": ""}, "bad_json", "attribute 'doc' (M): not valid JSON (Expecting value at position 0): ''"),
        (
            {"born": "[[1]]"},
            "bad_set",
            "attribute 'tags' (SS): a string set member must be a scalar, got ['1']",
        ),
    ],
)
def test_rejections(changes: dict[str, Any], code: str, reason: str) -> None:
    r = evaluate(evaluator(KEYED), _row(**changes))
    assert (r.item, r.code, r.rejection, r.ok) == (None, code, reason, False)
    assert (r.source_key, r.entity, r.notes) == ((_row(**changes)[0],), "users", ("a note",))


KEY = {"PK": {"S": "ann@x.io"}, "SK": {"N": "7"}}


@pytest.mark.parametrize(
    ("changes", "code", "key"),
    [
        ({"doc": "[1]"}, "bad_json", KEY),  # 'doc' comes before the key attributes: they are computed still
        ({"score": "abc"}, "bad_number", KEY),  # a GSI key is no table key
        ({"born": "[[1]]"}, "bad_set", KEY),
        ({"email": None}, "null_key", None),
        ({"email": ""}, "empty_key", None),
        ({"id": "abc"}, "bad_number", None),
        ({"doc": "[1]", "email": None}, "bad_json", None),  # the first failure is named, the key has none
        ({"doc": "[1]", "id": "x"}, "bad_json", None),
        ({}, None, None),  # an item: its key is in the item
    ],
)
def test_a_rejected_row_keeps_its_table_key_when_the_key_is_computable(
    changes: dict[str, Any], code: str | None, key: dict[str, Any] | None
) -> None:
    r = evaluate(evaluator(KEYED), _row(**changes))
    assert (r.code, r.key) == (code, key)
    assert (r.item is None) == (code is not None)


def test_a_too_large_item_keeps_its_key_and_a_missing_key_attribute_gives_none() -> None:
    t = contract_table([u("PK"), u("big", "S", "name")])
    r = evaluate(evaluator(t, marker_overhead=10), (1, "x" * MAX_ITEM_BYTES))
    assert (r.code, r.key) == ("too_large", {"PK": {"S": "1"}})
    t = contract_table([u("bad", "N", "name"), u("PK"), u("SK", "N")], sk="SK")
    e = t.entities[0]
    t = dataclasses.replace(t, entities=(dataclasses.replace(e, attributes=e.attributes[:2]),))
    r = evaluate(evaluator(t), (1, "abc"))
    assert (r.code, r.key) == ("bad_number", None)  # SK is never produced: no item can have the key


def test_nulls_are_absent_and_empty_gsi_keys_left_out() -> None:
    ev = evaluator(KEYED)
    r = evaluate(ev, _row(doc=None, name=None, score=None, born=None))
    assert r.item == {"PK": {"S": "ann@x.io"}, "SK": {"N": "7"}} and r.omitted_gsi_keys == ()
    # an empty GSI key (text, or a number column's empty text) is left out and named, in order
    r = evaluate(ev, _row(name="", score=""))
    assert r.ok and r.omitted_gsi_keys == ("GP", "GS")
    assert r.item == {
        "doc": {"M": {"a": {"N": "1.5"}}},
        "PK": {"S": "ann@x.io"},
        "SK": {"N": "7"},
        "tags": {"SS": ["x", "y"]},
    }
    # an empty set is absent, the other attributes stay; a rejection after an omission keeps it
    assert evaluate(ev, _row(born="")).item == {
        k: v for k, v in evaluate(ev, ROW).item.items() if k != "tags"
    }  # type: ignore[union-attr]
    r = evaluate(ev, _row(name="", born="[[1]]"))
    assert r.code == "bad_set" and r.omitted_gsi_keys == ("GP",)
    # ... and an empty text that is no key is kept
    r = evaluate(evaluator(contract_table([u("PK"), u("e", "S", "email")])), (1, ""))
    assert r.item == {"PK": {"S": "1"}, "e": {"S": ""}}


def test_a_bad_value_in_an_empty_binary_gsi_key() -> None:
    t = contract_table(
        [u("PK"), u("G", "B", "email")], gsis=[{"index_name": "g", "pk": "G", "projection": "ALL"}]
    )
    ev = evaluator(t)
    assert evaluate(ev, (1, b"")).omitted_gsi_keys == ("G",)
    assert evaluate(ev, (1, b"")).item == {"PK": {"S": "1"}}
    assert evaluate(ev, (1, b"\x00")).item == {"PK": {"S": "1"}, "G": {"B": b"\x00"}}
    r = evaluate(ev, (1, 5))
    assert (r.code, r.rejection) == (
        "bad_binary",
        "attribute 'G' (B): expected bytes for a B attribute, got int",
    )
    kt = contract_table([u("PK", "B", "email")])
    r = evaluate(evaluator(kt), (1, b""))
    assert (r.code, r.rejection) == ("empty_key", "key attribute 'PK' is empty")


def test_key_the_entity_does_not_produce() -> None:
    t = contract_table([u("PK"), u("SK", "N")], sk="SK")
    e = t.entities[0]
    t = dataclasses.replace(t, entities=(dataclasses.replace(e, attributes=e.attributes[:1]),))
    r = evaluate(evaluator(t), (1,))
    assert (r.code, r.rejection) == (
        "null_key",
        "key attribute 'SK' is NULL (the entity does not produce it)",
    )


REL = {"target_table": "orders", "join_condition": "orders.user_id = users.id"}
ARR = {
    "type": "json-construction",
    **REL,
    "construction": {"type": "array", "select_columns": {"s": "status", "t": "total"}},
}
OBJ = {
    "type": "json-construction",
    **REL,
    "construction": {"type": "object", "select_columns": {"s": "status"}},
}
REL_ROWS = [SlotRow(("PAID", 1.5), [None, None]), SlotRow((None, 2), [None, None])]


def test_constructions_as_lists_maps_or_json_text() -> None:
    t = contract_table([u("PK"), u("l", "L", join=ARR), u("m", "M", join=OBJ), u("s", "S", join=ARR), u("ss", "S", join=OBJ),
                        u("n", "N", calculation={"type": "aggregate", "operation": "SUM", **REL, "select_column": "total"}),
                        u("empty", "L", join=ARR), u("none", "M", join=OBJ), u("cnt", "N", calculation={
                            "type": "aggregate", "operation": "COUNT", **REL, "select_column": "*"})])  # fmt: skip
    r = evaluate(evaluator(t), (1,), many1=REL_ROWS, many2=REL_ROWS[:1], many3=REL_ROWS, many4=REL_ROWS[:1], many5=(3, None),
                 many6=[], many7=[], many8=(0, None))  # fmt: skip
    assert r.item == {
        "PK": {"S": "1"},
        "l": {
            "L": [
                {"M": {"s": {"S": "PAID"}, "t": {"N": "1.5"}}},
                {"M": {"s": {"NULL": True}, "t": {"N": "2"}}},
            ]
        },
        "m": {"M": {"s": {"S": "PAID"}}},
        "s": {"S": '[{"s": "PAID", "t": 1.5},{"s": null, "t": 2}]'},
        "ss": {"S": '{"s": "PAID"}'},
        "n": {"N": "3"},
        "empty": {"L": []},
        "cnt": {"N": "0"},
    }


@pytest.mark.parametrize(
    ("atype", "join", "reason"),
    [
        ("M", ARR, "attribute 'x' (M): a M attribute needs an object"),
        ("L", OBJ, "attribute 'x' (L): a L attribute needs an array"),
    ],
)
def test_a_construction_of_the_other_kind_is_rejected(atype: str, join: dict[str, Any], reason: str) -> None:
    r = evaluate(evaluator(contract_table([u("PK"), u("x", atype, join=join)])), (1,), many1=REL_ROWS)
    assert (r.item, r.code, r.rejection) == (None, "bad_json", reason)


@pytest.mark.parametrize("extra", [0, 1])
def test_items_over_400kb_with_the_markers_budget(extra: int) -> None:
    t = contract_table([u("PK"), u("big", "S", "name")])
    # item size: 'PK' + '1' + 'big' + the text; the marker's budget comes on top
    text = "é" * ((MAX_ITEM_BYTES - DEFAULT_MARKER_OVERHEAD - 6) // 2) + "x" * (
        (MAX_ITEM_BYTES - DEFAULT_MARKER_OVERHEAD - 6) % 2 + extra
    )
    size = 2 + 1 + 3 + len(text.encode("utf-8"))
    r = evaluate(evaluator(t), (1, text))
    if extra:
        assert (r.item, r.code) == (None, "too_large")
        assert (
            r.rejection == f"item is {size} bytes plus the marker; DynamoDB's limit is 409600 bytes (400 KB)"
        )
    else:
        assert r.ok and r.item is not None and r.item["big"] == {"S": text}
    assert size + DEFAULT_MARKER_OVERHEAD == MAX_ITEM_BYTES + extra
    assert len("_dm_marker") + 64 == DEFAULT_MARKER_OVERHEAD


def test_marker_overhead_is_a_setting() -> None:
    t = contract_table([u("PK"), u("big", "S", "name")])
    text = "x" * (MAX_ITEM_BYTES - 6)
    assert evaluate(evaluator(t, marker_overhead=0), (1, text)).ok
    assert evaluate(evaluator(t, marker_overhead=1), (1, text)).code == "too_large"


# -- the evaluator's small pieces ---------------------------------------------------------------------------


def test_fsp_from_the_result_description() -> None:
    # (name, type_code, display_size, internal_size, precision, scale, null_ok)
    desc = [("a", 7, 0, 0, 0, 3, 1), ("b", 10, 0, 0, 0, 0, 1), ("c", 11, 0, 0, 0, 6, 1), ("d", 12, 0, 0, 0, 2, 1),
            ("e", 246, 0, 0, 0, 4, 1), ("f", 0, 0, 0, 0, 1, 1), ("g", 3, 0, 0, 0, 0, 1), ("h", 253, 0, 0, 0, 31, 1),
            ("i", 12, 0, 0, 0, None, 1)]  # fmt: skip
    assert _fsp(desc) == [3, 0, 6, 2, 4, 1, None, None, None]
    assert _fsp(()) == []


def test_keyset_condition() -> None:
    assert _after(["a"], [1]) == ("((`_t`.`a` > %s))", [1])
    assert _after(["a", "b`c"], (1, "x")) == (
        "((`_t`.`a` > %s) OR (`_t`.`a` = %s AND `_t`.`b``c` > %s))",
        [1, 1, "x"],
    )
    assert _after(["a", "b", "c"], (1, 2, 3))[1] == [1, 1, 2, 1, 2, 3]
    assert IN_BATCH == 500


def test_entities_plans_and_key_columns() -> None:
    ev = evaluator(KEYED)
    e = KEYED.entities[0]
    assert ev.entity(None) is e and ev.entity("users") is e and ev.entity(e) is e
    with pytest.raises(KeyError, match="no entity 'nope' in table Tab"):
        ev.entity("nope")
    assert ev.plan(None) is ev.plan("users")
    assert ev.key_columns(None) == ("id",)
    keyless = evaluator(
        contract_table([{"name": "PK", "type": "S", "source_table": "logs", "source_column": "msg"}], "logs")
    )
    assert keyless.key_columns(None) == ("user_id", "msg")
    assert evaluator(contract_table([{"name": "PK", "type": "S", "source_table": "lines", "source_column": "sku"}],
                                    "lines")).key_columns(None) == ("order_id", "line")  # fmt: skip


def test_a_table_name_needs_the_contract_and_several_entities_need_a_name() -> None:
    with pytest.raises(ValueError, match=r"^a table name needs the contract$"):
        Evaluator(_Conn, None, "Tab")
    two = dataclasses.replace(
        KEYED, entities=(KEYED.entities[0], dataclasses.replace(KEYED.entities[0], entity_type="b"))
    )
    with pytest.raises(ValueError, match="table Tab has several entities: name one"):
        evaluator(two).entity(None)
    assert evaluator(two).entity("b").entity_type == "b"


def test_an_empty_set_leaves_only_its_attribute_out() -> None:
    t = contract_table([u("PK"), u("tags", "SS", "born"), u("e", "S", "email")])
    assert evaluate(evaluator(t), (1, "", "x")).item == {"PK": {"S": "1"}, "e": {"S": "x"}}


def test_a_key_that_cannot_be_text_is_rejected_for_that_not_as_empty() -> None:
    t = contract_table([u("PK", transformation={"type": "string-format", "format": "U#{email}"})])
    r = evaluate(evaluator(t), (1, b"\xff"))
    assert (r.code, r.rejection) == (
        "bad_string",
        "attribute 'PK' (S): binary value b'\\xff' is not UTF-8 text; use type B",
    )


def test_plans_use_the_servers_div_precision_and_name_the_table_in_refusals() -> None:
    avg = {"type": "aggregate", "operation": "AVG", "target_table": "orders", "join_condition": "orders.user_id = users.id",
           "select_column": "total"}  # fmt: skip
    ev = evaluator(contract_table([u("PK"), u("a", "N", calculation=avg)]))
    assert ev.plan(None).attributes[1].node == N.Aggregate(
        "many1", "AVG", 0, False, 5
    )  # the fake server says 5
    bad = evaluator(contract_table([u("PK"), u("x", "S", "nope")]))
    with pytest.raises(EvaluationUnsupported) as exc:
        bad.plan(None)
    assert exc.value.where == {"path": "tables[0].attributes[1].source_column", "table": "Tab"}


def test_close_closes_the_connection() -> None:
    with evaluator(KEYED) as ev:
        conn = ev.conn
    assert conn.closed
