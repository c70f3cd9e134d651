"""The reference evaluator's value rules, value by value (docs/contract-format.md "Values in DynamoDB").

Every expectation is written by hand from the contract format and from how MariaDB prints values; the
rejection codes and reasons are asserted exactly, since they reach the user (validate's report). Written
for the mutation score of evaluate/values.py (docs/testing.md, "Mutation testing").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from dynamigrate.evaluate.values import (
    JsonNumber,
    Reject,
    _short,
    double_text,
    exact_decimal,
    item_size,
    json_member,
    json_text,
    json_to_ddb,
    mysql_text,
    number_text,
    numbers_equal,
    parse_json,
    to_bool,
    to_ddb,
    value_size,
)


def _rejected(fn: object, *args: object) -> tuple[str, str]:
    with pytest.raises(Reject) as exc:
        fn(*args)  # type: ignore[operator]
    assert str(exc.value) == exc.value.reason
    return exc.value.code, exc.value.reason


def _is_number(value: object, text: str) -> bool:
    return type(value) is JsonNumber and value == text


# -- printing ----------------------------------------------------------------------------------------


def test_short_keeps_60_characters() -> None:
    assert _short("a" * 58) == "'" + "a" * 58 + "'"  # repr is 60 characters: kept
    assert _short("a" * 59) == "'" + "a" * 56 + "..."  # 61: cut to 57 plus '...'
    assert _short("abcdef", 5) == "'a..."


@pytest.mark.parametrize(
    ("value", "fsp", "text"),
    [
        ("text", None, "text"),
        (True, None, "1"),
        (False, None, "0"),
        (0, None, "0"),
        (Decimal("1E+3"), None, "1000"),
        (Decimal("-0.50"), None, "-0.50"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 120000), None, "2024-01-02 03:04:05.120000"),
        (dt.datetime(2024, 1, 2, 3, 4, 5), None, "2024-01-02 03:04:05"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 120000), 0, "2024-01-02 03:04:05"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 120000), -1, "2024-01-02 03:04:05"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 123456), 1, "2024-01-02 03:04:05.1"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 123456), 7, "2024-01-02 03:04:05.123456"),
        (dt.date(2024, 2, 29), 0, "2024-02-29"),
        (dt.timedelta(0), None, "00:00:00"),
        (dt.timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000), 1, "26:03:04.5"),
        (dt.timedelta(hours=838, minutes=59, seconds=59), 0, "838:59:59"),
        (-dt.timedelta(hours=1, microseconds=5), 6, "-01:00:00.000005"),
        (-dt.timedelta(seconds=1), None, "-00:00:01"),
        (b"caf\xc3\xa9", None, "café"),
        (bytearray(b"ab"), None, "ab"),
        (memoryview(b"xy"), None, "xy"),
        (0.5, None, "0.5"),
        (-0.5, None, "-0.5"),
        (12.0, None, "12"),
        ({"b", "a", "c"}, None, "a,b,c"),
        (frozenset({"y", "x"}), None, "x,y"),
        (Fraction(1, 2), None, "1/2"),
    ],
)
def test_mysql_text_prints_like_the_server(value: object, fsp: int | None, text: str) -> None:
    assert mysql_text(value, fsp) == text


def test_binary_that_is_not_utf8_is_rejected_as_text() -> None:
    assert _rejected(mysql_text, b"\xff\xfe") == (
        "bad_string",
        "binary value b'\\xff\\xfe' is not UTF-8 text; use type B",
    )


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_doubles_are_rejected(value: float) -> None:
    assert _rejected(double_text, value) == ("bad_number", f"{value!r} is not a finite number")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.5, "0.5"),
        (1.5, "1.5"),
        (1.0, "1"),
        (-1.0, "-1"),
        (0.05, "0.05"),
        (-123.25, "-123.25"),
        (5e-15, "0.000000000000005"),
        (-5e-16, "-5e-16"),
    ],
)
def test_double_text_small_values(value: float, text: str) -> None:
    assert double_text(value) == text


# -- numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "exact"),
    [
        (True, Decimal(1)),
        (False, Decimal(0)),
        (7, Decimal(7)),
        (Decimal("1.50"), Decimal("1.50")),
        ("  12.5 ", Decimal("12.5")),
        ("1.", Decimal("1")),
        (".5", Decimal("0.5")),
        ("+1e5", Decimal("1E+5")),
        ("-.5E-2", Decimal("-0.005")),
        (b"12", Decimal(12)),
        (bytearray(b"-3.25"), Decimal("-3.25")),
        (0.1, Decimal("0.1")),
        (1e20, Decimal("1E+20")),
    ],
)
def test_exact_decimal(value: object, exact: Decimal) -> None:
    got = exact_decimal(value)
    assert got == exact and str(got) == str(exact)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "'abc' is not a decimal number"),
        ("", "'' is not a decimal number"),
        ("1e", "'1e' is not a decimal number"),
        ("e5", "'e5' is not a decimal number"),
        (".", "'.' is not a decimal number"),
        ("1.2.3", "'1.2.3' is not a decimal number"),
        ("12abc", "'12abc' is not a decimal number"),
        ("x12", "'x12' is not a decimal number"),
        (b"\xff1", "b'\\xff1' is not a decimal number"),
        ([1], "[1] (list) is not a number"),
        (None, "None (NoneType) is not a number"),
        (Decimal("Infinity"), "Decimal('Infinity') is not a finite number"),
        (Decimal("NaN"), "Decimal('NaN') is not a finite number"),
    ],
)
def test_exact_decimal_rejections(value: object, reason: str) -> None:
    assert _rejected(exact_decimal, value) == ("bad_number", reason)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0E+5"), "0"),
        ("-0.00", "0"),
        (0, "0"),
        ("123.4500", "123.45"),
        ("-5", "-5"),
        ("1E+3", "1000"),
        ("1" * 38, "1" * 38),
        ("-" + "9" * 38, "-" + "9" * 38),
        ("1" * 38 + "000", "1" * 38 + "000"),  # 38 significant digits, trailing zeros are not digits
        ("1E-130", "0." + "0" * 129 + "1"),
        ("-1E-130", "-0." + "0" * 129 + "1"),
        ("9.99E+125", "999" + "0" * 123),
        ("-9.99E+125", "-999" + "0" * 123),
    ],
)
def test_number_text_limits(value: object, text: str) -> None:
    assert number_text(value) == text


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1" * 39, f"'{'1' * 39}' has 39 significant digits; DynamoDB keeps at most 38"),
        ("9.9E-131", "'9.9E-131' is outside DynamoDB's number range"),
        ("-9.9E-131", "'-9.9E-131' is outside DynamoDB's number range"),
        ("1E+126", "'1E+126' is outside DynamoDB's number range"),
        ("-1E+126", "'-1E+126' is outside DynamoDB's number range"),
    ],
)
def test_number_text_rejections(value: str, reason: str) -> None:
    assert _rejected(number_text, value) == ("bad_number", reason)


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("1.50", "1.5", True),
        ("1.5E0", "1.5", True),
        ("15E-1", "1.5", True),
        ("1", "2", False),
        ("2", "1", False),
        ("abc", "abc", True),
        ("abc", "abd", False),
        ("1", "abc", False),
    ],
)
def test_numbers_equal(a: str, b: str, equal: bool) -> None:
    assert numbers_equal(a, b) is equal


# -- JSON --------------------------------------------------------------------------------------------


def test_parse_json_keeps_numbers_as_text() -> None:
    doc = parse_json(b'{"a": 1.50, "b": [10, 1e400, "x"], "c": null, "d": true}')
    assert doc == {"a": "1.50", "b": ["10", "1e400", "x"], "c": None, "d": True}
    assert _is_number(doc["a"], "1.50") and _is_number(doc["b"][0], "10") and _is_number(doc["b"][1], "1e400")
    assert type(doc["b"][2]) is str
    assert parse_json(bytearray(b"[]"), list, "L") == []
    assert parse_json("{}", dict, "M") == {}


@pytest.mark.parametrize(
    ("text", "want", "reason"),
    [
        (b"\xff", None, "the JSON text is not valid UTF-8"),
        (5, None, "expected JSON text, got int"),
        (None, None, "expected JSON text, got NoneType"),
        ("{", None, "not valid JSON (Expecting property name enclosed in double quotes at position 1): '{'"),
        ("[1,]", None, "not valid JSON (Expecting value at position 3): '[1,]'"),
        ("NaN", None, "JSON constant NaN is not a finite number"),
        ("[Infinity]", None, "JSON constant Infinity is not a finite number"),
        ("[1]", dict, "a M attribute needs an object, got '[1]'"),
        ('{"a": 1}', list, "a L attribute needs an array, got '{\"a\": 1}'"),
    ],
)
def test_parse_json_rejections(text: object, want: type | None, reason: str) -> None:
    name = "M" if want is dict else "L"
    assert _rejected(parse_json, text, want, name) == ("bad_json", reason)


def test_json_to_ddb() -> None:
    assert json_to_ddb(None) == {"NULL": True}
    assert json_to_ddb(True) == {"BOOL": True}
    assert json_to_ddb(False) == {"BOOL": False}
    assert json_to_ddb(JsonNumber("1.50")) == {"N": "1.5"}
    assert json_to_ddb(3) == {"N": "3"}
    assert json_to_ddb(0) == {"N": "0"}
    assert json_to_ddb(Decimal("2.50")) == {"N": "2.5"}
    assert json_to_ddb("1.50") == {"S": "1.50"}
    assert json_to_ddb("") == {"S": ""}
    assert json_to_ddb({"a": [JsonNumber("1"), "x", {}], "b": {"c": False}}) == {
        "M": {
            "a": {"L": [{"N": "1"}, {"S": "x"}, {"M": {}}]},
            "b": {"M": {"c": {"BOOL": False}}},
        }
    }
    assert json_to_ddb([]) == {"L": []}
    assert _rejected(json_to_ddb, {"a": {"": 1}}) == (
        "bad_json",
        "a JSON object has an empty key; DynamoDB map keys must not be empty",
    )
    assert _rejected(json_to_ddb, 1.5) == ("bad_json", "cannot represent float in a JSON document")
    assert _rejected(json_to_ddb, [JsonNumber("1" * 39)])[0] == "bad_number"


def test_json_text_is_mariadbs_layout() -> None:
    assert json_text(None) == "null"
    assert json_text(True) == "true"
    assert json_text(False) == "false"
    assert json_text(JsonNumber("1.50")) == "1.50"
    assert json_text('é "q"') == '"é \\"q\\""'
    assert (
        json_text({"k": JsonNumber("1"), "é": None, "l": [True, "x"]})
        == '{"k": 1, "é": null, "l": [true,"x"]}'
    )
    assert json_text([{}, {"a": False}]) == '[{},{"a": false}]'
    assert json_text([]) == "[]"
    with pytest.raises(TypeError, match=r"^float$"):
        json_text(1.5)


def test_json_member_is_what_json_object_makes_of_a_column() -> None:
    assert json_member(None) is None
    assert json_member(None, 3, True) is None
    assert json_member('{"a": 1}', None, True) == {"a": "1"}
    assert json_member("[1]") == "[1]" and type(json_member("[1]")) is str  # text column: the text
    assert _is_number(json_member(True), "1")
    assert _is_number(json_member(False), "0")
    assert _is_number(json_member(5), "5")
    assert _is_number(json_member(Decimal("1.50")), "1.50")
    assert _is_number(json_member(0.1), "0.1")
    assert json_member(dt.datetime(2024, 1, 2, 3, 4, 5, 500000), 2) == "2024-01-02 03:04:05.50"
    assert type(json_member(dt.date(2024, 1, 2))) is str


# -- typing ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "truth"),
    [
        (True, True),
        (False, False),
        (0, False),
        (2, True),
        (-1, True),
        (Decimal("0.0"), False),
        (Decimal("0.5"), True),
        (0.0, False),
        (0.5, True),
        (b"\x00", False),
        (b"\x01", True),
        (b"\x00\x01", True),
        (b"\x00" * 8, False),
        (b"\x00" * 7 + b"\x01", True),
        (memoryview(b"\x01"), True),
        (bytearray(b"\x00"), False),
        (b"1", True),
        (b"0", False),
        (b"true", True),
        (" TRUE ", True),
        ("t", True),
        ("yes", True),
        ("y", True),
        ("on", True),
        ("1", True),
        ("false", False),
        ("F", False),
        ("no", False),
        ("n", False),
        ("off", False),
        ("0", False),
        ("2.5", True),
        ("0.0", False),
        ("-0", False),
        ("1e3", True),
    ],
)
def test_to_bool(value: object, truth: bool) -> None:
    assert to_bool(value) is truth
    assert to_ddb(value, "BOOL") == {"BOOL": truth}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("maybe", "'maybe' is not a boolean (use 0/1 or true/false)"),
        ("", "'' is not a boolean (use 0/1 or true/false)"),
        (b"", "'' is not a boolean (use 0/1 or true/false)"),
        (
            b"\x00" * 9,
            "'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00' is not a boolean (use 0/1 or true/false)",
        ),
        (b"\x02", "'\\x02' is not a boolean (use 0/1 or true/false)"),
        (b"\xff", "b'\\xff' is not a boolean"),
        ([1], "[1] (list) is not a boolean"),
        (dt.date(2024, 1, 1), "datetime.date(2024, 1, 1) (date) is not a boolean"),
    ],
)
def test_to_bool_rejections(value: object, reason: str) -> None:
    assert _rejected(to_bool, value) == ("bad_bool", reason)


def test_scalars_to_ddb() -> None:
    assert to_ddb(dt.datetime(2024, 1, 2, 3, 4, 5, 120000), "S", 3) == {"S": "2024-01-02 03:04:05.120"}
    assert to_ddb(7, "S") == {"S": "7"}
    assert to_ddb(0.1, "N") == {"N": "0.1"}
    assert to_ddb(1e20, "N") == {"N": "100000000000000000000"}
    assert to_ddb(Decimal("1.50"), "N") == {"N": "1.5"}
    assert to_ddb(" 2.0 ", "N") == {"N": "2"}
    assert to_ddb(b"12.50", "N") == {"N": "12.5"}
    assert to_ddb(True, "N") == {"N": "1"}
    # bytes that are no number: a number rejection, not a text one
    assert _rejected(to_ddb, b"\xff", "N") == ("bad_number", "b'\\xff' is not a decimal number")
    assert to_ddb(b"\x00\xff", "B") == {"B": b"\x00\xff"}
    got = to_ddb(bytearray(b"ab"), "B")
    assert got == {"B": b"ab"} and type(got["B"]) is bytes  # type: ignore[index]
    assert to_ddb(memoryview(b"cd"), "B") == {"B": b"cd"}
    assert to_ddb("é", "B") == {"B": b"\xc3\xa9"}
    assert _rejected(to_ddb, 5, "B") == ("bad_binary", "expected bytes for a B attribute, got int")
    assert to_ddb(None, "NULL") == {"NULL": True}
    assert to_ddb("anything", "NULL") == {"NULL": True}
    assert _rejected(to_ddb, "x", "X") == ("bad_type", "unknown DynamoDB type 'X'")


def test_documents_to_ddb() -> None:
    assert to_ddb('{"a": 1.50, "b": [null]}', "M") == {"M": {"a": {"N": "1.5"}, "b": {"L": [{"NULL": True}]}}}
    assert to_ddb(b'["x", 2]', "L") == {"L": [{"S": "x"}, {"N": "2"}]}
    assert to_ddb({"a": "x"}, "M") == {"M": {"a": {"S": "x"}}}
    assert to_ddb(["x"], "L") == {"L": [{"S": "x"}]}
    assert _rejected(to_ddb, "[1]", "M") == ("bad_json", "a M attribute needs an object, got '[1]'")
    assert _rejected(to_ddb, "{}", "L") == ("bad_json", "a L attribute needs an array, got '{}'")


def test_string_sets() -> None:
    assert to_ddb('["b", "a", "b", null, 1.50]', "SS") == {"SS": ["1.50", "a", "b"]}
    assert to_ddb(" b , a,b ", "SS") == {"SS": ["a", "b"]}
    assert to_ddb(b"x,y", "SS") == {"SS": ["x", "y"]}
    assert to_ddb([Decimal("1.50"), dt.date(2024, 1, 2), None, True], "SS") == {
        "SS": ["1", "1.50", "2024-01-02"]
    }
    assert to_ddb({"q", "p"}, "SS") == {"SS": ["p", "q"]}
    assert to_ddb(("z",), "SS") == {"SS": ["z"]}
    assert to_ddb("[]", "SS") is None
    assert to_ddb("[null]", "SS") is None
    assert to_ddb("  ", "SS") is None
    assert to_ddb("", "SS") is None
    assert _rejected(to_ddb, "[[1]]", "SS") == ("bad_set", "a string set member must be a scalar, got ['1']")
    assert _rejected(to_ddb, '[{"a": 1}]', "SS") == (
        "bad_set",
        "a string set member must be a scalar, got {'a': '1'}",
    )
    assert _rejected(to_ddb, "[1,", "SS") == ("bad_set", "set text is not a valid JSON array: '[1,'")
    assert _rejected(to_ddb, b"\xff", "SS") == ("bad_set", "set text is not valid UTF-8")
    assert _rejected(to_ddb, 5, "SS") == ("bad_set", "expected a JSON array text for a set, got int")


def test_number_sets() -> None:
    assert to_ddb("2, 1.0, 1", "NS") == {"NS": ["1", "2"]}
    assert to_ddb('[1, "2.50", null, 10, 9]', "NS") == {"NS": ["1", "10", "2.5", "9"]}
    assert to_ddb([Decimal("3.0"), 4, None], "NS") == {"NS": ["3", "4"]}
    assert to_ddb("[null]", "NS") is None
    assert to_ddb("", "NS") is None
    assert _rejected(to_ddb, "[true]", "NS") == ("bad_set", "a number set member must be a number, got True")
    assert _rejected(to_ddb, "[[]]", "NS") == ("bad_set", "a number set member must be a number, got []")
    assert _rejected(to_ddb, "[{}]", "NS") == ("bad_set", "a number set member must be a number, got {}")
    assert _rejected(to_ddb, '["x"]', "NS") == ("bad_set", "number set member: 'x' is not a decimal number")
    assert _rejected(to_ddb, "a,1", "NS") == ("bad_set", "number set member: 'a' is not a decimal number")
    assert _rejected(to_ddb, "[1e200]", "NS") == (
        "bad_set",
        "number set member: '1e200' is outside DynamoDB's number range",
    )


def test_binary_sets() -> None:
    assert to_ddb(b"\x02\x01", "BS") == {"BS": [b"\x02\x01"]}  # one binary value: a set of one
    assert to_ddb(b' ["AQI=", "AQI=", null]', "BS") == {"BS": [b"\x01\x02"]}
    assert to_ddb('["Ag==", "AQ=="]', "BS") == {"BS": [b"\x01", b"\x02"]}
    assert to_ddb([b"\x02", None, bytearray(b"\x01"), b"\x02"], "BS") == {"BS": [b"\x01", b"\x02"]}
    got = to_ddb([bytearray(b"\x05")], "BS")
    assert got == {"BS": [b"\x05"]} and type(got["BS"][0]) is bytes  # type: ignore[index]
    assert to_ddb("[]", "BS") is None
    assert to_ddb(b"[]", "BS") is None
    assert _rejected(to_ddb, '["@@"]', "BS") == (
        "bad_set",
        "a binary set member in text must be base64, got '@@'",
    )
    assert _rejected(to_ddb, '["AQI"]', "BS")[0] == "bad_set"  # missing padding: not valid base64
    assert _rejected(to_ddb, [5], "BS") == ("bad_set", "a binary set member must be bytes, got 5")


# -- size --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "é"}, 2),
        ({"S": ""}, 0),
        ({"N": "100"}, 2),  # digits '1': (1 + 1) // 2 + 1
        ({"N": "-123.4500"}, 4),  # digits '12345'
        ({"N": "-0.05"}, 2),
        ({"N": "1234"}, 3),
        ({"B": b"abc"}, 3),
        ({"BOOL": False}, 1),
        ({"NULL": True}, 1),
        ({"M": {}}, 3),
        ({"M": {"k": {"S": "v"}, "é": {"BOOL": True}}}, 10),
        ({"L": []}, 3),
        ({"L": [{"N": "12345"}, {"NULL": True}]}, 10),
        ({"SS": ["a", "éé"]}, 5),
        ({"NS": ["1", "123"]}, 5),
        ({"BS": [b"ab", b"c"]}, 3),
    ],
)
def test_value_size(value: dict[str, object], size: int) -> None:
    assert value_size(value) == size


def test_item_size_and_unknown_type() -> None:
    assert item_size({"ab": {"S": "xyz"}, "né": {"N": "-0.05"}}) == 2 + 3 + 3 + 2
    assert item_size({}) == 0
    with pytest.raises(ValueError, match=r"^unknown DynamoDB type 'X'$"):
        value_size({"X": 1})
