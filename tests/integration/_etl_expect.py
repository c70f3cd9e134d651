"""Independent expectations for the ETL tests (not collected by pytest).

What every item of the workshop contract's tables should hold, computed from the sample shop's source
tables with plain SQL and Python, *not* with the view or the item encoder: if the views, the encoder
or the writers get something wrong, the comparison shows it.

Values are compared in a plain form: S -> str, N -> Decimal, BOOL -> bool, NULL -> None, M -> dict,
L -> list, B -> bytes. SQL NULL -> attribute absent; an empty GSI key attribute is left out.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from dynamigrate.config import Config, load_config

WORKSHOP_CONTRACT = Path("/work/shared/reference/workshop-migrationContract.json")
REPO_CONTRACT = Path(__file__).resolve().parents[2] / "examples" / "workshop-contract.json"
MARKER = "_dm_marker"


def workshop_contract_dict() -> dict[str, Any]:
    path = REPO_CONTRACT if REPO_CONTRACT.exists() else WORKSHOP_CONTRACT
    return json.loads(path.read_text(encoding="utf-8"))


def write_contract(tmp: Path, prefix: str, tables: tuple[str, ...] = ()) -> Path:
    """The workshop contract with every DynamoDB table renamed ``<prefix><name>``."""
    data = workshop_contract_dict()
    data["tables"] = [t for t in data["tables"] if not tables or t["table"] in tables]
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    path = tmp / "contract.json"
    path.write_text(json.dumps(data, indent=1), encoding="utf-8")
    return path


def make_config(
    tmp: Path, database: str, endpoint: str, contract: Path, **migration: Any
) -> tuple[Config, Path]:
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "mysql": {
            "host": "127.0.0.1",
            "port": 3306,
            "user": "dynamigrate",
            "password": "dynamigrate",
            "database": database,
        },
        "migration": {"contract_file": str(contract), "output_dir": str(tmp / "runs"), **migration},
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(raw, indent=1), encoding="utf-8")
    return load_config(path), path


# -- DynamoDB side -------------------------------------------------------------------------------------


def connect(database: str) -> Any:
    """A pymysql connection to a test database (the dynamigrate user of scripts/services.sh)."""
    import pymysql

    return pymysql.connect(
        host="127.0.0.1",
        port=3306,
        user="dynamigrate",
        password="dynamigrate",
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


def plain(av: dict[str, Any]) -> Any:
    ((t, v),) = av.items()
    if t == "S":
        return v
    if t == "N":
        return Decimal(v)
    if t == "BOOL":
        return bool(v)
    if t == "NULL":
        return None
    if t == "M":
        return {k: plain(x) for k, x in v.items()}
    if t == "L":
        return [plain(x) for x in v]
    if t == "B":
        return bytes(v)
    if t in ("SS", "NS", "BS"):
        return sorted(v)
    raise AssertionError(f"unexpected type {t}")


def scan_items(client: Any, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every item of ``table`` in plain form, keyed by (PK, SK), with the marker kept."""
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        resp = client.scan(**kwargs)
        for item in resp["Items"]:
            p = {k: plain(v) for k, v in item.items()}
            out[(p["PK"], p.get("SK"))] = p
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def without_marker(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != MARKER}


# -- MySQL side ----------------------------------------------------------------------------------------


def _rows(conn: Any, sql: str) -> list[dict[str, Any]]:
    with conn.cursor() as cur:
        cur.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _s(v: Any) -> str | None:
    """A value as MySQL prints it (the contract's S rule)."""
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S") + (f".{v.microsecond:06d}" if v.microsecond else "")
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


