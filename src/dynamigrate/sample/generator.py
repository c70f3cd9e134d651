"""Deterministic sample online shop (the schema the workshop's migration contract describes).

``scale`` is the number of users; the other tables follow: ~2x products, ~1.5x cart lines, 3x orders,
~3 items per order, 30 + scale/50 categories in a three-level tree with several roots.

Non-key columns carry awkward values on purpose, because real shops do: NULLs, empty strings (an empty
product name becomes an empty GSI sort key), unicode and emoji, quotes and backslashes, the largest
decimals the columns hold, ~50 KB descriptions, root categories, products nobody ordered, users with no
orders or carts, orders with no items. Keys stay clean: emails and category names are unique, non-empty
ASCII (the contract keys categories by parent name + name).

``product_specs`` (one data sheet every ~4 products, at least 8) carries every MySQL type family the
migration must map to a DynamoDB type: DATE, TIME(3), DATETIME(6), TIMESTAMP(2), BINARY (the items'
binary sort key), BLOB (one near 400 KB), JSON objects and arrays (M, L, and SS/NS/BS from arrays), BIT,
FLOAT, ENUM, DECIMAL(38,10) and BIGINT UNSIGNED (numbers past 14 and 28 digits), NULLs and empty values.

``tags`` (a VARCHAR primary key: unicode, spaces, quotes, emoji) and the junction table
``product_tags`` (composite primary key ``product_id`` + ``tag_code``, no id column) are the source
shapes that are not a single integer key; the example contract's ``Tags`` table migrates both.

The same ``(scale, seed)`` always yields the same rows: every table draws from its own
``random.Random`` seeded with a string (string seeds are hashed with SHA-512, stable across runs).
"""

from __future__ import annotations

import base64
import json
import logging
import random
import time
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib import resources
from typing import Any

import pymysql

from dynamigrate.source.connect import mysql_errno, translate_error
from dynamigrate.source.sqlsplit import split_statements
from dynamigrate.sqlgen.dialects import quote_ident

log = logging.getLogger(__name__)

DEFAULT_SEED = 20240501
TABLES = (
    "users", "categories", "products", "shopping_carts", "orders", "order_items", "product_specs", "tags",
    "product_tags",
)  # fmt: skip
BATCH_ROWS = 1000
BATCH_BYTES = 4 * 1024 * 1024  # stay well under max_allowed_packet (16 MB by default)

MAX_PRICE = Decimal("9999999999.99")  # DECIMAL(12,2)
MAX_TOTAL = Decimal("999999999999.99")  # DECIMAL(14,2)
LONG_TEXT_CHARS = 50_000
_BASE_TIME = datetime(2021, 1, 1)
_SPAN_SECONDS = 3 * 365 * 86400

COLUMNS: dict[str, tuple[str, ...]] = {
    "users": (
        "id", "email", "username", "password_hash", "first_name", "last_name", "is_seller",
        "created_at", "updated_at",
    ),
    "categories": ("id", "parent_id", "name", "created_at"),
    "products": (
        "id", "seller_id", "category_id", "name", "description", "price", "inventory_quantity",
        "image_url", "created_at", "updated_at",
    ),
    "shopping_carts": ("id", "user_id", "product_id", "quantity", "created_at", "updated_at"),
    "orders": ("id", "user_id", "status", "total_amount", "created_at", "updated_at"),
    "order_items": ("id", "order_id", "product_id", "quantity", "price_at_time"),
    "product_specs": (
        "id", "product_id", "sku", "grade", "in_stock", "weight_kg", "lab_ratio", "barcode",
        "released_on", "opens_at", "measured_at", "certified_at", "thumbnail", "attributes",
        "dimensions", "colors", "sizes", "checksums",
    ),
    "tags": ("tag_code", "label", "description", "created_at"),
    "product_tags": ("product_id", "tag_code", "added_at"),
}  # fmt: skip

#: tag codes (the tags table's VARCHAR primary key): unique even case- and accent-insensitively
TAG_WORDS = (
    "eco", "handmade", "bestseller", "über-cool", "gift ideas", "50%-off", "o'reilly", "日本製", "🎁 gifts",
    "vintage", "new", "Limited", "refurb", "bundle", "clearance", "premium",
)  # fmt: skip

