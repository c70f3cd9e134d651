"""The lean PutItem path against DynamoDB Local: the same items as botocore's put_item, conditions,
DynamoDB's refusals and the writer's outcomes through it."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from dynamigrate.config import AwsSettings
from dynamigrate.contract.load import parse_contract
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.encode import ItemEncoder
from dynamigrate.target.lean import lean_sender
from dynamigrate.target.writer import MemorySink, TableWriter, WriterOptions

ITEMS: list[dict[str, Any]] = [
    {
        "PK": {"S": "ünï-😀"},
        "n": {"N": "-12.5"},
        "big": {"N": "12345678901234567890123456789012345678"},
        "b": {"B": b"\x00\x01\xff"},
        "t": {"BOOL": True},
        "nul": {"NULL": True},
        "ss": {"SS": ["a", "ß"]},
        "ns": {"NS": ["1", "2.5"]},
        "bs": {"BS": [b"\x00", b"\xff"]},
        "l": {"L": [{"S": "x"}, {"B": b"\x02"}, {"M": {"k": {"BS": [b"\x03"]}}}]},
        "m": {"M": {"ключ": {"S": 'tab\t"q"\\'}, "e": {"L": []}}},
    },
    {"PK": {"S": "plain"}, "s": {"S": ""}},
]


def _table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _scan(client: Any, name: str) -> dict[str, Any]:
    items = client.scan(TableName=name, ConsistentRead=True)["Items"]
    return {i["PK"]["S"]: i for i in items}


def test_same_items_as_botocore(ddb_client: Any, ddb_endpoint: str, ddb_prefix: str) -> None:
    client = dynamodb_client(AwsSettings(region="us-east-1", dynamodb_endpoint_url=ddb_endpoint))
    sender = lean_sender(client)
    assert sender is not None
    lean_t, boto_t = f"{ddb_prefix}lean", f"{ddb_prefix}boto"
    _table(ddb_client, lean_t)
    _table(ddb_client, boto_t)
    cond = {"ConditionExpression": "attribute_not_exists(#pk)", "ExpressionAttributeNames": {"#pk": "PK"}}
    for item in ITEMS:
        sender.put_item(TableName=lean_t, Item=item, **cond)
        ddb_client.put_item(TableName=boto_t, Item=item, **cond)
    assert _scan(ddb_client, lean_t) == _scan(ddb_client, boto_t)
    assert _scan(ddb_client, lean_t)["ünï-😀"] == ITEMS[0]

    # a failed condition: botocore's error shape, the existing item decoded (binary as bytes)
    with pytest.raises(ClientError) as info:
        sender.put_item(
            TableName=lean_t, Item=ITEMS[0], ReturnValuesOnConditionCheckFailure="ALL_OLD", **cond
        )
    assert info.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert info.value.response["Item"] == ITEMS[0]
    # ALL_OLD of an overwrite
    out = sender.put_item(TableName=lean_t, Item={"PK": {"S": "plain"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == ITEMS[1]
    # DynamoDB refuses an empty key: its ValidationException, as botocore would raise it
    with pytest.raises(ClientError) as info:
        sender.put_item(TableName=lean_t, Item={"PK": {"S": ""}})
    assert info.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as info:
        sender.put_item(TableName=f"{ddb_prefix}missing", Item={"PK": {"S": "x"}})
    assert info.value.response["Error"]["Code"] == "ResourceNotFoundException"
    sender.close()


def test_writer_put_strategy_through_the_lean_path(
    ddb_client: Any, ddb_endpoint: str, ddb_prefix: str
) -> None:
    raw = {
        "table": f"{ddb_prefix}W",
        "type": "single-entity",
        "source_table": "src",
        "pk": "PK",
        "attributes": [
            {"name": "PK", "type": "S", "source_table": "src", "source_column": "PK"},
            {"name": "n", "type": "N", "source_table": "src", "source_column": "n"},
            {"name": "b", "type": "B", "source_table": "src", "source_column": "b"},
        ],
    }
    contract, _ = parse_contract({"tables": [raw]})
    table = contract.tables[0]
    _table(ddb_client, table.name)
    client = dynamodb_client(
        AwsSettings(region="us-east-1", dynamodb_endpoint_url=ddb_endpoint), parameter_validation=False
    )
    rows = [{"PK": f"k{i:03d}", "n": f"{i}.50", "b": bytes([i % 256, 0])} for i in range(120)]
    rows.append({"PK": "", "n": "1", "b": b""})  # empty key: rejected by the encoder
    enc = ItemEncoder(table)
    sink = MemorySink()
    opts = WriterOptions(mode="insert", run_id="lean", strategy="put", concurrency=8)
    with TableWriter(client, table.name, table, opts, sink) as writer:
        assert writer._lean is not None
        first = writer.write_batch(enc.encode_many(rows))
        # the same run meets its own items (a resumed batch): the failed condition's old image,
        # decoded by the lean path, carries our marker and content -> written, not skipped
        again = writer.write_batch(enc.encode_many(rows[:10]))
    other = WriterOptions(mode="insert", run_id="other", strategy="put", concurrency=8)
    with TableWriter(client, table.name, table, other, MemorySink()) as writer:
        assert writer._lean is not None
        foreign = writer.write_batch(enc.encode_many(rows[:10]))  # another run's items: skipped
    assert (first.written, first.rejected, first.skipped) == (120, 1, 0)
    assert (again.written, again.skipped) == (10, 0)
    assert (foreign.written, foreign.skipped) == (0, 10)
    got = _scan(ddb_client, table.name)
    assert len(got) == 120
    for r in rows[:120]:
        item = got[r["PK"]]
        assert item["n"] == {"N": str(float(r["n"])).rstrip("0").rstrip(".")}
        assert item["b"] == {"B": r["b"]}
        assert item["_dm_marker"]["S"].startswith("lean:")
