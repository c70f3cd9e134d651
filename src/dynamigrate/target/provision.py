"""Create the contract's DynamoDB tables, or verify the ones that exist. Never deletes or recreates.

* :func:`plan_table` - the CreateTable request for a contract table (pure: dry-run, golden tests).
* :func:`diff_table` - precise differences between a DescribeTable answer and the contract.
* :func:`ensure_table` - create (and wait until ACTIVE, GSIs included) or verify; a mismatch raises
  :class:`~dynamigrate.errors.TableMismatchError` listing every difference.

Attribute definitions hold only key attributes (table and GSI keys); their types come from the
contract (S, N or B). Billing is on-demand (PAY_PER_REQUEST) unless PROVISIONED is asked for, in which
case the table and every GSI get ``rcu``/``wcu``. A GSI that exists in DynamoDB but not in the
contract is not a mismatch (the application may need it); it is reported in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from dynamigrate.contract.model import KEY_TYPES, Gsi, Table
from dynamigrate.errors import TableMismatchError, TargetError
from dynamigrate.target.retry import RetryPolicy, error_code, error_message

log = logging.getLogger(__name__)

BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")


def _key_schema(pk: str, sk: str | None) -> list[dict[str, str]]:
    schema = [{"AttributeName": pk, "KeyType": "HASH"}]
    if sk:
        schema.append({"AttributeName": sk, "KeyType": "RANGE"})
    return schema


def key_attribute_types(table: Table) -> dict[str, str]:
    """Every key attribute (table + GSIs) with its contract type; TargetError for a non-key type."""
    types = table.attribute_types()
    out: dict[str, str] = {}
    for name in (*table.key_names, *table.index_key_names):
        atype = table.attribute_type(name)
        if atype is None:
            raise TargetError(
                f"key attribute '{name}' is not produced by any entity of table {table.name}",
                table=table.name,
                path=table.path,
                hint="add the attribute to the entities, or fix the key name",
            )
        if atype not in KEY_TYPES:
            raise TargetError(
                f"key attribute '{name}' has type {atype}; DynamoDB keys must be S, N or B",
                table=table.name,
                path=table.path,
                hint="change the attribute type to S, N or B",
            )
        out[name] = types.get(name, atype)
    return out


def _projection(gsi: Gsi) -> dict[str, Any]:
    proj: dict[str, Any] = {"ProjectionType": gsi.projection}
    if gsi.projection == "INCLUDE":
        proj["NonKeyAttributes"] = list(gsi.projected_attributes)
    return proj


def plan_table(
    table: Table,
    billing: str = "PAY_PER_REQUEST",
    rcu: int = 5,
    wcu: int = 5,
    table_name: str | None = None,
) -> dict[str, Any]:
    """The CreateTable request for ``table`` (pure)."""
    if billing not in BILLING_MODES:
        raise TargetError(f"unknown billing mode '{billing}'", hint="use PAY_PER_REQUEST or PROVISIONED")
    types = key_attribute_types(table)
    request: dict[str, Any] = {
        "TableName": table_name or table.name,
        "KeySchema": _key_schema(table.pk, table.sk),
        "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in types.items()],
        "BillingMode": billing,
    }
    throughput = {"ReadCapacityUnits": int(rcu), "WriteCapacityUnits": int(wcu)}
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = throughput
    if table.gsis:
        gsis = []
        for gsi in table.gsis:
            entry: dict[str, Any] = {
                "IndexName": gsi.index_name,
                "KeySchema": _key_schema(gsi.pk, gsi.sk),
                "Projection": _projection(gsi),
            }
            if billing == "PROVISIONED":
                entry["ProvisionedThroughput"] = dict(throughput)
            gsis.append(entry)
        request["GlobalSecondaryIndexes"] = gsis
    return request


def _schema_names(schema: list[dict[str, str]]) -> tuple[str | None, str | None]:
    hash_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None)
    range_key = next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def diff_table(describe: dict[str, Any], table: Table) -> list[str]:
    """Differences between a DescribeTable answer (``resp`` or ``resp["Table"]``) and the contract."""
    desc = describe.get("Table", describe)
    diffs: list[str] = []
    actual_types = {a["AttributeName"]: a["AttributeType"] for a in desc.get("AttributeDefinitions", [])}
    wanted_types = key_attribute_types(table)

    def compare_keys(where: str, schema: list[dict[str, str]], pk: str, sk: str | None) -> None:
        a_pk, a_sk = _schema_names(schema)
        if a_pk != pk:
            diffs.append(f"{where}: partition key is '{a_pk}', the contract says '{pk}'")
        if a_sk != sk:
            if sk is None:
                diffs.append(f"{where}: has sort key '{a_sk}', the contract has none")
            elif a_sk is None:
                diffs.append(f"{where}: has no sort key, the contract says '{sk}'")
            else:
                diffs.append(f"{where}: sort key is '{a_sk}', the contract says '{sk}'")
        for role, name in (("partition", pk), ("sort", sk)):
            if name is None or name not in (a_pk, a_sk):
                continue
            have, want = actual_types.get(name), wanted_types.get(name)
            if have and want and have != want:
                diffs.append(f"{where}: {role} key '{name}' has type {have}, the contract says {want}")

    compare_keys(f"table {desc.get('TableName', table.name)}", desc.get("KeySchema", []), table.pk, table.sk)
    existing = {g["IndexName"]: g for g in desc.get("GlobalSecondaryIndexes", []) or []}
    for gsi in table.gsis:
        actual = existing.get(gsi.index_name)
        if actual is None:
            diffs.append(
                f"GSI {gsi.index_name}: missing (the contract defines it on {'/'.join(gsi.key_names)})"
            )
            continue
        where = f"GSI {gsi.index_name}"
        compare_keys(where, actual.get("KeySchema", []), gsi.pk, gsi.sk)
        proj = actual.get("Projection", {})
        ptype = proj.get("ProjectionType")
        if ptype != gsi.projection:
            diffs.append(f"{where}: projection is {ptype}, the contract says {gsi.projection}")
        elif gsi.projection == "INCLUDE":
            have = set(proj.get("NonKeyAttributes", []))
            want = set(gsi.projected_attributes)
            if have != want:
                missing = sorted(want - have)
                extra = sorted(have - want)
                parts = []
                if missing:
                    parts.append(f"missing {', '.join(missing)}")
                if extra:
                    parts.append(f"extra {', '.join(extra)}")
                diffs.append(f"{where}: projected attributes differ ({'; '.join(parts)})")
    extra_gsis = sorted(set(existing) - {g.index_name for g in table.gsis})
    if extra_gsis:
        log.info(
            "table %s has GSIs not in the contract (kept): %s", desc.get("TableName"), ", ".join(extra_gsis)
        )
    return diffs


def is_active(describe: dict[str, Any]) -> bool:
    desc = describe.get("Table", describe)
    if desc.get("TableStatus") != "ACTIVE":
        return False
    return all(
        g.get("IndexStatus", "ACTIVE") == "ACTIVE" for g in desc.get("GlobalSecondaryIndexes", []) or []
    )


def describe_table(client: Any, table_name: str, policy: RetryPolicy | None = None) -> dict[str, Any] | None:
    """DescribeTable's ``Table``, or None when the table does not exist."""
    from botocore.exceptions import ClientError

    policy = policy or RetryPolicy(max_attempts=6)
    try:
        resp = policy.call(client.describe_table, TableName=table_name, what=f"DescribeTable {table_name}")
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return None
        raise TargetError(
            f"cannot describe table {table_name}: {error_code(exc)}: {error_message(exc)}",
            table=table_name,
            hint="check the credentials' dynamodb:DescribeTable permission, aws.region and the DynamoDB "
            "endpoint (aws.dynamodb_endpoint_url)",
        ) from None
    return dict(resp["Table"])


