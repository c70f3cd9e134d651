"""How the reference evaluator computes an attribute from the rows it fetched (evaluate/nodes.py), with
hand-written rows and expectations from docs/contract-format.md: NULL -> absent, string-format and
chain separators, date tokens and source formats, date-math, number-format, aggregates (COUNT of
nothing 0, the others absent, exact sums, AVG as the server rounds it) and json-construction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from dynamigrate.evaluate.nodes import (
    NULL,
    Accumulator,
    Aggregate,
    Const,
    Construct,
    DateFormat,
    DateMath,
    Expr,
    Format,
    IfElse,
    Join,
    JsonNumber,
    Matched,
    Member,
    NumberFormat,
    SlotRow,
    _tokenize,
    add_interval,
    format_date,
    parse_date,
    weighted_key,
)


@dataclass
class Ctx:
    ones: dict[str, SlotRow | None] = field(default_factory=dict)
    nulls: dict[str, SlotRow] = field(default_factory=dict)
    manys: dict[str, list[SlotRow]] = field(default_factory=dict)
    folds: dict[str, Any] = field(default_factory=dict)

    def one(self, slot: str) -> SlotRow | None:
        return self.ones[slot]

    def null_row(self, slot: str) -> SlotRow:
        return self.nulls[slot]

    def many(self, slot: str) -> list[SlotRow]:
        return self.manys[slot]

    def folded(self, slot: str) -> Any:
        return self.folds[slot]


def row(*values: Any, fsp: list[int | None] | None = None) -> SlotRow:
    return SlotRow(values, fsp if fsp is not None else [None] * len(values))


CTX = Ctx(
    ones={
        "src": row(7, "ann", None, dt.datetime(2024, 1, 2, 3, 4, 5, 120000), fsp=[None, None, None, 3]),
        "j": None,
    },
    nulls={"j": row(None, 0)},
)


def test_const_expr_matched() -> None:
    assert Const("x").eval(CTX) == ("x", None)
    assert Const(None).eval(CTX) == NULL == (None, None)
    assert Expr("src", 1).eval(CTX) == ("ann", None)
    assert Expr("src", 3).eval(CTX) == (dt.datetime(2024, 1, 2, 3, 4, 5, 120000), 3)
    # no joined row: absent (foreign-key), or the expression over an all-NULL row (LEFT JOIN)
    assert Expr("j", 0, absent_when_missing=True).eval(CTX) == NULL
    assert Expr("j", 1).eval(CTX) == (0, None)
    assert Matched("src").eval(CTX) == (1, None)
    assert Matched("j").eval(CTX) == (0, None)


@pytest.mark.parametrize(("cond", "taken"), [(1, "then"), (2, "then"), (0, "else"), (None, "else")])
def test_if_else_follows_sql_truth(cond: Any, taken: str) -> None:
    assert IfElse(Const(cond), Const("then"), Const("else")).eval(CTX) == (taken, None)
    # every part reads the current rows
    ctx = Ctx(ones={"c": row(cond, "then", "else", fsp=[None, 2, 3])})
    expected = ("then", 2) if taken == "then" else ("else", 3)
    assert IfElse(Expr("c", 0), Expr("c", 1), Expr("c", 2)).eval(ctx) == expected


def test_format_and_join() -> None:
    fmt = Format(("U#", Expr("src", 0), "#", Expr("src", 3), ""))
    assert fmt.eval(CTX) == ("U#7#2024-01-02 03:04:05.120", None)
    assert Format(("#META",)).eval(CTX) == ("#META", None)
    assert Format(()).eval(CTX) == ("", None)
    # any NULL makes the whole text NULL (absent)
    assert Format(("a", Expr("src", 2), "b")).eval(CTX) == NULL
    # chain_separator / concat: NULLs skipped, empty text kept, NULL only when every value is NULL
    parts = (Const("a"), Const(None), Const(""), Expr("src", 0), Expr("src", 3))
    assert Join(parts, " / ").eval(CTX) == ("a /  / 7 / 2024-01-02 03:04:05.120", None)
    assert Join((Const(None), Expr("src", 2)), "-").eval(CTX) == NULL
    assert Join((Const(""),), "-").eval(CTX) == ("", None)


# -- dates ---------------------------------------------------------------------------------------------


def test_tokenize_and_format_date() -> None:
    assert _tokenize("YYYY-MMx") == ["\x00YYYY", "-", "\x00MM", "x"]
    assert _tokenize("YYY") == ["Y", "Y", "Y"]
    day = dt.date(2024, 5, 6)
    moment = dt.datetime(987, 11, 12, 7, 8, 9)
    assert format_date(day, "YYYY-MM-DD HH:mm:ss") == "2024-05-06 00:00:00"
    assert format_date(moment, "YYYY-MM-DDTHH:mm:ss") == "0987-11-12T07:08:09"
    assert format_date(moment, "YYYYMMDD") == "09871112"
    assert format_date(moment, "DD/MM HH.mm.ss (Y)") == "12/11 07.08.09 (Y)"
    assert format_date(moment, "") == ""


@pytest.mark.parametrize(
    ("text", "fmt", "value"),
    [
        # without source_format: the server's own reading of date text (a date prefix)
        ("2024-1-5", None, dt.date(2024, 1, 5)),
        (" 2024-01-05 ", None, dt.date(2024, 1, 5)),
        ("2024-01-05 10:11:12", None, dt.datetime(2024, 1, 5, 10, 11, 12)),
        ("2024-01-05T10:11:12.5", None, dt.datetime(2024, 1, 5, 10, 11, 12, 500000)),
        ("2024-01-05 10:11:12.000123", None, dt.datetime(2024, 1, 5, 10, 11, 12, 123)),
        ("2024-01-05 10:11", None, dt.date(2024, 1, 5)),
        ("2024-13-01", None, None),
        ("2024-01-05 25:00:00", None, None),
        ("05/01/2024", None, None),
        ("", None, None),
        ("   ", "date", None),
        # token patterns: the whole text, two digits where a token follows directly
        ("20240506", "YYYYMMDD", dt.date(2024, 5, 6)),
        ("2024056", "YYYYMMDD", dt.date(2024, 5, 6)),  # the last token may have one digit
        ("2024506", "YYYYMMDD", None),  # MM is glued to DD: exactly two digits ('50')
        ("202411", "YYYYMMDD", None),  # not 2024-1-1: glued tokens take two digits each
        ("2024-1-1", "YYYY-MM-DD", dt.date(2024, 1, 1)),
        ("2024-05-06 7", "YYYY-MM-DD HH", dt.datetime(2024, 5, 6, 7)),  # any time token gives a DATETIME
        ("2024-05-06 7", "YYYY-MM-DD mm", dt.datetime(2024, 5, 6, 0, 7)),
        ("2024-05-06 7", "YYYY-MM-DD ss", dt.datetime(2024, 5, 6, 0, 0, 7)),
        ("\t2024-05-06", "date", None),  # only spaces around the text are ignored
        ("X2024-05-06X", "date", None),
        # half a microsecond is decided on every digit (not at 28 significant digits)
        ("0.00000049999999999999999999999999999", "epoch", dt.datetime(1970, 1, 1)),
        ("0.00049999999999999999999999999999999", "epoch_ms", dt.datetime(1970, 1, 1)),
        ("6/5/2024", "DD/MM/YYYY", dt.date(2024, 5, 6)),
        ("06/05/2024 7:08", "DD/MM/YYYY HH:mm", dt.datetime(2024, 5, 6, 7, 8)),
        ("06/05/2024 07:08:09", "DD/MM/YYYY HH:mm:ss", dt.datetime(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06", "YYYY.MM.DD", None),  # the '.' of the pattern is literal
        ("x2024-05-06", "YYYY-MM-DD", None),
        ("2024-05-06x", "YYYY-MM-DD", None),
        ("2024-02-30", "YYYY-MM-DD", None),
        ("2024-02-29 24:00", "YYYY-MM-DD HH:mm", None),
        ("٢٠٢٤-05-06", "YYYY-MM-DD", None),  # Arabic-Indic digits are no digits here
        ("2024-05", "YYYY-MM", None),  # no day: no date
        # names
        ("2024-05-06", "date", dt.date(2024, 5, 6)),
        ("2024-05-06", "YYYY-MM-DD", dt.date(2024, 5, 6)),
        ("2024-05-06 07:08:09", "datetime", dt.datetime(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06", "iso8601", dt.date(2024, 5, 6)),
        ("2024-02-30", "iso8601", None),
        ("2024-05-06T07:08", "iso8601", dt.datetime(2024, 5, 6, 7, 8)),
        ("2024-05-06 07:08:09,75", "iso8601", dt.datetime(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06T07:08:09Z", "iso8601", dt.datetime(2024, 5, 6, 7, 8, 9)),
        ("2024-05-06T07:08:09+05:30", "iso8601", dt.datetime(2024, 5, 6, 1, 38, 9)),
        ("2024-05-06T07:08:09+0530", "iso8601", dt.datetime(2024, 5, 6, 1, 38, 9)),
        ("2024-05-06T23:08:09-01", "iso8601", dt.datetime(2024, 5, 7, 0, 8, 9)),
        ("2024-05-06T24:00", "iso8601", None),
        ("2024-05-06T07", "iso8601", None),
        ("0", "epoch", dt.datetime(1970, 1, 1)),
        ("1.5", "epoch", dt.datetime(1970, 1, 1, 0, 0, 1, 500000)),
        ("0.0000005", "epoch", dt.datetime(1970, 1, 1, 0, 0, 0, 1)),  # half a microsecond rounds up
        ("0.0000004", "epoch", dt.datetime(1970, 1, 1)),
        ("-1", "epoch", dt.datetime(1969, 12, 31, 23, 59, 59)),
        ("1500", "epoch_ms", dt.datetime(1970, 1, 1, 0, 0, 1, 500000)),
        ("1500", "epoch", dt.datetime(1970, 1, 1, 0, 25)),
        ("1e3", "epoch", None),
        ("12x", "epoch", None),
        ("99999999999999999", "epoch", None),  # beyond year 9999
    ],
)
def test_parse_date(text: str, fmt: str | None, value: dt.date | None) -> None:
    got = parse_date(text, fmt)
    assert got == value
    assert type(got) is type(value)


def test_date_format_node() -> None:
    fmt = "YYYY-MM-DD HH:mm"
    ctx = Ctx()
    assert DateFormat(Const(None), fmt).eval(ctx) == NULL
    assert DateFormat(Const(dt.date(2024, 5, 6)), fmt).eval(ctx) == ("2024-05-06 00:00", None)
    assert DateFormat(Const(dt.datetime(2024, 5, 6, 7, 8)), "YYYY").eval(ctx) == ("2024", None)
    assert DateFormat(Const("2024-05-06"), fmt).eval(ctx) == ("2024-05-06 00:00", None)
    assert DateFormat(Const(b"2024-05-06"), fmt).eval(ctx) == ("2024-05-06 00:00", None)
    assert DateFormat(Const("06/05/2024"), fmt, "DD/MM/YYYY").eval(ctx) == ("2024-05-06 00:00", None)
    assert DateFormat(Const("not a date"), fmt).eval(ctx) == NULL
    # an epoch in a number column is read as its text
    assert DateFormat(Const(86400), fmt, "epoch").eval(ctx) == ("1970-01-02 00:00", None)
    assert DateFormat(Const(Decimal("86400000")), fmt, "epoch_ms").eval(ctx) == ("1970-01-02 00:00", None)
    # a number without a source_format, a boolean, a time: no date
    assert DateFormat(Const(86400), fmt).eval(ctx) == NULL
    assert DateFormat(Const(True), fmt, "epoch").eval(ctx) == NULL
    assert DateFormat(Const(dt.timedelta(hours=1)), fmt).eval(ctx) == NULL
    # bytes that are no UTF-8: no date, no error
    assert DateFormat(Const(b"\xff2024-05-06"), fmt).eval(ctx) == NULL
    assert DateFormat(Const(b"2024-05-06\xff"), fmt).eval(ctx) == ("2024-05-06 00:00", None)  # a date prefix
    assert DateFormat(Expr("src", 3), "YYYY/MM/DD HH:mm:ss").eval(CTX) == ("2024/01/02 03:04:05", None)


@pytest.mark.parametrize(
    ("start", "n", "unit", "end"),
    [
        (dt.date(2024, 1, 31), 1, "MONTH", dt.date(2024, 2, 29)),
        (dt.date(2023, 1, 31), 1, "MONTH", dt.date(2023, 2, 28)),
        (dt.date(2024, 1, 15), -1, "MONTH", dt.date(2023, 12, 15)),
        (dt.date(2024, 11, 30), 2, "MONTH", dt.date(2025, 1, 30)),
        (dt.date(2024, 12, 1), 0, "MONTH", dt.date(2024, 12, 1)),
        (dt.date(2024, 1, 31), 1, "QUARTER", dt.date(2024, 4, 30)),
        (dt.date(2024, 2, 29), 1, "YEAR", dt.date(2025, 2, 28)),
        (dt.datetime(2024, 1, 31, 7, 8), 1, "MONTH", dt.datetime(2024, 2, 29, 7, 8)),
        (dt.date(2024, 2, 28), 2, "DAY", dt.date(2024, 3, 1)),
        (dt.date(2024, 1, 1), 2, "WEEK", dt.date(2024, 1, 15)),
        (dt.date(2024, 1, 1), -1, "HOUR", dt.datetime(2023, 12, 31, 23)),
        (dt.date(2024, 1, 1), 90, "MINUTE", dt.datetime(2024, 1, 1, 1, 30)),
        (dt.date(2024, 1, 1), 61, "SECOND", dt.datetime(2024, 1, 1, 0, 1, 1)),
        (dt.date(2024, 1, 1), 5, "MICROSECOND", dt.datetime(2024, 1, 1, 0, 0, 0, 5)),
        (dt.datetime(2024, 1, 1, 10), 3, "DAY", dt.datetime(2024, 1, 4, 10)),
    ],
)
def test_add_interval(start: dt.date, n: int, unit: str, end: dt.date) -> None:
    got = add_interval(start, n, unit)
    assert got == end and type(got) is type(end)


def test_date_math_node() -> None:
    ctx = Ctx()
    assert DateMath(Const(None), 1, "DAY").eval(ctx) == NULL
    assert DateMath(Const("2024-01-31"), 1, "MONTH").eval(ctx) == (dt.date(2024, 2, 29), None)
    assert DateMath(Const("garbage"), 1, "DAY").eval(ctx) == NULL
    assert DateMath(Const(20240101), 1, "DAY").eval(ctx) == NULL
    assert DateMath(Const(dt.date(9999, 12, 31)), 1, "DAY").eval(ctx) == NULL  # overflow: NULL
    assert DateMath(Const(dt.date(9999, 12, 31)), 1, "YEAR").eval(ctx) == NULL
    # the result keeps the column's fractional-second precision, or is formatted
    moment = Expr("src", 3)
    assert DateMath(moment, -1, "DAY").eval(CTX) == (dt.datetime(2024, 1, 1, 3, 4, 5, 120000), 3)
    assert DateMath(moment, 1, "DAY", "YYYY/MM/DD").eval(CTX) == ("2024/01/03", None)


@pytest.mark.parametrize(
    ("value", "width", "decimals", "text"),
    [
        (5, 1, 0, "5"),
        (5, 2, 0, "05"),
        (Decimal("2.5"), 1, 0, "3"),  # half away from zero, not to even
        (Decimal("-2.5"), 1, 0, "-3"),
        (Decimal("0.125"), 1, 2, "0.13"),
        ("12.345", 1, 1, "12.3"),
        (Decimal("1.5"), 4, 1, "0001.5"),
        (-7, 3, 2, "-007.00"),
        (0.5, 2, 0, "01"),
    ],
)
def test_number_format(value: Any, width: int, decimals: int, text: str) -> None:
    assert NumberFormat(Const(value), width, decimals).eval(Ctx()) == (text, None)


def test_number_format_reads_the_row_and_never_prints_an_exponent() -> None:
    assert NumberFormat(Expr("src", 0), 3, 1).eval(CTX) == ("007.0", None)
    assert NumberFormat(Const(Decimal("0.0000001")), 1, 7).eval(Ctx()) == ("0.0000001", None)
    assert NumberFormat(Const(Decimal("1E+3")), 1, 0).eval(Ctx()) == ("1000", None)


def test_number_format_of_null_or_text_is_absent() -> None:
    assert NumberFormat(Const(None), 3, 0).eval(Ctx()) == NULL
    assert NumberFormat(Const("abc"), 3, 0).eval(Ctx()) == NULL


# -- aggregates ------------------------------------------------------------------------------------------


def test_weighted_key() -> None:
    assert weighted_key("B", b"\x00b") == (2, b"\x00b")
    assert weighted_key("B", bytearray(b"\x01")) == (2, b"\x01")
    assert weighted_key("B", None) == (2, "b")  # no weight: the approximation (case-insensitive)
    assert weighted_key(3, b"\x00") == (1, Decimal(3))
    assert weighted_key(None, None) == (0, 0)


def _fold(op: str, values: list[Any], distinct: bool = False, dp: int = 4, fsp: int | None = None) -> Any:
    acc = Accumulator(op, distinct, dp)
    for v in values:
        acc.add(v, fsp)
    return acc.result()


@pytest.mark.parametrize(
    ("op", "values", "distinct", "result"),
    [
        ("COUNT", [], False, 0),
        ("COUNT", [None, None], False, 0),
        ("COUNT", [1, None, 1, 2], False, 3),
        ("COUNT", [1, None, 1, 2], True, 2),
        ("COUNT", ["a", "A", "b"], True, 2),  # no weights: compared case-insensitively
        ("SUM", [], False, None),
        ("SUM", [None], False, None),
        ("SUM", [1, 2, 3], False, 6),
        ("SUM", [1, 1, 2], True, 3),
        ("SUM", [1, Decimal("1.50")], False, Decimal("2.50")),
        ("SUM", [Decimal("1.5"), Decimal("2.25"), Decimal("-0.75")], False, Decimal("3.00")),
        ("SUM", [Decimal("1E+2"), 1], False, Decimal("101")),
        ("SUM", [Decimal("9" * 40), 2], False, Decimal("1" + "0" * 39 + "1")),  # exact, no 28-digit context
        ("SUM", [10**40, 1], False, 10**40 + 1),
        ("SUM", ["2.5", "0.25"], False, Decimal("2.75")),
        ("AVG", [], False, None),
        ("AVG", [1, 2], False, Decimal("1.5000")),
        ("AVG", [Decimal("1.25"), Decimal("1.5")], False, Decimal("1.375000")),
        ("AVG", [1, 1, 2, 2], True, Decimal("1.5000")),
        ("MIN", [], False, None),
        ("MIN", [3, None, 1, 2], False, 1),
        ("MAX", [3, None, 1, 2], False, 3),
        ("MAX", [Decimal("1.5"), 2, Decimal("1.75")], False, 2),
        ("MIN", ["b", "a", "c"], False, "a"),
        ("MAX", ["b", "a", "c"], False, "c"),
        ("MIN", [2, 2, 1, 1], True, 1),
    ],
)
def test_aggregates(op: str, values: list[Any], distinct: bool, result: Any) -> None:
    value, fsp = _fold(op, values, distinct)
    assert fsp is None
    assert value == result and type(value) is type(result)
    if isinstance(result, Decimal):
        assert str(value) == str(result)  # the scale too


def test_avg_rounds_half_up_at_div_precision() -> None:
    assert _fold("AVG", [2, 3], dp=0) == (Decimal("3"), None)  # 2.5 -> 3 (not 2: half up)
    assert _fold("AVG", [1, 2, 2], dp=2) == (Decimal("1.67"), None)
    assert _fold("AVG", [Decimal("0.1"), Decimal("0.2")], dp=1) == (Decimal("0.15"), None)
    # the column's scale (from the result's description) counts like a decimal's own scale
    assert str(_fold("SUM", [Decimal("1"), Decimal("2")], fsp=2)[0]) == "3.00"


def test_min_max_keep_the_value_and_its_precision() -> None:
    acc = Accumulator("MAX", False, 4)
    acc.add(dt.datetime(2024, 1, 1, 0, 0, 0, 500000), 1)
    acc.add(dt.datetime(2023, 1, 1), 1)
    assert acc.result() == (dt.datetime(2024, 1, 1, 0, 0, 0, 500000), 1)
    # the first of equal values stays (ties by the first row in key order)
    acc = Accumulator("MIN", False, 4)
    acc.add("a", None, b"\x01")
    acc.add("A", None, b"\x01")
    assert acc.result() == ("a", None)
    acc = Accumulator("MAX", False, 4)
    acc.add("b", None, b"\x01")
    acc.add("B", None, b"\x01")
    assert acc.result() == ("b", None)


def test_min_max_and_distinct_follow_the_collation_weights() -> None:
    # weights from the server decide, not Python's order of the text
    acc = Accumulator("MIN", False, 4)
    acc.add("z", None, b"\x01")
    acc.add("a", None, b"\x02")
    assert acc.result() == ("z", None)
    acc = Accumulator("COUNT", True, 4)
    acc.add("x", None, b"\x05")
    acc.add("Y", None, b"\x05")
    acc.add("x", None, b"\x06")
    assert acc.result() == (2, None)


def test_aggregate_node_folds_rows() -> None:
    star = Aggregate("m", "COUNT", None)
    acc = star.accumulator()
    for r in (row(None), row(None)):
        star.fold(acc, r)
    assert acc.result() == (2, None)
    maxi = Aggregate("m", "MAX", 0, weight_index=1)
    acc = maxi.accumulator()
    maxi.fold(acc, row("b", b"\x09"))
    maxi.fold(acc, row("c", b"\x01"))
    assert acc.result() == ("b", None)
    avg = Aggregate("m", "AVG", 0, div_precision=1)
    acc = avg.accumulator()
    for v in (1, 2):
        avg.fold(acc, row(v))
    assert acc.result() == (Decimal("1.5"), None)
    summed = Aggregate("m", "SUM", 0, distinct=True)
    acc = summed.accumulator()
    for v in (1, 1, 2):
        summed.fold(acc, row(v))
    assert acc.result() == (3, None)
    assert Aggregate("m", "SUM", 0).eval(Ctx(folds={"m": (5, None)})) == (5, None)
    # MIN/MAX keep the column's fractional-second precision
    latest = Aggregate("m", "MAX", 0)
    acc = latest.accumulator()
    latest.fold(acc, row(dt.datetime(2024, 1, 1, 0, 0, 0, 500000), fsp=[1]))
    assert acc.result() == (dt.datetime(2024, 1, 1, 0, 0, 0, 500000), 1)


# -- json-construction -----------------------------------------------------------------------------------


def test_construct_array_and_object() -> None:
    members = (Member("n", 0), Member("when", 1), Member("doc", 2, json_column=True), Member("q", 3))
    rows = [
        row(
            "é",
            dt.datetime(2024, 1, 2, 3, 4, 5, 100000),
            '{"a": [1.50]}',
            Decimal("2.50"),
            fsp=[None, 1, None, 2],
        ),
        row(None, None, None, True),
    ]
    ctx = Ctx(manys={"m": rows, "none": []})
    value, fsp = Construct("m", "array", members).eval(ctx)
    assert fsp is None
    assert value == [
        {"n": "é", "when": "2024-01-02 03:04:05.1", "doc": {"a": ["1.50"]}, "q": "2.50"},
        {"n": None, "when": None, "doc": None, "q": "1"},
    ]
    assert list(value[0]) == ["n", "when", "doc", "q"]  # keys in the contract's order
    assert type(value[0]["q"]) is JsonNumber and type(value[1]["q"]) is JsonNumber
    assert type(value[0]["n"]) is str and type(value[0]["when"]) is str
    assert Construct("m", "object", members[:1]).eval(ctx) == ({"n": "é"}, None)
    # no related row: an empty list, or no object (absent)
    assert Construct("none", "array", members).eval(ctx) == ([], None)
    assert Construct("none", "object", members).eval(ctx) == NULL
