"""The local engine end to end: workshop contract on the sample shop -> DynamoDB Local, item for item."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import (
    compare,
    connect,
    expected_categories,
    expected_products,
    expected_tags,
    expected_users,
    make_config,
    normalise_users_item,
    scan_items,
    write_contract,
)

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir, read_jsonl

pytestmark = pytest.mark.integration


def test_workshop_contract_lands_item_for_item(
    shop_db_copy: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = connect(shop_db_copy)
    with conn.cursor() as cur:
        # a user whose email (the USER item's partition key) is empty: rejected, never silently dropped
        cur.execute(
            "INSERT INTO users (email, username, password_hash, first_name, last_name, is_seller, created_at)"
            " VALUES ('', 'no_email_user', 'hash-x', 'Nobody', NULL, 0, '2022-02-02 10:00:00')"
        )
        new_user_id = cur.lastrowid
        # an order whose lines' product ids run against their primary keys: the array keeps id order
        cur.execute(
            "INSERT INTO orders (user_id, status, total_amount, created_at)"
            " VALUES (1, 'pending', 380.35, '2023-03-03 03:03:03')"
        )
        order_id = cur.lastrowid
        cur.executemany(
            "INSERT INTO order_items (order_id, product_id, quantity, price_at_time) VALUES (%s, %s, %s, %s)",
            [(order_id, 3, 1, "10.00"), (order_id, 1, 2, "0.50"), (order_id, 2, 3, "123.45")],
        )
    contract = write_contract(tmp_path, ddb_prefix)
    cfg, _ = make_config(tmp_path, shop_db_copy, ddb_endpoint, contract, chunk_rows=40)

    summary = migrate(cfg, MigrateOptions(accept=("key_missing",), progress_mode="quiet"))

    assert summary.status == "ok", summary.render_text()
    by_table = {t.table: t for t in summary.tables}
    users_t, products_t, cats_t = (f"{ddb_prefix}{n}" for n in ("Users", "Products", "Categories"))

    # every attribute of every item, against what the source rows say
    assert compare(scan_items(ddb_client, products_t), expected_products(conn)) == []
    assert compare(scan_items(ddb_client, cats_t), expected_categories(conn)) == []
    users_items = scan_items(ddb_client, users_t)
    assert compare(users_items, expected_users(conn), normalise=normalise_users_item) == []
    lines = users_items[("user1@example.com", f"ORDER#2023-03-03 03:03:03#{order_id}")]["order_items"]
    assert json.loads(lines, parse_float=Decimal) == [
        {"product_id": 3, "quantity": 1, "price_at_time": Decimal("10.00")},
        {"product_id": 1, "quantity": 2, "price_at_time": Decimal("0.50")},
        {"product_id": 2, "quantity": 3, "price_at_time": Decimal("123.45")},
    ]

    # every item carries the run's marker "<run_id>:<16 hex>"
    run_id = summary.run_id
    for item in users_items.values():
        run, _, fp = item["_dm_marker"].partition(":")
        assert run == run_id and len(fp) == 16

    # counters: one rejected row (empty key), everything else written once
    u = by_table[users_t]
    assert u.rejected == {"empty_key": 1}
    assert u.read == len(users_items) + 1
    assert u.written == len(users_items)
    assert by_table[products_t].written == len(expected_products(conn))
    assert by_table[products_t].omitted_gsi_keys > 0  # products with an empty name: not in GSI1/GSI2

    # the rejected-rows file: table, entity, key, reason, the row; no secret from the config
    run = RunDir.open(summary.run_dir)
    rejected = list(read_jsonl(run.file("rejected.jsonl")))
    assert len(rejected) == 1
    rec = rejected[0]
    assert rec["table"] == users_t and rec["entity"] == "USER" and rec["code"] == "empty_key"
    assert "PK" in rec["reason"]
    assert rec["row"]["username"] == "no_email_user" and rec["row"]["email"] == ""
    assert str(rec["row"]["_dm_rowid"]) == str(new_user_id)
    run_json = json.loads(run.file("run.json").read_text())
    assert run_json["config"]["mysql"]["password"] == "***"
    assert "dynamigrate" not in json.dumps(rec)  # the MySQL password appears nowhere

    # run directory: state per table, checkpoints done, manifest of created tables and views
    state = run.state()
    assert state["status"] == "ok" and state["tables"][users_t]["status"] == "done"
    assert json.loads(run.file(f"checkpoints/{users_t}.json").read_text())["status"] == "done"
    manifest = run.manifest()
    specs_t = f"{ddb_prefix}ProductSpecs"  # every type: item for item in test_migrate_types.py
    tags_t = f"{ddb_prefix}Tags"  # a VARCHAR-keyed entity and a junction table (composite key)
    assert {t["name"] for t in manifest["tables"]} == {users_t, products_t, cats_t, specs_t, tags_t}
    assert len(manifest["views"]) == 5
    tags_expected = expected_tags(conn)
    assert compare(scan_items(ddb_client, tags_t), tags_expected) == []
    with conn.cursor() as cur:
        cur.execute("SELECT (SELECT COUNT(*) FROM tags) + (SELECT COUNT(*) FROM product_tags)")
        assert by_table[tags_t].written == len(tags_expected) == cur.fetchone()[0] > 100
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM product_specs")
        assert by_table[specs_t].written == len(scan_items(ddb_client, specs_t)) == cur.fetchone()[0]
    samples = [e for e in run.read_lines("events.jsonl") if e["event"] == "progress"]
    assert samples and {s["table"] for s in samples} >= {users_t}

    # a second insert run writes nothing and changes nothing
    again = migrate(cfg, MigrateOptions(accept=("key_missing",), progress_mode="quiet", skip_validation=True))
    assert again.status == "ok"
    assert sum(t.written for t in again.tables) == 0
    assert sum(t.skipped for t in again.tables) == sum(t.written for t in summary.tables)
    assert scan_items(ddb_client, users_t) == users_items
    conn.close()


def test_dry_run_prints_the_plan_and_creates_nothing(
    shop_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    contract = write_contract(tmp_path, ddb_prefix)
    cfg, _ = make_config(tmp_path, shop_db, ddb_endpoint, contract)
    summary = migrate(cfg, MigrateOptions(dry_run=True, tables=(f"{ddb_prefix}Products",)))
    text = summary.render_text()
    assert summary.status == "dry-run" and summary.exit_code() == 0
    assert f"{ddb_prefix}Products" in text and f"{ddb_prefix}Users" not in text
    conn = connect(shop_db)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM products")
        n = cur.fetchone()[0]
    conn.close()
    assert f"{n} rows" in text
    assert not (tmp_path / "runs").exists()
    names = ddb_client.list_tables()["TableNames"]
    assert not [n for n in names if n.startswith(ddb_prefix)]


def test_fresh_table_writer_on_resume_never_touches_foreign_items(
    ddb_client: Any, ddb_prefix: str, tmp_path: Path
) -> None:
    """The fast insert path of a resumed table: existing items are read first and left alone."""
    from dynamigrate.contract.load import parse_contract
    from dynamigrate.etl.local import FreshTableWriter
    from dynamigrate.target.encode import ItemEncoder, marker_value
    from dynamigrate.target.provision import ensure_table
    from dynamigrate.target.writer import RunDirSink, TableWriter, WriterOptions

    name = f"{ddb_prefix}Fresh"
    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": name,
                    "type": "single-entity",
                    "source_table": "t",
                    "pk": "PK",
                    "attributes": [
                        {"name": "PK", "type": "S", "source_table": "t", "source_column": "id"},
                        {"name": "v", "type": "N", "source_table": "t", "source_column": "v"},
                    ],
                }
            ]
        }
    )
    assert contract is not None, problems
    table = contract.tables[0]
    ensure_table(ddb_client, table)
    run = RunDir.create(tmp_path)
    enc = ItemEncoder(table)
    rows = [
        enc.encode({"PK": f"k{i}", "v": str(i), "_dm_entity": "t", "_dm_rowid": str(i)}) for i in range(120)
    ]
    # k0: written by this run before the kill (same content, our marker); k1: the application's item
    ddb_client.put_item(
        TableName=name,
        Item={**rows[0].item, "_dm_marker": {"S": marker_value(run.run_id, rows[0].fingerprint)}},
    )
    ddb_client.put_item(TableName=name, Item={"PK": {"S": "k1"}, "v": {"N": "999"}})
    sink = RunDirSink(run, name)

    def writer(mode: str) -> TableWriter:
        return TableWriter(ddb_client, name, table, WriterOptions(mode=mode, run_id=run.run_id), sink)

    fresh = FreshTableWriter(
        ddb_client, table, run.run_id, "_dm_marker", writer("insert"), writer("overwrite"), sink
    )
    result = fresh.write_batch([*rows, rows[5]])  # k5 twice: the first wins
    fresh.close()
    assert (result.written, result.skipped) == (119, 2)
    items = {i["PK"]["S"]: i for i in ddb_client.scan(TableName=name, ConsistentRead=True)["Items"]}
    assert len(items) == 120
    assert items["k1"] == {"PK": {"S": "k1"}, "v": {"N": "999"}}  # untouched
    assert items["k7"]["v"] == {"N": "7"}
    assert items["k7"]["_dm_marker"]["S"].startswith(run.run_id + ":")


def test_a_failing_table_is_reported_and_the_others_still_load(
    shop_db_copy: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """No view for Products (views skipped): that table fails with MySQL's message and a hint, the run
    continues with Categories, exits 1 and says how to resume."""
    contract = write_contract(tmp_path, ddb_prefix, tables=("Products", "Categories"))
    cfg, _ = make_config(tmp_path, shop_db_copy, ddb_endpoint, contract)
    from dynamigrate.contract.load import load_contract
    from dynamigrate.source.connect import connect
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen import generate_views

    # only the Categories view exists
    conn = connect(cfg.mysql, shop_db_copy)
    c = load_contract(contract)
    views = generate_views(c, [f"{ddb_prefix}Categories"], "mariadb", introspect(conn, shop_db_copy))
    with conn.cursor() as cur:
        cur.execute(views.statements[0].sql)
    try:
        summary = migrate(
            cfg,
            MigrateOptions(skip_views=True, skip_preflight=True, skip_validation=True, progress_mode="quiet"),
        )
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP VIEW IF EXISTS `{views.statements[0].view_name}`")
        conn.close()
    res = {t.table: t for t in summary.tables}
    products, cats = res[f"{ddb_prefix}Products"], res[f"{ddb_prefix}Categories"]
    assert products.status == "failed" and "doesn't exist" in (products.error or "")
    assert "hint:" in (products.error or "")
    assert cats.status == "done" and cats.written > 0
    assert summary.status == "failed" and summary.exit_code() == 1
    text = summary.render_text()
    assert f"--resume {summary.run_id}" in text and "error:" in text
    state = RunDir.open(summary.run_dir).state()
    assert state["tables"][f"{ddb_prefix}Products"]["status"] == "failed"