def wait_active(
    client: Any,
    table_name: str,
    timeout: float = 600.0,
    poll: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Wait until the table and all its GSIs are ACTIVE; returns the final description."""
    deadline = time.monotonic() + timeout
    delay = poll
    while True:
        desc = describe_table(client, table_name)
        if desc is None:
            raise TargetError(
                f"table {table_name} disappeared while waiting for it",
                table=table_name,
                hint="someone (or another run) deleted it meanwhile: run the command again to recreate it",
            )
        if is_active(desc):
            return desc
        if time.monotonic() > deadline:
            raise TargetError(
                f"table {table_name} is not ACTIVE after {timeout:.0f}s (status {desc.get('TableStatus')})",
                table=table_name,
                hint="check the table in the AWS console; GSIs on large tables can take long to build",
            )
        sleep(delay)
        delay = min(delay * 1.5, 5.0)


def ensure_table(
    client: Any,
    table: Table,
    table_name: str | None = None,
    billing: str = "PAY_PER_REQUEST",
    rcu: int = 5,
    wcu: int = 5,
    wait: bool = True,
    timeout: float = 600.0,
) -> tuple[str, dict[str, Any]]:
    """Create ``table`` in DynamoDB, or verify the existing one. Returns ("created"|"verified", request).

    A table that exists is never changed: differences raise TableMismatchError with the full diff.
    """
    from botocore.exceptions import ClientError, ParamValidationError

    request = plan_table(table, billing=billing, rcu=rcu, wcu=wcu, table_name=table_name)
    name = request["TableName"]
    desc = describe_table(client, name)
    outcome = "verified"
    if desc is None:
        try:
            RetryPolicy(max_attempts=6).call(client.create_table, what=f"CreateTable {name}", **request)
            outcome = "created"
            log.info("created table %s", name)
        except ClientError as exc:
            if error_code(exc) != "ResourceInUseException":  # created concurrently: verify it
                raise TargetError(
                    f"cannot create table {name}: {error_code(exc)}: {error_message(exc)}",
                    table=name,
                    hint="check IAM permissions (dynamodb:CreateTable) and the table limits of the account",
                ) from None
        except ParamValidationError as exc:
            raise TargetError(
                f"the CreateTable request for {name} is invalid: {exc}",
                table=name,
                path=table.path,
                hint="fix the table/index names in the contract (3-255 characters of a-zA-Z0-9_.-)",
            ) from None
        desc = describe_table(client, name)
    if wait:
        desc = wait_active(client, name, timeout=timeout)
    assert desc is not None
    diffs = diff_table(desc, table)
    if diffs:
        raise TableMismatchError(
            f"table {name} exists but does not match the contract:\n    - " + "\n    - ".join(diffs),
            table=name,
            path=table.path,
            hint="dynamigrate never deletes or recreates a table: fix the contract, choose another table "
            "name (table prefix), or delete the table yourself if it holds nothing you need",
        )
    return outcome, request
