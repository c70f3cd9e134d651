"""The streaming view reader (source/reader.py) on small hand-made tables and views, with hand-written
expectations: exact rows (as the server prints them), chunk sizes, key windows, resume points and flags,
per key shape (INT, composite INT+VARCHAR, case-insensitive VARCHAR with emoji, BINARY, a unique key
without primary key, no key at all), NULLs in non-key columns, multi-entity views, errors and their
guidance. Fast (one database per module, no DynamoDB): the covering tests of `scripts/mutation.sh reader`.

The views here are written by hand in the shape the generator gives them (``_dm_entity``, ``_dm_k1..``
and the mapped columns), so nothing below comes from the code under test.
"""

from __future__ import annotations

import base64
import gc
import itertools
import logging
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pymysql
import pytest

from dynamigrate.errors import SourceError, TransientSourceError
from dynamigrate.source.keys import EntityKey
from dynamigrate.source.reader import Chunk, ViewReader, _family, iter_view_chunks

pytestmark = pytest.mark.integration

# ---------------------------------------------------------------------------------------- fixtures

INTS = [  # id, name, qty, day, raw: sparse keys, NULLs in every non-key column
    (1, "one", "12345678901234567890.0123456789", "2024-01-02", b"ok"),
    (2, None, None, None, None),
    (3, "three", "-0.5", "1999-12-31", b"\xff\xfe"),
    (5, "five ✓", None, "2024-02-29", "é".encode()),
    (8, None, "0", None, b""),
    (13, "thirteen", "7", "2000-01-01", None),
    (21, "😀", None, None, b"\x00"),
]
#: the rows of INTS as the view prints them (text), keyed by id
INT_ROWS = {
    1: {"name": "one", "qty": "12345678901234567890.0123456789", "day": "2024-01-02", "raw": "ok"},
    2: {"name": None, "qty": None, "day": None, "raw": None},
    3: {"name": "three", "qty": "-0.5000000000", "day": "1999-12-31", "raw": b"\xff\xfe"},
    5: {"name": "five ✓", "qty": None, "day": "2024-02-29", "raw": "é"},
    8: {"name": None, "qty": "0.0000000000", "day": None, "raw": ""},
    13: {"name": "thirteen", "qty": "7.0000000000", "day": "2000-01-01", "raw": None},
    21: {"name": "😀", "qty": None, "day": None, "raw": "\x00"},
}
COMP = [(1, "a"), (1, "B"), (1, "c"), (2, "a"), (2, "b"), (3, ""), (3, "z")]
VC = ["alpha", "Beta", "gamma", "Zed", "10", "9", "😀"]
BIN = [bytes([0, 0, 0, 1]), bytes([0, 0, 1, 0]), bytes([0x7F, 0, 0, 0]), bytes([0x80, 0, 0, 0]), b"\xff" * 4]
UK = [("a@x", None), ("b@x", "bee"), ("c@x", None), ("d@x", "dee")]
NOK = [(None, "p"), (1, None), (1, None), (2, "q"), (None, None), (3, "r"), (4, "s")]

