"""Item encoder: every type, NULL, empty values, key rules, sizes, fingerprints."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.model import Table
from dynamigrate.target.encode import (
    MAX_ITEM_BYTES,
    EncodeReject,
    ItemEncoder,
    fingerprint,
    from_python,
    item_size,
    marker_value,
    normalize_number,
    parse_marker,
    row_for_report,
    to_python,
)


def make_table(attrs: dict[str, str], pk: str = "PK", sk: str | None = "SK", gsis: Any = ()) -> Table:
    raw = {
        "table": "T_test",
        "type": "single-entity",
        "source_table": "src",
        "pk": pk,
        "sk": sk,
        "gsis": list(gsis),
        "attributes": [
            {"name": n, "type": t, "source_table": "src", "source_column": n} for n, t in attrs.items()
        ],
    }
    contract, problems = parse_contract({"tables": [raw]})
    assert contract is not None, [str(p) for p in problems]
    return contract.tables[0]


BASE = {"PK": "S", "SK": "S"}


def enc(attrs: dict[str, str], row: dict[str, Any], **kw: Any):
    table = make_table({**BASE, **attrs}, **kw)
    return ItemEncoder(table).encode({"PK": "p", "SK": "s", **row})


# -- S -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", "hello"),
        ("", ""),
        ('emoji 😀 "quotes" back\\slash', 'emoji 😀 "quotes" back\\slash'),
        (42, "42"),
        (Decimal("12.50"), "12.50"),
        ("2024-01-02 03:04:05", "2024-01-02 03:04:05"),
        (b"bytes text", "bytes text"),
    ],
)
def test_string_values(value: Any, expected: str) -> None:
    e = enc({"a": "S"}, {"a": value})
    assert e.ok
    assert e.item["a"] == {"S": expected}


def test_datetime_objects_print_like_mysql() -> None:
    import datetime as dt

    e = enc(
        {"a": "S", "b": "S", "c": "S"},
        {
            "a": dt.datetime(2024, 1, 2, 3, 4, 5),
            "b": dt.date(2024, 1, 2),
            "c": dt.timedelta(hours=-1, minutes=-2),
        },
    )
    assert e.item["a"] == {"S": "2024-01-02 03:04:05"}
    assert e.item["b"] == {"S": "2024-01-02"}
    assert e.item["c"] == {"S": "-01:02:00"}


def test_non_utf8_bytes_for_string_is_rejected() -> None:
    e = enc({"a": "S"}, {"a": b"\xff\xfe"})
    assert e.reject_code == "bad_string"
    assert "'a'" in e.reject_reason


def test_null_is_omitted() -> None:
    e = enc({"a": "S", "n": "N", "m": "M", "b": "BOOL"}, {"a": None, "n": None, "m": None, "b": None})
    assert e.ok
    assert set(e.item) == {"PK", "SK"}


def test_empty_string_kept_in_plain_attribute() -> None:
    e = enc({"a": "S"}, {"a": ""})
    assert e.item["a"] == {"S": ""}


def test_helper_and_unknown_columns_not_written() -> None:
    e = enc({"a": "S"}, {"a": "x", "_dm_entity": "E", "_dm_rowid": 7, "other": "zz"})
    assert set(e.item) == {"PK", "SK", "a"}
    assert e.entity == "E"
    assert e.rowid == 7


# -- N -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("9999999999.99", "9999999999.99"),
        ("-0.00", "0"),
        ("0.000", "0"),
        ("1e3", "1000"),
        ("1E+3", "1000"),
        ("1.50", "1.5"),
        ("007", "7"),
        ("1E-2", "0.01"),
        ("+5", "5"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-1.2300E+05", "-123000"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
        (" 12 ", "12"),
        (Decimal("3.140"), "3.14"),
        (17, "17"),
        (-(10**37), str(-(10**37))),
    ],
)
def test_numbers_exact_and_normalised_like_dynamodb(text: Any, stored: str) -> None:
    # the expected texts are what DynamoDB Local returned for these inputs (see docs/writing.md)
    e = enc({"n": "N"}, {"n": text})
    assert e.ok, e.reject_reason
    assert e.item["n"] == {"N": stored}


@pytest.mark.parametrize(
    "text",
    [
        "abc",
        "",
        "0x10",
        "NaN",
        "Infinity",
        "1,5",
        "123456789012345678901234567890123456789",  # 39 digits
        "1.000000000000000000000000000000000000000001",
        "1e126",
        "1e-131",
        1.5,  # a float is never exact
    ],
)
def test_bad_numbers_rejected(text: Any) -> None:
    e = enc({"n": "N"}, {"n": text})
    assert e.reject_code == "bad_number"
    assert "'n'" in e.reject_reason
    assert e.item is None


def test_number_magnitude_limits_accepted() -> None:
    assert normalize_number("9.99e125").startswith("999")
    assert normalize_number("1e-130").endswith("1")


def test_normalize_number_raises_encode_reject() -> None:
    with pytest.raises(EncodeReject):
        normalize_number("x")


# -- BOOL ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, False),
        (1, True),
        (2, True),
        (-1, True),
        (Decimal("0"), False),
        ("0", False),
        ("1", True),
        ("false", False),
        ("FALSE", False),
        ("true", True),
        ("no", False),
        ("yes", True),
        ("0.0", False),
        (b"\x00", False),
        (b"\x01", True),
        (True, True),
        (False, False),
        (b"1", True),
    ],
)
def test_bool_forms(value: Any, expected: bool) -> None:
    e = enc({"b": "BOOL"}, {"b": value})
    assert e.ok, e.reject_reason
    assert e.item["b"] == {"BOOL": expected}


def test_bad_bool() -> None:
    e = enc({"b": "BOOL"}, {"b": "maybe"})
    assert e.reject_code == "bad_bool"


# -- M / L ---------------------------------------------------------------------------------------


def test_map_from_json_with_exact_nested_numbers() -> None:
    doc = '{"a": 1, "b": 12345678901234567890.1234567890, "c": [1.50, "x", true, null, {"d": -0.0}], "e": ""}'
    e = enc({"m": "M"}, {"m": doc})
    assert e.ok, e.reject_reason
    assert e.item["m"] == {
        "M": {
            "a": {"N": "1"},
            "b": {"N": "12345678901234567890.123456789"},
            "c": {"L": [{"N": "1.5"}, {"S": "x"}, {"BOOL": True}, {"NULL": True}, {"M": {"d": {"N": "0"}}}]},
            "e": {"S": ""},
        }
    }


def test_list_from_json() -> None:
    e = enc({"l": "L"}, {"l": '[{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]'})
    assert e.item["l"] == {
        "L": [
            {"M": {"id": {"N": "1"}, "name": {"S": "x"}}},
            {"M": {"id": {"N": "2"}, "name": {"S": "y"}}},
        ]
    }


def test_empty_list_and_map_kept() -> None:
    e = enc({"l": "L", "m": "M"}, {"l": "[]", "m": "{}"})
    assert e.item["l"] == {"L": []}
    assert e.item["m"] == {"M": {}}


@pytest.mark.parametrize(
    ("atype", "value"),
    [
        ("M", "not json"),
        ("M", "[1, 2]"),
        ("L", '{"a": 1}'),
        ("M", '{"a": NaN}'),
        ("M", '{"": 1}'),
        ("L", 42),
    ],
)
def test_bad_json(atype: str, value: Any) -> None:
    e = enc({"j": atype}, {"j": value})
    assert e.reject_code == "bad_json"
    assert "'j'" in e.reject_reason


def test_already_decoded_json_accepted() -> None:
    e = enc({"m": "M"}, {"m": {"a": 1, "b": [True]}})
    assert e.item["m"] == {"M": {"a": {"N": "1"}, "b": {"L": [{"BOOL": True}]}}}


def test_json_text_as_string_attribute_kept_verbatim() -> None:
    text = '[{"id": 1, "price": 9.90}]'
    e = enc({"s": "S"}, {"s": text})
    assert e.item["s"] == {"S": text}


# -- sets ----------------------------------------------------------------------------------------


def test_string_set_dedupes_and_sorts() -> None:
    e = enc({"ss": "SS"}, {"ss": '["b", "a", "b", ""]'})
    assert e.item["ss"] == {"SS": ["", "a", "b"]}


def test_string_set_comma_separated() -> None:
    e = enc({"ss": "SS"}, {"ss": "red, green,red"})
    assert e.item["ss"] == {"SS": ["green", "red"]}


def test_number_set_normalises_then_dedupes() -> None:
    e = enc({"ns": "NS"}, {"ns": "[1, 1.0, 2.50, 3]"})
    assert e.item["ns"] == {"NS": ["1", "2.5", "3"]}


def test_empty_set_omitted() -> None:
    e = enc({"ss": "SS", "ns": "NS"}, {"ss": "[]", "ns": ""})
    assert e.ok
    assert "ss" not in e.item and "ns" not in e.item


def test_bad_sets() -> None:
    assert enc({"ns": "NS"}, {"ns": '["x"]'}).reject_code == "bad_set"
    assert enc({"ss": "SS"}, {"ss": "[1, [2]]"}).reject_code == "bad_set"
    assert enc({"ss": "SS"}, {"ss": "[unclosed"}).reject_code == "bad_set"
    assert enc({"bs": "BS"}, {"bs": '["not base64!"]'}).reject_code == "bad_set"


def test_binary_set() -> None:
    e = enc({"bs": "BS"}, {"bs": '["YQ==", "Yg==", "YQ=="]'})
    assert e.item["bs"] == {"BS": [b"a", b"b"]}
    e2 = enc({"bs": "BS"}, {"bs": [b"z", b"y"]})
    assert e2.item["bs"] == {"BS": [b"y", b"z"]}


# -- binary --------------------------------------------------------------------------------------


def test_binary() -> None:
    e = enc({"b": "B"}, {"b": b"\x00\xffdata"})
    assert e.item["b"] == {"B": b"\x00\xffdata"}
    assert enc({"b": "B"}, {"b": bytearray(b"x")}).item["b"] == {"B": b"x"}
    assert enc({"b": "B"}, {"b": "text"}).item["b"] == {"B": b"text"}
    assert enc({"b": "B"}, {"b": b""}).item["b"] == {"B": b""}
    assert enc({"b": "B"}, {"b": 12}).reject_code == "bad_binary"


def test_null_type_attribute() -> None:
    e = enc({"z": "NULL"}, {"z": "anything"})
    assert e.item["z"] == {"NULL": True}


# -- keys ----------------------------------------------------------------------------------------


def test_null_table_key_rejected() -> None:
    table = make_table(BASE)
    e = ItemEncoder(table).encode({"PK": "p", "SK": None})
    assert e.reject_code == "null_key"
    assert "'SK'" in e.reject_reason
    assert e.key == {"PK": {"S": "p"}}
    assert e.item is None


def test_missing_table_key_rejected() -> None:
    e = ItemEncoder(make_table(BASE)).encode({"SK": "s"})
    assert e.reject_code == "null_key"


@pytest.mark.parametrize(("ktype", "value"), [("S", ""), ("B", b""), ("N", "")])
def test_empty_table_key_rejected(ktype: str, value: Any) -> None:
    table = make_table({"PK": ktype, "SK": "S"})
    e = ItemEncoder(table).encode({"PK": value, "SK": "s"})
    assert e.reject_code == "empty_key"
    assert "'PK'" in e.reject_reason


def test_numeric_key() -> None:
    table = make_table({"id": "N", "x": "S"}, pk="id", sk=None)
    e = ItemEncoder(table).encode({"id": "0042", "x": "y"})
    assert e.key == {"id": {"N": "42"}}


GSIS = [
    {"index_name": "G1", "pk": "G1PK", "sk": "G1SK", "projection": "ALL"},
    {"index_name": "G2", "pk": "G2PK", "projection": "KEYS_ONLY"},
]


def test_empty_gsi_key_omitted_and_counted() -> None:
    table = make_table({**BASE, "G1PK": "S", "G1SK": "S", "G2PK": "N"}, gsis=GSIS)
    e = ItemEncoder(table).encode({"PK": "p", "SK": "s", "G1PK": "", "G1SK": "x", "G2PK": ""})
    assert e.ok
    assert "G1PK" not in e.item and "G2PK" not in e.item
    assert e.item["G1SK"] == {"S": "x"}
    assert set(e.omitted_gsi_keys) == {"G1PK", "G2PK"}


def test_null_gsi_key_is_just_absent() -> None:
    table = make_table({**BASE, "G1PK": "S", "G1SK": "S"}, gsis=GSIS[:1])
    e = ItemEncoder(table).encode({"PK": "p", "SK": "s", "G1PK": None})
    assert e.ok
    assert e.omitted_gsi_keys == ()
    assert "G1PK" not in e.item


def test_bad_gsi_number_rejected() -> None:
    table = make_table({**BASE, "G2PK": "N"}, gsis=GSIS[1:])
    e = ItemEncoder(table).encode({"PK": "p", "SK": "s", "G2PK": "abc"})
    assert e.reject_code == "bad_number"


# -- size ----------------------------------------------------------------------------------------


def test_item_size_rules() -> None:
    assert item_size({"a": {"S": "héllo"}}) == 1 + 6
    assert item_size({"n": {"N": "123.45"}}) == 1 + 4
    assert item_size({"b": {"BOOL": True}, "z": {"NULL": True}}) == 4
    assert item_size({"m": {"M": {"k": {"S": "v"}}}}) == 1 + 3 + (1 + 1 + 1)
    assert item_size({"l": {"L": [{"S": "ab"}, {"N": "1"}]}}) == 1 + 3 + (2 + 1) + (2 + 1)
    assert item_size({"ss": {"SS": ["a", "bc"]}}) == 2 + 3
    assert item_size({"bb": {"B": b"\x00\x01"}}) == 4


def test_encoded_size_matches_item_size() -> None:
    e = enc({"a": "S", "m": "M", "n": "N"}, {"a": "x" * 100, "m": '{"k": [1, 2]}', "n": "3.14"})
    assert e.size == item_size(e.item)


def test_over_400kb_rejected_and_just_under_accepted() -> None:
    table = make_table({**BASE, "big": "S"})
    encoder = ItemEncoder(table)
    over = encoder.encode({"PK": "p", "SK": "s", "big": "x" * MAX_ITEM_BYTES})
    assert over.reject_code == "too_large"
    assert "400 KB" in over.reject_reason
    assert over.key == {"PK": {"S": "p"}, "SK": {"S": "s"}}
    under = encoder.encode({"PK": "p", "SK": "s", "big": "x" * (MAX_ITEM_BYTES - 200)})
    assert under.ok
    # the marker counts towards the limit
    no_marker = ItemEncoder(table, marker_attribute=None)
    edge = "x" * (MAX_ITEM_BYTES - len("PK") - 1 - len("SK") - 1 - len("big"))
    assert no_marker.encode({"PK": "p", "SK": "s", "big": edge}).ok
    assert encoder.encode({"PK": "p", "SK": "s", "big": edge}).reject_code == "too_large"


# -- fingerprint and marker ----------------------------------------------------------------------


def test_fingerprint_is_stable_and_ignores_marker_and_set_order() -> None:
    e = enc({"ss": "SS", "b": "B"}, {"ss": '["b", "a"]', "b": b"\x01"})
    assert len(e.fingerprint) == 16
    assert e.fingerprint == fingerprint(e.item)
    as_read_back = {**e.item, "ss": {"SS": ["b", "a"]}, "_dm_marker": {"S": "r:x"}}
    assert fingerprint(as_read_back, "_dm_marker") == e.fingerprint
    changed = {**e.item, "ss": {"SS": ["a"]}}
    assert fingerprint(changed) != e.fingerprint


def test_fingerprint_canonical_json_definition() -> None:
    import hashlib

    item = {"b": {"N": "1"}, "a": {"S": "é"}}
    text = json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert fingerprint(item) == hashlib.sha256(text.encode()).hexdigest()[:16]


def test_marker_value_round_trip() -> None:
    m = marker_value("20240101T000000Z-abcd", "0123456789abcdef")
    assert m == "20240101T000000Z-abcd:0123456789abcdef"
    assert parse_marker({"S": m}) == ("20240101T000000Z-abcd", "0123456789abcdef")
    assert parse_marker(None) is None


def test_python_helpers_round_trip() -> None:
    obj = {
        "s": "x",
        "n": Decimal("1.5"),
        "b": True,
        "z": None,
        "m": {"k": [1, "a"]},
        "ss": {"a", "b"},
        "ns": {1, 2},
    }
    item = from_python(obj)
    assert item["ss"] == {"SS": ["a", "b"]}
    assert item["ns"] == {"NS": ["1", "2"]}
    back = to_python(item)
    assert back["n"] == Decimal("1.5")
    assert back["m"] == {"k": [Decimal(1), "a"]}
    assert back["ns"] == [1, 2]


def test_row_for_report_is_json_safe() -> None:
    row = {"a": b"\x00", "b": "x" * 5000, "c": Decimal("1.5"), "d": None}
    out = row_for_report(row)
    json.dumps(out)
    assert out["a"]["bytes"] == 1
    assert out["c"] == "1.5"
    assert out["b"].endswith("[5000 chars]")


def test_multi_entity_rows() -> None:
    raw = {
        "table": "Multi",
        "type": "multi-entity",
        "pk": "PK",
        "sk": "SK",
        "entities": [
            {
                "entity_type": "A",
                "source_table": "a",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": "a", "source_column": "id"},
                    {"name": "SK", "type": "S", "source_table": "a", "source_column": "id"},
                    {"name": "qty", "type": "N", "source_table": "a", "source_column": "qty"},
                ],
            },
            {
                "entity_type": "B",
                "source_table": "b",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": "b", "source_column": "id"},
                    {"name": "SK", "type": "S", "source_table": "b", "source_column": "id"},
                    {"name": "tags", "type": "SS", "source_table": "b", "source_column": "tags"},
                ],
            },
        ],
    }
    contract, problems = parse_contract({"tables": [raw]})
    assert contract is not None, [str(p) for p in problems]
    encoder = ItemEncoder(contract.tables[0])
    a = encoder.encode({"PK": "A#1", "SK": "A", "qty": "3", "tags": None, "_dm_entity": "A"})
    b = encoder.encode({"PK": "B#1", "SK": "B", "qty": None, "tags": "x,y", "_dm_entity": "B"})
    assert a.item == {"PK": {"S": "A#1"}, "SK": {"S": "A"}, "qty": {"N": "3"}}
    assert b.item == {"PK": {"S": "B#1"}, "SK": {"S": "B"}, "tags": {"SS": ["x", "y"]}}
    assert (a.entity, b.entity) == ("A", "B")


def test_multi_entity_attribute_typed_per_entity() -> None:
    raw = {
        "table": "Mixed",
        "type": "multi-entity",
        "pk": "PK",
        "sk": "SK",
        "entities": [
            {
                "entity_type": "A",
                "source_table": "a",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": "a", "source_column": "id"},
                    {"name": "SK", "type": "S", "source_table": "a", "source_column": "id"},
                    {"name": "data", "type": "S", "source_table": "a", "source_column": "d"},
                ],
            },
            {
                "entity_type": "B",
                "source_table": "b",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": "b", "source_column": "id"},
                    {"name": "SK", "type": "S", "source_table": "b", "source_column": "id"},
                    {"name": "data", "type": "M", "source_table": "b", "source_column": "d"},
                ],
            },
        ],
    }
    contract, problems = parse_contract({"tables": [raw]})
    assert contract is not None, [str(p) for p in problems]
    encoder = ItemEncoder(contract.tables[0])
    a = encoder.encode({"PK": "a", "SK": "A", "data": '{"x": 1}', "_dm_entity": "A"})
    b = encoder.encode({"PK": "b", "SK": "B", "data": '{"x": 1}', "_dm_entity": "B"})
    assert a.item["data"] == {"S": '{"x": 1}'}
    assert b.item["data"] == {"M": {"x": {"N": "1"}}}


def _nested(levels: int, inner: str = "1", array: bool = False) -> str:
    text = inner
    for _ in range(levels):
        text = f"[{text}]" if array else f'{{"a": {text}}}'
    return text


def test_documents_nested_deeper_than_dynamodb_allows_are_rejected_before_the_write() -> None:
    """DynamoDB keeps 32 levels, the item the first (DynamoDB Local: 31 nested objects written, 32
    refused with a ValidationException, which made the row a write_failed and validation fail)."""
    ok = enc({"m": "M", "l": "L"}, {"m": _nested(31), "l": _nested(31, array=True)})
    assert ok.ok and ok.item["l"] == json.loads(json.dumps(ok.item["l"]))
    for attr, text in (("m", _nested(32)), ("l", _nested(32, "{}", array=True)), ("m", _nested(40, "[]"))):
        e = enc({attr: "M" if attr == "m" else "L"}, {attr: text})
        assert e.reject_code == "bad_json", text
        assert "levels of objects/arrays; DynamoDB allows 31 in an attribute (32 counting the item)" in (
            e.reject_reason or ""
        )


def test_keys_longer_than_dynamodb_keeps_are_rejected() -> None:
    """2048 bytes for a partition key, 1024 for a sort key, of the table and of every GSI (UTF-8 bytes)."""
    gsis = [{"index_name": "ByG", "pk": "G", "sk": "GS", "projection": "ALL"}]
    attrs = {"G": "S", "GS": "S", "b": "B"}
    ok = enc(attrs, {"PK": "p" * 2048, "SK": "s" * 1024, "G": "g" * 2048, "GS": "é" * 512}, gsis=gsis)
    assert ok.ok
    cases = [
        ({"PK": "p" * 2049}, "key attribute 'PK' is 2049 bytes; DynamoDB allows 2048 for a partition key"),
        ({"SK": "é" * 513}, "key attribute 'SK' is 1026 bytes; DynamoDB allows 1024 for a sort key"),
        ({"G": "g" * 2049}, "key attribute 'G' is 2049 bytes; DynamoDB allows 2048 for a partition key"),
        ({"GS": "s" * 1025}, "key attribute 'GS' is 1025 bytes; DynamoDB allows 1024 for a sort key"),
    ]
    for row, reason in cases:
        e = enc(attrs, row, gsis=gsis)
        assert (e.reject_code, e.reject_reason) == ("key_too_long", reason)
    assert enc(attrs, {"b": b"x" * 5000}, gsis=gsis).ok  # not a key: no limit but the item's
