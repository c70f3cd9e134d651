"""Request bodies built with orjson (target/wire.py) equal botocore's, for every type and operation.

Each request goes through two real botocore clients, ours (``dynamodb_client``, orjson bodies) and a
plain boto3 client (botocore's serializer); a ``before-call`` handler captures the signed-to-be
request (method, path, headers, body) and answers without any network. Bodies must be equal JSON;
the headers botocore derives from the operation must be the same. The encoder's number fast path
and its orjson fingerprint are checked against their Decimal / json.dumps references.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from decimal import Context, Decimal
from typing import Any

import boto3
import botocore.config
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dynamigrate.config import AwsSettings
from dynamigrate.target import wire
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.encode import _digest, _digest_text, fingerprint, key_for_report, normalize_number

ENDPOINT = "http://127.0.0.1:1"  # never contacted: the before-call handler answers


class _Http:
    status_code = 200
    headers: dict[str, str] = {}
    content = b"{}"


def _capturing(client: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def before_call(params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        seen.append(params)
        return _Http(), {}

    client.meta.events.register("before-call.dynamodb", before_call)
    return seen


@pytest.fixture(scope="module")
def clients() -> Iterator[tuple[Any, Any]]:
    ours = dynamodb_client(
        AwsSettings(region="us-east-1", dynamodb_endpoint_url=ENDPOINT), parameter_validation=False
    )
    plain = boto3.session.Session().client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=ENDPOINT,
        aws_access_key_id="dummy",
        aws_secret_access_key="dummy",
        config=botocore.config.Config(parameter_validation=False),
    )
    yield ours, plain


_SEEN: dict[int, list[dict[str, Any]]] = {}


def _requests(clients: tuple[Any, Any], op: str, params: dict[str, Any]) -> tuple[Any, Any]:
    out = []
    for client in clients:
        seen = _SEEN.get(id(client))
        if seen is None:
            seen = _SEEN[id(client)] = _capturing(client)
        getattr(client, op)(**params)
        out.append(seen[-1])
    return out[0], out[1]


def _assert_same(clients: tuple[Any, Any], op: str, params: dict[str, Any]) -> dict[str, Any]:
    fast, ref = _requests(clients, op, params)
    assert isinstance(fast["body"], bytes)
    assert json.loads(fast["body"]) == json.loads(ref["body"]), op
    for header in ("X-Amz-Target", "Content-Type"):
        assert fast["headers"][header] == ref["headers"][header]
    assert (fast["method"], fast["url_path"], fast["query_string"]) == (
        ref["method"],
        ref["url_path"],
        ref["query_string"],
    )
    assert fast["url"] == ref["url"]
    return dict(json.loads(fast["body"]))


EVERY_TYPE: dict[str, Any] = {
    "PK": {"S": "USER#ünï-çødé-😀"},
    "SK": {"N": "-12.5"},
    "s_ctrl": {"S": 'tab\there "quote" back\\slash \x00\x1f \u2028 \x7f'},
    "s_empty": {"S": ""},
    "n_big": {"N": "12345678901234567890123456789012345678"},
    "n_small": {"N": "0.0000000000000000000000000000001"},
    "b": {"B": b"\x00\x01\xff binary"},
    "b_empty": {"B": b""},
    "t": {"BOOL": True},
    "f": {"BOOL": False},
    "null": {"NULL": True},
    "ss": {"SS": ["a", "ß", "😀"]},
    "ns": {"NS": ["-1", "0.5", "100"]},
    "bs": {"BS": [b"\x00", b"\xfe\xff"]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"B": b"\x01"}, {"L": []}, {"M": {}}, {"NULL": True}]},
    "m": {
        "M": {
            "nested": {"M": {"deeper": {"L": [{"M": {"k": {"BS": [b"\x02"]}}}]}}},
            "ключ": {"SS": ["значение"]},
            "e": {"BOOL": False},
        }
    },
}


def test_put_item_conditional_every_type(clients: tuple[Any, Any]) -> None:
    body = _assert_same(
        clients,
        "put_item",
        {
            "TableName": "perf_T",
            "Item": EVERY_TYPE,
            "ConditionExpression": "attribute_not_exists(#pk) OR #v < :v",
            "ExpressionAttributeNames": {"#pk": "PK", "#v": "ver"},
            "ExpressionAttributeValues": {":v": {"N": "3"}},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            "ReturnValues": "ALL_OLD",
        },
    )
    # binary as base64, unicode as itself (not escaped in our bytes, equal after parsing)
    assert body["Item"]["b"] == {"B": "AAH/IGJpbmFyeQ=="}
    assert body["Item"]["PK"] == {"S": "USER#ünï-çødé-😀"}


def test_batch_write_item(clients: tuple[Any, Any]) -> None:
    items = [{"PutRequest": {"Item": {**EVERY_TYPE, "SK": {"N": str(i)}}}} for i in range(25)]
    _assert_same(clients, "batch_write_item", {"RequestItems": {"perf_T": items}})
    _assert_same(
        clients,
        "batch_write_item",
        {"RequestItems": {"perf_T": [{"DeleteRequest": {"Key": {"PK": {"B": b"\x00k"}}}}]}},
    )


def test_transact_write_items(clients: tuple[Any, Any]) -> None:
    puts = [
        {
            "Put": {
                "TableName": "perf_T",
                "Item": {**EVERY_TYPE, "SK": {"N": str(i)}},
                "ConditionExpression": "attribute_not_exists(#pk)",
                "ExpressionAttributeNames": {"#pk": "PK"},
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        for i in range(3)
    ]
    # an explicit token: botocore would otherwise generate a random one for each client
    _assert_same(clients, "transact_write_items", {"TransactItems": puts, "ClientRequestToken": "tok-1"})


def test_reads_and_single_item_calls(clients: tuple[Any, Any]) -> None:
    key = {"PK": {"S": "é"}, "SK": {"B": b"\x00\x01"}}
    _assert_same(
        clients,
        "batch_get_item",
        {"RequestItems": {"perf_T": {"Keys": [key], "ConsistentRead": True, "ProjectionExpression": "PK"}}},
    )
    _assert_same(
        clients,
        "delete_item",
        {
            "TableName": "perf_T",
            "Key": key,
            "ConditionExpression": "#m = :m",
            "ExpressionAttributeNames": {"#m": "_dm_marker"},
            "ExpressionAttributeValues": {":m": {"S": "run:0123456789abcdef"}},
            "ReturnValues": "ALL_OLD",
        },
    )
    _assert_same(
        clients,
        "update_item",
        {
            "TableName": "perf_T",
            "Key": key,
            "UpdateExpression": "REMOVE #m",
            "ExpressionAttributeNames": {"#m": "x"},
        },
    )
    _assert_same(clients, "get_item", {"TableName": "perf_T", "Key": key, "ConsistentRead": True})
    _assert_same(
        clients,
        "scan",
        {
            "TableName": "perf_T",
            "Segment": 1,
            "TotalSegments": 4,
            "Limit": 1000,
            "ExclusiveStartKey": key,
            "ProjectionExpression": "PK, SK",
        },
    )
    _assert_same(
        clients,
        "query",
        {
            "TableName": "perf_T",
            "KeyConditionExpression": "PK = :p",
            "ExpressionAttributeValues": {":p": {"S": "é"}},
            "ScanIndexForward": False,
        },
    )


def test_other_operations_keep_botocore_serializer(clients: tuple[Any, Any]) -> None:
    fast, ref = _requests(clients, "describe_table", {"TableName": "perf_T"})
    assert fast["body"] == ref["body"]  # byte for byte: botocore's own serializer


def test_validation_still_applies_when_on() -> None:
    from botocore.exceptions import ParamValidationError

    client = dynamodb_client(AwsSettings(region="us-east-1", dynamodb_endpoint_url=ENDPOINT))
    assert isinstance(client._serializer, wire.FastJSONSerializer)
    _capturing(client)
    with pytest.raises(ParamValidationError, match="Item"):
        client.put_item(TableName="perf_T", Item={"PK": {"S": 5}})


def test_lone_surrogate_goes_to_botocore(clients: tuple[Any, Any]) -> None:
    fast, ref = _requests(clients, "put_item", {"TableName": "perf_T", "Item": {"PK": {"S": "\ud800"}}})
    assert fast["body"] == ref["body"]


# -- generated items ---------------------------------------------------------------------------------

_text = st.text(max_size=12)
_num = st.decimals(allow_nan=False, allow_infinity=False, places=None).map(lambda d: format(d, "f"))
_scalar = st.one_of(
    _text.map(lambda s: {"S": s}),
    _num.map(lambda n: {"N": n}),
    st.binary(max_size=8).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(_text, min_size=1, max_size=4, unique=True).map(lambda v: {"SS": sorted(v)}),
    st.lists(st.binary(min_size=1, max_size=4), min_size=1, max_size=3, unique=True).map(
        lambda v: {"BS": sorted(v)}
    ),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4).map(lambda v: {"L": v}),
        st.dictionaries(st.text(min_size=1, max_size=6), inner, max_size=4).map(lambda v: {"M": v}),
    ),
    max_leaves=12,
)
_items = st.dictionaries(st.text(min_size=1, max_size=8), _value, min_size=1, max_size=8)


@settings(max_examples=150, deadline=None)
@given(item=_items)
def test_generated_items_same_body(clients: tuple[Any, Any], item: dict[str, Any]) -> None:
    # surrogates cannot be UTF-8: botocore's serializer handles them (test above)
    try:
        json.dumps(item, default=repr).encode("utf-8")
    except UnicodeEncodeError:
        return
    _assert_same(clients, "put_item", {"TableName": "perf_T", "Item": item})


@settings(max_examples=300, deadline=None)
@given(item=_items)
def test_orjson_fingerprint_is_the_json_fingerprint(item: dict[str, Any]) -> None:
    try:
        reference = _digest_text(item).encode("utf-8")
    except UnicodeEncodeError:
        return
    assert _digest(item) == hashlib.sha256(reference).hexdigest()[:16]


def test_fingerprint_of_deep_nesting_falls_back_to_json() -> None:
    deep: dict[str, Any] = {"S": "leaf"}
    for _ in range(300):  # orjson stops at 254 levels
        deep = {"L": [deep]}
    item = {"PK": {"S": "k"}, "deep": deep}
    assert fingerprint(item) == hashlib.sha256(_digest_text(item).encode("utf-8")).hexdigest()[:16]


_EXACT = Context(prec=1000, Emax=999999, Emin=-999999)


def _reference_number(text: str) -> str:
    dec = Decimal(text)
    return "0" if dec.is_zero() else format(dec.normalize(_EXACT), "f")


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.integers(min_value=-(10**40), max_value=10**40).map(str),
        st.decimals(allow_nan=False, allow_infinity=False, places=None).map(lambda d: format(d, "f")),
        st.from_regex(r"-?[0-9]{1,3}\.[0-9]{0,40}", fullmatch=True),
        st.from_regex(r"-?0\.0{100,140}[1-9]{1,3}", fullmatch=True),
    )
)
def test_number_text_fast_path_equals_decimal_path(text: str) -> None:
    dec = Decimal(text)
    norm = dec.normalize(_EXACT)
    digits = len(norm.as_tuple().digits)
    valid = dec.is_zero() or (digits <= 38 and Decimal("1E-130") <= abs(norm) < Decimal("1E126"))
    if valid:
        assert normalize_number(text) == _reference_number(text)
    else:
        with pytest.raises(ValueError):
            normalize_number(text)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("12", "12"),
        ("-12.50", "-12.5"),
        ("0012", "12"),
        ("1.0", "1"),
        ("-0", "0"),
        ("0.10", "0.1"),
        ("1E+3", "1000"),
        ("١٢", "12"),  # non-ASCII digits are not the fast path's
        ("9" * 38, "9" * 38),
    ],
)
def test_number_text_examples(text: str, expected: str) -> None:
    assert normalize_number(text) == expected


def test_key_for_report() -> None:
    assert key_for_report({"PK": {"S": "a"}, "SK": {"N": "1"}}) == {"PK": {"S": "a"}, "SK": {"N": "1"}}
    assert key_for_report({"PK": {"S": "a"}, "SK": {"B": b"\x00\xff"}}) == {
        "PK": {"S": "a"},
        "SK": {"B": "AP8="},
    }
