"""Pure pieces of "every row accounted for": keyset conditions, key checkpoints, the equation, and which
DynamoDB errors fail a table rather than a row."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from dynamigrate.etl.accounting import SourceCount, account
from dynamigrate.source.keys import after_condition, key_from_json, key_plan, key_to_json, upto_condition
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo
from dynamigrate.target.retry import is_table_error


def test_keyset_conditions_are_written_out_for_the_range_optimizer() -> None:
    assert after_condition(["a"], [5]) == ("`a` > %s", [5])
    assert upto_condition(["a"], [5]) == ("`a` <= %s", [5])
    assert after_condition(["a", "b"], [1, "x"]) == ("(`a` > %s OR (`a` = %s AND `b` > %s))", [1, 1, "x"])
    sql, params = upto_condition(["a", "b", "c"], [1, "x", b"\x00"])
    assert sql == "(`a` < %s OR (`a` = %s AND `b` < %s) OR (`a` = %s AND `b` = %s AND `c` <= %s))"
    assert params == [1, 1, "x", 1, "x", b"\x00"]
    with pytest.raises(ValueError):
        after_condition(["a", "b"], [1])


key_values = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.text(),
    st.binary(max_size=16),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.datetimes(),
    st.dates(),
)


@given(st.lists(key_values, min_size=1, max_size=4))
def test_key_checkpoints_round_trip_through_json(values: list[Any]) -> None:
    text = json.dumps(key_to_json(values))
    back = key_from_json(json.loads(text))
    assert list(back) == values
    assert [type(v) for v in back] == [type(v) for v in values]


def test_null_keys_cannot_be_checkpointed() -> None:
    with pytest.raises(ValueError):
        key_to_json([None])


def _col(name: str, dt_: str, ct: str = "", nullable: bool = False, coll: str | None = None) -> ColumnInfo:
    return ColumnInfo(name, dt_, ct or dt_, nullable=nullable, collation=coll)


def test_key_plan_shares_view_columns_only_between_identical_types() -> None:
    from dynamigrate.contract.load import parse_contract

    def ent(name: str, src: str) -> dict[str, Any]:
        return {
            "entity_type": name,
            "source_table": src,
            "attributes": [{"name": "PK", "type": "S", "source_table": src, "source_column": "x"}],
        }

    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": "T",
                    "type": "multi-entity",
                    "pk": "PK",
                    "entities": [ent("A", "a"), ent("B", "b"), ent("C", "c"), ent("D", "d")],
                }
            ]
        }
    )
    assert contract is not None, problems
    ci = "utf8mb4_general_ci"
    schema = SchemaInfo(
        "db",
        {
            "a": TableInfo("a", {"id": _col("id", "int", "int(11)")}, primary_key=("id",)),
            "b": TableInfo(
                "b",
                {"p": _col("p", "int", "int(11)"), "code": _col("code", "varchar", "varchar(20)", coll=ci)},
                primary_key=("p", "code"),
            ),
            # no primary key; a nullable unique key first, then one of NOT NULL columns
            "c": TableInfo(
                "c",
                {
                    "nick": _col("nick", "varchar", "varchar(20)", True, ci),
                    "email": _col("email", "varchar", "varchar(20)", coll=ci),
                },
                unique_keys=(("nick",), ("email",)),
            ),
            "d": TableInfo("d", {"x": _col("x", "int", "int(11)", True)}),
        },
    )
    plan = key_plan(contract.tables[0], schema)
    assert plan.view_columns == ("_dm_k1", "_dm_k2")
    a, b, c, d = (plan.entity(n) for n in "ABCD")
    assert a is not None and b is not None and c is not None
    assert (a.columns, a.view_columns) == (("id",), ("_dm_k1",))
    assert (b.columns, b.view_columns) == (("p", "code"), ("_dm_k1", "_dm_k2"))  # INT shares with A
    assert (c.columns, c.view_columns) == (("email",), ("_dm_k2",))  # same VARCHAR(20) + collation as B
    assert d is None  # no unique key: one pass


def _counts(rows: int, filtered: int = 0) -> dict[str, SourceCount]:
    return {"E": SourceCount("E", "src", "base table", rows, filtered)}


def _outcomes(**kw: int) -> dict[str, int]:
    return {"read": sum(kw.values()), **kw}


def test_the_equation_holds_fails_or_reports_a_changing_source() -> None:
    ok = account(_outcomes(written=90, rejected=5), {}, _counts(100, 5), _counts(100, 5))
    assert ok.ok and ok.table.status == "ok"
    assert ok.table.equation() == (
        "100 source rows = written 90 + skipped 0 + conflicts 0 + rejected 5 + filtered 5"
    )
    lost = account(_outcomes(written=0), {"E": _outcomes(written=0)}, _counts(2991), _counts(2991))
    assert not lost.ok and lost.table.missing == 2991 and lost.entities[0].status == "mismatch"
    assert "2991 source row(s) NOT accounted for" in lost.failure_message("T")
    more = account(_outcomes(written=11), {}, _counts(10), _counts(10))
    assert not more.ok and more.table.missing == -1
    grew = account(_outcomes(written=104), {}, _counts(100), _counts(110))
    assert grew.ok and grew.table.status == "changed" and grew.table.changed == 10
    shrank_too_far = account(_outcomes(written=80), {}, _counts(100), _counts(90))
    assert not shrank_too_far.ok


def _client_error(code: str, message: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "PutItem")


@pytest.mark.parametrize(
    ("code", "message", "table_level"),
    [
        ("ResourceNotFoundException", "Cannot do operations on a non-existent table", True),
        ("AccessDeniedException", "User is not authorized to perform: dynamodb:PutItem", True),
        ("UnrecognizedClientException", "The security token included in the request is invalid", True),
        (
            "ValidationException",
            "One or more parameter values were invalid: Missing the key SK in the item",
            True,
        ),
        (
            "ValidationException",
            "One or more parameter values were invalid: Type mismatch for key PK expected: S actual: N",
            True,
        ),
        # DynamoDB Local's answer to an item without the table's key attribute
        ("ValidationException", "One of the required keys was not given a value", True),
        ("ValidationException", "Item size has exceeded the maximum allowed size", False),
        (
            "ValidationException",
            "One or more parameter values were invalid: An number set may not be empty",
            False,
        ),
        ("ConditionalCheckFailedException", "The conditional request failed", False),
    ],
)
def test_table_level_errors_are_told_apart_from_row_level_ones(
    code: str, message: str, table_level: bool
) -> None:
    assert is_table_error(_client_error(code, message)) is table_level


def test_decimal_and_date_keys_keep_their_type() -> None:
    data = key_to_json([Decimal("1.50"), dt.date(2024, 2, 29), b"\xff"])
    assert data == [{"dec": "1.50"}, {"date": "2024-02-29"}, {"b64": "/w=="}]


def test_row_key_prefers_the_primary_key_and_never_a_float() -> None:
    cols = {
        "f": _col("f", "float"),
        "code": _col("code", "varchar", "varchar(10)"),
        "n": _col("n", "int", "int(11)", True),
    }
    assert TableInfo("t", cols, primary_key=("code",), unique_keys=(("f",),)).row_key == ("code",)
    assert TableInfo("t", cols, primary_key=("f",), unique_keys=(("code",),)).row_key == ("code",)
    assert TableInfo("t", cols, primary_key=("f",)).row_key == ()
    assert TableInfo("t", cols, unique_keys=(("n",), ("code", "f"))).row_key == ()  # nullable, float
