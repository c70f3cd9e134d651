"""`migrate` carries every MySQL type family into every DynamoDB type, checked item for item.

The sample shop's ``product_specs`` table holds DATE/TIME/DATETIME/TIMESTAMP with fractional seconds,
BINARY and BLOB, JSON documents, BIT, FLOAT, ENUM, numbers past 14 and 28 significant digits, NULLs
and one item near DynamoDB's 400 KB limit. The expected items are computed here from the source rows
with hand-written rules (pymysql values, ``json`` with ``Decimal``), never with the view, the item
encoder or the writer under test.
"""

from __future__ import annotations

import base64
import json
import struct
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import connect, make_config, write_contract

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.sample import load_sample
from dynamigrate.sample.generator import COLUMNS, ShopGenerator

pytestmark = pytest.mark.integration

ALL_TYPES = {"S", "N", "B", "BOOL", "NULL", "L", "M", "SS", "NS", "BS"}
NULLABLE = (
    "grade", "in_stock", "weight_kg", "lab_ratio", "barcode", "released_on", "opens_at", "measured_at",
    "certified_at", "thumbnail", "attributes", "dimensions", "colors", "sizes", "checksums",
)  # fmt: skip


def _json(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_int=Decimal)


def _frac(us: int, digits: int) -> str:
    return f".{us:06d}"[: digits + 1]


def _time_text(td: timedelta, digits: int) -> str:
    """A TIME(n) value as MySQL prints it: [-]H:MM:SS.fff, hours past 24 allowed."""
    us = td.days * 86_400_000_000 + td.seconds * 1_000_000 + td.microseconds
    sign = "-" if us < 0 else ""
    us = abs(us)
    secs, frac = divmod(us, 1_000_000)
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return f"{sign}{h:02d}:{m:02d}:{s:02d}{_frac(frac, digits)}"


def _datetime_text(v: datetime, digits: int) -> str:
    return v.strftime("%Y-%m-%d %H:%M:%S") + _frac(v.microsecond, digits)


def _float32(value: float) -> float:
    """The float a MySQL FLOAT column stores for ``value`` (IEEE single precision), as a double."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def _expected(conn: Any, weights: dict[int, float]) -> dict[bytes, dict[str, Any]]:
    """Items keyed by their binary sort key (the partition key repeats per product); ``weights`` are
    the FLOAT values the generator wrote, by spec id."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, name FROM products")
        names = dict(cur.fetchall())
        cur.execute("SELECT * FROM product_specs")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    out: dict[bytes, dict[str, Any]] = {}
    for r in rows:
        item: dict[str, Any] = {
            "PK": f"PRODUCT#{r['product_id']}",
            "SK": bytes(r["sku"]),
            "spec_id": Decimal(r["id"]),
            "product_name": names[r["product_id"]],
        }
        if r["grade"] is not None:
            item["grade"] = item["GSI1PK"] = r["grade"]
        if r["in_stock"] is not None:  # BIT(1) arrives as one byte
            item["in_stock"] = r["in_stock"] != b"\x00"
        if r["weight_kg"] is not None:
            # pymysql gets a FLOAT as the server prints it (6 digits): the value comes from the generator,
            # as the float the column stores, printed with the shortest digits of that double
            item["weight_kg"] = Decimal(repr(_float32(weights[r["id"]])))
        if r["lab_ratio"] is not None:
            item["lab_ratio"] = r["lab_ratio"]
        if r["barcode"] is not None:
            item["barcode"] = Decimal(r["barcode"])
        if r["released_on"] is not None:
            assert isinstance(r["released_on"], date)
            item["released_on"] = item["GSI1SK"] = r["released_on"].isoformat()
        if r["opens_at"] is not None:
            item["opens_at"] = _time_text(r["opens_at"], 3)  # TIME(3)
        if r["measured_at"] is not None:
            item["measured_at"] = _datetime_text(r["measured_at"], 6)  # DATETIME(6)
        if r["certified_at"] is not None:
            item["certified_at"] = _datetime_text(r["certified_at"], 2)  # TIMESTAMP(2)
        if r["thumbnail"] is not None:
            item["thumbnail"] = bytes(r["thumbnail"])  # empty binary kept: not a key
        if r["attributes"] is not None:
            item["attributes"] = _json(r["attributes"])
        if r["dimensions"] is not None:
            item["dimensions"] = _json(r["dimensions"])
        if r["colors"] is not None and _json(r["colors"]):  # an empty set is left out
            item["colors"] = frozenset(_json(r["colors"]))
        if r["sizes"] is not None and _json(r["sizes"]):
            item["sizes"] = frozenset(_json(r["sizes"]))  # Decimal("2.5") == Decimal("2.50"): one member
        if r["checksums"] is not None and _json(r["checksums"]):
            item["checksums"] = frozenset(base64.b64decode(m) for m in _json(r["checksums"]))
        out[item["SK"]] = item
    return out