FIRST_NAMES = (
    "Alice", "Bob", "Chloé", "Dmitri", "Éva", "François", "Günther", "Hana", "Ingrid", "José",
    "Kenji", "Łukasz", "María", "Nguyễn", "Olivia", "Pádraig", "Quinn", "Rūta", "Søren", "Zoë",
    "李", "王芳", "محمد", "Ольга", "Αλέξης", "D'Arcy", 'The "Rock"', "Back\\slash", "🚀 Rocket", "  Spaced  ",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "O'Brien", "Müller", "García", "Nakamura", "Kowalski", "Dubois", "Rossi", "Ødegaard",
    "Hernández-López", "van der Berg", "Ivanov", "张", "Şahin", "Nuñez", "Crème Brûlée", "Tab\tName",
    "Line\nBreak", "100% \\ sure", "😀😃😄",
)  # fmt: skip
ADJECTIVES = (
    "Red", "Smart", "Vintage", "Organic", "Wireless", "Deluxe", "Compact", "Ergonomic", "Classic",
    "Portable", "Ultra", "Handmade", "Eco", "Premium", "Mini",
)  # fmt: skip
NOUNS = (
    "Lamp", "Chair", "Headphones", "Teapot", "Backpack", "Keyboard", "Sneakers", "Blender", "Novel",
    "Guitar", "Watch", "Jacket", "Mug", "Drone", "Puzzle",
)  # fmt: skip
ROOT_CATEGORIES = (
    "Electronics", "Home and Garden", "Books", "Fashion", "Sports", "Toys", "Grocery", "Health",
    "Automotive", "Music", "Office", "Pets",
)  # fmt: skip
AWKWARD_TEXTS = (
    "Café crème ☕ — naïve façade",
    "Emoji galore 🎉🔥💯👍🏽 and a family 👨‍👩‍👧",
    "It's a \"quoted\" 'string'",
    "Windows path C:\\Users\\shop\\file.txt and a trailing backslash \\",
    "Line one\nLine two\r\nTab\there",
    "<b>HTML</b> &amp; <script>alert('x')</script>",
    "SQL-ish: '; DROP TABLE users; --",
    "Percent % and underscore _ and braces {id} #META",
    "日本語の説明文です。",
    "Ünïcödé ẞ ﬁ ligatures and zero\u200bwidth",
    "   leading and trailing spaces   ",
    '{"looks": ["like", "json"]}',
)
STATUSES = ("pending", "processing", "shipped", "delivered", "cancelled", "refunded")
GRADES = ("A", "B", "C", "refurbished")
COLORS = ("red", "green", "blue", "black", "white", "crème", "🌈 rainbow", "navy, dark", 'say "hi"')
# FLOAT values the server prints wrongly with 6 significant digits (16777216 -> 16777200, 1024.125 ->
# 1024.12), values with no exact float (0.1, 3.14159: their float is 0.10000000149011612, ...), one that
# rounds to its float (123456789 -> 123456792) and short binary fractions (docs/views.md, FLOAT)
FLOATS = (0.5, 16777216.0, -3.75, 1024.125, 0.1, 99.5, 123456789.0, 0.0, 3.14159, -0.25)
#: the largest FLOAT (row 4, the extremes)
FLOAT_MAX = 3.4028234663852886e38
#: product_specs row 1 carries a thumbnail this big: its item lands just under DynamoDB's 400 KB
NEAR_LIMIT_BLOB_BYTES = 405_000
MAX_BARCODE = 18446744073709551615  # BIGINT UNSIGNED
# 38 significant digits, DynamoDB's maximum (past the 28 of Python's default decimal context)
WIDEST_RATIO = Decimal("1234567890123456789012345678.0123456789")


def _time(rng: random.Random, after: datetime | None = None) -> datetime:
    if after is None:
        return _BASE_TIME + timedelta(seconds=rng.randrange(_SPAN_SECONDS))
    return after + timedelta(seconds=rng.randrange(90 * 86400))


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _long_text(rng: random.Random, n: int) -> str:
    words = [*NOUNS, *ADJECTIVES, "ünïcode", "😀", "'quote'", '"dq"', "back\\slash", "\n"]
    out: list[str] = []
    size = 0
    while size < n:
        w = rng.choice(words)
        out.append(w)
        size += len(w) + 1
    return " ".join(out)[:n]


