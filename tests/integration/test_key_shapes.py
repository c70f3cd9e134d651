"""Every source table shape lands completely through the local engine, in key windows where a key exists.

Shapes: composite INT+VARCHAR key, two VARCHARs, a VARCHAR key, a BINARY(16) key, a unique key without
primary key (next to a nullable unique key that must not be chosen), no unique key at all, very sparse
BIGINT UNSIGNED keys; each as a single-entity table and all of them as entities of one multi-entity
table. The expected items are computed here from the source rows (plain SELECTs), not by the reader.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, scan_items

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration

CHUNK = 7

DDL = {
    "ck_iv": "CREATE TABLE ck_iv (parent_id INT NOT NULL, code VARCHAR(20) NOT NULL, label VARCHAR(50) NULL,"
    " PRIMARY KEY (parent_id, code))",
    "ck_vv": "CREATE TABLE ck_vv (a VARCHAR(10) NOT NULL, b VARCHAR(10) NOT NULL, note VARCHAR(20) NULL,"
    " PRIMARY KEY (a, b))",
    "vk": "CREATE TABLE vk (code VARCHAR(40) NOT NULL PRIMARY KEY, qty DECIMAL(30,10) NULL)",
    "bk": "CREATE TABLE bk (id BINARY(16) NOT NULL PRIMARY KEY, name VARCHAR(30) NOT NULL)",
    # no primary key; a nullable unique key sorts first by name and must not be chosen
    "uk": "CREATE TABLE uk (email VARCHAR(60) NOT NULL, nick VARCHAR(20) NULL, n INT NULL,"
    " UNIQUE KEY a_nick (nick), UNIQUE KEY b_email (email))",
    "nok": "CREATE TABLE nok (x INT NULL, y VARCHAR(10) NULL)",
    "sparse": "CREATE TABLE sparse (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v VARCHAR(10) NULL)",
}

SPARSE_IDS = [1, 2, 3, 1000, 10**9, 10**12 + 7, 10**15, 2**53 + 1, 2**62, 2**63 + 5, 2**64 - 1]


def _rows() -> dict[str, list[tuple[Any, ...]]]:
    rows: dict[str, list[tuple[Any, ...]]] = {}
    rows["ck_iv"] = [
        (p, code, None if (p + j) % 5 == 0 else f"label {p}/{j} ✓")
        for p in range(1, 9)
        for j, code in enumerate(["a", "b10", "b9", f"e{p}😀", "zz", "Äx"])
    ]
    rows["ck_vv"] = [(f"a{i % 4}", f"b{i:03d}", f"n{i}" if i % 3 else None) for i in range(30)]
    rows["vk"] = [
        (code, Decimal("12345678901234567890.0123456789") if i % 2 else None)
        for i, code in enumerate(
            ["", " lead", "Zeta", "alpha", "bêta", "😀smile", "x" * 40, "0", "10", "9"] * 1
        )
        if code != ""
    ]
    rows["bk"] = [(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % 2**128).bytes, f"name{i}") for i in range(25)]
    rows["uk"] = [(f"u{i}@example.com", f"nick{i}" if i % 2 else None, i) for i in range(20)]
    rows["nok"] = [(i, f"y{i}") for i in range(17)]
    rows["sparse"] = [(i, f"v{n}") for n, i in enumerate(SPARSE_IDS)]
    return rows


def _load(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    rows = _rows()
    with conn.cursor() as cur:
        for name, ddl in DDL.items():
            cur.execute(ddl)
            marks = ", ".join(["%s"] * len(rows[name][0]))
            cur.executemany(f"INSERT INTO {name} VALUES ({marks})", rows[name])
    return rows


def _attr(name: str, typ: str, table: str, column: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": typ, "source_table": table, "source_column": column, **extra}


def _fmt(fmt: str) -> dict[str, Any]:
    return {"type": "string-format", "format": fmt}


#: per source table: the attributes of its entity (PK first) and the expected item of a source row
ENTITIES: dict[str, list[dict[str, Any]]] = {
    "ck_iv": [
        _attr("PK", "S", "ck_iv", ["parent_id", "code"], transformation=_fmt("IV#{parent_id}#{code}")),
        _attr("label", "S", "ck_iv", "label"),
    ],
    "ck_vv": [
        _attr("PK", "S", "ck_vv", ["a", "b"], transformation=_fmt("VV#{a}#{b}")),
        _attr("note", "S", "ck_vv", "note"),
    ],
    "vk": [_attr("PK", "S", "vk", "code", transformation=_fmt("VK#{code}")), _attr("qty", "N", "vk", "qty")],
    "bk": [_attr("PK", "S", "bk", "name", transformation=_fmt("BK#{name}")), _attr("raw", "B", "bk", "id")],
    "uk": [
        _attr("PK", "S", "uk", "email", transformation=_fmt("UK#{email}")),
        _attr("nick", "S", "uk", "nick"),
        _attr("n", "N", "uk", "n"),
    ],
    "nok": [
        _attr("PK", "S", "nok", ["x", "y"], transformation=_fmt("NK#{x}#{y}")),
        _attr("x", "N", "nok", "x"),
    ],
    "sparse": [_attr("PK", "N", "sparse", "id"), _attr("v", "S", "sparse", "v")],
}

SPARSE_AS_TEXT = [
    _attr("PK", "S", "sparse", "id", transformation=_fmt("SP#{id}")),
    _attr("v", "S", "sparse", "v"),
]


def _expected(source: str, row: tuple[Any, ...]) -> dict[str, Any]:
    """The plain item of one source row, written by hand from the contract above."""
    if source == "ck_iv":
        p, code, label = row
        item = {"PK": f"IV#{p}#{code}", "label": label}
    elif source == "ck_vv":
        a, b, note = row
        item = {"PK": f"VV#{a}#{b}", "note": note}
    elif source == "vk":
        code, qty = row
        item = {"PK": f"VK#{code}", "qty": qty}
    elif source == "bk":
        raw, name = row
        item = {"PK": f"BK#{name}", "raw": raw}
    elif source == "uk":
        email, nick, n = row
        item = {"PK": f"UK#{email}", "nick": nick, "n": Decimal(n)}
    elif source == "nok":
        x, y = row
        item = {"PK": f"NK#{x}#{y}", "x": Decimal(x)}
    else:
        i, v = row
        item = {"PK": Decimal(i), "v": v}
    return {k: v for k, v in item.items() if v is not None}


def _contract(tmp: Path, tables: list[dict[str, Any]]) -> Path:
    path = tmp / "contract.json"
    path.write_text(json.dumps({"tables": tables}, indent=1), encoding="utf-8")
    return path


def _items(ddb_client: Any, table: str) -> dict[Any, dict[str, Any]]:
    return {
        k[0]: {a: v for a, v in item.items() if a != "_dm_marker"}
        for k, item in scan_items(ddb_client, table).items()
    }


def test_every_shape_as_a_single_entity_table(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    rows = _load(mysql_conn)
    tables = [
        {
            "table": f"{ddb_prefix}{src}",
            "type": "single-entity",
            "source_table": src,
            "pk": "PK",
            "attributes": attrs,
        }
        for src, attrs in ENTITIES.items()
    ]
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, tables), chunk_rows=CHUNK)
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert summary.status == "ok", summary.render_text()
    results = {t.table: t for t in summary.tables}
    run = RunDir.open(summary.run_dir)
    views_sql = run.file("views.sql").read_text()
    for src, src_rows in rows.items():
        name = f"{ddb_prefix}{src}"
        expected = {_expected(src, r)["PK"]: _expected(src, r) for r in src_rows}
        assert _items(ddb_client, name) == expected, src
        res = results[name]
        assert (res.read, res.written, res.rejected_total) == (len(src_rows), len(src_rows), 0), src
    # the views carry the row key for keyed shapes, none for the table without a unique key
    assert "`ck_iv`.`parent_id` AS `_dm_k1`,\n  `ck_iv`.`code` AS `_dm_k2`" in views_sql
    assert "`uk`.`email` AS `_dm_k1`" in views_sql and "`uk`.`nick` AS `_dm_k" not in views_sql
    nok_view = views_sql[views_sql.index(f"ddb_{ddb_prefix.lower()}nok_view") :].split(";")[0]
    assert "_dm_k1" not in nok_view


def test_every_shape_as_entities_of_one_multi_entity_table(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    rows = _load(mysql_conn)
    name = f"{ddb_prefix}Mixed"
    table = {
        "table": name,
        "type": "multi-entity",
        "source_table": "ck_iv",
        "pk": "PK",
        "entities": [
            {"entity_type": src.upper(), "source_table": src, "attributes": attrs}
            for src, attrs in {**ENTITIES, "sparse": SPARSE_AS_TEXT}.items()
        ],
    }
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, [table]), chunk_rows=CHUNK)
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert summary.status == "ok", summary.render_text()
    expected = {}
    for src, src_rows in rows.items():
        for r in src_rows:
            item = _expected(src, r)
            if src == "sparse":  # one key type per table: the sparse ids as text here
                item["PK"] = f"SP#{r[0]}"
            expected[item["PK"]] = item
    assert _items(ddb_client, name) == expected
    (res,) = summary.tables
    assert res.read == res.written == len(expected)


def test_key_window_is_a_range_scan_in_every_union_branch(mysql_conn: Any, mysql_db: str) -> None:
    """The reader's window query on a multi-entity view: the entity's branch is an index range scan,
    every other branch is 'Impossible WHERE' (condition pushdown), on a composite and a VARCHAR key."""
    from dynamigrate.contract.load import parse_contract
    from dynamigrate.source.introspect import introspect
    from dynamigrate.source.keys import after_condition, key_plan, upto_condition
    from dynamigrate.sqlgen import generate_views

    _load(mysql_conn)
    with mysql_conn.cursor() as cur:  # enough rows that a full scan is not the cheaper plan
        cur.executemany(
            "INSERT INTO ck_iv VALUES (%s, %s, NULL)",
            [(p, f"k{j}") for p in range(10, 400) for j in range(5)],
        )
        cur.executemany("INSERT INTO vk VALUES (%s, NULL)", [(f"code-{i:05d}",) for i in range(2000)])
        cur.execute("ANALYZE TABLE ck_iv, vk")
    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": "Mixed",
                    "type": "multi-entity",
                    "source_table": "ck_iv",
                    "pk": "PK",
                    "entities": [
                        {"entity_type": src.upper(), "source_table": src, "attributes": ENTITIES[src]}
                        for src in ("ck_iv", "vk", "nok")
                    ],
                }
            ]
        }
    )
    assert contract is not None, problems
    schema = introspect(mysql_conn, mysql_db)
    views = generate_views(contract, None, "mariadb", schema)
    with mysql_conn.cursor() as cur:
        cur.execute(views.statements[0].sql)
    keys = key_plan(contract.tables[0], schema)
    for entity, lo, hi in (("CK_IV", (20, "k1"), (30, "k3")), ("VK", ("code-00100",), ("code-00200",))):
        ek = keys.entity(entity)
        assert ek is not None
        gt, p1 = after_condition(ek.view_columns, lo)
        le, p2 = upto_condition(ek.view_columns, hi)
        with mysql_conn.cursor() as cur:
            cur.execute(
                f"EXPLAIN SELECT * FROM `ddb_mixed_view` WHERE `_dm_entity` = %s AND {gt} AND {le}",
                [entity, *p1, *p2],
            )
            plan = cur.fetchall()
        branches = {r[2]: (r[3], r[5]) for r in plan if r[1] in ("DERIVED", "UNION")}
        src = ek.source_table
        assert branches[src] == ("range", "PRIMARY"), plan
        others = [r for r in plan if r[1] in ("DERIVED", "UNION") and r[2] != src]
        assert others and all(r[-1] == "Impossible WHERE" for r in others), plan


def test_the_plan_says_which_shapes_are_chunked_and_which_are_read_in_one_pass(
    mysql_conn: Any, mysql_db: str, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    _load(mysql_conn)
    tables = [
        {
            "table": f"{ddb_prefix}{src}",
            "type": "single-entity",
            "source_table": src,
            "pk": "PK",
            "attributes": attrs,
        }
        for src, attrs in ENTITIES.items()
    ]
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, tables))
    summary = migrate(cfg, MigrateOptions(dry_run=True))
    reads = {t["table"][len(ddb_prefix) :]: t["reads"] for t in (summary.plan or {})["tables"]}
    assert reads["ck_iv"] == {"ck_iv": "in key windows on ck_iv(parent_id, code), resumable"}
    assert reads["bk"] == {"bk": "in key windows on bk(id), resumable"}
    assert reads["uk"] == {"uk": "in key windows on uk(email), resumable"}
    assert reads["nok"]["nok"].startswith("in one pass (nok has no primary key and no unique NOT NULL key")
    assert "ck_iv in key windows on ck_iv(parent_id, code), resumable" in summary.render_text()


def test_resuming_after_any_window_reads_exactly_the_rest_on_every_key_shape(
    mysql_conn: Any, mysql_db: str, mysql_settings: Any
) -> None:
    """The reader itself: every window boundary is a valid resume point (the checkpoint's JSON key goes
    back into the query), on BINARY, BIGINT UNSIGNED up to 2^64-1, case-insensitive VARCHAR with emoji."""
    from dynamigrate.contract.load import parse_contract
    from dynamigrate.source.introspect import introspect
    from dynamigrate.source.keys import key_from_json, key_plan
    from dynamigrate.source.reader import ViewReader
    from dynamigrate.sqlgen import generate_views

    rows = _load(mysql_conn)
    keyed = ("ck_iv", "ck_vv", "vk", "bk", "uk", "sparse")
    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": f"R{src}",
                    "type": "single-entity",
                    "source_table": src,
                    "pk": "PK",
                    "attributes": ENTITIES[src],
                }
                for src in keyed
            ]
        }
    )
    assert contract is not None, problems
    schema = introspect(mysql_conn, mysql_db)
    with mysql_conn.cursor() as cur:
        for stmt in generate_views(contract, None, "mariadb", schema).statements:
            cur.execute(stmt.sql)
    for table in contract.tables:
        src = table.entities[0].source_table
        key = key_plan(table, schema).entity(table.entities[0].entity_type)
        assert key is not None, src
        expected = sorted(str(_expected(src, r)["PK"]) for r in rows[src])

        def read(after: Any = None, table: Any = table, key: Any = key) -> list[Any]:
            with ViewReader(mysql_settings, table.view_name, database=mysql_db, chunk_rows=4) as reader:
                return list(reader.iter_entity(table.entities[0].entity_type, key, after=after))

        chunks = read()
        got = [str(r["PK"]) for c in chunks for r in c.rows]
        assert sorted(got) == expected, src  # every row exactly once
        assert all(len(c.rows) <= 4 for c in chunks)
        assert chunks[-1].entity_done and not any(c.entity_done for c in chunks[:-1])
        for i, chunk in enumerate(chunks[:-1]):
            assert chunk.resumable and chunk.after_key is not None
            after = key_from_json(json.loads(json.dumps(chunk.after_key)))
            rest = [str(r["PK"]) for c in read(after) for r in c.rows]
            assert sorted(rest) == sorted(str(r["PK"]) for c in chunks[i + 1 :] for r in c.rows), (src, i)
