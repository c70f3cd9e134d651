"""Views generated without the live schema (no ``_dm_k*`` key columns) or for another contract (key
columns that mean something else) never lose rows silently in the local engine: a multi-entity view
with a sparse BIGINT-keyed entity (7, 8, 9000000000, ...) and a VARCHAR-keyed one, read with
``--skip-views`` in windows of 2 rows. Offline views: one streaming pass per entity, every row lands.
Views of another contract: ``_dm_k1`` holds another entity's key (every key window would read nothing;
the accounting equation, counted from the base tables, failed the table with "13 source rows NOT
accounted for"): the reader now stops the entity naming the stale view and the fix. Expected items are written here from the inserted rows, not read
through the view."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, scan_items

from dynamigrate.contract import parse_contract
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views

pytestmark = pytest.mark.integration

PEOPLE = [(7, "seven"), (8, "eight"), (9_000_000_000, "nine billion"), (9_000_000_001, None), (2**62, "big")]
CODES = [("a", 1), ("B", 2), ("ü", None), ("😀", 4), ("z z", 5), ("0", 6), ("10", 7), ("9", 8)]
CHUNK = 2


def _table(name: str, order: tuple[str, ...]) -> dict[str, Any]:
    entities = {
        "people": {
            "entity_type": "PERSON",
            "source_table": "people",
            "attributes": [
                {"name": "PK", "type": "S", "source_table": "people", "source_column": "id",
                 "transformation": {"type": "string-format", "format": "P#{id}"}},
                {"name": "name", "type": "S", "source_table": "people", "source_column": "name"},
            ],
        },
        "codes": {
            "entity_type": "CODE",
            "source_table": "codes",
            "attributes": [
                {"name": "PK", "type": "S", "source_table": "codes", "source_column": "code",
                 "transformation": {"type": "string-format", "format": "C#{code}"}},
                {"name": "n", "type": "N", "source_table": "codes", "source_column": "n"},
            ],
        },
    }  # fmt: skip
    return {
        "table": name,
        "type": "multi-entity",
        "source_table": order[0],
        "pk": "PK",
        "entities": [entities[o] for o in order],
    }


def _expected() -> dict[str, dict[str, Any]]:
    from decimal import Decimal

    out: dict[str, dict[str, Any]] = {}
    for i, name in PEOPLE:
        out[f"P#{i}"] = {"PK": f"P#{i}", **({"name": name} if name is not None else {})}
    for code, n in CODES:
        out[f"C#{code}"] = {"PK": f"C#{code}", **({"n": Decimal(n)} if n is not None else {})}
    return out


def _setup(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE people (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(30) NULL)")
        cur.executemany("INSERT INTO people VALUES (%s, %s)", PEOPLE)
        cur.execute("CREATE TABLE codes (code VARCHAR(20) NOT NULL PRIMARY KEY, n INT NULL) CHARSET=utf8mb4")
        cur.executemany("INSERT INTO codes VALUES (%s, %s)", CODES)
    conn.commit()


def _apply(conn: Any, database: str, table: dict[str, Any], *, with_schema: bool) -> str:
    contract, problems = parse_contract({"tables": [table]})
    assert contract is not None and not problems.errors, problems
    schema = introspect(conn, database) if with_schema else None
    views = generate_views(contract, dialect="mariadb", schema=schema)
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
    return "\n".join(s.sql for s in views.statements)


def _items(ddb_client: Any, table: str) -> dict[str, dict[str, Any]]:
    return {
        k[0]: {a: v for a, v in item.items() if a != "_dm_marker"}
        for k, item in scan_items(ddb_client, table).items()
    }


def _run(tmp: Path, db: str, endpoint: str, table: dict[str, Any]) -> Any:
    contract = tmp / "contract.json"
    contract.write_text(json.dumps({"tables": [table]}), encoding="utf-8")
    cfg, _ = make_config(tmp, db, endpoint, contract, chunk_rows=CHUNK)
    t0 = time.monotonic()
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", skip_views=True))
    return summary, time.monotonic() - t0


def test_offline_views_read_every_row(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    _setup(mysql_conn)
    table = _table(f"{ddb_prefix}Mixed", ("people", "codes"))
    sql = _apply(mysql_conn, mysql_db, table, with_schema=False)
    assert "_dm_k1" not in sql  # no schema: nothing known about keys

    summary, seconds = _run(tmp_path, mysql_db, ddb_endpoint, table)

    assert summary.status == "ok", summary.render_text()
    assert _items(ddb_client, f"{ddb_prefix}Mixed") == _expected()
    (res,) = summary.tables
    assert res.read == res.written == len(PEOPLE) + len(CODES)
    assert seconds < 60


def test_views_of_another_contract_never_lose_rows_silently(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Views applied for the entities in one order, migrated with them in the other: the view's
    ``_dm_k1`` holds the VARCHAR key where the reader expects the BIGINT one."""
    _setup(mysql_conn)
    name = f"{ddb_prefix}Mixed"
    sql = _apply(mysql_conn, mysql_db, _table(name, ("codes", "people")), with_schema=True)
    assert "_dm_k1" in sql and "_dm_k2" in sql

    summary, seconds = _run(tmp_path, mysql_db, ddb_endpoint, _table(name, ("people", "codes")))

    # the view's _dm_k1 holds the VARCHAR code where the reader would bound BIGINT windows (every
    # window empty): the entity stops, naming the view, the columns and the fix
    (res,) = summary.tables
    assert summary.status != "ok"
    assert res.status == "failed"
    view = f"ddb_{name.lower()}_view"
    assert (
        f"view {view} does not match the contract: its key column _dm_k1 is varchar, but it should hold "
        "people.id (bigint) for entity PERSON" in (res.error or "")
    ), res.error
    assert "regenerate and apply the views" in (res.error or "")
    assert seconds < 60