def _plain(av: dict[str, Any], seen: set[str]) -> Any:
    """A low-level DynamoDB value in the expectation's form, recording every type tag met."""
    ((t, v),) = av.items()
    seen.add(t)
    if t in ("S", "BOOL"):
        return v
    if t == "N":
        return Decimal(v)
    if t == "B":
        return bytes(v)
    if t == "NULL":
        return None
    if t == "M":
        return {k: _plain(x, seen) for k, x in v.items()}
    if t == "L":
        return [_plain(x, seen) for x in v]
    if t == "SS":
        return frozenset(v)
    if t == "NS":
        return frozenset(Decimal(x) for x in v)
    if t == "BS":
        return frozenset(bytes(x) for x in v)
    raise AssertionError(f"unexpected type {t}")


def _scan(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        resp = client.scan(**kwargs)
        items.extend(resp["Items"])
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def test_every_type_lands_exactly(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, 8, drop=False)
    contract = write_contract(tmp_path, ddb_prefix, tables=("ProductSpecs",))
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=3)
    table = f"{ddb_prefix}ProductSpecs"

    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))

    assert summary.status == "ok", summary.render_text()
    conn = connect(mysql_db)
    try:
        cols = list(COLUMNS["product_specs"])
        weights = {
            row[cols.index("id")]: row[cols.index("weight_kg")] for row in ShopGenerator(8).product_specs()
        }
        expected = _expected(conn, weights)
    finally:
        conn.close()
    assert len(expected) == counts["product_specs"] >= 8

    seen: set[str] = set()
    actual: dict[bytes, dict[str, Any]] = {}
    for raw in _scan(ddb_client, table):
        item = {k: _plain(v, seen) for k, v in raw.items() if k != "_dm_marker"}
        actual[item["SK"]] = item
    assert seen >= ALL_TYPES, f"types never written: {ALL_TYPES - seen}"

    diffs = []
    for sk in sorted(set(actual) | set(expected)):
        got, want = actual.get(sk), expected.get(sk)
        if got is None or want is None:
            diffs.append(f"{sk!r}: {'missing' if got is None else 'unexpected'}")
            continue
        for name in sorted(set(got) | set(want)):
            if got.get(name, "<absent>") != want.get(name, "<absent>"):
                diffs.append(
                    f"{sk!r} {name}: got {got.get(name, '<absent>')!r:.120}, want {want.get(name)!r:.120}"
                )
    assert diffs == []

    # the shapes the sample promises actually went through (so the comparison above covered them)
    by_id = {int(i["spec_id"]): i for i in actual.values()}
    assert set(by_id[2]) == {"PK", "SK", "spec_id", "product_name"}  # NULL everywhere: all absent
    assert len(by_id[1]["thumbnail"]) > 400_000  # the item near 400 KB
    assert by_id[3]["thumbnail"] == b"" and by_id[3]["attributes"] == {} and by_id[3]["dimensions"] == []
    assert not {"colors", "sizes", "checksums"} & set(by_id[3])  # empty sets: absent
    assert by_id[3]["in_stock"] is False and by_id[1]["in_stock"] in (True, False)
    assert str(by_id[4]["lab_ratio"]) == "-1234567890123456789012345678.0123456789"  # 38 digits
    assert by_id[4]["barcode"] == Decimal(18446744073709551615)
    assert by_id[4]["opens_at"] == "-838:59:59.000"
    assert by_id[4]["attributes"]["big"] == Decimal("12345678901234567890123456789.123456789")
    assert by_id[4]["sizes"] == frozenset(
        Decimal(x) for x in ("10", "2.5", "-1", "12345678901234567890123", "1E-5")
    )
    assert by_id[4]["checksums"] == frozenset({b"\x00\x01", b"\xff"})
    assert by_id[5]["opens_at"] == "838:59:59.999"
    tbl = {t.table: t for t in summary.tables}[table]
    assert tbl.written == counts["product_specs"] and tbl.rejected_total == 0
