"""Table provisioning: CreateTable plans (pure), create/verify against DynamoDB Local, precise diffs."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.config import AwsSettings
from dynamigrate.contract.load import load_contract, parse_contract
from dynamigrate.contract.model import Table
from dynamigrate.errors import ConfigError, TableMismatchError, TargetError
from dynamigrate.target.client import dynamodb_client, is_local_endpoint
from dynamigrate.target.provision import diff_table, ensure_table, plan_table

WORKSHOP = "/work/shared/reference/workshop-migrationContract.json"


def make_table(**over: Any) -> Table:
    raw = {
        "table": "Catalog",
        "type": "single-entity",
        "source_table": "products",
        "pk": "id",
        "sk": "rev",
        "gsis": [
            {"index_name": "ByName", "pk": "name", "projection": "ALL"},
            {"index_name": "ByBlob", "pk": "blob", "sk": "id", "projection": "KEYS_ONLY"},
            {
                "index_name": "ByCat",
                "pk": "cat",
                "sk": "price",
                "projection": "INCLUDE",
                "projected_attributes": ["name", "descr"],
            },
        ],
        "attributes": [
            {"name": "id", "type": "N", "source_table": "products", "source_column": "id"},
            {"name": "rev", "type": "S", "source_table": "products", "source_column": "rev"},
            {"name": "name", "type": "S", "source_table": "products", "source_column": "name"},
            {"name": "blob", "type": "B", "source_table": "products", "source_column": "blob"},
            {"name": "cat", "type": "S", "source_table": "products", "source_column": "cat"},
            {"name": "price", "type": "N", "source_table": "products", "source_column": "price"},
            {"name": "descr", "type": "S", "source_table": "products", "source_column": "descr"},
        ],
    }
    raw.update(over)
    contract, problems = parse_contract({"tables": [raw]})
    assert contract is not None, [str(p) for p in problems]
    return contract.tables[0]


# -- pure ----------------------------------------------------------------------------------------


def test_plan_on_demand() -> None:
    req = plan_table(make_table())
    assert req["TableName"] == "Catalog"
    assert req["BillingMode"] == "PAY_PER_REQUEST"
    assert req["KeySchema"] == [
        {"AttributeName": "id", "KeyType": "HASH"},
        {"AttributeName": "rev", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in req["AttributeDefinitions"]} == {
        ("id", "N"),
        ("rev", "S"),
        ("name", "S"),
        ("blob", "B"),
        ("cat", "S"),
        ("price", "N"),
    }
    gsis = {g["IndexName"]: g for g in req["GlobalSecondaryIndexes"]}
    assert gsis["ByName"]["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert gsis["ByBlob"]["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert gsis["ByCat"]["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name", "descr"]}
    assert "ProvisionedThroughput" not in req and "ProvisionedThroughput" not in gsis["ByName"]


def test_plan_provisioned_and_table_name_override() -> None:
    req = plan_table(make_table(), billing="PROVISIONED", rcu=7, wcu=9, table_name="pfx_Catalog")
    assert req["TableName"] == "pfx_Catalog"
    assert req["ProvisionedThroughput"] == {"ReadCapacityUnits": 7, "WriteCapacityUnits": 9}
    assert all(g["ProvisionedThroughput"]["WriteCapacityUnits"] == 9 for g in req["GlobalSecondaryIndexes"])
    with pytest.raises(TargetError, match="billing"):
        plan_table(make_table(), billing="CHEAP")


def test_plan_workshop_contract() -> None:
    contract = load_contract(WORKSHOP)
    for table in contract.tables:
        req = plan_table(table)
        defined = {a["AttributeName"] for a in req["AttributeDefinitions"]}
        assert defined == set(table.key_names) | set(table.index_key_names)
        assert len(req["GlobalSecondaryIndexes"]) == len(table.gsis)


def test_plan_rejects_non_key_type() -> None:
    table = make_table(
        gsis=[{"index_name": "ByDescr", "pk": "descr_list", "projection": "ALL"}],
        attributes=[
            {"name": "id", "type": "N", "source_table": "products", "source_column": "id"},
            {"name": "rev", "type": "S", "source_table": "products", "source_column": "rev"},
            {"name": "descr_list", "type": "L", "source_table": "products", "source_column": "d"},
        ],
    )
    with pytest.raises(TargetError, match="must be S, N or B"):
        plan_table(table)


def test_diff_reports_every_difference() -> None:
    table = make_table()
    describe = {
        "Table": {
            "TableName": "Catalog",
            "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
            "AttributeDefinitions": [
                {"AttributeName": "id", "AttributeType": "S"},
                {"AttributeName": "name", "AttributeType": "S"},
                {"AttributeName": "cat", "AttributeType": "S"},
                {"AttributeName": "price", "AttributeType": "S"},
            ],
            "GlobalSecondaryIndexes": [
                {
                    "IndexName": "ByName",
                    "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                },
                {
                    "IndexName": "ByCat",
                    "KeySchema": [
                        {"AttributeName": "cat", "KeyType": "HASH"},
                        {"AttributeName": "price", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name", "other"]},
                },
                {
                    "IndexName": "AppOwn",
                    "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                },
            ],
        }
    }
    diffs = diff_table(describe, table)
    assert diffs == [
        "table Catalog: has no sort key, the contract says 'rev'",
        "table Catalog: partition key 'id' has type S, the contract says N",
        "GSI ByName: projection is KEYS_ONLY, the contract says ALL",
        "GSI ByBlob: missing (the contract defines it on blob/id)",
        "GSI ByCat: sort key 'price' has type S, the contract says N",
        "GSI ByCat: projected attributes differ (missing descr; extra other)",
    ]


def test_diff_of_own_plan_is_empty() -> None:
    table = make_table()
    req = plan_table(table)
    describe = {**req, "GlobalSecondaryIndexes": req["GlobalSecondaryIndexes"]}
    assert diff_table(describe, table) == []


def test_client_needs_a_region(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    with pytest.raises(ConfigError, match="no AWS region"):
        dynamodb_client(AwsSettings(endpoint_url="https://dynamodb.example.com"))
    client = dynamodb_client(AwsSettings(dynamodb_endpoint_url="http://127.0.0.1:1", region="eu-west-1"))
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.endpoint_url == "http://127.0.0.1:1"
    assert is_local_endpoint("http://localhost:8000") and not is_local_endpoint(
        "https://dynamodb.us-east-1.amazonaws.com"
    )


def test_client_endpoint_layering_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dynamigrate.config import load_config

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8")
    monkeypatch.setenv("AWS_REGION", "ap-south-1")
    cfg = load_config(None)
    client = dynamodb_client(cfg.aws)
    assert client.meta.endpoint_url == "http://127.0.0.1:8"
    assert client.meta.region_name == "ap-south-1"


# -- against DynamoDB Local ------------------------------------------------------------------------


@pytest.fixture
def client(ddb_endpoint: str) -> Any:
    return dynamodb_client(AwsSettings(endpoint_url=ddb_endpoint, region="us-east-1"))


@pytest.mark.integration
def test_create_then_verify(client: Any, ddb_prefix: str) -> None:
    table = make_table()
    name = f"{ddb_prefix}Catalog"
    outcome, request = ensure_table(client, table, table_name=name)
    assert outcome == "created"
    assert request["TableName"] == name
    desc = client.describe_table(TableName=name)["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    assert all(g["IndexStatus"] == "ACTIVE" for g in desc["GlobalSecondaryIndexes"])
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert {g["IndexName"] for g in desc["GlobalSecondaryIndexes"]} == {"ByName", "ByBlob", "ByCat"}
    assert diff_table(desc, table) == []
    assert ensure_table(client, table, table_name=name)[0] == "verified"


@pytest.mark.integration
def test_provisioned_billing(client: Any, ddb_prefix: str) -> None:
    name = f"{ddb_prefix}Prov"
    ensure_table(client, make_table(gsis=[]), table_name=name, billing="PROVISIONED", rcu=3, wcu=4)
    desc = client.describe_table(TableName=name)["Table"]
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 4


@pytest.mark.integration
def test_mismatch_stops_and_never_touches_the_table(client: Any, ddb_prefix: str) -> None:
    name = f"{ddb_prefix}Catalog"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}, {"AttributeName": "rev", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "rev", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.put_item(TableName=name, Item={"id": {"S": "keep"}, "rev": {"S": "me"}})
    with pytest.raises(TableMismatchError) as info:
        ensure_table(client, make_table(), table_name=name)
    text = str(info.value)
    assert "partition key 'id' has type S, the contract says N" in text
    assert "GSI ByName: missing" in text
    assert "never deletes or recreates" in text
    assert client.get_item(TableName=name, Key={"id": {"S": "keep"}, "rev": {"S": "me"}})["Item"]
    assert "GlobalSecondaryIndexes" not in client.describe_table(TableName=name)["Table"]


@pytest.mark.integration
def test_workshop_tables_created(client: Any, ddb_prefix: str) -> None:
    contract = load_contract(WORKSHOP)
    for table in contract.tables:
        outcome, _ = ensure_table(client, table, table_name=ddb_prefix + table.name)
        assert outcome == "created"
