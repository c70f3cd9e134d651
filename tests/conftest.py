"""Shared fixtures: local MariaDB and DynamoDB Local, throw-away databases and table prefixes.

Services (started by ``scripts/services.sh start`` when they do not answer; never skipped):
  MariaDB         127.0.0.1:3306, user ``dynamigrate`` / password ``dynamigrate`` (all privileges)
  DynamoDB Local  http://127.0.0.1:8000 (``DYNAMIGRATE_DDB_PORT`` or ``DYNAMIGRATE_DDB_ENDPOINT``
                  override), any credentials, region us-east-1, -sharedDb

Fixtures:
  services        session: makes sure both services answer
  mysql_settings  MySQLSettings for the dynamigrate user, no database
  mysql_db        function: a fresh empty database ``dm_test_<hex>``, dropped afterwards
  mysql_conn      function: pymysql connection (autocommit, utf8mb4) to ``mysql_db``
  shop_db         session: the sample shop at scale 60, loaded once. READ ONLY: do not modify it
                  (other tests share it); use ``shop_db_copy`` to mutate
  shop_db_copy    function: a fresh sample shop at scale 30, dropped afterwards
  ddb_endpoint    session: DynamoDB Local's URL
  ddb_client      session: boto3 DynamoDB client (us-east-1, credentials from the environment)
  ddb_prefix      function: a unique table-name prefix ``t<hex>_``; every table with that prefix is
                  deleted afterwards

Tests marked ``integration`` get ``services`` automatically.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Credentials come from the environment (DynamoDB Local keeps one namespace per access key and region
# unless started with -sharedDb): tests that share a DynamoDB Local with another namespace export
# theirs; "dummy" only fills in when nothing is set. Every client and subprocess of the suite uses them.
for _name, _value in (
    ("AWS_ACCESS_KEY_ID", "dummy"),
    ("AWS_SECRET_ACCESS_KEY", "dummy"),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
):
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parents[1]
SERVICES_SH = ROOT / "scripts" / "services.sh"

MYSQL_HOST = "127.0.0.1"
# DYNAMIGRATE_MYSQL_PORT: another MariaDB (e.g. one with the binlog on, for replicate tests)
MYSQL_PORT = int(os.environ.get("DYNAMIGRATE_MYSQL_PORT", "3306"))
MYSQL_USER = "dynamigrate"
MYSQL_PASSWORD = "dynamigrate"
DDB_REGION = "us-east-1"


def _ddb_endpoint() -> str:
    explicit = os.environ.get("DYNAMIGRATE_DDB_ENDPOINT")
    if explicit:
        return explicit
    return f"http://127.0.0.1:{os.environ.get('DYNAMIGRATE_DDB_PORT', '8000')}"


def _mysql_kwargs(database: str | None = None) -> dict[str, Any]:
    return {
        "host": MYSQL_HOST,
        "port": MYSQL_PORT,
        "user": MYSQL_USER,
        "password": MYSQL_PASSWORD,
        "database": database,
        "charset": "utf8mb4",
        "autocommit": True,
        "connect_timeout": 5,
    }


def _mysql_answers() -> bool:
    import pymysql

    try:
        pymysql.connect(**_mysql_kwargs()).close()
    except pymysql.MySQLError:
        return False
    return True


def _ddb_client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "dynamodb",
        region_name=DDB_REGION,
        endpoint_url=_ddb_endpoint(),
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=30),
    )


def _ddb_answers() -> bool:
    try:
        _ddb_client().list_tables(Limit=1)
    except Exception:  # any connection or protocol failure means "not (yet) there"
        return False
    return True


def _drop_database(name: str) -> None:
    import pymysql

    conn = pymysql.connect(**_mysql_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        conn.close()


def _unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


# ------------------------------------------------------------------------------ services


@pytest.fixture(scope="session")
def services() -> None:
    """MariaDB and DynamoDB Local answer (started through scripts/services.sh when needed)."""
    if _mysql_answers() and _ddb_answers():
        return
    proc = subprocess.run(
        ["bash", str(SERVICES_SH), "start"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0 or not (_mysql_answers() and _ddb_answers()):
        pytest.fail(
            f"scripts/services.sh start failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}",
            pytrace=False,
        )


@pytest.fixture(autouse=True)
def _integration_needs_services(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("integration") is not None:
        request.getfixturevalue("services")


# ------------------------------------------------------------------------------ MySQL


@pytest.fixture(scope="session")
def mysql_settings(services: None) -> Any:
    from dynamigrate.config import MySQLSettings, Secret

    return MySQLSettings(
        host=MYSQL_HOST, port=MYSQL_PORT, user=MYSQL_USER, password=Secret(MYSQL_PASSWORD), database=""
    )


@pytest.fixture
def mysql_db(services: None) -> Iterator[str]:
    """A new empty database, dropped after the test."""
    import pymysql

    name = _unique("dm_test_")
    conn = pymysql.connect(**_mysql_kwargs())
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    finally:
        conn.close()
    try:
        yield name
    finally:
        _drop_database(name)


@pytest.fixture
def mysql_conn(mysql_db: str) -> Iterator[Any]:
    import pymysql

    conn = pymysql.connect(**_mysql_kwargs(mysql_db))
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="session")
def shop_db(mysql_settings: Any) -> Iterator[str]:
    """The sample shop at scale 60, shared by the whole session. Do not modify it."""
    from dynamigrate.sample import load_sample

    name = _unique("dm_shop_")
    load_sample(mysql_settings.connect_kwargs(), name, 60)
    try:
        yield name
    finally:
        _drop_database(name)


@pytest.fixture
def shop_db_copy(mysql_settings: Any) -> Iterator[str]:
    """A private sample shop at scale 30 that the test may change; dropped afterwards."""
    from dynamigrate.sample import load_sample

    name = _unique("dm_shopw_")
    load_sample(mysql_settings.connect_kwargs(), name, 30)
    try:
        yield name
    finally:
        _drop_database(name)


# ------------------------------------------------------------------------------ DynamoDB


@pytest.fixture(scope="session")
def ddb_endpoint(services: None) -> str:
    return _ddb_endpoint()


@pytest.fixture(scope="session")
def ddb_client(ddb_endpoint: str) -> Any:
    return _ddb_client()


@pytest.fixture
def ddb_prefix(ddb_client: Any) -> Iterator[str]:
    """A unique table-name prefix; all tables named with it are deleted after the test."""
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    try:
        yield prefix
    finally:
        names: list[str] = []
        for page in ddb_client.get_paginator("list_tables").paginate():
            names.extend(n for n in page.get("TableNames", []) if n.startswith(prefix))
        for name in names:
            with contextlib.suppress(ddb_client.exceptions.ResourceNotFoundException):
                ddb_client.delete_table(TableName=name)