DDL = [
    "CREATE TABLE ints (id INT NOT NULL PRIMARY KEY, name VARCHAR(20) NULL, qty DECIMAL(30,10) NULL,"
    " day DATE NULL, raw VARBINARY(8) NULL)",
    "CREATE TABLE comp (a INT NOT NULL, b VARCHAR(10) NOT NULL, v VARCHAR(10) NULL, PRIMARY KEY (a, b))",
    "CREATE TABLE vc (code VARCHAR(20) NOT NULL PRIMARY KEY) COLLATE utf8mb4_general_ci",
    "CREATE TABLE bin (id BINARY(4) NOT NULL PRIMARY KEY, n INT NOT NULL)",
    "CREATE TABLE uk (email VARCHAR(20) NOT NULL, nick VARCHAR(20) NULL, UNIQUE KEY (nick), UNIQUE KEY (email))",
    "CREATE TABLE nok (x INT NULL, y VARCHAR(10) NULL)",
    "CREATE TABLE d (k INT NOT NULL)",
    "CREATE TABLE empty (id INT NOT NULL PRIMARY KEY)",
    # '%' in table, column and view names (pymysql formats every query that has parameters with '%')
    "CREATE TABLE `pct%t` (`k%1` INT NOT NULL PRIMARY KEY, `v%s` VARCHAR(5) NULL)",
    "INSERT INTO `pct%t` VALUES (1, 'a'), (2, NULL), (3, 'c')",
    "CREATE VIEW `v%pct` AS SELECT 'P' AS _dm_entity, `k%1` AS _dm_k1, `v%s` FROM `pct%t`",
    "CREATE VIEW v_seq AS SELECT seq AS n FROM seq_1_to_1001",
    # rows big enough that the server is still sending when the connection is killed
    "CREATE VIEW v_big AS SELECT seq AS n, REPEAT('x', 2000) AS pad FROM seq_1_to_100000",
    "CREATE VIEW v_empty AS SELECT 'Z' AS _dm_entity, id AS _dm_k1 FROM empty",
    "CREATE TABLE `MixT` (`Id` INT NOT NULL PRIMARY KEY, `Name` VARCHAR(10) NOT NULL)",
    "CREATE VIEW v_ints AS SELECT 'I' AS _dm_entity, id AS _dm_k1, id, name, qty, day, raw FROM ints",
    "CREATE VIEW v_comp AS SELECT 'C' AS _dm_entity, a AS _dm_k1, b AS _dm_k2, v FROM comp",
    "CREATE VIEW v_vc AS SELECT 'V' AS _dm_entity, code AS _dm_k1 FROM vc",
    "CREATE VIEW v_bin AS SELECT 'B' AS _dm_entity, id AS _dm_k1, id AS raw, n FROM bin",
    "CREATE VIEW v_uk AS SELECT 'U' AS _dm_entity, email AS _dm_k1, nick FROM uk",
    "CREATE VIEW v_nok AS SELECT 'N' AS _dm_entity, x, y FROM nok",
    # a multi-entity view: ints keyed, nok without key (NULL key column)
    "CREATE VIEW v_multi AS SELECT 'I' AS _dm_entity, id AS _dm_k1, name AS label FROM ints"
    " UNION ALL SELECT 'N', NULL, y FROM nok",
    # no entity column at all
    "CREATE VIEW v_plain AS SELECT id AS _dm_k1, name FROM ints",
    # two view rows per source row (a to-many join): a window holds more rows than chunk_rows
    "CREATE VIEW v_dup AS SELECT 'D' AS _dm_entity, t.id AS _dm_k1, t.id, c.n FROM ints t"
    " JOIN (SELECT 1 AS n UNION ALL SELECT 2) c",
    # the key column is missing (views generated without the live schema)
    "CREATE VIEW v_nokey AS SELECT 'I' AS _dm_entity, id, name FROM ints",
    # an error the server finds mid-result (row id=5: the subquery returns two rows)
    "CREATE VIEW v_err AS SELECT 'E' AS _dm_entity, id, (SELECT k FROM d WHERE d.k = ints.id) AS s FROM ints",
    # mixed-case names: the key column carries the wrong source column (VARCHAR for an INT), or the right
    # one in another type of the same family (BIGINT for INT)
    "CREATE VIEW `V_Mis` AS SELECT 'M' AS _dm_entity, `Name` AS `_DM_K1`, `Id` FROM `MixT`",
    # a composite key whose first column is right and second is not
    "CREATE VIEW `V_Mis2` AS SELECT 'M' AS _dm_entity, `Id` AS `_DM_K1`, `Id` AS `_DM_K2` FROM `MixT`",
    "CREATE VIEW `V_Ok` AS SELECT 'M' AS _dm_entity, CAST(`Id` AS SIGNED) AS `_DM_K1`, `Id` FROM `MixT`",
]


