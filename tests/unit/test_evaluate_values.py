"""Pure value rules of the reference evaluator (documented rules, hand-written expectations)."""

from __future__ import annotations

import datetime as dt
from decimal import Context, Decimal

import pytest

from dynamigrate.evaluate.nodes import Const, DateMath, NumberFormat, format_date, parse_date
from dynamigrate.evaluate.values import Reject, json_text, mysql_text, number_text, parse_json, to_ddb


class _NoRows:
    def one(self, slot: str) -> None:
        return None

    def null_row(self, slot: str) -> None:
        raise AssertionError

    def many(self, slot: str) -> list[object]:
        return []


@pytest.mark.parametrize(
    ("value", "fsp", "text"),
    [
        (dt.datetime(2024, 1, 2, 3, 4, 5), 0, "2024-01-02 03:04:05"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 120000), 3, "2024-01-02 03:04:05.120"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), 6, "2024-01-02 03:04:05.000000"),
        (dt.date(2024, 2, 29), None, "2024-02-29"),
        (dt.timedelta(hours=-26, minutes=-3), 0, "-26:03:00"),
        (Decimal("12.50"), None, "12.50"),
        (Decimal("1E-7"), None, "0.0000001"),
        (-42, None, "-42"),
        ("émoji 😀", None, "émoji 😀"),
        # doubles: the texts MariaDB 10.11 printed for CAST(x AS CHAR)
        (1e14, None, "100000000000000"),
        (1e15, None, "1e15"),
        (999999999999999.0, None, "999999999999999"),
        (1234567890123456.0, None, "1.234567890123456e15"),
        (12345678901234567.0, None, "1.2345678901234568e16"),
        (1.5e15, None, "1.5e15"),
        (1234567890123456.8, None, "1234567890123456.8"),
        (1.3959945530919925e15, None, "1395994553091992.5"),
        (-1e15, None, "-1e15"),
        (1.25e14, None, "125000000000000"),
        (1.5e-15, None, "0.0000000000000015"),
        (1e-15, None, "0.000000000000001"),
        (1e-16, None, "1e-16"),
        (1.5e-7, None, "0.00000015"),
        (1.234e-5, None, "0.00001234"),
        (1.2345678901234567e-15, None, "0.0000000000000012345678901234568"),
        (1.2345e-20, None, "1.2345e-20"),
        (1e-300, None, "1e-300"),
        (3.14159e-10, None, "0.000000000314159"),
        (1.7976931348623157e308, None, "1.7976931348623157e308"),
        (0.1, None, "0.1"),
        (12.5, None, "12.5"),
        (16777216.0, None, "16777216"),
        (-0.0, None, "0"),
        (0.10000000149011612, None, "0.10000000149011612"),
    ],
)
def test_mysql_text(value: object, fsp: int | None, text: str) -> None:
    assert mysql_text(value, fsp) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("1.50", "1.5"),
        (Decimal("-0.00"), "0"),
        ("1E+3", "1000"),
        (10**37, str(10**37)),
        ("0.000001", "0.000001"),
    ],
)
def test_number_text_is_exact(value: object, text: str) -> None:
    assert number_text(value) == text


@pytest.mark.parametrize("value", ["abc", "1" * 39, "NaN", 1e400, "1E-131"])
def test_bad_numbers_are_rejected(value: object) -> None:
    with pytest.raises(Reject) as exc:
        number_text(value)
    assert exc.value.code == "bad_number"


def test_bool_and_sets() -> None:
    assert to_ddb(b"\x01", "BOOL") == {"BOOL": True}
    assert to_ddb("off", "BOOL") == {"BOOL": False}
    assert to_ddb(Decimal("0.0"), "BOOL") == {"BOOL": False}
    with pytest.raises(Reject):
        to_ddb("maybe", "BOOL")
    assert to_ddb('["b", "a", "b"]', "SS") == {"SS": ["a", "b"]}
    assert to_ddb("2, 1.0, 1", "NS") == {"NS": ["1", "2"]}
    assert to_ddb("[]", "SS") is None


def test_json_text_layout_and_exact_numbers() -> None:
    doc = parse_json('{"a": 1.50, "b": [1, "x"]}')
    assert json_text([doc, {}]) == '[{"a": 1.50, "b": [1,"x"]},{}]'
    assert to_ddb('{"a": 1.50}', "M") == {"M": {"a": {"N": "1.5"}}}
    with pytest.raises(Reject):
        to_ddb("[1]", "M")


