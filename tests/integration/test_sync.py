"""Sync runs after source changes: owned items made exact again, the application's writes left alone,
vanished source rows reported (and deleted only with --delete-missing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from _etl_expect import (
    compare,
    connect,
    expected_products,
    expected_users,
    make_config,
    normalise_users_item,
    scan_items,
    write_contract,
)

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir, read_jsonl

pytestmark = pytest.mark.integration


def _one(conn: Any, sql: str, *args: Any) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()


def _exec(conn: Any, sql: str, *args: Any) -> int:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return int(cur.lastrowid or 0)


def test_sync_after_source_changes(
    shop_db_copy: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = connect(shop_db_copy)
    users_t, products_t = f"{ddb_prefix}Users", f"{ddb_prefix}Products"
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users", "Products"))
    cfg, _ = make_config(tmp_path, shop_db_copy, ddb_endpoint, contract, chunk_rows=50)
    quiet = {"progress_mode": "quiet", "skip_validation": True}

    first = migrate(cfg, MigrateOptions(**quiet))
    assert first.status == "ok", first.render_text()

    # -- the source changes --------------------------------------------------------------------
    # a product that sits in carts is renamed and repriced: Products and every CART item change
    renamed, in_carts = _one(
        conn, "SELECT product_id, COUNT(*) FROM shopping_carts GROUP BY product_id ORDER BY 2 DESC LIMIT 1"
    )
    assert in_carts >= 1
    _exec(
        conn,
        "UPDATE products SET name = %s, price = %s WHERE id = %s",
        "Renamed ✨ 'Lamp'",
        "123.45",
        renamed,
    )
    # new rows: a user with a cart line and an order with one item
    uid = _exec(
        conn,
        "INSERT INTO users (email, username, is_seller, created_at) VALUES "
        "('new.user@example.com', 'new_user', 1, '2024-03-04 05:06:07')",
    )
    _exec(
        conn,
        "INSERT INTO shopping_carts (user_id, product_id, quantity, created_at) VALUES (%s, %s, 3, NOW())",
        uid,
        renamed,
    )
    oid = _exec(
        conn,
        "INSERT INTO orders (user_id, status, total_amount, created_at) VALUES (%s, 'paid', 99.90, '2024-03-05 00:00:00')",
        uid,
    )
    _exec(
        conn,
        "INSERT INTO order_items (order_id, product_id, quantity, price_at_time) VALUES (%s, %s, 1, 99.90)",
        oid,
        renamed,
    )
    # deleted rows: a cart line and an order (with its items)
    cart_id, cart_user, cart_product = _one(
        conn, "SELECT id, user_id, product_id FROM shopping_carts WHERE product_id <> %s LIMIT 1", renamed
    )
    gone_cart_key = (
        _one(conn, "SELECT email FROM users WHERE id = %s", cart_user)[0],
        f"CART#{cart_product}",
    )
    _exec(conn, "DELETE FROM shopping_carts WHERE id = %s", cart_id)
    order_id, order_user, order_created = _one(
        conn, "SELECT id, user_id, CAST(created_at AS CHAR) FROM orders ORDER BY id LIMIT 1"
    )
    gone_order_key = (
        _one(conn, "SELECT email FROM users WHERE id = %s", order_user)[0],
        f"ORDER#{order_created}#{order_id}",
    )
    _exec(conn, "DELETE FROM order_items WHERE order_id = %s", order_id)
    _exec(conn, "DELETE FROM orders WHERE id = %s", order_id)

    # the application rewrites one product item directly in DynamoDB (no marker), and the source
    # row changes too: sync must leave the application's item alone
    app_pid = _one(conn, "SELECT id FROM products WHERE id <> %s ORDER BY id LIMIT 1", renamed)[0]
    _exec(conn, "UPDATE products SET price = 7.77 WHERE id = %s", app_pid)
    app_item = {
        "PK": {"S": str(app_pid)},
        "SK": {"S": "#META"},
        "product_name": {"S": "edited by the app"},
        "price": {"N": "1"},
    }
    ddb_client.put_item(TableName=products_t, Item=app_item)
    app_key = (str(app_pid), "#META")

    # -- sync without --delete-missing --------------------------------------------------------------
    sync = migrate(cfg, MigrateOptions(write_mode="sync", **quiet))
    assert sync.status == "ok", sync.render_text()
    res = {t.table: t for t in sync.tables}

    products = scan_items(ddb_client, products_t)
    assert compare(products, expected_products(conn), ignore={app_key}) == []
    assert products[app_key] == {
        "PK": str(app_pid),
        "SK": "#META",
        "product_name": "edited by the app",
        "price": 1,
    }
    assert res[products_t].conflicts == 1
    assert products[(str(renamed), "#META")]["product_name"] == "Renamed ✨ 'Lamp'"

    users = scan_items(ddb_client, users_t)
    vanished = {gone_cart_key, gone_order_key}
    assert compare(users, expected_users(conn), normalise=normalise_users_item, ignore=vanished) == []
    assert vanished <= set(users)  # reported, not deleted
    assert res[users_t].missing_source == 2 and res[users_t].deleted_missing == 0
    reported = {(e["key"]["PK"]["S"], e["key"]["SK"]["S"]) for e in res[users_t].missing_examples}
    assert reported == vanished
    # the renamed product reached every cart line that holds it
    carts = [i for k, i in users.items() if k[1] == f"CART#{renamed}"]
    assert len(carts) == in_carts + 1
    assert all(c["product_name"] == "Renamed ✨ 'Lamp'" and str(c["price"]) == "123.45" for c in carts)
    # unchanged items were not rewritten; changed ones kept their old image for rollback
    assert res[users_t].unchanged > 0
    run = RunDir.open(sync.run_dir)
    old = list(read_jsonl(run.file(run.old_images_file(products_t))))
    assert any(o["key"]["PK"]["S"] == str(renamed) for o in old)

    # -- sync with --delete-missing -------------------------------------------------------------------
    final = migrate(cfg, MigrateOptions(write_mode="sync", delete_missing=True, **quiet))
    assert final.status == "ok", final.render_text()
    res = {t.table: t for t in final.tables}
    assert res[users_t].missing_source == 2 and res[users_t].deleted_missing == 2
    assert res[users_t].written == 0  # everything was already exact
    users = scan_items(ddb_client, users_t)
    assert compare(users, expected_users(conn), normalise=normalise_users_item) == []
    products = scan_items(ddb_client, products_t)
    assert products[app_key]["product_name"] == "edited by the app"  # still the application's
    assert compare(products, expected_products(conn), ignore={app_key}) == []
    conn.close()