@pytest.fixture(scope="module")
def db(mysql_settings: Any) -> Iterator[str]:
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": None, "autocommit": True})
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{name}`")
            for sql in DDL:
                cur.execute(sql)
            # an error the server raises mid-result, whose text holds the MySQL password (scrubbed)
            secret = pymysql.converters.escape_string(mysql_settings.password.reveal())
            cur.execute(
                "CREATE FUNCTION boom(i INT) RETURNS INT DETERMINISTIC NO SQL BEGIN IF i = 5 THEN SIGNAL "
                f"SQLSTATE '45000' SET MESSAGE_TEXT = 'row 5 refused by {secret} check'; END IF; RETURN i; END"
            )
            cur.execute("CREATE VIEW v_boom AS SELECT 'E' AS _dm_entity, id, boom(id) AS b FROM ints")
            cur.executemany("INSERT INTO ints VALUES (%s, %s, %s, %s, %s)", INTS)
            cur.executemany("INSERT INTO comp VALUES (%s, %s, %s)", [(a, b, f"{a}{b}") for a, b in COMP])
            cur.executemany("INSERT INTO vc VALUES (%s)", [(v,) for v in VC])
            cur.executemany("INSERT INTO bin VALUES (%s, %s)", [(b, i) for i, b in enumerate(BIN)])
            cur.executemany("INSERT INTO uk VALUES (%s, %s)", UK)
            cur.executemany("INSERT INTO nok VALUES (%s, %s)", NOK)
            cur.executemany("INSERT INTO d VALUES (%s)", [(5,), (5,)])
            cur.executemany("INSERT INTO `MixT` VALUES (%s, %s)", [(1, "x"), (2, "y")])
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture
def settings(mysql_settings: Any, db: str) -> Any:
    """The settings with the module's database as mysql.database."""
    import dataclasses

    return dataclasses.replace(mysql_settings, database=db)


def _key(table: str, *columns: str, entity: str = "E", view_columns: tuple[str, ...] = ()) -> EntityKey:
    return EntityKey(
        entity=entity,
        source_table=table,
        columns=tuple(columns),
        view_columns=view_columns or tuple(f"_dm_k{i + 1}" for i in range(len(columns))),
    )


INT_KEY = _key("ints", "id", entity="I")


def _read(
    settings: Any, view: str, entity: str | None, key: EntityKey | None, n: int, **kw: Any
) -> list[Chunk]:
    with ViewReader(settings, view, chunk_rows=n, keep_bytes=kw.pop("keep_bytes", ())) as reader:
        # bounded: a reader that never reaches the end fails here, not after a CPU timeout
        chunks = list(itertools.islice(reader.iter_entity(entity, key, **kw), 60))
    assert len(chunks) < 60, "the reader never ended the entity"
    assert {c.entity for c in chunks} == {entity}
    return chunks


def _shape(chunks: list[Chunk], column: str = "_dm_k1") -> list[tuple[Any, ...]]:
    """Per chunk: its key values (sorted: the order inside a window is free), resume point and flags."""
    return [
        (
            sorted((r[column] for r in c.rows), key=lambda v: (v is not None, v)),
            c.after_key,
            c.entity_done,
            c.resumable,
        )
        for c in chunks
    ]


def _int_row(i: int, entity: str = "I") -> dict[str, Any]:
    return {"_dm_entity": entity, "_dm_k1": str(i), "id": str(i), **INT_ROWS[i]}


# ------------------------------------------------------------------------------- key windows


def test_integer_key_windows_exact_rows_and_resume_points(settings: Any) -> None:
    chunks = _read(settings, "v_ints", "I", INT_KEY, 3)
    assert [sorted(c.rows, key=lambda r: int(r["id"])) for c in chunks] == [
        [_int_row(1), _int_row(2), _int_row(3)],
        [_int_row(5), _int_row(8), _int_row(13)],
        [_int_row(21)],
    ]
    assert [(c.after_key, c.entity_done, c.resumable, len(c)) for c in chunks] == [
        ([3], False, True, 3),
        ([13], False, True, 3),
        ([13], True, True, 1),
    ]


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [([str(i)], [i]) for i in (1, 2, 3, 5, 8, 13, 21)]),
        (0, [([str(i)], [i]) for i in (1, 2, 3, 5, 8, 13, 21)]),
        (2, [(["1", "2"], [2]), (["3", "5"], [5]), (["13", "8"], [13])]),
        (7, [(["1", "13", "2", "21", "3", "5", "8"], [21])]),
        (50, []),
    ],
)
def test_window_sizes_follow_chunk_rows(settings: Any, n: int, expected: list[Any]) -> None:
    """chunk_rows source rows per bounded window (0 counts as 1); the open last window ends the entity
    and resumes after the last bounded window's key (None when there was none)."""
    chunks = _read(settings, "v_ints", "I", INT_KEY, n)
    assert [(keys, after) for keys, after, _, _ in _shape(chunks)[:-1]] == expected
    assert all(c.resumable and not c.entity_done for c in chunks[:-1])
    last = chunks[-1]
    assert last.entity_done and last.resumable
    assert last.after_key == (expected[-1][1] if expected else None)
    read = [r["id"] for c in chunks for r in c.rows]
    assert sorted(read, key=int) == [str(r[0]) for r in INTS]  # every row exactly once


def test_resume_after_a_key_reads_exactly_the_rest(settings: Any) -> None:
    assert _shape(_read(settings, "v_ints", "I", INT_KEY, 3, after=[3])) == [
        (["13", "5", "8"], [13], False, True),
        (["21"], [13], True, True),
    ]
    # a resume point between keys, and one past the last key
    assert _shape(_read(settings, "v_ints", "I", INT_KEY, 2, after=(4,))) == [
        (["5", "8"], [8], False, True),
        (["13", "21"], [21], False, True),
        ([], [21], True, True),
    ]
    assert _shape(_read(settings, "v_ints", "I", INT_KEY, 2, after=[21])) == [([], [21], True, True)]


def test_composite_int_varchar_key(settings: Any) -> None:
    key = _key("comp", "a", "b", entity="C")
    chunks = _read(settings, "v_comp", "C", key, 2)
    got = [(sorted((r["_dm_k1"], r["_dm_k2"]) for r in c.rows), c.after_key, c.entity_done) for c in chunks]
    assert got == [  # utf8mb4_general_ci: 'a' < 'B' < 'c'
        ([("1", "B"), ("1", "a")], [1, "B"], False),
        ([("1", "c"), ("2", "a")], [2, "a"], False),
        ([("2", "b"), ("3", "")], [3, ""], False),
        ([("3", "z")], [3, ""], True),
    ]
    assert {r["v"] for c in chunks for r in c.rows} == {f"{a}{b}" for a, b in COMP}
    resumed = _read(settings, "v_comp", "C", key, 3, after=[1, "B"])
    assert [sorted((r["_dm_k1"], r["_dm_k2"]) for r in c.rows) for c in resumed] == [
        [("1", "c"), ("2", "a"), ("2", "b")],
        [("3", ""), ("3", "z")],
    ]
    assert [c.after_key for c in resumed] == [[2, "b"], [2, "b"]]


def test_case_insensitive_varchar_key_with_emoji(settings: Any) -> None:
    chunks = _read(settings, "v_vc", "V", _key("vc", "code", entity="V"), 3)
    assert _shape(chunks) == [
        (["10", "9", "alpha"], ["alpha"], False, True),
        (["Beta", "Zed", "gamma"], ["Zed"], False, True),
        (["😀"], ["Zed"], True, True),
    ]


def test_binary_key_windows_and_checkpoint_json(settings: Any) -> None:
    key = _key("bin", "id", entity="B")
    chunks = _read(settings, "v_bin", "B", key, 2, keep_bytes={"raw"})
    assert [sorted(r["raw"] for r in c.rows) for c in chunks] == [BIN[0:2], BIN[2:4], BIN[4:]]
    b64 = [{"b64": base64.b64encode(b).decode()} for b in BIN]
    assert [c.after_key for c in chunks] == [[b64[1]], [b64[3]], [b64[3]]]
    resumed = _read(settings, "v_bin", "B", key, 2, keep_bytes={"raw"}, after=[BIN[2]])
    assert [sorted(r["n"] for r in c.rows) for c in resumed] == [["3", "4"], []]


def test_unique_key_without_primary_key(settings: Any) -> None:
    chunks = _read(settings, "v_uk", "U", _key("uk", "email", entity="U"), 3)
    assert [sorted((r["_dm_k1"], r["nick"]) for r in c.rows) for c in chunks] == [
        [("a@x", None), ("b@x", "bee"), ("c@x", None)],
        [("d@x", "dee")],
    ]
    assert [(c.after_key, c.entity_done) for c in chunks] == [(["c@x"], False), (["c@x"], True)]


def test_a_window_with_more_view_rows_than_chunk_rows(settings: Any) -> None:
    """A bounded window is one chunk however many view rows its source rows make; the open last window
    is streamed in pieces of chunk_rows, only the last of which is a resume point."""
    chunks = _read(settings, "v_dup", "D", _key("ints", "id", entity="D"), 4)
    assert [sorted(r["id"] for r in c.rows) for c in chunks[:1]] == [["1", "1", "2", "2", "3", "3", "5", "5"]]
    assert [(c.after_key, c.entity_done, c.resumable) for c in chunks[:1]] == [([5], False, True)]
    rest = chunks[1:]  # ids 8, 13, 21 twice: 6 rows in pieces of 4
    assert sorted(len(c) for c in rest) == [2, 4] and len(rest[0]) == 4
    assert sorted(r["id"] for c in rest for r in c.rows) == ["13", "13", "21", "21", "8", "8"]
    assert [(c.after_key, c.entity_done, c.resumable) for c in rest] == [
        (None, False, False),
        ([5], True, True),
    ]


def test_an_empty_keyed_entity_is_one_empty_final_chunk(settings: Any) -> None:
    assert _shape(_read(settings, "v_empty", "Z", _key("empty", "id", entity="Z"), 2)) == [
        ([], None, True, True)
    ]
    # an entity with no row in the windows of its (non-empty) source table: empty windows, then the end
    assert _shape(_read(settings, "v_multi", "NOBODY", _key("ints", "id", entity="NOBODY"), 2)) == [
        ([], [2], False, True),
        ([], [5], False, True),
        ([], [13], False, True),
        ([], [13], True, True),
    ]


# ----------------------------------------------------------------------- multi-entity and entities


def test_multi_entity_view_reads_one_entity_or_all(settings: Any) -> None:
    chunks = _read(settings, "v_multi", "I", INT_KEY, 4)
    assert _shape(chunks, "label") == [
        ([None, "five ✓", "one", "three"], [5], False, True),
        ([None, "thirteen", "😀"], [5], True, True),
    ]
    assert {r["_dm_entity"] for c in chunks for r in c.rows} == {"I"}
    nok = _read(settings, "v_multi", "N", None, 4)
    assert [(len(c), c.entity_done, c.resumable) for c in nok] == [(4, False, False), (3, True, False)]
    assert sorted(r["label"] or "" for c in nok for r in c.rows) == sorted(y or "" for _, y in NOK)
    everything = _read(settings, "v_multi", None, None, 100)
    assert sorted((r["_dm_entity"], r["_dm_k1"] or "") for c in everything for r in c.rows) == sorted(
        [("I", str(i[0])) for i in INTS] + [("N", "")] * len(NOK)
    )


def test_count_per_entity_and_for_views_without_an_entity_column(settings: Any) -> None:
    with ViewReader(settings, "v_multi") as reader:
        assert (reader.count("I"), reader.count("N"), reader.count(None), reader.count("X")) == (7, 7, 14, 0)
    with ViewReader(settings, "v_plain") as reader:
        assert (reader.count("I"), reader.count(None)) == (7, 7)
        # no entity column: the entity filter cannot apply, the whole view is the entity
        assert sorted(r["name"] or "" for c in reader.iter_entity("X", INT_KEY) for r in c.rows) == sorted(
            r[1] or "" for r in INTS
        )


# ----------------------------------------------------------------------- one pass (no row key)


def test_no_key_is_one_streaming_pass_in_chunks(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="dynamigrate.source.reader"):
        chunks = _read(settings, "v_nok", "N", None, 3)
    assert [len(c) for c in chunks] == [3, 3, 1]
    assert [(c.after_key, c.entity_done, c.resumable) for c in chunks] == [
        (None, False, False),
        (None, False, False),
        (None, True, False),
    ]
    rows = sorted(((r["x"] or ""), (r["y"] or "")) for c in chunks for r in c.rows)
    assert rows == sorted(("" if x is None else str(x), y or "") for x, y in NOK)
    assert [r.getMessage() for r in caplog.records] == [
        "view v_nok entity N: no row key (no primary key, no unique NOT NULL key): read in one streaming "
        "pass (resume restarts the entity)"
    ]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dynamigrate.source.reader"):
        whole = _read(settings, "v_nok", None, None, 7)
    assert [(len(c), c.entity_done, c.resumable) for c in whole] == [(7, True, False)]
    assert [r.getMessage() for r in caplog.records] == [
        "view v_nok: no row key (no primary key, no unique NOT NULL key): read in one streaming pass "
        "(resume restarts the entity)"
    ]


def test_no_key_empty_entity_is_one_empty_final_chunk(settings: Any) -> None:
    chunks = _read(settings, "v_multi", "NOBODY", None, 3)
    assert [(c.rows, c.after_key, c.entity_done, c.resumable) for c in chunks] == [([], None, True, False)]


def test_a_view_without_the_key_columns_is_read_in_one_pass_and_says_so(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    key = _key("ints", "id", "name", entity="I")
    with caplog.at_level(logging.WARNING, logger="dynamigrate.source.reader"):
        chunks = _read(settings, "v_nokey", "I", key, 4)
    assert [(len(c), c.after_key, c.entity_done, c.resumable) for c in chunks] == [
        (4, None, False, False),
        (3, None, True, False),
    ]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "view v_nokey lacks the key column(s) _dm_k1, _dm_k2 of ints (views generated without the live "
        "schema, or stale): entity I is read in one pass; regenerate and apply the views to read it in "
        "resumable chunks"
    ]


# ----------------------------------------------------------------------------- values


def test_percent_signs_in_table_column_and_view_names(settings: Any) -> None:
    key = EntityKey(entity="P", source_table="pct%t", columns=("k%1",), view_columns=("_dm_k1",))
    chunks = _read(settings, "v%pct", "P", key, 2)
    assert [(sorted((r["_dm_k1"], r["v%s"] or "") for r in c.rows), c.after_key) for c in chunks] == [
        ([("1", "a"), ("2", "")], [2]),
        ([("3", "c")], [2]),
    ]
    assert [len(c) for c in _read(settings, "v%pct", "P", None, 2)] == [2, 1]
    with ViewReader(settings, "v%pct") as reader:
        assert reader.count("P") == 3


def test_values_come_as_the_server_prints_them_and_binary_per_keep_bytes(settings: Any) -> None:
    plain = {r["id"]: r for c in _read(settings, "v_ints", "I", None, 10) for r in c.rows}
    assert plain == {str(i): _int_row(i) for i in INT_ROWS}
    kept = {
        r["id"]: r["raw"]
        for c in _read(settings, "v_ints", "I", None, 10, keep_bytes=["raw"])
        for r in c.rows
    }
    assert kept == {str(r[0]): r[4] for r in INTS}


def test_key_type_family_check(settings: Any) -> None:
    key = _key("MixT", "Id", entity="M", view_columns=("_DM_K1",))
    # BIGINT carrying an INT key: the same family, read in windows
    chunks = _read(settings, "V_Ok", "M", key, 1)
    assert [(sorted(r["Id"] for r in c.rows), c.after_key) for c in chunks] == [
        (["1"], [1]),
        (["2"], [2]),
        ([], [2]),
    ]
    with pytest.raises(SourceError) as info:
        _read(settings, "V_Mis", "M", key, 1)
    err = info.value
    assert err.message == (
        "view V_Mis does not match the contract: its key column _DM_K1 is varchar, but it should hold "
        "MixT.Id (int) for entity M; reading it would find no rows"
    )
    assert err.where == {"view": "V_Mis", "table": "MixT"}
    composite = _key("MixT", "Id", "Name", entity="M", view_columns=("_DM_K1", "_DM_K2"))
    with pytest.raises(SourceError) as second:
        _read(settings, "V_Mis2", "M", composite, 1)
    assert second.value.message == (
        "view V_Mis2 does not match the contract: its key column _DM_K2 is int, but it should hold "
        "MixT.Name (varchar) for entity M; reading it would find no rows"
    )
    assert err.hint == (
        "the view was generated for another contract or schema: regenerate and apply the views (run migrate "
        "without --skip-views, or `dynamigrate views generate --schema-from-db` then `views apply`)"
    )


@pytest.mark.parametrize(
    ("data_type", "family"),
    [
        ("bigint", "number"),
        ("decimal", "number"),
        ("double", "float"),
        ("varchar", "text"),
        ("enum", "text"),
        ("varbinary", "binary"),
        ("datetime", "temporal"),
        ("geometry", "geometry"),
    ],
)
def test_type_families(data_type: str, family: str) -> None:
    assert _family(data_type) == family


# ----------------------------------------------------------------------------- connections


def test_connections_stream_text_and_close(settings: Any, db: str, mysql_settings: Any) -> None:
    reader = ViewReader(mysql_settings, "v_ints", database=db, chunk_rows=2)
    with reader.conn.cursor() as cur:
        cur.execute("SELECT @@SESSION.net_write_timeout, 7, DATABASE()")
        assert list(cur.fetchall()) == [("3600", "7", db)]  # text: no decoders
    first = [c.after_key for c in reader.iter_entity("I", INT_KEY)]
    conn, key_conn = reader.conn, reader.key_conn
    reader.close()
    assert not conn.open and not key_conn.open
    # a closed reader reopens its connections
    assert [c.after_key for c in reader.iter_entity("I", INT_KEY)] == first == [[2], [5], [13], [13]]
    reader.close()


def test_a_given_connection_is_used_and_left_open(settings: Any, db: str) -> None:
    from dynamigrate.source.reader import open_connection

    conn = open_connection(settings, db)
    try:
        with ViewReader(settings, "v_ints", connection=conn, database="no_such_db_here") as reader:
            assert reader.conn is conn
            assert reader.count("I") == 7
        assert conn.open
    finally:
        conn.close()


def test_close_survives_connections_that_are_already_closed(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    reader = ViewReader(settings, "v_ints")
    assert reader.count() == 7 and reader.keyed(INT_KEY)
    reader.conn.close()
    reader.key_conn.close()
    with caplog.at_level(logging.DEBUG, logger="dynamigrate.source.reader"):
        reader.close()
    assert [(r.getMessage(), bool(r.exc_info)) for r in caplog.records] == [
        ("closing reader connection failed", True),
        ("closing the key connection failed", True),
    ]
    assert reader.count() == 7  # reopened


def test_iter_view_chunks_passes_every_setting(settings: Any, db: str, mysql_settings: Any) -> None:
    chunks = list(
        iter_view_chunks(
            mysql_settings,
            "v_bin",
            "B",
            _key("bin", "id", entity="B"),
            2,
            after=[BIN[0]],
            database=db,
            keep_bytes=["raw"],
        )
    )
    assert [sorted(r["raw"] for r in c.rows) for c in chunks] == [BIN[1:3], BIN[3:], []]
    assert [c.entity_done for c in chunks] == [False, False, True]
    whole = list(iter_view_chunks(settings, "v_multi"))
    assert [len(c) for c in whole] == [14]


# ----------------------------------------------------------------------------- errors


def test_an_error_mid_result_is_transient_and_says_resume(settings: Any) -> None:
    with pytest.raises(SourceError) as info:
        _read(settings, "v_err", "E", None, 2)
    err = info.value
    assert isinstance(err, TransientSourceError)
    assert err.message == "reading view failed while streaming: Subquery returns more than 1 row"
    assert err.where == {"mysql_errno": 1242, "view": "v_err"}
    assert err.hint == (
        "the connection dropped or the server gave up the query; rerun with --resume to continue from the "
        "last checkpoint"
    )


def test_a_view_error_without_a_known_errno_gets_the_regenerate_hint(settings: Any) -> None:
    name = "v" * 70
    with ViewReader(settings, name) as reader, pytest.raises(SourceError) as info:
        reader.count()
    err = info.value
    assert not err.transient
    assert err.message == f"reading view failed: Incorrect table name '{name}'"
    assert err.where == {"mysql_errno": 1103, "view": name}
    assert err.hint == (
        "regenerate and apply the views (`dynamigrate views apply`) and check that the server is reachable; "
        "the contract may not match the schema"
    )


def test_a_missing_view_keeps_the_errno_hint(settings: Any) -> None:
    with ViewReader(settings, "v_gone") as reader, pytest.raises(SourceError) as info:
        list(reader.iter_entity("I", INT_KEY))
    assert info.value.message == f"reading view failed: Table '{settings.database}.v_gone' doesn't exist"
    assert info.value.hint is not None and info.value.hint.startswith("table missing")


@pytest.mark.parametrize(
    ("table", "errno", "hint"),
    [
        ("t" * 70, 1103, "check that the source table exists and is readable; rerun with --resume"),
        ("gone", 1146, "table missing"),
    ],
)
def test_key_range_errors_name_the_source_table(settings: Any, table: str, errno: int, hint: str) -> None:
    with ViewReader(settings, "v_ints") as reader, pytest.raises(SourceError) as info:
        list(reader.iter_entity("I", _key(table, "id", entity="I")))
    err = info.value
    assert err.message.startswith("reading the key range of the source table failed: ")
    assert err.where == {"mysql_errno": errno, "table": table, "view": "v_ints"}
    assert err.hint is not None and err.hint.startswith(hint)


def test_errors_never_show_the_mysql_password(settings: Any) -> None:
    secret = settings.password.reveal()
    with pytest.raises(TransientSourceError) as info:
        _read(settings, "v_boom", "E", None, 2)
    assert info.value.message == "reading view failed while streaming: row 5 refused by *** check"
    assert info.value.where == {"mysql_errno": 1644, "view": "v_boom"}
    with ViewReader(settings, f"v_{secret}") as reader, pytest.raises(SourceError) as missing:
        reader.count()
    assert missing.value.message == f"reading view failed: Table '{settings.database}.v_***' doesn't exist"
    with ViewReader(settings, "v_ints") as reader, pytest.raises(SourceError) as bound:
        list(reader.iter_entity("I", _key(f"t_{secret}", "id", entity="I")))
    assert bound.value.message == (
        f"reading the key range of the source table failed: Table '{settings.database}.t_***' doesn't exist"
    )


def test_default_chunk_rows_is_1000(settings: Any) -> None:
    assert [len(c) for c in iter_view_chunks(settings, "v_seq")] == [1000, 1]
    with ViewReader(settings, "v_seq") as reader:
        assert [len(c) for c in reader.iter_entity(None)] == [1000, 1]
    # the entity filter reaches the reader
    chunks = list(iter_view_chunks(settings, "v_multi", "I", INT_KEY))
    assert [(len(c), c.entity, c.entity_done) for c in chunks] == [(7, "I", True)]


def _kill(settings: Any, conn: Any) -> None:
    other = pymysql.connect(**{**settings.connect_kwargs(), "autocommit": True})
    try:
        with other.cursor() as cur:
            cur.execute(f"KILL {conn.thread_id()}")
    finally:
        other.close()


class _Messages(logging.Handler):
    """Keeps (message, has exc_info) only: a kept record would keep its traceback's frames alive."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[str, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record.getMessage(), bool(record.exc_info)))


def test_a_connection_dropped_mid_result_is_a_transient_error(settings: Any) -> None:
    """The reader's connection killed while the server streams: our transient error (resume), not the
    AttributeError pymysql raises closing the cursor of a connection it force-closed; and nothing of the
    dead connection fails later, at garbage collection ('Exception ignored in ... __del__' on stderr)."""
    logger = logging.getLogger("dynamigrate.source.reader")
    messages = _Messages()
    unraisable: list[str] = []
    hook, level, propagate = sys.unraisablehook, logger.level, logger.propagate
    sys.unraisablehook = lambda u: unraisable.append(f"{u.exc_type.__name__} in {u.object!r}")
    logger.addHandler(messages)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False  # pytest's capturing handlers keep records (and their tracebacks)
    try:
        reader = ViewReader(settings, "v_big", chunk_rows=100)
        chunks = reader.iter_entity(None)
        assert len(next(chunks)) == 100
        _kill(settings, reader.conn)
        try:
            list(itertools.islice(chunks, 2000))
        except TransientSourceError as exc:
            message, where = exc.message, exc.where
        else:
            raise AssertionError("no error after the connection was killed")
        reader.close()
        del chunks, reader
        gc.collect()
    finally:
        sys.unraisablehook = hook
        logger.removeHandler(messages)
        logger.setLevel(level)
        logger.propagate = propagate
    assert message.startswith("reading view failed while streaming: Lost connection"), message
    assert where == {"mysql_errno": 2013, "view": "v_big"}
    assert [m for m in messages.seen if m[0].startswith("closing")] == [
        ("closing a broken cursor failed", True)
    ]
    assert unraisable == []


def test_connections_dropped_between_queries_are_transient_errors(settings: Any) -> None:
    with ViewReader(settings, "v_ints", chunk_rows=3) as reader:
        windows = reader.iter_entity("I", INT_KEY)
        assert len(next(windows)) == 3
        _kill(settings, reader.conn)
        with pytest.raises(TransientSourceError) as view:
            next(windows)
    assert view.value.message.startswith("reading view failed: ")
    assert view.value.where["mysql_errno"] in (2006, 2013) and view.value.where["view"] == "v_ints"
    with ViewReader(settings, "v_ints") as reader:
        assert reader.count() == 7
        _kill(settings, reader.key_conn)
        with pytest.raises(TransientSourceError) as types:
            reader.keyed(INT_KEY)
    assert types.value.message.startswith("reading view failed: ")
    assert types.value.where["mysql_errno"] in (2006, 2013) and types.value.where["view"] == "v_ints"