def _n(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def _item(values: dict[str, Any], gsi_keys: tuple[str, ...]) -> dict[str, Any]:
    """Drop NULLs (absent attributes) and empty GSI keys (left out of the index)."""
    out = {}
    for k, v in values.items():
        if v is None:
            continue
        if k in gsi_keys and v == "":
            continue
        out[k] = v
    return out


def expected_products(conn: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    rows = _rows(conn, "SELECT * FROM products")
    categories = {c["id"]: c for c in _rows(conn, "SELECT id, name FROM categories")}
    out = {}
    for p in rows:
        # category_path: a foreign-key join to categories in examples/workshop-contract.json (the
        # workshop's self-join of products stops with C301, examples/README.md): the category's name,
        # absent without a category
        cat = categories.get(p["category_id"]) if p["category_id"] is not None else None
        item = _item(
            {
                "PK": _s(p["id"]),
                "SK": "#META",
                "seller_id": _s(p["seller_id"]),
                "category_id": _s(p["category_id"]),
                "category_path": cat["name"] if cat else None,
                "product_name": p["name"],
                "description": p["description"],
                "price": _n(p["price"]),
                "inventory_quantity": _n(p["inventory_quantity"]),
                "image_url": p["image_url"],
                "created_at": _s(p["created_at"]),
                "updated_at": _s(p["updated_at"]),
                "GSI1PK": _s(p["category_id"]),
                "GSI1SK": p["name"],
                "GSI2PK": _s(p["seller_id"]),
                "GSI2SK": p["name"],
            },
            ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"),
        )
        out[(item["PK"], item["SK"])] = item
    return out


def expected_categories(conn: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    cats = _rows(conn, "SELECT * FROM categories")
    by_id = {c["id"]: c for c in cats}
    children: dict[Any, int] = {}
    for c in cats:
        if c["parent_id"] is not None:
            children[c["parent_id"]] = children.get(c["parent_id"], 0) + 1
    products: dict[Any, int] = {}
    for r in _rows(conn, "SELECT category_id FROM products WHERE category_id IS NOT NULL"):
        products[r["category_id"]] = products.get(r["category_id"], 0) + 1
    out = {}
    for c in cats:
        parent = by_id.get(c["parent_id"]) if c["parent_id"] is not None else None
        item = _item(
            {
                "PK": "ROOT" if c["parent_id"] is None else (parent["name"] if parent else None),
                "SK": c["name"],
                "category_id": _s(c["id"]),
                "parent_id": _s(c["parent_id"]),
                "parent_name": parent["name"] if parent else None,
                "category_name": c["name"],
                "category_path": parent["name"] if parent else "",
                # the contract's "level" aggregate has the same join as children_count (read as the
                # rows whose parent_id points at this category): it counts the children
                "level": Decimal(children.get(c["id"], 0)),
                "children_count": Decimal(children.get(c["id"], 0)),
                "product_count": Decimal(products.get(c["id"], 0)),
                "created_at": _s(c["created_at"]),
                "GSI1PK": "ROOT" if c["parent_id"] is None else _s(c["parent_id"]),
                "GSI1SK": _s(c["id"]),
            },
            ("GSI1PK", "GSI1SK"),
        )
        out[(item["PK"], item["SK"])] = item
    return out


def expected_tags(conn: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    """The Tags table: a TAG item per tag (VARCHAR key), a PRODUCT_TAG item per junction row
    (composite key product_id + tag_code)."""
    tags = _rows(conn, "SELECT * FROM tags")
    links = _rows(conn, "SELECT * FROM product_tags")
    names = {p["id"]: p["name"] for p in _rows(conn, "SELECT id, name FROM products")}
    labels = {t["tag_code"].lower(): t["label"] for t in tags}
    counts: dict[str, int] = {}
    for link in links:
        counts[link["tag_code"].lower()] = counts.get(link["tag_code"].lower(), 0) + 1
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for t in tags:
        item = _item(
            {
                "PK": f"TAG#{t['tag_code']}",
                "SK": "#META",
                "tag_code": t["tag_code"],
                "label": t["label"],
                "description": t["description"],
                "product_count": Decimal(counts.get(t["tag_code"].lower(), 0)),
                "created_at": _s(t["created_at"]),
            },
            (),
        )
        out[(item["PK"], item["SK"])] = item
    for link in links:
        item = _item(
            {
                "PK": f"TAG#{link['tag_code']}",
                "SK": f"PRODUCT#{link['product_id']}",
                "tag_code": link["tag_code"],
                "product_id": Decimal(link["product_id"]),
                "product_name": names.get(link["product_id"]),
                "label": labels.get(link["tag_code"].lower()),
                "added_at": _s(link["added_at"]),
            },
            (),
        )
        out[(item["PK"], item["SK"])] = item
    return out


def expected_users(conn: Any, skip_emails: tuple[str, ...] = ("",)) -> dict[tuple[Any, ...], dict[str, Any]]:
    users = {u["id"]: u for u in _rows(conn, "SELECT * FROM users")}
    products = {p["id"]: p for p in _rows(conn, "SELECT id, name, price FROM products")}
    gsi = ("GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK")
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for u in users.values():
        if u["email"] in skip_emails:
            continue
        item = _item(
            {
                "PK": u["email"],
                "SK": "#META",
                "username": u["username"],
                "email": u["email"],
                "password_hash": u["password_hash"],
                "profile_data": {"first_name": u["first_name"], "last_name": u["last_name"]},
                "is_seller": bool(u["is_seller"]),
                "created_at": _s(u["created_at"]),
                "updated_at": _s(u["updated_at"]),
                "GSI1PK": _s(u["id"]),
                "GSI1SK": _s(u["id"]),
                "GSI2PK": u["username"],
                "GSI2SK": u["username"],
            },
            gsi,
        )
        out[(item["PK"], item["SK"])] = item
    for c in _rows(conn, "SELECT * FROM shopping_carts"):
        user = users.get(c["user_id"])
        product = products.get(c["product_id"])
        if user is None or user["email"] in skip_emails:
            continue
        item = _item(
            {
                "PK": user["email"],
                "SK": f"CART#{c['product_id']}",
                "product_id": _s(c["product_id"]),
                "quantity": _n(c["quantity"]),
                "price": _n(product["price"]) if product else None,
                "product_name": product["name"] if product else None,
                "created_at": _s(c["created_at"]),
                "updated_at": _s(c["updated_at"]),
            },
            gsi,
        )
        out[(item["PK"], item["SK"])] = item
    # the array's order is part of the value: the contract gives no order_by, so the elements come
    # in the order of order_items' primary key (docs/contract-format.md, json-construction)
    lines: dict[Any, list[dict[str, Any]]] = {}
    for li in sorted(
        _rows(conn, "SELECT id, order_id, product_id, quantity, price_at_time FROM order_items"),
        key=lambda r: r["id"],
    ):
        lines.setdefault(li["order_id"], []).append(
            {
                "product_id": Decimal(li["product_id"]),
                "quantity": Decimal(li["quantity"]),
                "price_at_time": Decimal(str(li["price_at_time"])),
            }
        )
    for o in _rows(conn, "SELECT * FROM orders"):
        user = users.get(o["user_id"])
        if user is None or user["email"] in skip_emails:
            continue
        item = _item(
            {
                "PK": user["email"],
                "SK": f"ORDER#{_s(o['created_at'])}#{o['id']}",
                "user_id": _s(o["user_id"]),
                "order_status": o["status"],
                "total_amount": _n(o["total_amount"]),
                "order_items": lines.get(o["id"], []),
                "created_at": _s(o["created_at"]),
                "updated_at": _s(o["updated_at"]),
                "order_id": _s(o["id"]),
                "GSI3PK": _s(o["id"]),
                "GSI3SK": _s(o["id"]),
            },
            gsi,
        )
        out[(item["PK"], item["SK"])] = item
    return out


def normalise_users_item(item: dict[str, Any]) -> dict[str, Any]:
    """order_items is S holding JSON text (the contract says type S): parse it, numbers exact, the
    elements kept in the order the item holds them."""
    out = without_marker(item)
    if isinstance(out.get("order_items"), str):
        out["order_items"] = json.loads(out["order_items"], parse_float=Decimal, parse_int=Decimal)
    return out


def compare(
    actual: dict[tuple[Any, ...], dict[str, Any]],
    expected: dict[tuple[Any, ...], dict[str, Any]],
    normalise: Any = without_marker,
    ignore: set[tuple[Any, ...]] = frozenset(),  # type: ignore[assignment]
) -> list[str]:
    """Differences, one line each (empty when the table is exact)."""
    diffs = []
    for key in sorted(set(actual) | set(expected), key=repr):
        if key in ignore:
            continue
        if key not in actual:
            diffs.append(f"missing item {key}")
            continue
        if key not in expected:
            diffs.append(f"unexpected item {key}")
            continue
        got, want = normalise(actual[key]), expected[key]
        for name in sorted(set(got) | set(want)):
            if got.get(name, "<absent>") != want.get(name, "<absent>"):
                g, w = repr(got.get(name, "<absent>"))[:120], repr(want.get(name, "<absent>"))[:120]
                diffs.append(f"{key} {name}: got {g}, want {w}")
    return diffs