def test_dates() -> None:
    assert format_date(dt.date(2024, 5, 6), "YYYY-MM-DD HH:mm:ss") == "2024-05-06 00:00:00"
    assert parse_date("6/5/2024", "DD/MM/YYYY") == dt.date(2024, 5, 6)
    assert parse_date("2024-02-30", None) is None
    assert parse_date("2024-01-05 10:11:12", "datetime") == dt.datetime(2024, 1, 5, 10, 11, 12)
    assert parse_date("2024-01-05 10:11:12.5", "datetime") is None
    assert parse_date("  ", "DD/MM/YYYY") is None
    # text without the whole shape, or an impossible date: NULL, never a partial or guessed date
    for text, fmt in [("2024-01", "date"), ("2024-02-30", "date"), ("2024-01-05x", "date"), ("24-01-05", "date"),
                      ("2024-01-05", "datetime"), ("2024-00-05", "YYYY-MM-DD")]:  # fmt: skip
        assert parse_date(text, fmt) is None, (text, fmt)
    assert parse_date("2024-01-05T10:11+02:00", "ISO-8601") == dt.datetime(2024, 1, 5, 8, 11)
    assert parse_date("2024-01-05 23:30:00.9-0130", "iso8601") == dt.datetime(2024, 1, 6, 1, 0)
    assert parse_date("2024-01-05Z", "iso8601") is None
    assert parse_date("86400.5", "epoch") == dt.datetime(1970, 1, 2, 0, 0, 0, 500000)
    assert parse_date("-1000", "epoch_ms") == dt.datetime(1969, 12, 31, 23, 59, 59)
    assert parse_date("1e3", "epoch") is None
    ctx = _NoRows()
    assert DateMath(Const(dt.date(2024, 1, 31)), 1, "MONTH").eval(ctx)[0] == dt.date(2024, 2, 29)
    assert DateMath(Const(dt.date(2024, 1, 31)), 2, "HOUR").eval(ctx)[0] == dt.datetime(2024, 1, 31, 2)


@pytest.mark.parametrize(
    ("value", "width", "decimals", "text"),
    [(42, 6, 0, "000042"), (-42, 4, 0, "-0042"), (1234567, 3, 0, "1234567"), (Decimal("2.345"), 1, 2, "2.35"),
     (Decimal("-2.345"), 1, 2, "-2.35"),
     # differential seed 572678785: 28+ digits must not be rounded by the default decimal context
     (Decimal("8489832646620297239825684759.8489832646"), 3, 1, "8489832646620297239825684759.8"), (Decimal("-0.001"), 1, 2, "0.00"), (Decimal("1.5"), 3, 2, "001.50")],
)  # fmt: skip
def test_number_format(value: object, width: int, decimals: int, text: str) -> None:
    assert NumberFormat(Const(value), width, decimals).eval(_NoRows())[0] == text


# -- properties (hypothesis) -------------------------------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: d.is_zero() or Decimal("1E-100") < abs(d) < Decimal("1E100")
)
_json = st.recursive(
    st.none() | st.booleans() | st.text() | st.integers().map(lambda i: parse_json(str(i))),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1), inner, max_size=4),
    max_leaves=12,
)


@given(_decimals)
def test_number_text_is_numerically_exact(d: Decimal) -> None:
    try:
        text = number_text(d)
    except Reject:
        assert len(d.normalize(Context(prec=1000)).as_tuple().digits) > 38
        return
    assert Decimal(text) == d
    assert "E" not in text and (
        text == "0" or (not text.endswith(".") and not ("." in text and text.endswith("0")))
    )


@given(_json)
def test_json_text_reads_back(doc: object) -> None:
    assert parse_json(json_text(doc)) == doc


@given(st.integers(min_value=-(10**12), max_value=10**12), st.integers(1, 8), st.integers(0, 4))
def test_number_format_keeps_value_and_width(n: int, width: int, decimals: int) -> None:
    text = NumberFormat(Const(n), width, decimals).eval(_NoRows())[0]
    assert Decimal(text) == n
    digits = text.lstrip("-")
    assert len(digits) >= width + (decimals + 1 if decimals else 0) or width == 1


def test_to_ddb_refuses_documents_nested_deeper_than_dynamodb() -> None:
    deep31 = "1"
    for _ in range(31):
        deep31 = '{"a": ' + deep31 + "}"
    assert to_ddb(deep31, "M") is not None
    with pytest.raises(Reject) as exc:
        to_ddb('{"a": ' + deep31 + "}", "M")
    assert exc.value.code == "bad_json" and "nests 32 levels" in str(exc.value)
    with pytest.raises(Reject):
        to_ddb("[" * 32 + "]" * 32, "L")
