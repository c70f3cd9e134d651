"""A small two-entity shop for the rollback tests (not collected by pytest).

MariaDB side: tables ``users`` and ``orders`` and a hand-written view ``ddb_<table>_view`` in the
wire format that computes what the contract says (the view generator is tested elsewhere; these tests
must not depend on it). Validation and report tests use real engine output instead
(_migrated_library.py: a real `migrate`).
DynamoDB side: a table ``<prefix>Shop`` (PK/SK, GSI1 on GSI1PK/GSI1SK, projection ALL), loaded with
the ETL's item encoder, every item carrying ``_dm_marker = <run_id>:<fingerprint>``, and the run's
``written/<T>.jsonl`` written exactly as the writers do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynamigrate.config import Config, load_config
from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.model import Contract, Table
from dynamigrate.runstate import RunDir
from dynamigrate.source.reader import ViewReader
from dynamigrate.target.encode import ItemEncoder, marker_value

N_USERS = 20
N_ORDERS = 30


def contract_dict(table_name: str) -> dict[str, Any]:
    def attr(name: str, typ: str, src: str, col: str) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": src, "source_column": col}

    def fmt(a: dict[str, Any], text: str) -> dict[str, Any]:
        return {**a, "transformation": {"type": "string-format", "format": text}}

    return {
        "tables": [
            {
                "table": table_name,
                "type": "multi-entity",
                "source_table": "users",
                "pk": "PK",
                "sk": "SK",
                "gsis": [{"index_name": "GSI1", "pk": "GSI1PK", "sk": "GSI1SK", "projection": "ALL"}],
                "satisfies": ["get user by email", "list a user's orders", "orders by status"],
                "estimated_item_size_bytes": 120,
                "entities": [
                    {
                        "entity_type": "USER",
                        "source_table": "users",
                        "attributes": [
                            attr("PK", "S", "users", "email"),
                            fmt(attr("SK", "S", "users", "id"), "#META"),
                            attr("name", "S", "users", "name"),
                            attr("balance", "N", "users", "balance"),
                            attr("GSI1PK", "S", "users", "status"),
                            fmt(attr("GSI1SK", "S", "users", "id"), "USER#{id}"),
                        ],
                    },
                    {
                        "entity_type": "ORDER",
                        "source_table": "orders",
                        "attributes": [
                            {
                                **attr("PK", "S", "orders", "user_id"),
                                "join": {
                                    "type": "foreign-key",
                                    "target_table": "users",
                                    "join_condition": "users.id = orders.user_id",
                                    "select_column": "users.email",
                                },
                            },
                            fmt(attr("SK", "S", "orders", "id"), "ORDER#{id}"),
                            attr("total", "N", "orders", "total"),
                            attr("GSI1PK", "S", "orders", "status"),
                            fmt(attr("GSI1SK", "S", "orders", "id"), "ORDER#{id}"),
                        ],
                    },
                ],
            }
        ]
    }


def make_contract(table_name: str) -> Contract:
    contract, problems = parse_contract(contract_dict(table_name))
    assert contract is not None, problems
    return contract


def create_source(conn: Any, table: Table, n_users: int = N_USERS, n_orders: int = N_ORDERS) -> None:
    """users/orders rows and the view. User 7 has no status (not in GSI1); order 13 has no user
    (NULL key: rejected)."""
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100), name VARCHAR(100), "
            "status VARCHAR(20), balance DECIMAL(12,2))"
        )
        cur.execute(
            "CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NULL, total DECIMAL(12,2), status VARCHAR(20))"
        )
        users = [
            (
                i,
                f"user{i}@example.com",
                f"User {i} 😀",
                None if i == 7 else ("gold" if i % 2 else "basic"),
                f"{i}.50",
            )
            for i in range(1, n_users + 1)
        ]
        cur.executemany("INSERT INTO users VALUES (%s, %s, %s, %s, %s)", users)
        orders = [
            (i, None if i == 13 else (i % n_users) + 1, f"{i * 3}.25", "open" if i % 3 else "shipped")
            for i in range(1, n_orders + 1)
        ]
        cur.executemany("INSERT INTO orders VALUES (%s, %s, %s, %s)", orders)
        cur.execute(
            f"CREATE VIEW {table.view_name} AS "
            "SELECT u.email AS PK, '#META' AS SK, u.name AS name, CAST(u.balance AS CHAR) AS balance, "
            "NULL AS total, u.status AS GSI1PK, CONCAT('USER#', u.id) AS GSI1SK, "
            "'USER' AS _dm_entity, u.id AS _dm_rowid FROM users u "
            "UNION ALL "
            "SELECT us.email, CONCAT('ORDER#', o.id), NULL, NULL, CAST(o.total AS CHAR), "
            "o.status, CONCAT('ORDER#', o.id), 'ORDER', o.id FROM orders o LEFT JOIN users us ON us.id = o.user_id"
        )


def create_table(client: Any, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "GSI1PK", "GSI1SK")
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "GSI1",
                "KeySchema": [
                    {"AttributeName": "GSI1PK", "KeyType": "HASH"},
                    {"AttributeName": "GSI1SK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=name)


def make_config(
    tmp_path: Path, mysql_settings: Any, database: str, endpoint: str, contract_file: Path
) -> Config:
    cfg_file = tmp_path / "config.json"
    cfg_file.write_text(
        json.dumps(
            {
                "mysql": {
                    "host": mysql_settings.host,
                    "port": mysql_settings.port,
                    "user": mysql_settings.user,
                    "password": mysql_settings.password.reveal(),
                    "database": database,
                },
                "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
                "migration": {"contract_file": str(contract_file), "output_dir": str(tmp_path / "runs")},
            }
        )
    )
    return load_config(cfg_file)


def load_table(
    cfg: Config, table: Table, client: Any, run: RunDir, *, record_old: bool = False
) -> dict[str, Any]:
    """Write every non-rejected view row as an item (with marker), record written/<T>.jsonl (and
    old_images for items that existed), rejected.jsonl, state counters and progress events."""
    enc = ItemEncoder(table, cfg.migration.marker_attribute)
    written = rejected = 0
    with ViewReader(cfg.mysql, table.view_name, database=cfg.mysql.database) as reader:
        for entity in table.entities:
            for chunk in reader.iter_entity(entity.entity_type):
                for row in chunk.rows:
                    e = enc.encode(row)
                    if e.rejected:
                        rejected += 1
                        run.append(
                            "rejected.jsonl",
                            {
                                "table": table.name,
                                "entity": e.entity,
                                "key": None,
                                "reason": e.reject_reason,
                                "code": e.reject_code,
                                "message": e.reject_reason,
                                "row": {k: v for k, v in row.items() if not isinstance(v, bytes)},
                            },
                        )
                        continue
                    assert e.item is not None and e.fingerprint is not None
                    marker = marker_value(run.run_id, e.fingerprint)
                    item = {**e.item, cfg.migration.marker_attribute: {"S": marker}}
                    resp = client.put_item(TableName=table.name, Item=item, ReturnValues="ALL_OLD")
                    if record_old and resp.get("Attributes"):
                        run.append(run.old_images_file(table.name), {"key": e.key, "old": resp["Attributes"]})
                    run.append(run.written_file(table.name), {"key": e.key, "marker": marker})
                    written += 1
                    if written % 10 == 0:
                        run.event(
                            "progress",
                            table=table.name,
                            read=written + rejected,
                            written=written,
                            skipped=0,
                            rejected=rejected,
                            rate=100.0 + written,
                        )
    run.update_state(
        status="finished",
        phase="load",
        tables={
            table.name: {
                "status": "done",
                "read": written + rejected,
                "written": written,
                "skipped": 0,
                "rejected": {"null_key": rejected} if rejected else {},
                "retries": 2,
                "throttles": 1,
                "duration": 1.5,
                "total": written + rejected,
            }
        },
    )
    return {"written": written, "rejected": rejected}


def scan_all(client: Any, table: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        resp = client.scan(**kwargs)
        for it in resp["Items"]:
            out[json.dumps({"PK": it["PK"], "SK": it["SK"]}, sort_keys=True)] = it
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]
