"""Item encoder, exactly: every reject code with its full message, boundaries, and helper round trips.

Written from the mutation-testing survivors of target/encode.py (docs/testing.md): each case pins an
outcome a plausible slip in the encoder would change (a limit off by one, a reason code or message
lost, a set member kept or dropped, a nested set left unsorted in the fingerprint).
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from test_encode import make_table

from dynamigrate.target.encode import (
    MAX_ITEM_BYTES,
    EncodeReject,
    ItemEncoder,
    fingerprint,
    from_json_value,
    from_python,
    item_size,
    key_for_report,
    normalize_number,
    parse_json_exact,
    parse_marker,
    row_for_report,
    to_python,
)


def _reject(value: Any) -> tuple[str, str]:
    with pytest.raises(EncodeReject) as info:
        normalize_number(value)
    assert str(info.value) == info.value.message
    return info.value.code, info.value.message


def one(atype: str, value: Any, name: str = "a") -> Any:
    """Encode one attribute of type ``atype``: the DynamoDB value, or (code, reason) when rejected."""
    e = ItemEncoder(make_table({"PK": "S", name: atype}, sk=None)).encode({"PK": "p", name: value})
    if e.rejected:
        assert e.item is None and e.fingerprint is None
        return (e.reject_code, e.reject_reason)
    assert e.item is not None
    return e.item.get(name, "<absent>")


# -- numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "1"),
        (False, "0"),
        (10**38 - 1, "9" * 38),
        (10**38, "1" + "0" * 38),  # one significant digit, however long
        (-(10**37), "-1" + "0" * 37),
        (10**125, "1" + "0" * 125),
        (b"1.50", "1.5"),
        (bytearray(b"-0.00"), "0"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.000"), "0"),
        (" 12.340 ", "12.34"),
        ("1E-130", "0." + "0" * 129 + "1"),
        ("9.99E+125", "999" + "0" * 123),
        ("1" * 38, "1" * 38),
        ("0." + "1" * 38, "0." + "1" * 38),
    ],
)
def test_numbers_accepted_exactly(value: Any, text: str) -> None:
    assert normalize_number(value) == text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (10**38 + 1, f"'{10**38 + 1}' has 39 significant digits; DynamoDB keeps at most 38"),
        (-(10**38 + 1), f"'{-(10**38 + 1)}' has 39 significant digits; DynamoDB keeps at most 38"),
        ("1" * 39, f"'{'1' * 39}' has 39 significant digits; DynamoDB keeps at most 38"),
        ("1E-131", "'1E-131' is outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)"),
        ("1E+126", "'1E+126' is outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)"),
        ("abc", "'abc' is not a decimal number"),
        ("", "'' is not a decimal number"),
        ("NaN", "'NaN' is not a decimal number"),
        (Decimal("NaN"), "NaN is not a finite number"),
        (Decimal("-Infinity"), "-Infinity is not a finite number"),
        (b"\xff", "b'\\xff' is not a decimal number"),
        (b"1,5", "'1,5' is not a decimal number"),
        (1.5, "got the float 1.5; numbers must arrive as exact decimal text (CAST(... AS CHAR))"),
        ([1], "[1] (list) is not a number"),
        (None, "None (NoneType) is not a number"),
    ],
)
def test_numbers_rejected_with_their_reason(value: Any, message: str) -> None:
    assert _reject(value) == ("bad_number", message)


def test_integer_past_the_range_is_rejected() -> None:
    text = str(10**126)  # 127 digits: cut to 57 characters in the message
    assert _reject(10**126) == (
        "bad_number",
        repr(text)[:57] + "... is outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)",
    )


def test_long_values_are_cut_in_messages() -> None:
    text = "x" * 100
    assert _reject(text)[1] == repr(text)[:57] + "... is not a decimal number"
    assert len(repr("y" * 58)) == 60
    assert _reject("y" * 58)[1] == repr("y" * 58) + " is not a decimal number"  # 60 chars: not cut


def test_number_reason_in_the_encoded_row() -> None:
    assert one("N", "12a", name="price") == (
        "bad_number",
        "attribute 'price' (N): '12a' is not a decimal number",
    )


# -- booleans ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (2, True),
        (-1, True),
        (0, False),
        (Decimal("0.0"), False),
        (Decimal("0.5"), True),
        (b"\x01", True),
        (b"\x00", False),
        (b"\x00\x00\x00\x00\x00\x00\x00\x01", True),  # BIT(64)
        (bytearray(b"\x00\x00"), False),
        (memoryview(b"\x01"), True),
        (b"true", True),
        (b"0", False),
        (" TRUE ", True),
        ("Off", False),
        ("y", True),
        ("n", False),
        ("2.5", True),
        ("-0.0", False),
    ],
)
def test_bool_forms(value: Any, expected: bool) -> None:
    assert one("BOOL", value) == {"BOOL": expected}


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("maybe", "'maybe' is not a boolean (use 0/1 or true/false)"),
        ("", "'' is not a boolean (use 0/1 or true/false)"),
        (b"\x02", "'\\x02' is not a boolean (use 0/1 or true/false)"),
        (b"\x00" * 9, repr("\x00" * 9) + " is not a boolean (use 0/1 or true/false)"),  # longer than BIT(64)
        (b"\xff\xfe", "b'\\xff\\xfe' is not a boolean"),
        ([1], "[1] (list) is not a boolean"),
        (1.0, "1.0 (float) is not a boolean"),
    ],
)
def test_bad_bools_with_their_reason(value: Any, reason: str) -> None:
    assert one("BOOL", value) == ("bad_bool", f"attribute 'a' (BOOL): {reason}")


# -- strings and binary -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (7, "7"),
        (Decimal("1.50"), "1.50"),
        (dt.datetime(2024, 2, 29, 23, 59, 58), "2024-02-29 23:59:58"),
        (dt.datetime(2024, 2, 29, 23, 59, 58, 120), "2024-02-29 23:59:58.000120"),
        (dt.date(1999, 1, 2), "1999-01-02"),
        (dt.time(3, 4, 5), "03:04:05"),
        (dt.timedelta(hours=838, minutes=59, seconds=59), "838:59:59"),
        (dt.timedelta(hours=1, minutes=2, seconds=3, microseconds=500_000), "01:02:03.500000"),
        (-dt.timedelta(hours=1, minutes=2, seconds=3), "-01:02:03"),
        (-dt.timedelta(hours=1, minutes=2, seconds=3, microseconds=500_000), "-01:02:03.500000"),
        (-dt.timedelta(microseconds=1), "-00:00:00.000001"),
        (1.25, "1.25"),
        ({"b": [1, "é"]}, '{"b": [1, "é"]}'),
        (memoryview("ü".encode()), "ü"),
        (bytearray(b"ab"), "ab"),
    ],
)
def test_string_forms(value: Any, text: str) -> None:
    assert one("S", value) == {"S": text}


def test_binary_forms_and_reason() -> None:
    assert one("B", bytearray(b"\x00\x01")) == {"B": b"\x00\x01"}
    assert one("B", memoryview(b"\xff")) == {"B": b"\xff"}
    assert one("B", "é") == {"B": b"\xc3\xa9"}
    assert one("B", 12) == ("bad_binary", "attribute 'a' (B): expected bytes for a B attribute, got int")
    assert one("S", b"\xff\x00") == (
        "bad_string",
        "attribute 'a' (S): binary value b'\\xff\\x00' is not UTF-8 text; use type B",
    )


# -- JSON documents -----------------------------------------------------------------------------------


def test_json_documents_exact() -> None:
    doc = '{"n": 1.50, "big": 123456789012345678901234567890, "l": [true, null, "x", {"e": 1E+2}], "m": {}}'
    assert one("M", doc) == {
        "M": {
            "n": {"N": "1.5"},
            "big": {"N": "123456789012345678901234567890"},
            "l": {"L": [{"BOOL": True}, {"NULL": True}, {"S": "x"}, {"M": {"e": {"N": "100"}}}]},
            "m": {"M": {}},
        }
    }
    assert one("L", b'[1, [2], "\xc3\xa9"]') == {"L": [{"N": "1"}, {"L": [{"N": "2"}]}, {"S": "é"}]}
    assert one("M", {"already": "decoded"}) == {"M": {"already": {"S": "decoded"}}}
    assert one("L", ["x"]) == {"L": [{"S": "x"}]}


@pytest.mark.parametrize(
    ("atype", "value", "reason"),
    [
        ("M", "[1]", "a M attribute needs an object, got '[1]'"),
        ("L", "{}", "a L attribute needs an array, got '{}'"),
        (
            "M",
            "{bad",
            "not valid JSON (Expecting property name enclosed in double quotes at position 1): '{bad'",
        ),
        ("M", b"\xff", "the JSON text is not valid UTF-8"),
        ("L", 5, "expected JSON text for a L, got int"),
        ("M", '{"a": NaN}', "JSON constant NaN is not allowed (not a finite number)"),
        ("M", '{"a": -Infinity}', "JSON constant -Infinity is not allowed (not a finite number)"),
        ("M", '{"": 1}', "a JSON object has an empty key; DynamoDB map keys must not be empty"),
        ("L", '[{"a": {"": 2}}]', "a JSON object has an empty key; DynamoDB map keys must not be empty"),
        ("M", '{"n": 1E+999}', "'1E+999' is outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)"),
    ],
)
def test_bad_json_with_their_reason(atype: str, value: Any, reason: str) -> None:
    code = "bad_number" if "range" in reason else "bad_json"
    assert one(atype, value) == (code, f"attribute 'a' ({atype}): {reason}")


def test_from_json_value_of_plain_python() -> None:
    assert from_json_value(1.5) == {"N": "1.5"}
    assert from_json_value(Decimal("2.50")) == {"N": "2.5"}
    assert from_json_value(3) == {"N": "3"}
    assert from_json_value(b"\x00") == {"B": b"\x00"}
    assert from_json_value((1, "a")) == {"L": [{"N": "1"}, {"S": "a"}]}
    assert from_json_value(False) == {"BOOL": False}
    with pytest.raises(EncodeReject) as info:
        from_json_value(object())
    assert (info.value.code, info.value.message) == ("bad_json", "cannot represent object in a JSON document")
    with pytest.raises(EncodeReject) as info:
        from_json_value({1: "x"})
    assert info.value.code == "bad_json"
    assert parse_json_exact('{"a": 0.10}') == {"a": "0.10"}


# -- sets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("atype", "value", "expected"),
    [
        ("SS", "b, a,b", {"SS": ["a", "b"]}),
        ("SS", '["b", "a", null, "a"]', {"SS": ["a", "b"]}),
        ("SS", '[1, 2.50, "x"]', {"SS": ["1", "2.50", "x"]}),
        ("SS", b'["z"]', {"SS": ["z"]}),
        ("SS", ["q", None, 3], {"SS": ["3", "q"]}),
        ("SS", '{"a": 1}', {"SS": ['{"a": 1}']}),  # not an array: one comma-free member
        ("SS", "   ", "<absent>"),
        ("SS", "[]", "<absent>"),
        ("SS", [None], "<absent>"),
        ("NS", "[1, 1.0, 1E+0, 2]", {"NS": ["1", "2"]}),
        ("NS", "3, 10, 2", {"NS": ["10", "2", "3"]}),
        ("NS", [Decimal("0.50"), 7, None], {"NS": ["0.5", "7"]}),
        ("NS", "[]", "<absent>"),
        ("BS", b"\x00\x01", {"BS": [b"\x00\x01"]}),
        ("BS", b' ["AAE=", "/w==", "AAE="]', {"BS": [b"\x00\x01", b"\xff"]}),
        ("BS", '["/w==", "AAE="]', {"BS": [b"\x00\x01", b"\xff"]}),
        ("BS", [b"b", bytearray(b"a"), b"b", None], {"BS": [b"a", b"b"]}),
        ("BS", "[]", "<absent>"),
    ],
)
def test_sets_exact(atype: str, value: Any, expected: Any) -> None:
    assert one(atype, value) == expected


@pytest.mark.parametrize(
    ("atype", "value", "reason"),
    [
        ("SS", '[{"a": 1}]', "a string set member must be a scalar, got {'a': '1'}"),
        ("SS", "[[1]]", "a string set member must be a scalar, got ['1']"),
        ("SS", "[1,", "set text is not a valid JSON array: '[1,'"),
        ("SS", "[NaN]", "set text is not a valid JSON array: '[NaN]'"),
        ("SS", b"\xff", "set text is not valid UTF-8"),
        ("SS", 5, "expected a JSON array text for a set, got int"),
        ("NS", "[true]", "a number set member must be a number, got True"),
        ("NS", '["x"]', "number set member: 'x' is not a decimal number"),
        ("NS", "[[1]]", "a number set member must be a number, got ['1']"),
        ("BS", '["not base64!"]', "a binary set member in text must be base64, got 'not base64!'"),
        ("BS", "[5]", "a binary set member in text must be base64, got '5'"),
        ("BS", "[true]", "a binary set member must be bytes, got True"),
    ],
)
def test_bad_sets_with_their_reason(atype: str, value: Any, reason: str) -> None:
    assert one(atype, value) == ("bad_set", f"attribute 'a' ({atype}): {reason}")


# -- keys, rejected rows, sizes ----------------------------------------------------------------------


def test_rejected_row_keeps_a_readable_key() -> None:
    table = make_table({"PK": "N", "SK": "B", "x": "N"})
    enc = ItemEncoder(table)
    e = enc.encode({"PK": "7", "SK": b"\xff", "x": "bad", "_dm_entity": "src", "_dm_rowid": 9})
    assert e.reject_code == "bad_number"
    assert e.key == {"PK": {"N": "7"}, "SK": {"B": b"\xff"}}  # converted before the bad attribute
    assert (e.entity, e.rowid, e.row["x"]) == ("src", 9, "bad")
    # keys not converted yet (the bad attribute comes first) are shown as text
    table2 = make_table({"x": "N", "PK": "N", "SK": "S"})
    e2 = ItemEncoder(table2).encode({"PK": 7, "SK": b"\xff", "x": "bad"})
    assert e2.key == {"PK": {"S": "7"}, "SK": {"S": "b'\\xff'"}}


def test_too_large_reason_with_and_without_marker() -> None:
    table = make_table({"PK": "S", "big": "S"}, sk=None)
    big = "x" * (MAX_ITEM_BYTES - len("PK") - 1 - len("big"))  # exactly 400 KB without a marker
    plain = ItemEncoder(table, marker_attribute=None).encode({"PK": "p", "big": big})
    assert plain.ok and plain.size == MAX_ITEM_BYTES
    over = ItemEncoder(table, marker_attribute=None).encode({"PK": "p", "big": big + "y"})
    assert over.reject_code == "too_large" and over.item is None
    assert (
        over.reject_reason == f"item is {MAX_ITEM_BYTES + 1} bytes; DynamoDB's limit is 409600 bytes (400 KB)"
    )
    assert over.key == {"PK": {"S": "p"}} and over.size == MAX_ITEM_BYTES + 1
    marked = ItemEncoder(table).encode({"PK": "p", "big": big})
    assert marked.reject_reason == (
        f"item is {MAX_ITEM_BYTES} bytes plus the marker; DynamoDB's limit is 409600 bytes (400 KB)"
    )
    # the marker's budget: its name plus 64 bytes
    room = MAX_ITEM_BYTES - len("_dm_marker") - 64
    fits = "x" * (room - len("PK") - 1 - len("big"))
    assert ItemEncoder(table).encode({"PK": "p", "big": fits}).ok
    assert ItemEncoder(table).encode({"PK": "p", "big": fits + "x"}).reject_code == "too_large"


@pytest.mark.parametrize(
    ("item", "size"),
    [
        ({"a": {"S": "é"}}, 1 + 2),
        ({"ab": {"N": "12345"}}, 2 + 4),
        ({"n": {"N": "-0.001"}}, 1 + 2),
        ({"n": {"N": "1000"}}, 1 + 2),
        ({"b": {"B": b"\x00\x01\x02"}}, 1 + 3),
        ({"t": {"BOOL": False}, "u": {"NULL": True}}, 2 + 2),
        ({"m": {"M": {"k": {"S": "v"}, "é": {"N": "1"}}}}, 1 + 3 + (1 + 1 + 1) + (2 + 2 + 1)),
        ({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}, 1 + 3 + (2 + 1) + (2 + 1)),
        ({"s": {"SS": ["a", "é"]}}, 1 + 1 + 2),
        ({"s": {"NS": ["1", "22", "333"]}}, 1 + 2 + 2 + 3),
        ({"s": {"BS": [b"a", b"bc"]}}, 1 + 3),
    ],
)
def test_item_size_rules(item: dict[str, Any], size: int) -> None:
    assert item_size(item) == size


def test_encoded_size_of_non_ascii_text() -> None:
    e = ItemEncoder(make_table({"PK": "S", "s": "S", "n": "N", "b": "BOOL"}, sk=None)).encode(
        {"PK": "p", "s": "😀é", "n": "123", "b": 1}
    )
    assert e.size == (2 + 1) + (1 + 4 + 2) + (1 + 3) + (1 + 1)


# -- fingerprints and helpers --------------------------------------------------------------------------


def test_fingerprint_ignores_set_order_at_any_depth() -> None:
    a = {
        "m": {"M": {"s": {"SS": ["b", "a"]}, "l": {"L": [{"NS": ["2", "1"]}, {"BS": [b"\x02", b"\x01"]}]}}},
        "_dm_marker": {"S": "run:1"},
    }
    b = {"m": {"M": {"s": {"SS": ["a", "b"]}, "l": {"L": [{"NS": ["1", "2"]}, {"BS": [b"\x01", b"\x02"]}]}}}}
    assert fingerprint(a, "_dm_marker") == fingerprint(b) == fingerprint(b, "_dm_marker")
    assert fingerprint(a) != fingerprint(b)  # the marker counts unless named
    c = {"m": {"M": {"s": {"SS": ["a", "c"]}, "l": {"L": [{"NS": ["1", "2"]}, {"BS": [b"\x01", b"\x02"]}]}}}}
    assert fingerprint(c) != fingerprint(b)
    # list order is content
    assert fingerprint({"l": {"L": [{"S": "a"}, {"S": "b"}]}}) != fingerprint(
        {"l": {"L": [{"S": "b"}, {"S": "a"}]}}
    )
    assert fingerprint({"b": {"B": b"\x00"}}) != fingerprint({"b": {"B": b"\x01"}})
    assert len(fingerprint(b)) == 16 and int(fingerprint(b), 16) >= 0


def test_python_round_trips() -> None:
    item = from_python(
        {
            "s": "x",
            "n": Decimal("1.50"),
            "i": 3,
            "ok": True,
            "none": None,
            "b": b"\x00",
            "ss": {"b", "a"},
            "ns": {2, Decimal("1.0")},
            "bs": {b"\x02", b"\x01"},
            "m": {"l": [1, "a", {"z"}]},
            "t": (1,),
        }
    )
    assert item == {
        "s": {"S": "x"},
        "n": {"N": "1.5"},
        "i": {"N": "3"},
        "ok": {"BOOL": True},
        "none": {"NULL": True},
        "b": {"B": b"\x00"},
        "ss": {"SS": ["a", "b"]},
        "ns": {"NS": ["1", "2"]},
        "bs": {"BS": [b"\x01", b"\x02"]},
        "m": {"M": {"l": {"L": [{"N": "1"}, {"S": "a"}, {"SS": ["z"]}]}}},
        "t": {"L": [{"N": "1"}]},
    }
    assert to_python(item) == {
        "s": "x",
        "n": Decimal("1.5"),
        "i": Decimal(3),
        "ok": True,
        "none": None,
        "b": b"\x00",
        "ss": ["a", "b"],
        "ns": [Decimal(1), Decimal(2)],
        "bs": [b"\x01", b"\x02"],
        "m": {"l": [Decimal(1), "a", ["z"]]},
        "t": [Decimal(1)],
    }
    assert to_python({"ns": {"NS": ["10", "9"]}})["ns"] == [Decimal(9), Decimal(10)]


def test_parse_marker_forms() -> None:
    assert parse_marker({"S": "20240101T000000Z-ab12:0123456789abcdef"}) == (
        "20240101T000000Z-ab12",
        "0123456789abcdef",
    )
    assert parse_marker("a:b:c") == ("a:b", "c")
    assert parse_marker("nocolon") is None
    assert parse_marker({"N": "1"}) is None
    assert parse_marker(5) is None


def test_row_for_report_forms() -> None:
    row = {
        "b": b"\x00\xff",
        "mv": memoryview(b"ab"),
        "long": "x" * 2001,
        "edge": "y" * 2000,
        "n": None,
        "i": 3,
        "f": 1.5,
        "t": True,
        "d": Decimal("1.50"),
        "when": dt.datetime(2024, 1, 2, 3, 4, 5),
        "bad": b"\xff" * 3000,
    }
    out = row_for_report(row)
    assert out == {
        "b": {"$b64": base64.b64encode(b"\x00\xff").decode(), "bytes": 2},
        "mv": {"$b64": base64.b64encode(b"ab").decode(), "bytes": 2},
        "long": "x" * 2000 + "...[2001 chars]",
        "edge": "y" * 2000,
        "n": None,
        "i": 3,
        "f": 1.5,
        "t": True,
        "d": "1.50",
        "when": "2024-01-02 03:04:05",
        "bad": {"$b64": base64.b64encode(b"\xff" * 2000).decode(), "bytes": 3000},
    }
    assert row_for_report(None) is None
    assert row_for_report({"s": "abcdef"}, limit=3) == {"s": "abc...[6 chars]"}
    assert key_for_report({"PK": {"B": b"\x00"}, "SK": {"S": "s"}}) == {"PK": {"B": "AA=="}, "SK": {"S": "s"}}


# -- second round of survivors ------------------------------------------------------------------------


def test_fingerprint_of_the_read_back_item_equals_the_encoders() -> None:
    """sync compares fingerprint(item read from DynamoDB) with the one the encoder computed."""
    table = make_table({"PK": "S", "m": "M", "l": "L", "ss": "SS", "b": "B"}, sk=None)
    e = ItemEncoder(table).encode(
        {"PK": "p", "m": '{"k": [1, {"z": true}]}', "l": '[{"a": null}, "x"]', "ss": "b,a", "b": b"\x01"}
    )
    assert e.ok and e.item is not None
    read_back = {**e.item, "ss": {"SS": ["b", "a"]}, "_dm_marker": {"S": "run:x"}}
    assert fingerprint(read_back, "_dm_marker") == e.fingerprint


def test_text_of_unusual_values() -> None:
    import uuid

    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert one("S", u) == {"S": "12345678-1234-5678-1234-567812345678"}
    assert one("S", {"d": Decimal("1.50"), "t": dt.date(2024, 1, 2)}) == {
        "S": '{"d": "1.50", "t": "2024-01-02"}'
    }
    assert one("S", dt.timedelta(0)) == {"S": "00:00:00"}
    assert one("S", dt.timedelta(microseconds=1)) == {"S": "00:00:00.000001"}


def test_null_members_anywhere_in_a_set_are_skipped() -> None:
    assert one("NS", "[null, 2, 1]") == {"NS": ["1", "2"]}
    assert one("BS", [None, b"b", b"a"]) == {"BS": [b"a", b"b"]}
    assert one("SS", [None, "b", "a"]) == {"SS": ["a", "b"]}


def test_base64_members_are_validated_strictly() -> None:
    assert one("BS", '["AA!E="]') == (
        "bad_set",
        "attribute 'a' (BS): a binary set member in text must be base64, got 'AA!E='",
    )


def test_internal_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="unknown DynamoDB type 'Q'"):
        item_size({"x": {"Q": 1}})
    with pytest.raises(TypeError, match="not serialisable: object"):
        fingerprint({"x": {"S": object()}})


def test_to_python_sorts_sets() -> None:
    assert to_python({"ss": {"SS": ["b", "a"]}, "bs": {"BS": [b"\x02", b"\x01"]}}) == {
        "ss": ["a", "b"],
        "bs": [b"\x01", b"\x02"],
    }


def test_rejected_and_accepted_rows_carry_entity_rowid_and_row() -> None:
    table = make_table({"PK": "S", "SK": "S", "g": "S", "after": "N"}, gsis=[{"index_name": "G", "pk": "g"}])
    enc = ItemEncoder(table, marker_attribute="_m")
    assert enc.marker_attribute == "_m"
    for row, code in (
        ({"PK": None, "SK": "s"}, "null_key"),
        ({"PK": "", "SK": "s"}, "empty_key"),
        ({"PK": b"", "SK": "s"}, "empty_key"),
        ({"PK": "p", "SK": "s", "after": "x"}, "bad_number"),
    ):
        full = {**row, "_dm_entity": "src", "_dm_rowid": 41}
        e = enc.encode(full)
        assert (e.reject_code, e.entity, e.rowid, e.row) == (code, "src", 41, full)
    # an empty GSI key is left out and the attributes after it are still written
    ok = {"PK": "p", "SK": "s", "g": "", "after": "5", "_dm_entity": "src", "_dm_rowid": 42}
    e = enc.encode(ok)
    assert e.item == {"PK": {"S": "p"}, "SK": {"S": "s"}, "after": {"N": "5"}}
    assert (e.omitted_gsi_keys, e.entity, e.rowid, e.row) == (("g",), "src", 42, ok)
    big = {"PK": "p", "SK": "s", "g": "", "after": "1", "_dm_entity": "src", "_dm_rowid": 43}
    table_big = make_table(
        {"PK": "S", "SK": "S", "g": "S", "after": "N", "x": "S"}, gsis=[{"index_name": "G", "pk": "g"}]
    )
    over = ItemEncoder(table_big).encode({**big, "x": "y" * MAX_ITEM_BYTES})
    assert (over.reject_code, over.omitted_gsi_keys, over.entity, over.rowid) == (
        "too_large",
        ("g",),
        "src",
        43,
    )
    assert over.row is not None and over.row["_dm_rowid"] == 43
    many = enc.encode_many([ok, {"PK": None, "SK": "s"}])
    assert [m.reject_code for m in many] == [None, "null_key"] and many[0].item == e.item


def test_attributes_after_an_omitted_one_are_still_written() -> None:
    table = make_table(
        {"PK": "S", "SK": "S", "gn": "N", "ss": "SS", "after": "S"}, gsis=[{"index_name": "G", "pk": "gn"}]
    )
    e = ItemEncoder(table).encode({"PK": "p", "SK": "s", "gn": "", "ss": "[]", "after": "kept"})
    assert e.item == {"PK": {"S": "p"}, "SK": {"S": "s"}, "after": {"S": "kept"}}
    assert e.omitted_gsi_keys == ("gn",)


def test_empty_numeric_or_binary_table_key_is_an_empty_key() -> None:
    enc = ItemEncoder(make_table({"PK": "N", "SK": "B"}))
    for row in ({"PK": "", "SK": b"x"}, {"PK": "1", "SK": b""}):
        full = {**row, "_dm_entity": "e", "_dm_rowid": 3}
        e = enc.encode(full)
        assert (e.reject_code, e.entity, e.rowid, e.row) == ("empty_key", "e", 3, full)
