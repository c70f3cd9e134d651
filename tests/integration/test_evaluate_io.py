"""The reference evaluator's reads on MariaDB (evaluate/engine.py): keyset chunks over single, composite and
no keys, batched IN lists (IN_BATCH lowered so every fetch takes several), grouped related rows with
order_by, primary-key tie-break and limit, streamed aggregates, a join-condition part over both rows,
gates, LEFT JOIN semantics (the all-NULL row), to-one joins that match several rows, keys lookups
(NULL-safe on keyless tables), filters, counts and samples. Small tables, every item written by hand
from docs/contract-format.md. One database for the module, so the whole file runs in a few seconds
(it is a covering test of scripts/mutation.sh evaluate)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pymysql
import pytest

from dynamigrate.contract import parse_contract
from dynamigrate.evaluate import EvaluationUnsupported, Evaluator
from dynamigrate.evaluate import engine as engine_module
from dynamigrate.evaluate.schema import Column, read_table

pytestmark = pytest.mark.integration

SCHEMA = [
    "CREATE TABLE people (id INT PRIMARY KEY, code VARCHAR(10) NULL, name VARCHAR(40) NULL, seen DATETIME(3) NULL,"
    " since DATE NULL)",
    "CREATE TABLE pets (id INT PRIMARY KEY, owner_id INT NULL, kind VARCHAR(10) NULL, name VARCHAR(20) NULL,"
    " age INT NULL, weight DECIMAL(6,2) NULL, born DATE NULL)",
    "CREATE TABLE kinds (code VARCHAR(10) PRIMARY KEY, label VARCHAR(20) NULL)",
    "CREATE TABLE visits (pet_id INT NOT NULL, n INT NOT NULL, vet VARCHAR(10) NULL, PRIMARY KEY (pet_id, n))",
    "CREATE TABLE notes (person_id INT NULL, body VARCHAR(20) NULL)",
    "CREATE TABLE tags (tag VARCHAR(10) PRIMARY KEY, pet_id INT NULL)",
    "CREATE TABLE nums (n INT PRIMARY KEY, label VARCHAR(10) NULL)",
    "CREATE TABLE refs (id INT PRIMARY KEY, r VARCHAR(10) NULL)",
    "INSERT INTO nums VALUES (0, 'zero'), (10, 'ten'), (11, 'eleven'), (12, 'twelve')",
    "INSERT INTO refs VALUES (1, '010'), (2, ' 11'), (3, 'x'), (4, '12abc'), (5, NULL), (6, '1e1'), (7, 's')",
    "INSERT INTO kinds VALUES ('ß', 'Eszett')",
    # clustered in descending order: the server returns 10, 9, 2; the contract's default order is ascending
    "CREATE TABLE toys (id INT NOT NULL, pet_id INT NULL, name VARCHAR(10) NULL, PRIMARY KEY (id DESC))",
    "INSERT INTO toys VALUES (9, 10, 'nine'), (10, 10, 'ten'), (2, 10, 'two'), (3, 13, 'three')",
    "CREATE TABLE promo (id INT PRIMARY KEY, `off%` INT NULL, code VARCHAR(10) NULL)",
    "INSERT INTO promo VALUES (1, 10, 'A1'), (2, 20, 'B2'), (3, 30, 'A3'), (4, NULL, 'A4')",
    "CREATE TABLE bkeys (k VARBINARY(4) PRIMARY KEY, label VARCHAR(10) NULL)",
    "INSERT INTO bkeys VALUES (X'6162', 'ab'), (X'6364', 'cd')",
    "CREATE TABLE brefs (id INT PRIMARY KEY, bk VARBINARY(4) NULL)",
    "INSERT INTO brefs VALUES (1, X'6364'), (2, X'6162'), (3, X'00')",
    "CREATE TABLE uq (id INT PRIMARY KEY, a INT NOT NULL, b INT NULL, c VARCHAR(5) COLLATE utf8mb4_bin NOT NULL,"
    " UNIQUE KEY ua (a), UNIQUE KEY ub (b), KEY kc (c))",
    "CREATE TABLE mc (Id INT PRIMARY KEY, Code INT NOT NULL, UNIQUE KEY uc (Code))",
    "CREATE TABLE walks (id INT PRIMARY KEY, pet_id INT NULL)",
    "INSERT INTO walks VALUES (1, NULL), (2, 10), (3, 13), (4, 14), (5, 12)",
    "CREATE TABLE labels (code VARCHAR(5) COLLATE utf8mb4_bin PRIMARY KEY, pet_id INT NULL)",
    "INSERT INTO labels VALUES ('a', 10), ('B', 10), ('A', 13)",
    "INSERT INTO tags VALUES ('B', 10), ('a', 10), ('c ', 13)",
    "INSERT INTO people VALUES (1, 'a', 'Ann', '2024-01-02 03:04:05.120', '2020-01-01'),"
    " (2, 'B', 'Bob', NULL, '2024-06-01'), (3, NULL, 'Cy', NULL, NULL), (4, 'zz', 'Dee', '2024-01-01 00:00:00.000', NULL)",
    "INSERT INTO pets VALUES (10, 1, 'DOG', 'Rex', 3, 10.50, '2023-01-01'), (11, 1, 'cat', 'Tom', 5, 2.25, '2025-01-01'),"
    " (12, 1, 'dog', 'Ace', 5, NULL, NULL), (13, 2, 'CAT', 'Kit', 1, 3.00, '2024-07-01'),"
    " (14, NULL, 'dog', 'Stray', NULL, NULL, NULL)",
    "INSERT INTO kinds VALUES ('dog', 'Dog'), ('CAT', 'Cat')",
    "INSERT INTO visits VALUES (10, 1, 'x'), (10, 2, 'y'), (13, 1, 'z')",
    "INSERT INTO notes VALUES (1, 'n1'), (1, 'n1'), (NULL, NULL), (2, 'n2')",
]


@pytest.fixture(scope="module")
def factory(mysql_settings: Any) -> Iterator[Callable[[], Any]]:
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    kwargs = {**mysql_settings.connect_kwargs(), "autocommit": True}
    admin = pymysql.connect(**kwargs)
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci")
            cur.execute(f"USE `{name}`")
            for stmt in SCHEMA:
                cur.execute(stmt)
        yield lambda: pymysql.connect(**{**kwargs, "database": name})
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.fixture(autouse=True)
def _small_in_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "IN_BATCH", 2)  # related fetches take several SELECTs of two values


def _contract(source: str, attrs: list[dict[str, Any]], **extra: Any) -> Any:
    table = {
        "table": "Tab",
        "type": "single-entity",
        "source_table": source,
        "pk": "PK",
        "attributes": attrs,
        **extra,
    }
    contract, problems = parse_contract({"tables": [table]})
    assert contract is not None and not problems.errors, problems
    return contract


def _a(source: str, name: str, atype: str = "S", column: str = "id", **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": atype, "source_table": source, "source_column": column, **kw}


def S(text: str) -> dict[str, str]:
    return {"S": text}


def N(text: str) -> dict[str, str]:
    return {"N": text}


OWNED = {"target_table": "pets", "join_condition": "pets.owner_id = people.id"}
PEOPLE = _contract(
    "people",
    [
        _a("people", "PK"),
        _a("people", "seen", column="seen"),
        _a("people", "pets", "L", join={"type": "json-construction", **OWNED, "construction": {
            "type": "array", "select_columns": {"n": "name", "w": "weight"}, "order_by": "age DESC", "limit": 2}}),
        _a("people", "byname", "S", join={"type": "json-construction", **OWNED, "construction": {
            "type": "array", "select_columns": {"n": "name"}, "order_by": "kind, name DESC"}}),
        _a("people", "first", "M", join={"type": "json-construction", **OWNED, "construction": {
            "type": "object", "select_columns": {"n": "name"}}}),
        _a("people", "npets", "N", calculation={"type": "aggregate", "operation": "COUNT", **OWNED, "select_column": "*"}),
        _a("people", "wsum", "S", calculation={"type": "aggregate", "operation": "SUM", **OWNED, "select_column": "weight"}),
        _a("people", "oldest", "N", calculation={"type": "aggregate", "operation": "MAX", **OWNED, "select_column": "age"}),
        _a("people", "kinds", "N", calculation={"type": "aggregate", "operation": "COUNT", **OWNED,
                                                "select_column": "DISTINCT kind"}),
        _a("people", "recent", "N", calculation={"type": "aggregate", "operation": "COUNT", "target_table": "pets",
           "join_condition": "pets.owner_id = people.id AND pets.born >= people.since", "select_column": "id"}),
        _a("people", "note", "S", join={"type": "foreign-key", "target_table": "notes",
                                       "join_condition": "notes.person_id = people.id", "select_column": "body"}),
    ],
)  # fmt: skip
PEOPLE_ITEMS = {
    (1,): {
        "PK": S("1"),
        "seen": S("2024-01-02 03:04:05.120"),
        # age DESC, ties (Tom 11, Ace 12, both 5) by the primary key, then the first two
        "pets": {"L": [{"M": {"n": S("Tom"), "w": N("2.25")}}, {"M": {"n": S("Ace"), "w": {"NULL": True}}}]},
        # kind by the collation (cat < DOG = dog), then name DESC
        "byname": S('[{"n": "Tom"},{"n": "Rex"},{"n": "Ace"}]'),
        "first": {"M": {"n": S("Rex")}},  # the first related row by primary key
        "npets": N("3"),
        "wsum": S("12.75"),
        "oldest": N("5"),
        "kinds": N("2"),  # DOG and dog are one kind under a case-insensitive collation
        "recent": N("2"),  # Rex (2023) and Tom (2025) were born after 2020-01-01; Ace has no date
        "note": S("n1"),
    },
    (2,): {
        "PK": S("2"),
        "pets": {"L": [{"M": {"n": S("Kit"), "w": N("3")}}]},
        "byname": S('[{"n": "Kit"}]'),
        "first": {"M": {"n": S("Kit")}},
        "npets": N("1"),
        "wsum": S("3.00"),
        "oldest": N("1"),
        "kinds": N("1"),
        "recent": N("1"),
        "note": S("n2"),
    },
    (3,): {
        "PK": S("3"),
        "pets": {"L": []},
        "byname": S("[]"),
        "npets": N("0"),
        "kinds": N("0"),
        "recent": N("0"),
    },
    (4,): {
        "PK": S("4"),
        "seen": S("2024-01-01 00:00:00.000"),
        "pets": {"L": []},
        "byname": S("[]"),
        "npets": N("0"),
        "kinds": N("0"),
        "recent": N("0"),
    },
}


@pytest.mark.parametrize("chunk_rows", [1, 3, 1000])
def test_related_rows_grouped_ordered_limited_and_folded(factory: Callable[[], Any], chunk_rows: int) -> None:
    opened: list[Any] = []

    def tracked() -> Any:
        opened.append(factory())
        return opened[-1]

    with Evaluator(tracked, PEOPLE, "Tab") as ev:
        rows = list(ev.iter_items(None, chunk_rows))
    # the aggregates stream on a second connection, closed with the evaluator
    assert len(opened) == 2 and not any(conn.open for conn in opened)
    assert [r.source_key for r in rows] == [(1,), (2,), (3,), (4,)]
    assert {r.source_key: r.item for r in rows} == PEOPLE_ITEMS
    # the to-one join to the keyless notes matched two rows for person 1: said, not hidden
    assert [r.notes for r in rows] == [
        ("to-one join to notes matched 2 rows; the first by primary key is used",),
        (),
        (),
        (),
    ]


PETS = _contract(
    "pets",
    [
        _a("pets", "PK", "N"),
        _a("pets", "kind", join={"type": "lookup-table", "target_table": "kinds", "join_condition": "kinds.code = pets.kind",
                                "select_column": "label"}),
        _a("pets", "owner", join={"type": "foreign-key", "target_table": "people",
                                 "join_condition": "people.id = pets.owner_id", "select_column": "people.name"}),
        _a("pets", "cond", join={"type": "conditional", "target_table": "people", "join_condition": "people.id = pets.owner_id",
                                "condition": "pets.age > 2", "select_column": "people.name", "else_value": "'young'"}),
        _a("pets", "gated", join={"type": "foreign-key", "target_table": "people",
                                 "join_condition": "people.id = pets.owner_id AND pets.age > 2", "select_column": "name"}),
        _a("pets", "orphan", join={"type": "conditional", "target_table": "people", "join_condition": "people.id = pets.owner_id",
                                  "condition": "people.id IS NULL", "select_column": "'orphan'", "else_value": "'owned'"}),
        _a("pets", "code", join={"type": "chain", "chain_separator": "/", "joins": [
            {"target_table": "people", "join_condition": "people.id = pets.owner_id", "select_column": "people.code"},
            {"target_table": "kinds", "join_condition": "kinds.code = people.code", "select_column": "kinds.label"}]}),
        _a("pets", "visits", "N", calculation={"type": "aggregate", "operation": "COUNT", "target_table": "visits",
                                               "join_condition": "visits.pet_id = pets.id", "select_column": "*"}),
        _a("pets", "since", join={"type": "foreign-key", "target_table": "people", "select_column": "people.name",
                                 "join_condition": "people.id = pets.owner_id AND pets.born >= people.since"}),
        _a("pets", "tags", "L", join={"type": "json-construction", "target_table": "tags",
                                     "join_condition": "tags.pet_id = pets.id",
                                     "construction": {"type": "array", "select_columns": {"t": "tag"}}}),
    ],
)  # fmt: skip
NO_TAGS = {"L": []}
PETS_ITEMS = {
    # 'since': the owner only when the pet was born on or after the owner's 'since' (a part over both rows);
    # tags in primary-key order by the collation: 'a' before 'B'
    (10,): {"PK": N("10"), "kind": S("Dog"), "owner": S("Ann"), "cond": S("Ann"), "gated": S("Ann"), "orphan": S("owned"),
            "code": S("a"), "visits": N("2"), "since": S("Ann"), "tags": {"L": [{"M": {"t": S("a")}}, {"M": {"t": S("B")}}]}},
    (11,): {"PK": N("11"), "kind": S("Cat"), "owner": S("Ann"), "cond": S("Ann"), "gated": S("Ann"), "orphan": S("owned"),
            "code": S("a"), "visits": N("0"), "since": S("Ann"), "tags": NO_TAGS},
    (12,): {"PK": N("12"), "kind": S("Dog"), "owner": S("Ann"), "cond": S("Ann"), "gated": S("Ann"), "orphan": S("owned"),
            "code": S("a"), "visits": N("0"), "tags": NO_TAGS},
    (13,): {"PK": N("13"), "kind": S("Cat"), "owner": S("Bob"), "cond": S("young"), "orphan": S("owned"), "code": S("B"),
            "visits": N("1"), "since": S("Bob"), "tags": {"L": [{"M": {"t": S("c ")}}]}},
    # no owner: the foreign keys are absent, the conditional sees the all-NULL row
    (14,): {"PK": N("14"), "kind": S("Dog"), "cond": S("young"), "orphan": S("orphan"), "visits": N("0"), "tags": NO_TAGS},
}  # fmt: skip


def test_to_one_joins_in_batches(factory: Callable[[], Any]) -> None:
    with Evaluator(factory, PETS, "Tab") as ev:
        rows = {r.source_key: r.item for r in ev.iter_items(None, 2)}
        assert rows == PETS_ITEMS
        # keys lookup: the order asked for, unknown keys left out, numbers matched numerically
        found = ev.items_for_source_keys(None, [(14,), (99,), ("10",), (13,)], chunk_rows=2)
        assert [(r.source_key, r.item) for r in found] == [((14,), PETS_ITEMS[(14,)]), ((10,), PETS_ITEMS[(10,)]),
                                                           ((13,), PETS_ITEMS[(13,)])]  # fmt: skip
        assert ev.items_for_source_keys(None, []) == []
        assert ev.count_source(None) == 5


def test_text_matches_numbers_and_collations_as_the_server_compares(factory: Callable[[], Any]) -> None:
    """'010' = 10, ' 11' = 11, 'x' = 0, '12abc' = 12, '1e1' = 10 (text read as a number, the server's
    '='); 's' = 'ß' under utf8mb4_general_ci (the server's collation weights, where Python's casefold
    would say 'ss')."""
    refs = _contract("refs", [
        _a("refs", "PK", "N"),
        _a("refs", "num", join={"type": "lookup-table", "target_table": "nums", "join_condition": "nums.n = refs.r",
                               "select_column": "label"}),
        _a("refs", "kind", join={"type": "lookup-table", "target_table": "kinds", "join_condition": "kinds.code = refs.r",
                                "select_column": "label"}),
    ])  # fmt: skip
    nums = _contract("nums", [
        _a("nums", "PK", "N", "n"),
        _a("nums", "ref", "N", "n", join={"type": "lookup-table", "target_table": "refs", "join_condition": "refs.r = nums.n",
                                         "select_column": "id"}),
    ])  # fmt: skip
    with Evaluator(factory, refs, "Tab") as ev:
        assert {r.source_key: r.item for r in ev.iter_items(None)} == {
            (1,): {"PK": N("1"), "num": S("ten")},
            (2,): {"PK": N("2"), "num": S("eleven")},
            (3,): {"PK": N("3"), "num": S("zero")},
            (4,): {"PK": N("4"), "num": S("twelve")},
            (5,): {"PK": N("5")},
            (6,): {"PK": N("6"), "num": S("ten")},
            (7,): {"PK": N("7"), "num": S("zero"), "kind": S("Eszett")},
        }
    with Evaluator(factory, nums, "Tab") as ev:
        rows = {r.source_key: r for r in ev.iter_items(None)}
    # 10 is '010' and '1e1': the first by primary key, and the evaluator says so
    assert {k: r.item for k, r in rows.items()} == {
        (0,): {"PK": N("0"), "ref": N("3")},
        (10,): {"PK": N("10"), "ref": N("1")},
        (11,): {"PK": N("11"), "ref": N("2")},
        (12,): {"PK": N("12"), "ref": N("4")},
    }
    assert rows[(10,)].notes == ("to-one join to refs matched 2 rows; the first by primary key is used",)


def test_primary_key_order_composite_pairs_and_gates_on_a_missing_row(factory: Callable[[], Any]) -> None:
    c = _contract("pets", [
        _a("pets", "PK", "N"),
        _a("pets", "toys", "L", join={"type": "json-construction", "target_table": "toys", "join_condition": "toys.pet_id = pets.id",
                                     "construction": {"type": "array", "select_columns": {"n": "name"}}}),
        _a("pets", "labels", "S", join={"type": "json-construction", "target_table": "labels",
                                       "join_condition": "labels.pet_id = pets.id",
                                       "construction": {"type": "array", "select_columns": {"c": "code"},
                                                        "order_by": "code"}}),
        _a("pets", "first", join={"type": "foreign-key", "target_table": "toys", "select_column": "name",
                                 "join_condition": "toys.pet_id = pets.id AND toys.id > 5"}),
        _a("pets", "visit", join={"type": "multi-column", "target_table": "visits", "select_column": "vet",
                                 "join_conditions": ["visits.pet_id = pets.id", "visits.n = pets.age"]}),
        _a("pets", "label", join={"type": "chain", "joins": [
            {"target_table": "people", "join_condition": "people.id = pets.owner_id", "select_column": "people.name"},
            {"target_table": "kinds", "join_condition": "kinds.code = pets.kind AND people.name IS NOT NULL",
             "select_column": "kinds.label"}]}),
    ])  # fmt: skip
    with Evaluator(factory, c, "Tab") as ev:
        items = {r.source_key: r.item for r in ev.iter_items(None)}
    toy = lambda n: {"M": {"n": S(n)}}  # noqa: E731
    assert items == {
        # primary key order (2, 9, 10), not the server's; labels ordered by the binary collation ('B' < 'a')
        (10,): {"PK": N("10"), "toys": {"L": [toy("two"), toy("nine"), toy("ten")]}, "labels": S('[{"c": "B"},{"c": "a"}]'),
                "first": S("nine"), "label": S("Dog")},
        (11,): {"PK": N("11"), "toys": {"L": []}, "labels": S("[]"), "label": S("Cat")},
        (12,): {"PK": N("12"), "toys": {"L": []}, "labels": S("[]"), "label": S("Dog")},
        # two pairs (pet_id, n): visit (13, 1)
        (13,): {"PK": N("13"), "toys": {"L": [toy("three")]}, "labels": S('[{"c": "A"}]'), "visit": S("z"), "label": S("Cat")},
        # no owner: the gate over the missing row is not true, so no kind either
        (14,): {"PK": N("14"), "toys": {"L": []}, "labels": S("[]")},
    }  # fmt: skip


def test_base_tables_as_information_schema_describes_them(factory: Callable[[], Any]) -> None:
    conn = factory()
    try:
        t = read_table(conn, "uq")
        assert (t.name, t.primary_key, t.unique_keys, t.row_key) == ("uq", ("id",), (("a",),), ("id",))
        assert t.columns == {
            "id": Column("id", "int", None, False),
            "a": Column("a", "int", None, False),
            "b": Column("b", "int", None, True),
            "c": Column("c", "varchar", "utf8mb4_bin", False),
        }
        assert read_table(conn, "kinds").columns["code"].collation == "utf8mb4_general_ci"
        mixed = read_table(conn, "mc")  # keys keep the columns' own spelling
        assert (mixed.primary_key, mixed.unique_keys, mixed.column("ID")) == (
            ("Id",),
            (("Code",),),
            Column("Id", "int", None, False),
        )
        with pytest.raises(EvaluationUnsupported) as exc:
            read_table(conn, "nope")
        assert exc.value.message == "table 'nope' does not exist in the source database"
        assert exc.value.where == {"table": "nope"}
    finally:
        conn.close()


def test_binary_columns_join_byte_for_byte(factory: Callable[[], Any]) -> None:
    c = _contract("brefs", [_a("brefs", "PK", "N"), _a("brefs", "label", join={
        "type": "lookup-table", "target_table": "bkeys", "join_condition": "bkeys.k = brefs.bk", "select_column": "label"})])  # fmt: skip
    with Evaluator(factory, c, "Tab") as ev:
        items = {r.source_key: r.item for r in ev.iter_items(None)}
    assert items == {
        (1,): {"PK": N("1"), "label": S("cd")},
        (2,): {"PK": N("2"), "label": S("ab")},
        (3,): {"PK": N("3")},
    }


def test_keys_lookup_on_a_binary_collation_key(factory: Callable[[], Any]) -> None:
    c = _contract("labels", [_a("labels", "PK", "S", "code"), _a("labels", "pet", "N", "pet_id")])
    with Evaluator(factory, c, "Tab") as ev:
        found = ev.items_for_source_keys(None, [("A",), ("a",), ("b",)])
    # 'A' and 'a' are two rows under utf8mb4_bin; 'b' is none ('B' is)
    assert [(r.source_key, r.item) for r in found] == [(("A",), {"PK": S("A"), "pet": N("13")}),
                                                       (("a",), {"PK": S("a"), "pet": N("10")})]  # fmt: skip


def test_a_part_over_both_rows_when_the_other_row_is_missing(factory: Callable[[], Any]) -> None:
    """walk 1 has no pet, so the owner's part over (owner, pet) cannot be tested for it; the walks after it
    are tested all the same."""
    c = _contract("walks", [
        _a("walks", "PK", "N"),
        _a("walks", "owner", join={"type": "chain", "joins": [
            {"target_table": "pets", "join_condition": "pets.id = walks.pet_id", "select_column": "pets.name"},
            {"target_table": "people", "join_condition": "people.id = pets.owner_id AND people.since <= pets.born",
             "select_column": "people.name"}]}),
    ])  # fmt: skip
    with Evaluator(factory, c, "Tab") as ev:
        items = {r.source_key: r.item for r in ev.iter_items(None)}
    # pet 10 (2023) after Ann's 2020 and pet 13 (2024-07) after Bob's 2024-06; pet 14 has no owner; pet 12
    # (Ann's) has no birth date: the part is not true
    assert items == {(1,): {"PK": N("1")}, (2,): {"PK": N("2"), "owner": S("Ann")}, (3,): {"PK": N("3"), "owner": S("Bob")},
                     (4,): {"PK": N("4")}, (5,): {"PK": N("5")}}  # fmt: skip


def test_percent_signs_in_filters_literals_and_names(factory: Callable[[], Any]) -> None:
    """A '%' in contract text or a column name reaches the server as written (PyMySQL formats statements
    with '%'; was 'unsupported format character' on every read with parameters)."""
    c = _contract("promo", [
        _a("promo", "PK", "N"),
        _a("promo", "off", column="off%"),
        _a("promo", "label", calculation={"type": "concat", "parts": ["`off%`", "'%'"], "separator": ""}),
        _a("promo", "pct", transformation={"type": "string-format", "format": "{off%}%"}),
    ], filter="code LIKE 'A%'")  # fmt: skip
    with Evaluator(factory, c, "Tab") as ev:
        assert ev.count_source(None) == 3
        items = [(r.source_key, r.item) for r in ev.iter_items(None, 1)]
        assert items == [
            ((1,), {"PK": N("1"), "off": S("10"), "label": S("10%"), "pct": S("10%")}),
            ((3,), {"PK": N("3"), "off": S("30"), "label": S("30%"), "pct": S("30%")}),
            ((4,), {"PK": N("4"), "label": S("%")}),
        ]
        assert [r.source_key for r in ev.items_for_source_keys(None, [(3,), (2,)])] == [(3,)]
        assert sorted(r.source_key for r in ev.sample(None, 5, seed=2)) == [(1,), (3,), (4,)]


def test_filter_counts_chunks_lookups_and_samples(factory: Callable[[], Any]) -> None:
    c = _contract("pets", [_a("pets", "PK", "N"), _a("pets", "name", column="name")], filter="age > 2")
    with Evaluator(factory, c, "Tab") as ev:
        assert ev.count_source(None) == 3
        rows = list(ev.iter_items(None, 1))
        assert [(r.source_key, r.item) for r in rows] == [
            ((10,), {"PK": N("10"), "name": S("Rex")}),
            ((11,), {"PK": N("11"), "name": S("Tom")}),
            ((12,), {"PK": N("12"), "name": S("Ace")}),
        ]
        # a key the filter excludes is no source row
        assert [r.source_key for r in ev.items_for_source_keys(None, [(13,), (12,)])] == [(12,)]
        first = [r.source_key for r in ev.sample(None, 2, seed=3)]
        assert first == [r.source_key for r in ev.sample(None, 2, seed=3)]
        assert len(set(first)) == 2 and set(first) <= {(10,), (11,), (12,)}
        assert sorted(r.source_key for r in ev.sample(None, 10, seed=1)) == [(10,), (11,), (12,)]


def test_composite_keyset(factory: Callable[[], Any]) -> None:
    c = _contract(
        "visits",
        [_a("visits", "PK", "N", "pet_id"), _a("visits", "SK", "N", "n"), _a("visits", "vet", column="vet")],
        sk="SK",
    )
    with Evaluator(factory, c, "Tab") as ev:
        assert ev.count_source(None) == 3
        for chunk in (1, 2, 3):
            assert [(r.source_key, r.item) for r in ev.iter_items(None, chunk)] == [
                ((10, 1), {"PK": N("10"), "SK": N("1"), "vet": S("x")}),
                ((10, 2), {"PK": N("10"), "SK": N("2"), "vet": S("y")}),
                ((13, 1), {"PK": N("13"), "SK": N("1"), "vet": S("z")}),
            ]
        found = ev.items_for_source_keys(None, [(13, 1), (10, 3), (10, 2)], chunk_rows=1)
        assert [r.source_key for r in found] == [(13, 1), (10, 2)]
        picked = [r.source_key for r in ev.sample(None, 2, seed=5)]
        assert picked == [r.source_key for r in ev.sample(None, 2, seed=5)]
        assert len(set(picked)) == 2 and set(picked) <= {(10, 1), (10, 2), (13, 1)}


def test_multi_entity_calls_name_the_entity(factory: Callable[[], Any]) -> None:
    def entity(name: str, source: str, attrs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"entity_type": name, "source_table": source, "attributes": attrs}

    data = {"table": "Tab", "type": "multi-entity", "source_table": "people", "pk": "PK", "entities": [
        entity("person", "people", [_a("people", "PK"), _a("people", "n", column="name")]),
        entity("pet", "pets", [_a("pets", "PK", transformation={"type": "string-format", "format": "PET#{id}"}),
                               _a("pets", "n", column="name")]),
    ]}  # fmt: skip
    contract, problems = parse_contract({"tables": [data]})
    assert contract is not None and not problems.errors, problems
    with Evaluator(factory, contract, "Tab") as ev:
        assert ev.count_source("person") == 4 and ev.count_source("pet") == 5
        assert ev.key_columns("pet") == ("id",)
        [rex] = ev.items_for_source_keys("pet", [(10,)])
        assert (rex.entity, rex.item) == ("pet", {"PK": S("PET#10"), "n": S("Rex")})
        assert [r.entity for r in ev.sample("pet", 2, seed=1)] == ["pet", "pet"]
        assert [r.item for r in ev.iter_items("person", 2)][3] == {"PK": S("4"), "n": S("Dee")}


def test_keyless_table_one_pass_and_null_safe_lookup(factory: Callable[[], Any]) -> None:
    c = _contract("notes", [_a("notes", "PK", "S", "body"), _a("notes", "who", "N", "person_id")])
    opened: list[Any] = []

    def tracked() -> Any:
        opened.append(factory())
        return opened[-1]

    with Evaluator(tracked, c, "Tab") as ev:
        assert ev.key_columns(None) == ("person_id", "body")
        rows = list(ev.iter_items(None, 3))
        assert sorted(((r.source_key, r.code or "") for r in rows), key=repr) == sorted(
            [((1, "n1"), ""), ((1, "n1"), ""), ((None, None), "null_key"), ((2, "n2"), "")], key=repr
        )
        assert {r.source_key: r.item for r in rows if r.ok} == {
            (1, "n1"): {"PK": S("n1"), "who": N("1")},
            (2, "n2"): {"PK": S("n2"), "who": N("2")},
        }
        found = ev.items_for_source_keys(None, [(None, None), (2, "N2 "), (3, "x")])
        assert [(r.source_key, r.code) for r in found] == [((None, None), "null_key"), ((2, "n2"), None)]
    # the evaluator's connection and the streaming pass's are closed: none is left open
    assert len(opened) == 2 and not any(conn.open for conn in opened)
    filtered = _contract("notes", [_a("notes", "PK", "S", "body")], filter="person_id = 1")
    with Evaluator(factory, filtered, "Tab") as ev:
        assert ev.count_source(None) == 2
        assert [(r.source_key, r.item) for r in ev.iter_items(None, 1)] == [((1, "n1"), {"PK": S("n1")})] * 2