class ShopGenerator:
    """Yields the rows of each table as tuples in :data:`COLUMNS` order."""

    def __init__(self, scale: int, seed: int = DEFAULT_SEED):
        if scale < 1:
            raise ValueError("scale must be at least 1")
        self.scale = scale
        self.seed = seed
        self.n_users = scale
        self.n_categories = 30 + scale // 50
        self.n_products = 2 * scale
        self.n_orders = 3 * scale
        self.n_tags = 12 + scale // 25
        # decided up front because later tables refer to them
        rng = self._rng("plan")
        self.sellers = [u for u in range(1, self.n_users + 1) if u % 5 == 1 or rng.random() < 0.1]
        # every 10th user never orders, every 7th never has a cart (users with neither exist too)
        self.buyers = [u for u in range(1, self.n_users + 1) if u % 10 != 0] or [1]
        self.cart_users = [u for u in range(1, self.n_users + 1) if u % 7 != 0] or [1]
        # the last ~10% of products are never ordered
        self.ordered_products = max(1, (self.n_products * 9) // 10)
        self.prices: list[Decimal] = []  # index = product id - 1, filled by products()

    def _rng(self, table: str) -> random.Random:
        return random.Random(f"dynamigrate-sample:{self.seed}:{table}")

    # ------------------------------------------------------------------ tables

    def users(self) -> Iterator[tuple[Any, ...]]:
        rng = self._rng("users")
        sellers = set(self.sellers)
        for uid in range(1, self.n_users + 1):
            first: str | None = rng.choice(FIRST_NAMES)
            last: str | None = rng.choice(LAST_NAMES)
            roll = rng.random()
            if roll < 0.05:
                first = None
            elif roll < 0.08:
                last = ""
            elif roll < 0.10:
                first, last = None, None
            username = f"{(first or 'user').strip().split()[0][:20]}_{uid}"
            password_hash = None if uid % 97 == 0 else f"$2b$12${rng.getrandbits(160):040x}"
            created = _time(rng)
            updated = None if uid % 11 == 0 else _time(rng, created)
            yield (
                uid, f"user{uid}@example.com", username, password_hash, first, last,
                1 if uid in sellers else 0, created, updated,
            )  # fmt: skip

    def categories(self) -> Iterator[tuple[Any, ...]]:
        rng = self._rng("categories")
        n = self.n_categories
        n_roots = min(len(ROOT_CATEGORIES), max(4, 4 + self.scale // 2000))
        level1: list[int] = []
        for cid in range(1, n + 1):
            created = _time(rng)
            if cid <= n_roots:
                yield (cid, None, ROOT_CATEGORIES[cid - 1], created)
                continue
            # roughly a third of the rest are level 1, the others level 2
            if not level1 or cid <= n_roots + (n - n_roots) // 3:
                parent = rng.randint(1, n_roots)
                level1.append(cid)
            else:
                parent = rng.choice(level1)
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}s {cid}"
            yield (cid, parent, name, created)

    def products(self) -> Iterator[tuple[Any, ...]]:
        rng = self._rng("products")
        self.prices = []
        n_long = 0
        for pid in range(1, self.n_products + 1):
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            if pid % 50 == 7:
                name = ""  # empty GSI sort key in the contract's Products table
            elif pid % 13 == 0:
                name = f"{name} {rng.choice(AWKWARD_TEXTS)}"[:255]
            roll = rng.random()
            description: str | None
            if pid in (3, 5) or (pid % 2500 == 0 and n_long < 20):
                description = _long_text(rng, LONG_TEXT_CHARS)
                n_long += 1
            elif roll < 0.05:
                description = None
            elif roll < 0.08:
                description = ""
            elif roll < 0.30:
                description = rng.choice(AWKWARD_TEXTS)
            else:
                description = f"A {name.lower() or 'thing'} you will love. " * rng.randint(1, 4)
            if pid % 1000 == 1:
                price = MAX_PRICE
            elif pid % 101 == 0:
                price = Decimal("0.00")
            else:
                price = _money(rng.randint(50, 500_000))
            self.prices.append(price)
            category = None if pid % 20 == 4 else rng.randint(1, self.n_categories)
            image = None if pid % 10 == 3 else f"https://img.example.com/p/{pid}.jpg"
            created = _time(rng)
            updated = None if pid % 9 == 0 else _time(rng, created)
            inventory = 0 if pid % 17 == 0 else rng.randint(1, 10_000)
            yield (
                pid, rng.choice(self.sellers), category, name, description, price, inventory, image,
                created, updated,
            )  # fmt: skip

    def shopping_carts(self) -> Iterator[tuple[Any, ...]]:
        rng = self._rng("shopping_carts")
        target = (3 * self.n_users) // 2
        seen: set[tuple[int, int]] = set()
        cid = 0
        attempts = 0
        while cid < target and attempts < target * 4:
            attempts += 1
            user = rng.choice(self.cart_users)
            product = rng.randint(1, self.n_products)
            if (user, product) in seen:
                continue
            seen.add((user, product))
            cid += 1
            created = _time(rng)
            updated = None if cid % 5 == 0 else _time(rng, created)
            yield (cid, user, product, rng.randint(1, 5), created, updated)

    def orders_and_items(self) -> Iterator[tuple[tuple[Any, ...], list[tuple[Any, ...]]]]:
        """Each order with its items (the total is the sum of the items)."""
        if not self.prices:
            for _ in self.products():  # fills self.prices deterministically
                pass
        rng = self._rng("orders")
        item_id = 0
        for oid in range(1, self.n_orders + 1):
            user = rng.choice(self.buyers)
            created = _time(rng)
            n_items = 0 if oid % 33 == 0 else rng.randint(1, 5)
            items = []
            total = Decimal("0.00")
            for _ in range(n_items):
                item_id += 1
                product = rng.randint(1, self.ordered_products)
                qty = rng.randint(1, 4)
                price = self.prices[product - 1]
                items.append((item_id, oid, product, qty, price))
                total += price * qty
            total = min(total, MAX_TOTAL)
            updated = None if oid % 8 == 0 else _time(rng, created)
            yield (oid, user, rng.choice(STATUSES), total, created, updated), items

    def product_specs(self) -> Iterator[tuple[Any, ...]]:
        """Data sheets, one every ~4 products (at least 8): every column type, NULLs, empty documents.

        Row 1 holds the near-400 KB thumbnail, row 2 is NULL wherever it may be, row 3 holds empty
        values (empty binary, empty JSON object and arrays, false BIT), row 4 the extremes (widest
        decimals and unsigned BIGINT, TIME at its limits, JSON numbers past double precision).
        """
        rng = self._rng("product_specs")
        n = max(8, self.n_products // 4)
        for sid in range(1, n + 1):
            product = (sid * 7) % self.n_products + 1
            sku = rng.getrandbits(32).to_bytes(4, "big") + sid.to_bytes(4, "big")
            if sid % 3 == 1:
                sku = b"\x00" + sku[1:]  # leading zero bytes in a binary sort key
            measured = _time(rng).replace(microsecond=0 if sid % 5 == 0 else rng.randrange(1_000_000))
            certified = _time(rng).replace(microsecond=rng.randrange(100) * 10_000)
            ms = rng.randrange(1000)
            opens = f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.{ms:03d}"
            colors = rng.sample(COLORS, rng.randint(1, 4))
            row: dict[str, Any] = {
                "id": sid,
                "product_id": product,
                "sku": sku,
                "grade": rng.choice(GRADES),
                "in_stock": rng.randint(0, 1),
                "weight_kg": rng.choice(FLOATS),
                "lab_ratio": Decimal(f"{rng.randrange(-(10**30), 10**30)}E-10"),  # exact, no context
                "barcode": rng.randrange(10**14, MAX_BARCODE),
                "released_on": date(2019, 1, 1) + timedelta(days=rng.randrange(2000)),
                "opens_at": opens,
                "measured_at": measured,
                "certified_at": certified,
                "thumbnail": rng.randbytes(rng.randint(1, 2000)),
                "attributes": json.dumps(
                    {
                        "material": rng.choice(NOUNS).lower(),
                        "grams": rng.randint(1, 99_999),
                        "ratio": rng.randint(1, 999) / 8,
                        "tags": rng.sample(ADJECTIVES, 2),
                        "note": rng.choice(AWKWARD_TEXTS),
                    },
                    ensure_ascii=False,
                ),
                "dimensions": json.dumps([rng.randint(1, 300) / 4, rng.randint(1, 300), {"unit": "cm"}]),
                "colors": json.dumps([*colors, colors[0]], ensure_ascii=False),  # a duplicate member
                "sizes": json.dumps([rng.randint(1, 60), rng.randint(1, 60) / 2, -rng.randint(1, 9)]),
                "checksums": json.dumps([base64.b64encode(rng.randbytes(6)).decode() for _ in range(3)]),
            }
            if sid == 1:
                row["thumbnail"] = rng.randbytes(NEAR_LIMIT_BLOB_BYTES)
            elif sid == 2:
                for col in COLUMNS["product_specs"][3:]:
                    row[col] = None
            elif sid == 3:
                row.update(
                    in_stock=0, thumbnail=b"", attributes="{}", dimensions="[]", colors="[]", sizes="[]",
                    checksums="[]", weight_kg=0.0, lab_ratio=Decimal("0E-10"),
                )  # fmt: skip
            elif sid == 4:
                row.update(
                    lab_ratio=WIDEST_RATIO.copy_negate(),  # exact (unary minus rounds to 28 digits)
                    weight_kg=FLOAT_MAX,
                    barcode=MAX_BARCODE,
                    opens_at="-838:59:59.000",
                    measured_at=datetime(2038, 1, 19, 3, 14, 7, 999_999),
                    attributes='{"big": 12345678901234567890123456789.123456789, "emoji": "🚀 ünï", '
                    '"nested": {"deep": [1, 2.50, "x", null, true, false]}, "empty_map": {}, '
                    '"empty_list": [], "quote": "say \\"hi\\"", "exp": 1E+3}',
                    dimensions='[12.5, 30, {"unit": "cm", "n": null}, null, true, "x", [], [1, [2]]]',
                    sizes="[10, 2.5, 2.50, -1, 12345678901234567890123, 1E-5]",
                    checksums=json.dumps(
                        [base64.b64encode(b).decode() for b in (b"\x00\x01", b"\xff", b"\x00\x01")]
                    ),
                )
            elif sid == 5:
                row.update(opens_at="838:59:59.999", lab_ratio=WIDEST_RATIO, grade="refurbished")
            yield tuple(row[c] for c in COLUMNS["product_specs"])

    def tags(self) -> Iterator[tuple[Any, ...]]:
        """Tags keyed by a VARCHAR code (unicode, spaces, quotes, emoji); every 4th has no description."""
        rng = self._rng("tags")
        for i in range(self.n_tags):
            code = TAG_WORDS[i] if i < len(TAG_WORDS) else f"{TAG_WORDS[i % len(TAG_WORDS)]}-{i}"
            description = None if i % 4 == 3 else f"Products tagged {code!r}"
            yield (code, code.title(), description, _time(rng))

    def product_tags(self) -> Iterator[tuple[Any, ...]]:
        """The junction table (composite key product_id + tag_code): 0 to 4 tags per product, every
        6th product untagged, some tags on no product."""
        rng = self._rng("product_tags")
        codes = [t[0] for t in self.tags()][: max(1, self.n_tags - 2)]  # the last two: unused tags
        for pid in range(1, self.n_products + 1):
            n = 0 if pid % 6 == 0 else rng.randint(0, 4)
            for code in sorted(rng.sample(codes, min(n, len(codes)))):
                yield (pid, code, _time(rng))


# ---------------------------------------------------------------------- loading


def _schema_statements() -> list[str]:
    text = resources.files("dynamigrate.sample").joinpath("schema.sql").read_text(encoding="utf-8")
    return split_statements(text)


def _insert_sql(table: str) -> str:
    cols = COLUMNS[table]
    names = ", ".join(quote_ident(c) for c in cols)
    return f"INSERT INTO {quote_ident(table)} ({names}) VALUES ({', '.join(['%s'] * len(cols))})"


def _row_size(row: Sequence[Any]) -> int:
    return sum(len(v) if isinstance(v, str | bytes) else 12 for v in row)


class _BatchInserter:
    """Buffers rows and sends them as multi-row INSERTs (pymysql's executemany folds the VALUES)."""

    def __init__(self, cursor: Any, table: str):
        self.cursor = cursor
        self.sql = _insert_sql(table)
        self.rows: list[Sequence[Any]] = []
        self.bytes = 0
        self.count = 0

    def add(self, row: Sequence[Any]) -> None:
        self.rows.append(row)
        self.bytes += _row_size(row)
        if len(self.rows) >= BATCH_ROWS or self.bytes >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.cursor.executemany(self.sql, self.rows)
            self.count += len(self.rows)
            self.rows, self.bytes = [], 0


def load_sample(
    conn_kwargs: dict[str, Any],
    database: str,
    scale: int,
    *,
    drop: bool = True,
    seed: int = DEFAULT_SEED,
) -> dict[str, int]:
    """Create ``database`` with the sample shop at ``scale`` users and return the row count per table.

    ``conn_kwargs`` are ``pymysql.connect`` arguments (``MySQLSettings.connect_kwargs()``); their
    ``database`` is ignored. With ``drop`` (the default) an existing database of that name is dropped
    first; without it the database is created if missing and must not already hold the shop's tables.
    """
    if not database or "`" in database:
        raise ValueError(f"invalid database name: {database!r}")
    quoted_db = quote_ident(database)
    kwargs = {**conn_kwargs, "database": None, "autocommit": False, "charset": "utf8mb4"}
    kwargs.setdefault("local_infile", False)
    try:
        conn = pymysql.connect(**kwargs)
    except pymysql.MySQLError as exc:
        host, port = kwargs.get("host"), kwargs.get("port")
        err = translate_error(exc, context=f"cannot connect to MySQL at {host}:{port}")
        if mysql_errno(exc) in (2002, 2003):
            err.hint = f"{err.hint}; for the local test services: scripts/services.sh start"
        raise err from None
    gen = ShopGenerator(scale, seed)
    counts: dict[str, int] = {}
    started = time.perf_counter()
    try:
        with conn.cursor() as cur:
            if drop:
                cur.execute(f"DROP DATABASE IF EXISTS {quoted_db}")
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {quoted_db} CHARACTER SET utf8mb4")
            cur.execute(f"USE {quoted_db}")
            for stmt in _schema_statements():
                cur.execute(stmt)
            # rows are consistent by construction: skip the per-row checks while bulk loading
            cur.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0")
            cur.execute("SET time_zone = '+00:00'")
            for table, rows in (
                ("users", gen.users()),
                ("categories", gen.categories()),
                ("products", gen.products()),
                ("shopping_carts", gen.shopping_carts()),
            ):
                ins = _BatchInserter(cur, table)
                for row in rows:
                    ins.add(row)
                ins.flush()
                conn.commit()
                counts[table] = ins.count
            orders, items = _BatchInserter(cur, "orders"), _BatchInserter(cur, "order_items")
            for order, order_items in gen.orders_and_items():
                orders.add(order)
                for item in order_items:  # foreign key checks are off, so batches may interleave
                    items.add(item)
            orders.flush()
            items.flush()
            conn.commit()
            counts["orders"], counts["order_items"] = orders.count, items.count
            specs = _BatchInserter(cur, "product_specs")
            for spec in gen.product_specs():
                specs.add(spec)
            specs.flush()
            conn.commit()
            counts["product_specs"] = specs.count
            for table, rows in (("tags", gen.tags()), ("product_tags", gen.product_tags())):
                ins = _BatchInserter(cur, table)
                for row in rows:
                    ins.add(row)
                ins.flush()
                conn.commit()
                counts[table] = ins.count
            cur.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1")
    except pymysql.MySQLError as exc:
        conn.rollback()
        raise translate_error(
            exc, context=f"loading the sample shop into {database!r} failed", database=database
        ) from exc
    finally:
        conn.close()
    elapsed = time.perf_counter() - started
    total = sum(counts.values())
    log.info(
        "loaded sample shop into %s: %d rows in %.1fs (%.0f rows/s)",
        database, total, elapsed, total / elapsed if elapsed else 0.0,
    )  # fmt: skip
    return counts
