"""dynamigrate's ``filter`` extension on real MariaDB and DynamoDB Local: the exact rows of the views,
preflight's row counts (filtered rows apart), and a sync with --delete-missing that removes the item of
a row that became filtered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, scan_items, without_marker

from dynamigrate.contract import parse_contract
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import filter_sql, generate_views
from dynamigrate.validate.preflight import run_preflight

pytestmark = pytest.mark.integration

SCHEMA = [
    """CREATE TABLE accounts (
         id INT NOT NULL PRIMARY KEY,
         email VARCHAR(200) NULL,
         status VARCHAR(20) NULL,
         deleted_at DATETIME NULL
       ) DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE notes (
         id BIGINT NOT NULL PRIMARY KEY,
         code VARCHAR(20) NOT NULL,
         account_id INT NULL,
         body TEXT NULL,
         archived TINYINT(1) NOT NULL DEFAULT 0
       ) DEFAULT CHARSET=utf8mb4""",
    """INSERT INTO accounts (id, email, status, deleted_at) VALUES
         (1, 'zoë@example.com', 'active', NULL),
         (2, 'gone@example.com', 'active', '2024-05-01 10:00:00'),
         (3, 'banned@example.com', 'banned', NULL),
         (4, NULL, NULL, NULL),
         (5, 'emoji😀@example.com', 'active', NULL)""",
    """INSERT INTO notes (id, code, account_id, body, archived) VALUES
         (7, 'n-1', 1, 'hello 😀', 0),
         (8, 'n-2', 1, NULL, 1),
         (90, 'n-3', 5, 'it''s \\\\ fine', 0)""",
]

# status <> 'banned' is NULL for account 4: WHERE leaves NULL out like false (documented)
ACCOUNT_FILTER = "deleted_at IS NULL AND accounts.status <> 'banned'"


def _contract(prefix: str = "") -> Any:
    data = {
        "tables": [
            {
                "table": f"{prefix}Accounts",
                "type": "single-entity",
                "source_table": "accounts",
                "pk": "PK",
                "filter": ACCOUNT_FILTER,
                "attributes": [
                    {
                        "name": "PK",
                        "type": "S",
                        "source_column": "id",
                        "transformation": {"type": "string-format", "format": "ACC#{id}"},
                    },
                    {"name": "email", "type": "S", "source_column": "email"},
                ],
            },
            {
                "table": f"{prefix}Feed",
                "type": "multi-entity",
                "source_table": "accounts",
                "pk": "PK",
                "sk": "SK",
                "entities": [
                    {
                        "entity_type": "ACCOUNT",
                        "source_table": "accounts",
                        "filter": "deleted_at IS NULL",
                        "attributes": [
                            {
                                "name": "PK",
                                "type": "S",
                                "source_column": "id",
                                "transformation": {"type": "string-format", "format": "ACC#{id}"},
                            },
                            {
                                "name": "SK",
                                "type": "S",
                                "source_column": "id",
                                "transformation": {"type": "static", "value": "#META"},
                            },
                        ],
                    },
                    {
                        "entity_type": "NOTE",
                        "source_table": "notes",
                        "filter": "NOT archived",
                        "attributes": [
                            {
                                "name": "PK",
                                "type": "S",
                                "source_column": "account_id",
                                "transformation": {"type": "string-format", "format": "ACC#{account_id}"},
                            },
                            {
                                "name": "SK",
                                "type": "S",
                                "source_column": "code",
                                "transformation": {"type": "string-format", "format": "NOTE#{code}"},
                            },
                            {"name": "body", "type": "S", "source_column": "body"},
                        ],
                    },
                ],
            },
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    return contract, data


def _setup(conn: Any) -> None:
    with conn.cursor() as cur:
        for stmt in SCHEMA:
            cur.execute(stmt)
    conn.commit()


def _view(conn: Any, view: str, columns: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {columns}, `_dm_entity`, `_dm_rowid` FROM `{view}` ORDER BY `_dm_entity`, `PK`")
        return [tuple(r) for r in cur.fetchall()]


def test_views_keep_only_the_rows_the_filter_keeps(mysql_conn: Any, mysql_db: str) -> None:
    _setup(mysql_conn)
    contract, _ = _contract()
    schema = introspect(mysql_conn, mysql_db)
    views = generate_views(contract, dialect="mariadb", schema=schema)
    with mysql_conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
    assert _view(mysql_conn, "ddb_accounts_view", "PK, email") == [
        ("ACC#1", "zoë@example.com", "accounts", 1),
        ("ACC#5", "emoji😀@example.com", "accounts", 5),
    ]
    assert _view(mysql_conn, "ddb_feed_view", "PK, SK, body") == [
        ("ACC#1", "#META", None, "ACCOUNT", 1),
        ("ACC#3", "#META", None, "ACCOUNT", 3),
        ("ACC#4", "#META", None, "ACCOUNT", 4),
        ("ACC#5", "#META", None, "ACCOUNT", 5),
        ("ACC#1", "NOTE#n-1", "hello 😀", "NOTE", 7),
        ("ACC#5", "NOTE#n-3", "it's \\ fine", "NOTE", 90),
    ]
    # the filter as the engines count it, over the base table
    accounts = contract.tables[0].entities[0]
    with mysql_conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), SUM(CASE WHEN {filter_sql(accounts)} THEN 1 ELSE 0 END) FROM accounts")
        assert cur.fetchone() == (5, 2)

    # preflight: view rows match the rows the filter keeps, the filtered ones are counted apart
    report = run_preflight(mysql_conn, mysql_db, contract)
    assert report.find("row_count") == []
    stats = {t.table: t.entities for t in report.tables}
    assert stats["Accounts"] == {"accounts": {"view_rows": 2, "source_rows": 5, "filtered_rows": 3}}
    assert stats["Feed"] == {
        "ACCOUNT": {"view_rows": 4, "source_rows": 5, "filtered_rows": 1},
        "NOTE": {"view_rows": 2, "source_rows": 3, "filtered_rows": 1},
    }


def test_sync_delete_missing_removes_rows_that_became_filtered(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    _setup(mysql_conn)
    _, data = _contract(ddb_prefix)
    contract_path = tmp_path / "contract.json"
    contract_path.write_text(json.dumps(data), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract_path)
    quiet = {"progress_mode": "quiet", "skip_validation": True}
    accounts_t, feed_t = f"{ddb_prefix}Accounts", f"{ddb_prefix}Feed"

    first = migrate(cfg, MigrateOptions(**quiet))
    assert first.status == "ok", first.render_text()
    assert {k: without_marker(v) for k, v in scan_items(ddb_client, accounts_t).items()} == {
        ("ACC#1", None): {"PK": "ACC#1", "email": "zoë@example.com"},
        ("ACC#5", None): {"PK": "ACC#5", "email": "emoji😀@example.com"},
    }
    assert set(scan_items(ddb_client, feed_t)) == {
        ("ACC#1", "#META"),
        ("ACC#3", "#META"),
        ("ACC#4", "#META"),
        ("ACC#5", "#META"),
        ("ACC#1", "NOTE#n-1"),
        ("ACC#5", "NOTE#n-3"),
    }

    # account 5 is soft-deleted and note n-1 archived: both rows become filtered
    with mysql_conn.cursor() as cur:
        cur.execute("UPDATE accounts SET deleted_at = '2024-06-01 00:00:00' WHERE id = 5")
        cur.execute("UPDATE notes SET archived = 1 WHERE code = 'n-1'")
    mysql_conn.commit()

    sync = migrate(cfg, MigrateOptions(write_mode="sync", delete_missing=True, **quiet))
    assert sync.status == "ok", sync.render_text()
    res = {t.table: t for t in sync.tables}
    assert (res[accounts_t].missing_source, res[accounts_t].deleted_missing) == (1, 1)
    # the equation: 5 accounts = 1 unchanged (skipped) + 4 filtered (2 deleted_at, banned, NULL status)
    acc = res[accounts_t].accounting
    assert acc is not None and acc["status"] != "mismatch"
    assert (acc["table"]["source_rows_after"], acc["table"]["filtered"], acc["table"]["skipped"]) == (5, 4, 1)
    feed = {e["entity"]: e for e in (res[feed_t].accounting or {})["entities"]}
    assert (feed["ACCOUNT"]["filtered"], feed["ACCOUNT"]["skipped"]) == (2, 3)
    assert (feed["NOTE"]["filtered"], feed["NOTE"]["skipped"]) == (2, 1)
    assert (res[feed_t].missing_source, res[feed_t].deleted_missing) == (2, 2)
    assert {k: without_marker(v) for k, v in scan_items(ddb_client, accounts_t).items()} == {
        ("ACC#1", None): {"PK": "ACC#1", "email": "zoë@example.com"},
    }
    assert set(scan_items(ddb_client, feed_t)) == {
        ("ACC#1", "#META"),
        ("ACC#3", "#META"),
        ("ACC#4", "#META"),
        ("ACC#5", "NOTE#n-3"),
    }
