"""Source tables of every key shape, a contract over them, and the items it must give (not collected).

Shapes: a single BIGINT key with very sparse ids, a composite INT+VARCHAR key (a junction table), a
composite of two VARCHARs, a VARCHAR key, a BINARY(16) key (UUIDs), a DATE key, no primary key but a
unique key, no unique key at all; and a multi-entity table with four of them as entities. Values include NULLs,
emoji, empty strings and huge decimals.

The rows are Python literals here; :func:`expected_items` maps them to items with plain Python (the
contract's meaning written out by hand), never through the views, the encoder or an engine.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# -- the source rows -----------------------------------------------------------------------------------

INT_IDS = [1, 2, 3, 7, 1000, 1001, 65_536, 10**6, 10**9, 10**12 + 5, 2**62, 2**62 + 1, *range(40, 58)]
S_INT = [
    (
        i,
        None if n % 5 == 0 else f"name {n} {'🙂' if n % 3 == 0 else ''}",
        None if n % 4 == 0 else Decimal(f"{n}123456789012345678.{n:010d}"),
    )
    for n, i in enumerate(INT_IDS)
]
TAGS = ["a", "b", "ß", "🙂", "zz", "Tag 6"]
S_COMP = [
    (book, tag, None if (book + k) % 3 == 0 else f"note {book}/{k}")
    for book in (1, 2, 5, 9, 10, 1000)
    for k, tag in enumerate(TAGS)
    if (book + k) % 7 != 0
]
S_TWO_VC = [
    (region, code, n)
    for n, (region, code) in enumerate(
        (r, c) for r in ("eu", "us", "ap-🙂", "") for c in ("x1", "x2", "é", "yy", "z")
    )
]
S_VC = [
    (code, None if n % 4 == 0 else f"label {n}")
    for n, code in enumerate(
        ["A", "b", "café", "☕", "🙂x", "zz top", "0001", "10", "9", "with space", "x" * 32, "Ω", "a_b", ""]
        + [f"k{n:03d}" for n in range(20)]
    )
]
S_BIN = [(uuid.UUID(int=(n * 0x9E3779B97F4A7C15) % 2**128).bytes, f"bin-{n:02d}") for n in range(24)]
S_UNIQ = [
    (f"user{n}@example.{'org' if n % 2 else 'com'}", None if n % 3 == 0 else f"nick{n}") for n in range(26)
]
S_DATE = [(date(2024, 1, 1) + timedelta(days=n * 37), n * n) for n in range(21)]
S_NOKEY = [(n % 5, f"row-{n}") for n in range(17)]

DDL = [
    "CREATE TABLE s_int (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(40) NULL, amount DECIMAL(38,10) NULL)",
    "CREATE TABLE s_comp (book_id INT NOT NULL, tag VARCHAR(20) NOT NULL, note VARCHAR(40) NULL,"
    " PRIMARY KEY (book_id, tag))",
    "CREATE TABLE s_two_vc (region VARCHAR(16) NOT NULL, code VARCHAR(16) NOT NULL, qty INT NOT NULL,"
    " PRIMARY KEY (region, code))",
    "CREATE TABLE s_vc (code VARCHAR(32) NOT NULL PRIMARY KEY, label VARCHAR(40) NULL)",
    "CREATE TABLE s_bin (id BINARY(16) NOT NULL PRIMARY KEY, name VARCHAR(40) NOT NULL)",
    "CREATE TABLE s_uniq (email VARCHAR(60) NOT NULL, nick VARCHAR(20) NULL, UNIQUE KEY uq_email (email))",
    "CREATE TABLE s_nokey (a INT NULL, b VARCHAR(20) NULL)",
    "CREATE TABLE s_date (day DATE NOT NULL PRIMARY KEY, v INT NOT NULL)",
]
ROWS: dict[str, tuple[tuple[str, ...], list[tuple[Any, ...]]]] = {
    "s_int": (("id", "name", "amount"), S_INT),
    "s_comp": (("book_id", "tag", "note"), S_COMP),
    "s_two_vc": (("region", "code", "qty"), S_TWO_VC),
    "s_vc": (("code", "label"), S_VC),
    "s_bin": (("id", "name"), S_BIN),
    "s_uniq": (("email", "nick"), S_UNIQ),
    "s_nokey": (("a", "b"), S_NOKEY),
    "s_date": (("day", "v"), S_DATE),
}


def create_source(conn: Any) -> None:
    """The shape tables, filled (utf8mb4 throughout)."""
    with conn.cursor() as cur:
        for ddl in DDL:
            cur.execute(ddl + " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        for table, (cols, rows) in ROWS.items():
            marks = ", ".join(["%s"] * len(cols))
            cur.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})", rows)


# -- the contract --------------------------------------------------------------------------------------


def _a(name: str, table: str, column: str, type_: str = "S", fmt: str | None = None) -> dict[str, Any]:
    attr: dict[str, Any] = {"name": name, "type": type_, "source_table": table, "source_column": column}
    if fmt is not None:
        attr["transformation"] = {"type": "string-format", "format": fmt}
    return attr


def _single(name: str, source: str, attrs: list[dict[str, Any]], sk: bool = True) -> dict[str, Any]:
    return {
        "table": name,
        "type": "single-entity",
        "source_table": source,
        "pk": "PK",
        "sk": "SK" if sk else None,
        "attributes": attrs,
    }


def contract_dict(prefix: str) -> dict[str, Any]:
    tables = [
        _single(
            "ShInt",
            "s_int",
            [
                _a("PK", "s_int", "id", fmt="I#{id}"),
                _a("SK", "s_int", "id", fmt="#META"),
                _a("name", "s_int", "name"),
                _a("amount", "s_int", "amount", "N"),
            ],
        ),
        _single(
            "ShComp",
            "s_comp",
            [_a("PK", "s_comp", "book_id"), _a("SK", "s_comp", "tag"), _a("note", "s_comp", "note")],
        ),
        _single(
            "ShTwoVc",
            "s_two_vc",
            [
                _a("PK", "s_two_vc", "region", fmt="R#{region}"),
                _a("SK", "s_two_vc", "code"),
                _a("qty", "s_two_vc", "qty", "N"),
            ],
        ),
        _single("ShVc", "s_vc", [_a("PK", "s_vc", "code"), _a("label", "s_vc", "label")], sk=False),
        _single("ShBin", "s_bin", [_a("PK", "s_bin", "name")], sk=False),
        {
            # dynamigrate's filter extension: users without a nick are not migrated (counted as filtered)
            **_single(
                "ShUniq", "s_uniq", [_a("PK", "s_uniq", "email"), _a("nick", "s_uniq", "nick")], sk=False
            ),
            "filter": "nick IS NOT NULL",
        },
        _single("ShDate", "s_date", [_a("PK", "s_date", "day"), _a("v", "s_date", "v", "N")], sk=False),
        _single(
            "ShNokey",
            "s_nokey",
            [_a("PK", "s_nokey", "b"), _a("SK", "s_nokey", "a", fmt="A#{a}"), _a("a", "s_nokey", "a", "N")],
        ),
        {
            "table": "ShMulti",
            "type": "multi-entity",
            "source_table": "s_comp",
            "pk": "PK",
            "sk": "SK",
            "entities": [
                {
                    "entity_type": "TAG",
                    "source_table": "s_comp",
                    "pk_template": "BOOK#{book_id}",
                    "sk_template": "TAG#{tag}",
                    "attributes": [
                        _a("PK", "s_comp", "book_id", fmt="BOOK#{book_id}"),
                        _a("SK", "s_comp", "tag", fmt="TAG#{tag}"),
                        _a("note", "s_comp", "note"),
                    ],
                },
                {
                    "entity_type": "CODE",
                    "source_table": "s_vc",
                    "pk_template": "CODE#{code}",
                    "sk_template": "#META",
                    "attributes": [
                        _a("PK", "s_vc", "code", fmt="CODE#{code}"),
                        _a("SK", "s_vc", "code", fmt="#META"),
                        _a("label", "s_vc", "label"),
                    ],
                },
                {
                    "entity_type": "ROW",
                    "source_table": "s_nokey",
                    "pk_template": "NK#{b}",
                    "sk_template": "{a}",
                    "attributes": [
                        _a("PK", "s_nokey", "b", fmt="NK#{b}"),
                        _a("SK", "s_nokey", "a"),
                    ],
                },
                {
                    "entity_type": "NUM",
                    "source_table": "s_int",
                    "pk_template": "NUM#{id}",
                    "sk_template": "#META",
                    "attributes": [
                        _a("PK", "s_int", "id", fmt="NUM#{id}"),
                        _a("SK", "s_int", "id", fmt="#META"),
                        _a("amount", "s_int", "amount", "N"),
                    ],
                },
            ],
        },
    ]
    for t in tables:
        t["table"] = prefix + t["table"]
    return {"tables": tables}


def write_contract(tmp: Path, prefix: str) -> Path:
    path = tmp / "shapes-contract.json"
    path.write_text(json.dumps(contract_dict(prefix), indent=1, ensure_ascii=False), encoding="utf-8")
    return path


# -- the items, by hand ----------------------------------------------------------------------------------


def _item(**values: Any) -> dict[str, Any]:
    """NULL -> the attribute is absent."""
    return {k: v for k, v in values.items() if v is not None}


def expected_items() -> dict[str, dict[tuple[Any, Any], dict[str, Any]]]:
    """Table (without prefix) -> (PK, SK) -> item in the plain form of ``_etl_expect.plain``."""
    out: dict[str, dict[tuple[Any, Any], dict[str, Any]]] = {}

    def put(table: str, item: dict[str, Any]) -> None:
        key = (item["PK"], item.get("SK"))
        assert key not in out.setdefault(table, {}), (table, key)
        out[table][key] = item

    for i, name, amount in S_INT:
        put("ShInt", _item(PK=f"I#{i}", SK="#META", name=name, amount=amount))
        put("ShMulti", _item(PK=f"NUM#{i}", SK="#META", amount=amount))
    for book, tag, note in S_COMP:
        put("ShComp", _item(PK=str(book), SK=tag, note=note))
        put("ShMulti", _item(PK=f"BOOK#{book}", SK=f"TAG#{tag}", note=note))
    for region, code, qty in S_TWO_VC:
        put("ShTwoVc", _item(PK=f"R#{region}", SK=code, qty=Decimal(qty)))
    for code, label in S_VC:
        if code != "":  # an empty partition key: a rejected row (REJECTED), never an item
            put("ShVc", _item(PK=code, label=label))
        put("ShMulti", _item(PK=f"CODE#{code}", SK="#META", label=label))
    for _, name in S_BIN:
        put("ShBin", _item(PK=name))
    for email, nick in S_UNIQ:
        if nick is not None:  # the table's filter
            put("ShUniq", _item(PK=email, nick=nick))
    for day, v in S_DATE:
        put("ShDate", _item(PK=day.isoformat(), v=Decimal(v)))
    for a, b in S_NOKEY:
        put("ShNokey", _item(PK=b, SK=f"A#{a}", a=Decimal(a)))
        put("ShMulti", _item(PK=f"NK#{b}", SK=str(a)))
    return out


#: Source rows the contract's filter excludes, per DynamoDB table (without prefix).
FILTERED = {"ShUniq": sum(1 for _, nick in S_UNIQ if nick is None)}
#: Rejected rows per DynamoDB table (without prefix), by reject code: the empty VARCHAR key of s_vc.
REJECTED = {"ShVc": {"empty_key": 1}}


def source_rows() -> dict[str, int]:
    """Source rows per DynamoDB table (without prefix): one item, one rejected or one filtered row each."""
    return {
        "ShInt": len(S_INT),
        "ShComp": len(S_COMP),
        "ShTwoVc": len(S_TWO_VC),
        "ShVc": len(S_VC),
        "ShBin": len(S_BIN),
        "ShUniq": len(S_UNIQ),
        "ShNokey": len(S_NOKEY),
        "ShDate": len(S_DATE),
        "ShMulti": len(S_COMP) + len(S_VC) + len(S_NOKEY) + len(S_INT),
    }
