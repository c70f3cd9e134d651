"""The troubleshooting catalogue against errors provoked for real.

Provoked for real: MySQL 1045 (wrong password), 2003 (wrong port), 1049 (unknown database), 1146
(missing table), 1054 (unknown column), 1356 (view left invalid by a dropped column); MCP server
missing, read-only (the awslabs stand-in server) and without SQL tool; DynamoDB Local
ResourceNotFound, key type mismatch, empty key, item too large; region mismatch (the real region
check, with a credentials region that differs).
Provoked with botocore's Stubber (DynamoDB Local has no IAM and does not throttle): AccessDenied,
throttling, invalid credentials. Glue job failures: the error texts Glue puts in a job run's
ErrorMessage (moto's Glue job runs always succeed), wrapped in an EngineError as the Glue engine does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pymysql
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from dynamigrate.config import AwsSettings, Config, MySQLSettings, Secret
from dynamigrate.errors import EngineError, RegionMismatchError
from dynamigrate.troubleshoot import CATALOGUE, guidance_for, lookup, lookup_text

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _raised(fn: Any, *args: Any, **kwargs: Any) -> BaseException:
    try:
        fn(*args, **kwargs)
    except BaseException as exc:
        return exc
    raise AssertionError("expected an error")


def _key(exc: BaseException) -> str | None:
    g = lookup(exc)
    return g.key if g else None


# -- MySQL ---------------------------------------------------------------------------------------------


def test_mysql_errors(mysql_settings: MySQLSettings, mysql_db: str, mysql_conn: Any) -> None:
    from dataclasses import replace

    from dynamigrate.source.connect import connect

    kw = mysql_settings.connect_kwargs()
    wrong_pw = _raised(pymysql.connect, **{**kw, "password": "definitely-wrong"})
    assert _key(wrong_pw) == "mysql-1045"
    # the same through our connection layer (SourceError carrying mysql_errno)
    ours = _raised(connect, replace(mysql_settings, password=Secret("definitely-wrong")))
    assert _key(ours) == "mysql-1045"
    assert "definitely-wrong" not in (guidance_for(ours) or "")

    wrong_port = _raised(pymysql.connect, **{**kw, "port": 1, "connect_timeout": 2})
    assert _key(wrong_port) == "mysql-2003"
    assert "mysql.port" in (guidance_for(wrong_port) or "")
    assert _key(_raised(connect, replace(mysql_settings, port=1, connect_timeout=2))) == "mysql-2003"

    assert _key(_raised(pymysql.connect, **{**kw, "database": "no_such_db_dm"})) == "mysql-1049"

    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE t (a INT, b INT)")
        cur.execute("CREATE VIEW v AS SELECT a, b FROM t")
        missing = _raised(cur.execute, "SELECT * FROM no_such_table")
        assert _key(missing) == "mysql-1146"
        assert "no_such_table" in (guidance_for(missing) or "")
        unknown = _raised(cur.execute, "SELECT nope FROM t")
        assert _key(unknown) == "mysql-1054"
        assert "nope" in (guidance_for(unknown) or "")
        cur.execute("ALTER TABLE t DROP COLUMN b")
        invalid = _raised(cur.execute, "SELECT * FROM v")
        assert _key(invalid) == "mysql-1356"


# -- MCP -----------------------------------------------------------------------------------------------


def test_mcp_errors(mysql_settings: MySQLSettings, mysql_db: str, tmp_path: Path) -> None:
    from _awslabs_mysql import running_rig, server_exe

    from dynamigrate.source.mcp_client import McpExecutor

    missing = _raised(McpExecutor, {"command": "no-such-mcp-server-dm"}, name="mysql")
    assert _key(missing) == "mcp-missing"

    # real servers: AWS Labs' data-processing server has no SQL tool; its MySQL server runs read-only
    # without --allow_write_query
    nosql = _raised(McpExecutor, {"command": server_exe("awslabs-glue"), "env": {"AWS_REGION": "us-west-2"}})
    assert _key(nosql) == "mcp-no-sql-tool"

    with (
        running_rig(tmp_path, mysql_settings) as rig,
        McpExecutor(rig.block(mysql_db, write=False), name="aurora") as ex,
    ):
        readonly = _raised(ex.execute, "CREATE VIEW dm_ro_view AS SELECT 1 AS x")
    assert _key(readonly) == "mcp-read-only"


# -- DynamoDB ------------------------------------------------------------------------------------------


@pytest.fixture
def ddb_table(ddb_client: Any, ddb_prefix: str) -> str:
    name = f"{ddb_prefix}Trouble"
    ddb_client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def test_dynamodb_local_errors(ddb_client: Any, ddb_table: str, ddb_prefix: str) -> None:
    not_found = _raised(ddb_client.describe_table, TableName=f"{ddb_prefix}nope")
    assert _key(not_found) == "ddb-resource-not-found"

    mismatch = _raised(ddb_client.put_item, TableName=ddb_table, Item={"PK": {"N": "1"}})
    assert _key(mismatch) == "ddb-key-type-mismatch"
    # DynamoDB Local says "Type mismatch for key"; AWS names the attribute and both types
    aws = lookup_text(
        "ValidationException: One or more parameter values were invalid: Type mismatch for key PK expected: S actual: N"
    )
    assert aws is not None and "PK is S in the DynamoDB table but the item has N" in aws.cause

    empty = _raised(ddb_client.put_item, TableName=ddb_table, Item={"PK": {"S": ""}})
    assert _key(empty) == "ddb-empty-key"

    big = _raised(
        ddb_client.put_item, TableName=ddb_table, Item={"PK": {"S": "x"}, "blob": {"S": "a" * 410_000}}
    )
    assert _key(big) == "ddb-item-too-large"


def _stubbed(code: str, message: str, status: int = 400) -> ClientError:
    client = boto3.client(
        "dynamodb", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stub:
        stub.add_client_error(
            "put_item", service_error_code=code, service_message=message, http_status_code=status
        )
        exc = _raised(client.put_item, TableName="Users", Item={"PK": {"S": "a"}})
    assert isinstance(exc, ClientError)
    return exc


def test_access_denied_names_the_action_and_policy() -> None:
    exc = _stubbed(
        "AccessDeniedException",
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: dynamodb:PutItem on resource: "
        "arn:aws:dynamodb:us-east-1:123456789012:table/Users because no identity-based policy allows the "
        "dynamodb:PutItem action",
    )
    g = lookup(exc)
    assert g is not None and g.key == "ddb-access-denied"
    assert "dynamodb:PutItem" in g.title
    assert '"Action": ["dynamodb:PutItem"]' in g.fix
    assert '"Resource": "arn:aws:dynamodb:us-east-1:123456789012:table/Users"' in g.fix


def test_throttling_and_credentials() -> None:
    throttled = _stubbed(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded.",
    )
    assert _key(throttled) == "ddb-throttling"
    assert (
        _key(_stubbed("ThrottlingException", "Rate of requests exceeds the allowed throughput."))
        == "ddb-throttling"
    )
    assert (
        _key(
            _stubbed("UnrecognizedClientException", "The security token included in the request is invalid.")
        )
        == "aws-credentials"
    )


def test_region_mismatch_from_the_real_check() -> None:
    from dynamigrate.regions import check_regions

    # against AWS (no local endpoint, no table to look up: no request is made), the credentials'
    # default region disagrees with aws.region
    cfg = Config(aws=AwsSettings(region="us-east-1"))
    exc = _raised(check_regions, cfg, credentials_region="eu-west-1")
    assert isinstance(exc, RegionMismatchError)
    assert _key(exc) == "region-mismatch"
    assert "disagree" in str(exc) and "eu-west-1" in str(exc)


@pytest.mark.parametrize(
    ("message", "key"),
    [
        (
            "VPC S3 endpoint validation failed for SubnetId: subnet-0abc. VPC: vpc-1. Reason: Could not find S3 endpoint or NAT gateway for subnetId",
            "glue-vpc",
        ),
        (
            "At least one security group must open all ingress ports.To limit traffic, the source security group in your inbound rule can be restricted to the same security group",
            "glue-vpc",
        ),
        (
            "An error occurred while calling o92.getDynamicFrame. Communications link failure The last packet sent successfully to the server was 0 milliseconds ago.",
            "glue-connection",
        ),
        ("Job run timed out (TIMEOUT) after 2880 minutes", "glue-timeout"),
        (
            "Container killed by YARN for exceeding memory limits. 5.6 GB of 5.5 GB physical memory used",
            "glue-oom",
        ),
        ("java.lang.OutOfMemoryError: Java heap space", "glue-oom"),
        ("ModuleNotFoundError: No module named 'pymysql'", "glue-script-error"),
        ("AnalysisException: cannot resolve '`_dm_rowid`' given input columns", "glue-script-error"),
    ],
)
def test_glue_job_failures(message: str, key: str) -> None:
    exc = EngineError(f"Glue job dm-users failed: {message}", job="dm-users", engine="glue")
    assert _key(exc) == key
    assert CATALOGUE[key].fix
    if key != "glue-vpc":  # VPC texts are Glue's by nature
        # the same text in another context (no mention of Glue) is not taken for a Glue failure
        plain = lookup_text(message)
        assert plain is None or not plain.key.startswith("glue")


def test_rejection_codes_map_to_entries() -> None:
    from dynamigrate.target.encode import REJECT_CODES

    expected = {"null_key": "ddb-empty-key", "empty_key": "ddb-empty-key", "too_large": "ddb-item-too-large"}
    for code in REJECT_CODES:
        g = lookup_text(code, [code])
        assert g is not None, code
        if code in expected:
            assert g.key == expected[code]
