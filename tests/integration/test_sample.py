"""The sample shop loads, is deterministic, holds the awkward rows it promises; DynamoDB Local answers."""

from __future__ import annotations

import hashlib
from decimal import Decimal
from typing import Any

import pymysql
import pytest

from dynamigrate.cli import main as cli_main
from dynamigrate.sample import COLUMNS, TABLES, ShopGenerator, load_sample

pytestmark = pytest.mark.integration


def _connect(settings: Any, database: str) -> Any:
    return pymysql.connect(**{**settings.connect_kwargs(), "database": database, "autocommit": True})


def _scalar(conn: Any, sql: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def _digest(conn: Any) -> str:
    h = hashlib.sha256()
    with conn.cursor() as cur:
        for table in TABLES:
            order = ", ".join(COLUMNS[table][:2])  # unique in every table (id first, or the key)
            cur.execute(f"SELECT {', '.join(COLUMNS[table])} FROM `{table}` ORDER BY {order}")
            for row in cur.fetchall():
                h.update(repr(row).encode())
    return h.hexdigest()


def test_generator_is_deterministic_and_sized() -> None:
    a, b = ShopGenerator(100), ShopGenerator(100)
    assert list(a.products()) == list(b.products())
    assert list(a.orders_and_items()) == list(b.orders_and_items())
    assert len(list(a.users())) == 100
    assert len(list(a.categories())) == 32
    assert list(ShopGenerator(100, seed=1).users()) != list(a.users())


def test_shop_db_counts(shop_db: str, mysql_settings: Any) -> None:
    conn = _connect(mysql_settings, shop_db)
    try:
        counts = {t: _scalar(conn, f"SELECT COUNT(*) FROM `{t}`") for t in TABLES}
    finally:
        conn.close()
    assert counts["users"] == 60
    assert counts["products"] == 120
    assert counts["orders"] == 180
    assert counts["categories"] == 31
    assert counts["shopping_carts"] == 90
    assert 2 * 180 <= counts["order_items"] <= 4 * 180
    assert counts["product_specs"] == 30  # one every 4 products
    assert counts["tags"] == 14
    assert 120 <= counts["product_tags"] <= 4 * 120


def test_awkward_rows_exist(shop_db: str, mysql_settings: Any) -> None:
    conn = _connect(mysql_settings, shop_db)
    try:
        q = lambda sql: _scalar(conn, sql)  # noqa: E731
        assert q("SELECT COUNT(*) FROM products WHERE category_id IS NULL") > 0
        assert q("SELECT COUNT(*) FROM products WHERE name = ''") > 0
        assert q("SELECT COUNT(*) FROM products WHERE image_url IS NULL") > 0
        assert q("SELECT COUNT(*) FROM products WHERE description IS NULL") > 0
        assert q("SELECT MAX(CHAR_LENGTH(description)) FROM products") >= 50_000
        assert q("SELECT MAX(price) FROM products") == Decimal("9999999999.99")
        assert q("SELECT COUNT(*) FROM categories WHERE parent_id IS NULL") >= 4
        # three levels: a category whose parent has a parent
        assert (
            q(
                "SELECT COUNT(*) FROM categories c JOIN categories p ON p.id = c.parent_id "
                "WHERE p.parent_id IS NOT NULL"
            )
            > 0
        )
        assert q("SELECT COUNT(*) FROM users WHERE first_name IS NULL") > 0
        assert q("SELECT COUNT(*) FROM users WHERE last_name = ''") > 0
        assert q("SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)"
                 " AND NOT EXISTS (SELECT 1 FROM shopping_carts c WHERE c.user_id = u.id)") > 0  # fmt: skip
        assert q("SELECT COUNT(*) FROM orders o WHERE NOT EXISTS "
                 "(SELECT 1 FROM order_items i WHERE i.order_id = o.id)") > 0  # fmt: skip
        assert q("SELECT COUNT(*) FROM products p WHERE NOT EXISTS "
                 "(SELECT 1 FROM order_items i WHERE i.product_id = p.id)") > 0  # fmt: skip
        with conn.cursor() as cur:
            cur.execute("SELECT CONCAT_WS('|', first_name, last_name) FROM users "
                        "UNION ALL SELECT name FROM products UNION ALL SELECT description FROM products")  # fmt: skip
            texts = [r[0] for r in cur.fetchall() if r[0]]
        blob = "\n".join(texts)
        assert any(ord(ch) > 0xFFFF for ch in blob), "no emoji (4-byte utf8) survived"
        assert "\\" in blob and "'" in blob and '"' in blob
        # keys stay clean
        assert q("SELECT COUNT(*) FROM users WHERE email IS NULL OR email = ''") == 0
        assert q("SELECT COUNT(DISTINCT name) = COUNT(*) FROM categories") == 1
        # referential integrity although the loader turns the checks off
        assert q("SELECT COUNT(*) FROM order_items i LEFT JOIN orders o ON o.id = i.order_id "
                 "WHERE o.id IS NULL") == 0  # fmt: skip
        assert q("SELECT COUNT(*) FROM products p LEFT JOIN users u ON u.id = p.seller_id "
                 "WHERE u.id IS NULL OR u.is_seller = 0") == 0  # fmt: skip
    finally:
        conn.close()


def test_two_loads_are_identical(mysql_settings: Any) -> None:
    names = ["dm_test_det_a", "dm_test_det_b"]
    kwargs = mysql_settings.connect_kwargs()
    try:
        digests = []
        for name in names:
            counts = load_sample(kwargs, name, 40)
            assert counts["users"] == 40
            conn = _connect(mysql_settings, name)
            try:
                digests.append(_digest(conn))
                with conn.cursor() as cur:
                    cur.execute(f"CHECKSUM TABLE {', '.join(TABLES)}")
                    digests.append(tuple(r[1] for r in cur.fetchall()))
            finally:
                conn.close()
        assert digests[0] == digests[2]
        assert digests[1] == digests[3]
    finally:
        conn = pymysql.connect(**{**kwargs, "autocommit": True})
        with conn.cursor() as cur:
            for name in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


def test_keep_refuses_existing_tables(shop_db_copy: str, mysql_settings: Any) -> None:
    from dynamigrate.errors import SourceError

    with pytest.raises(SourceError):
        load_sample(mysql_settings.connect_kwargs(), shop_db_copy, 5, drop=False)


def test_cli_sample_load(mysql_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc = cli_main(["sample", "load", "--database", mysql_db, "--scale", "7", "--host", "127.0.0.1",
                   "--user", "dynamigrate", "--password", "dynamigrate", "--json"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0
    assert '"users": 7' in out
    assert "password" not in out


def test_dynamodb_local_round_trip(ddb_client: Any, ddb_prefix: str) -> None:
    table = f"{ddb_prefix}roundtrip"
    ddb_client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb_client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1})
    item = {"PK": {"S": "user1@example.com"}, "SK": {"S": "#META"}, "name": {"S": "Zoë 🚀 \\ '\""},
            "price": {"N": "9999999999.99"}}  # fmt: skip
    ddb_client.put_item(TableName=table, Item=item)
    got = ddb_client.get_item(TableName=table, Key={"PK": item["PK"], "SK": item["SK"]}, ConsistentRead=True)
    assert got["Item"] == item
