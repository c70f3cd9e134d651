"""The reference evaluator on real MariaDB: exact items for each contract pattern (expected values are
written by hand from the contract format, not computed by any dynamigrate code), the API (counts with
a filter, keyset over composite/VARCHAR/no keys, keys lookup, sampling) and the workshop contract on
the sample shop, where it must agree with the generated views row for row."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _differential import apply_views, differences

from dynamigrate.contract import load_contract, parse_contract
from dynamigrate.evaluate import EvaluationUnsupported, Evaluator, compare_items

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

SCHEMA = [
    """CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(100) NULL, name VARCHAR(50) NULL,
       is_active TINYINT(1) NULL, joined DATETIME(3) NULL, born DATE NULL, balance DECIMAL(30,10) NULL,
       deleted_at DATETIME NULL, profile TEXT NULL)""",
    """CREATE TABLE orders (id INT PRIMARY KEY, user_id INT NULL, total DECIMAL(12,2) NULL,
       status VARCHAR(20) NULL, created DATETIME NULL)""",
    """CREATE TABLE order_items (order_id INT NOT NULL, line INT NOT NULL, sku VARCHAR(20) NOT NULL,
       qty INT NULL, price DECIMAL(10,2) NULL, PRIMARY KEY (order_id, line))""",
    """CREATE TABLE cats (id INT PRIMARY KEY, parent_id INT NULL, name VARCHAR(50) NULL)""",
    """CREATE TABLE codes (code VARCHAR(10) PRIMARY KEY, label VARCHAR(50) NULL)""",
    """CREATE TABLE events (user_code VARCHAR(10) NULL, happened DATE NULL, note VARCHAR(50) NULL)""",
]
DATA = [
    "INSERT INTO users VALUES "
    "(1, 'ann@x.io', 'Ann 😀', 1, '2024-01-02 03:04:05.120', '1990-05-06', 12345678901234567890.0123456789, NULL,"
    ' \'{"a": 1.50, "b": [true, null]}\'),'
    "(2, NULL, '', 0, '2024-02-29 23:59:59.000', NULL, -0.5, NULL, NULL),"
    "(3, 'gone@x.io', 'Gone', NULL, NULL, NULL, NULL, '2024-03-01 00:00:00', NULL),"
    "(4, '', 'Empty', 2, NULL, NULL, 0, NULL, 'not json')",
    "INSERT INTO orders VALUES (10, 1, 25.50, 'PAID', '2024-01-05 10:00:00'), (11, 1, 4.00, 'NEW', NULL),"
    " (12, 99, 1.00, 'PAID', '2024-01-06 00:00:00'), (13, NULL, NULL, NULL, NULL)",
    "INSERT INTO order_items VALUES (10, 1, 'b', 2, 10.00), (10, 2, 'a', 1, 5.50), (10, 3, 'c', NULL, NULL),"
    " (11, 1, 'z', 3, 1.333)",
    "INSERT INTO cats VALUES (1, NULL, 'Root'), (2, 1, 'Child'), (3, 2, 'Leaf'), (4, 1, 'Other')",
    "INSERT INTO codes VALUES ('ab', 'lower'), ('CD ', 'upper')",
    "INSERT INTO events VALUES ('AB', '2024-01-01', 'x'), ('cd', '2024-01-02', 'y'), ('AB', '2024-01-01', 'x'),"
    " (NULL, NULL, NULL)",
]


@pytest.fixture
def db(mysql_conn: Any, mysql_db: str, mysql_settings: Any) -> tuple[Any, Callable[[], Any], str]:
    with mysql_conn.cursor() as cur:
        for stmt in SCHEMA + DATA:
            cur.execute(stmt)

    def factory() -> Any:
        return pymysql.connect(
            **{**mysql_settings.connect_kwargs(), "database": mysql_db, "autocommit": True}
        )

    return mysql_conn, factory, mysql_db


def _contract(source: str, attrs: list[dict[str, Any]], sk: str | None = None, **extra: Any) -> Any:
    table: dict[str, Any] = {
        "table": "Tab",
        "type": "single-entity",
        "source_table": source,
        "pk": "PK",
        "attributes": attrs,
        **extra,
    }
    if sk:
        table["sk"] = sk
    contract, problems = parse_contract({"tables": [table]})
    assert contract is not None and not problems.errors, problems
    return contract


def _items(factory: Callable[[], Any], contract: Any, chunk_rows: int = 2) -> dict[Any, Any]:
    with Evaluator(factory, contract, "Tab") as ev:
        return {
            r.source_key: (r.item if r.ok else (r.code, r.rejection)) for r in ev.iter_items(None, chunk_rows)
        }


def _pk(source: str = "users", column: str = "id") -> dict[str, Any]:
    return {"name": "PK", "type": "S", "source_table": source, "source_column": column}


def test_plain_columns_and_value_rules(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "users",
        [
            _pk(),
            {"name": "email", "type": "S", "source_table": "users", "source_column": "email"},
            {"name": "name", "type": "S", "source_table": "users", "source_column": "name"},
            {"name": "active", "type": "BOOL", "source_table": "users", "source_column": "is_active"},
            {"name": "joined", "type": "S", "source_table": "users", "source_column": "joined"},
            {"name": "born", "type": "S", "source_table": "users", "source_column": "born"},
            {"name": "balance", "type": "N", "source_table": "users", "source_column": "balance"},
            {"name": "balance_s", "type": "S", "source_table": "users", "source_column": "balance"},
            {"name": "profile", "type": "M", "source_table": "users", "source_column": "profile",
             "transformation": {"type": "json-parse"}},
        ],
    )  # fmt: skip
    items = _items(factory, c)
    assert items[(1,)] == {
        "PK": {"S": "1"},
        "email": {"S": "ann@x.io"},
        "name": {"S": "Ann 😀"},
        "active": {"BOOL": True},
        "joined": {"S": "2024-01-02 03:04:05.120"},
        "born": {"S": "1990-05-06"},
        "balance": {"N": "12345678901234567890.0123456789"},
        "balance_s": {"S": "12345678901234567890.0123456789"},
        "profile": {"M": {"a": {"N": "1.5"}, "b": {"L": [{"BOOL": True}, {"NULL": True}]}}},
    }
    assert items[(2,)] == {
        "PK": {"S": "2"},
        "name": {"S": ""},
        "active": {"BOOL": False},
        "joined": {"S": "2024-02-29 23:59:59.000"},
        "balance": {"N": "-0.5"},
        "balance_s": {"S": "-0.5000000000"},
    }
    assert items[(3,)] == {"PK": {"S": "3"}, "email": {"S": "gone@x.io"}, "name": {"S": "Gone"}}
    # invalid JSON for an M attribute: a rejection with the reason, never a silent NULL
    code, reason = items[(4,)]
    assert code == "bad_json" and "profile" in reason


def test_keys_rejections_gsi_and_filter(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "users",
        [
            {"name": "PK", "type": "S", "source_table": "users", "source_column": "email"},
            {"name": "SK", "type": "S", "source_table": "users", "source_column": "id",
             "transformation": {"type": "string-format", "format": "USER#{id}"}},
            {"name": "G", "type": "S", "source_table": "users", "source_column": "name"},
        ],
        sk="SK",
        gsis=[{"index_name": "g", "pk": "G", "projection": "ALL"}],
    )  # fmt: skip
    # the table-level filter (dynamigrate's extension) on the model, whatever the loader does with it
    table = c.tables[0]
    c = dataclasses.replace(
        c,
        tables=(
            dataclasses.replace(
                table, entities=(dataclasses.replace(table.entities[0], filter="deleted_at IS NULL"),)
            ),
        ),
    )
    with Evaluator(factory, c, "Tab") as ev:
        assert ev.count_source(None) == 3  # user 3 is soft-deleted
        rows = {r.source_key: r for r in ev.iter_items(None, chunk_rows=1)}
    assert sorted(rows) == [(1,), (2,), (4,)]
    assert rows[(1,)].item == {"PK": {"S": "ann@x.io"}, "SK": {"S": "USER#1"}, "G": {"S": "Ann 😀"}}
    assert rows[(2,)].code == "null_key" and "'PK'" in (rows[(2,)].rejection or "")
    assert rows[(4,)].code == "empty_key"


def test_gsi_key_empty_is_left_out(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "users",
        [_pk(), {"name": "G", "type": "S", "source_table": "users", "source_column": "name"}],
        gsis=[{"index_name": "g", "pk": "G", "projection": "ALL"}],
    )
    with Evaluator(factory, c, "Tab") as ev:
        rows = {r.source_key: r for r in ev.iter_items(None)}
    assert rows[(2,)].item == {"PK": {"S": "2"}} and rows[(2,)].omitted_gsi_keys == ("G",)


def test_transformations(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "orders",
        [
            _pk("orders"),
            {"name": "sk", "type": "S", "source_table": "orders", "source_column": "id",
             "transformation": {"type": "string-format", "format": "O#{created}#{id}{{x}}"}},
            {"name": "month", "type": "S", "source_table": "orders", "source_column": "created",
             "transformation": {"type": "date-format", "format": "YYYY-MM/HH:mm:ss"}},
            {"name": "padded", "type": "S", "source_table": "orders", "source_column": "total",
             "transformation": {"type": "number-format", "format": "0000.0"}},
            {"name": "const", "type": "S", "source_table": "orders", "source_column": "id",
             "transformation": {"type": "static", "value": "#META"}},
            {"name": "flag", "type": "BOOL", "source_table": "orders", "source_column": "id",
             "transformation": {"type": "static", "value": True}},
        ],
    )  # fmt: skip
    items = _items(factory, c)
    assert items[(10,)] == {
        "PK": {"S": "10"},
        "sk": {"S": "O#2024-01-05 10:00:00#10{x}"},
        "month": {"S": "2024-01/10:00:00"},
        "padded": {"S": "0025.5"},
        "const": {"S": "#META"},
        "flag": {"BOOL": True},
    }
    # a NULL placeholder makes the whole formatted value NULL: absent
    assert items[(11,)] == {
        "PK": {"S": "11"},
        "padded": {"S": "0004.0"},
        "const": {"S": "#META"},
        "flag": {"BOOL": True},
    }


def test_to_one_joins_conditional_self_join_and_chain(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "orders",
        [
            _pk("orders"),
            {"name": "email", "type": "S", "source_table": "orders", "source_column": "user_id",
             "join": {"type": "foreign-key", "target_table": "users", "join_condition": "users.id = orders.user_id",
                      "select_column": "users.email"}},
            {"name": "who", "type": "S", "source_table": "orders", "source_column": "user_id",
             "join": {"type": "conditional", "target_table": "users", "join_condition": "users.id = orders.user_id",
                      "condition": "users.id IS NULL", "select_column": "'nobody'", "else_value": "users.name"}},
            {"name": "path", "type": "S", "source_table": "orders", "source_column": "user_id",
             "join": {"type": "chain", "chain_separator": "/", "joins": [
                 {"target_table": "users", "join_condition": "users.id = orders.user_id", "select_column": "users.name"},
                 {"target_table": "codes", "join_condition": "codes.code = users.email", "select_column": "codes.label"},
             ]}},
        ],
    )  # fmt: skip
    items = _items(factory, c)
    assert items[(10,)] == {
        "PK": {"S": "10"},
        "email": {"S": "ann@x.io"},
        "who": {"S": "Ann 😀"},
        "path": {"S": "Ann 😀"},
    }
    # no user 99: foreign-key attribute absent, conditional takes its THEN branch, chain has nothing
    assert items[(12,)] == {"PK": {"S": "12"}, "who": {"S": "nobody"}}
    assert items[(13,)] == {"PK": {"S": "13"}, "who": {"S": "nobody"}}


def test_self_references_by_primary_key(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "cats",
        [
            _pk("cats"),
            {"name": "parent", "type": "S", "source_table": "cats", "source_column": "parent_id",
             "join": {"type": "foreign-key", "target_table": "cats", "join_condition": "cats.id = cats.parent_id",
                      "select_column": "cats.name"}},
            {"name": "up", "type": "S", "source_table": "cats", "source_column": "parent_id",
             "join": {"type": "self-join", "join_alias": "p", "join_condition": "p.id = cats.parent_id",
                      "select_column": "p.name", "null_value": "-"}},
            {"name": "children", "type": "N", "source_table": "cats", "source_column": "id",
             "calculation": {"type": "aggregate", "target_table": "cats", "join_condition": "cats.parent_id = cats.id",
                             "operation": "COUNT", "select_column": "cats.id"}},
            {"name": "kids", "type": "L", "source_table": "cats", "source_column": "id",
             "join": {"type": "json-construction", "target_table": "cats", "join_condition": "cats.parent_id = cats.id",
                      "construction": {"type": "array", "select_columns": {"n": "name"}, "order_by": "name DESC"}}},
            {"name": "me", "type": "M", "source_table": "cats", "source_column": "id",
             "join": {"type": "json-construction", "target_table": "cats", "join_condition": "cats.id = cats.id",
                      "construction": {"type": "object", "select_columns": {"n": "name"}}}},
        ],
    )  # fmt: skip
    items = _items(factory, c)
    assert items[(1,)] == {
        "PK": {"S": "1"},
        "up": {"S": "-"},
        "children": {"N": "2"},
        "kids": {"L": [{"M": {"n": {"S": "Other"}}}, {"M": {"n": {"S": "Child"}}}]},
        "me": {"M": {"n": {"S": "Root"}}},
    }
    assert items[(3,)] == {
        "PK": {"S": "3"},
        "parent": {"S": "Child"},
        "up": {"S": "Child"},
        "children": {"N": "0"},
        "kids": {"L": []},
        "me": {"M": {"n": {"S": "Leaf"}}},
    }


def test_aggregates_and_arrays(db: Any) -> None:
    _, factory, _ = db
    agg = {
        "type": "aggregate",
        "target_table": "order_items",
        "join_condition": "order_items.order_id = orders.id",
    }
    c = _contract(
        "orders",
        [
            _pk("orders"),
            {"name": "n", "type": "N", "source_table": "orders", "source_column": "id",
             "calculation": {**agg, "operation": "COUNT", "select_column": "*"}},
            {"name": "nq", "type": "N", "source_table": "orders", "source_column": "id",
             "calculation": {**agg, "operation": "COUNT", "select_column": "qty"}},
            {"name": "sum", "type": "S", "source_table": "orders", "source_column": "id",
             "calculation": {**agg, "operation": "SUM", "select_column": "price"}},
            {"name": "avg", "type": "S", "source_table": "orders", "source_column": "id",
             "calculation": {**agg, "operation": "AVG", "select_column": "qty"}},
            {"name": "max", "type": "S", "source_table": "orders", "source_column": "id",
             "calculation": {**agg, "operation": "MAX", "select_column": "sku"}},
            {"name": "lines", "type": "S", "source_table": "orders", "source_column": "id",
             "join": {"type": "json-construction", "target_table": "order_items",
                      "join_condition": "order_items.order_id = orders.id",
                      "construction": {"type": "array", "select_columns": {"sku": "sku", "p": "price"},
                                       "order_by": "sku", "limit": 2}}},
        ],
    )  # fmt: skip
    items = _items(factory, c)
    assert items[(10,)] == {
        "PK": {"S": "10"},
        "n": {"N": "3"},
        "nq": {"N": "2"},
        "sum": {"S": "15.50"},
        "avg": {"S": "1.5000"},
        "max": {"S": "c"},
        "lines": {"S": '[{"sku": "a", "p": 5.50},{"sku": "b", "p": 10.00}]'},
    }
    # no related rows: COUNT 0, the other aggregates absent, an empty list
    assert items[(12,)] == {"PK": {"S": "12"}, "n": {"N": "0"}, "nq": {"N": "0"}, "lines": {"S": "[]"}}


def test_join_matching_follows_the_collation(db: Any) -> None:
    """'AB' = 'ab' and 'cd' = 'CD ' under utf8mb4_general_ci (case-insensitive, PAD SPACE)."""
    _, factory, _ = db
    c = _contract(
        "events",
        [
            {"name": "PK", "type": "S", "source_table": "events", "source_column": "note"},
            {"name": "label", "type": "S", "source_table": "events", "source_column": "user_code",
             "join": {"type": "lookup-table", "target_table": "codes", "join_condition": "codes.code = events.user_code",
                      "select_column": "codes.label"}},
        ],
    )  # fmt: skip
    with Evaluator(factory, c, "Tab") as ev:
        assert ev.key_columns(None) == ("user_code", "happened", "note")  # no key: every column
        rows = list(ev.iter_items(None, chunk_rows=3))
    items = sorted(str(r.item) for r in rows if r.ok)
    assert items == sorted(
        [
            str({"PK": {"S": "x"}, "label": {"S": "lower"}}),
            str({"PK": {"S": "x"}, "label": {"S": "lower"}}),
            str({"PK": {"S": "y"}, "label": {"S": "upper"}}),
        ]
    )
    assert [r.code for r in rows if not r.ok] == ["null_key"]


def test_text_is_ordered_and_compared_by_the_collation(db: Any) -> None:
    """utf8mb4_general_ci compares upper-cased letters: 'ab' < 'AC' < 'a_b' ('_' is 0x5F, after 'C'),
    'Ä' = 'a'; MIN/MAX and DISTINCT follow it too (a casefold in Python would put 'a_b' first)."""
    conn, factory, _ = db
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE tags (id INT PRIMARY KEY, cat_id INT, name VARCHAR(10))")
        cur.execute(
            "INSERT INTO tags VALUES (1, 1, 'a_b'), (2, 1, 'b'), (3, 1, 'AC'), (4, 1, 'ab'), (5, 1, 'Äb')"
        )
    rel = {"target_table": "tags", "join_condition": "tags.cat_id = cats.id"}
    c = _contract(
        "cats",
        [
            _pk("cats"),
            {"name": "names", "type": "L", "source_table": "cats", "source_column": "id",
             "join": {"type": "json-construction", **rel,
                      "construction": {"type": "array", "select_columns": {"n": "name"}, "order_by": "name, id"}}},
            {"name": "first", "type": "S", "source_table": "cats", "source_column": "id",
             "calculation": {"type": "aggregate", **rel, "operation": "MIN", "select_column": "tags.name"}},
            {"name": "last", "type": "S", "source_table": "cats", "source_column": "id",
             "calculation": {"type": "aggregate", **rel, "operation": "MAX", "select_column": "tags.name"}},
            {"name": "kinds", "type": "N", "source_table": "cats", "source_column": "id",
             "calculation": {"type": "aggregate", **rel, "operation": "COUNT", "select_column": "DISTINCT tags.name"}},
        ],
    )  # fmt: skip
    item = _items(factory, c)[(1,)]
    assert item["names"] == {"L": [{"M": {"n": {"S": t}}} for t in ["ab", "Äb", "AC", "a_b", "b"]]}
    assert (item["first"], item["last"], item["kinds"]) == ({"S": "ab"}, {"S": "b"}, {"N": "4"})


def test_join_condition_with_a_range_over_both_rows(db: Any) -> None:
    """A price valid at the order's time: an equality finds the candidates, the range over both rows is
    evaluated for each (order, candidate) pair; no price valid then -> absent / empty."""
    conn, factory, _ = db
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE prices (id INT PRIMARY KEY, status VARCHAR(20), since DATETIME, amount DECIMAL(6,2))"
        )
        cur.execute(
            "INSERT INTO prices VALUES (1, 'PAID', '2024-01-01 00:00:00', 1.00), (2, 'PAID', '2024-01-05 12:00:00', 2.00),"
            " (3, 'NEW', '2023-01-01 00:00:00', 3.00)"
        )
    cond = "prices.status = orders.status AND prices.since <= orders.created"
    c = _contract(
        "orders",
        [
            _pk("orders"),
            {"name": "n", "type": "N", "source_table": "orders", "source_column": "id",
             "calculation": {"type": "aggregate", "target_table": "prices", "join_condition": cond,
                             "operation": "MAX", "select_column": "prices.amount"}},
            {"name": "ids", "type": "L", "source_table": "orders", "source_column": "id",
             "join": {"type": "json-construction", "target_table": "prices", "join_condition": cond,
                      "construction": {"type": "array", "select_columns": {"id": "id"}}}},
        ],
    )  # fmt: skip
    items = _items(factory, c)
    assert items[(10,)] == {"PK": {"S": "10"}, "n": {"N": "1"}, "ids": {"L": [{"M": {"id": {"N": "1"}}}]}}
    assert items[(12,)] == {
        "PK": {"S": "12"},
        "n": {"N": "2"},
        "ids": {"L": [{"M": {"id": {"N": "1"}}}, {"M": {"id": {"N": "2"}}}]},
    }
    # 'NEW' has a price since 2023 but order 11 has no time: NULL <= ... is not true
    assert items[(11,)] == {"PK": {"S": "11"}, "ids": {"L": []}}


def test_composite_key_lookup_and_sample(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "order_items",
        [
            {"name": "PK", "type": "S", "source_table": "order_items", "source_column": "order_id"},
            {"name": "SK", "type": "N", "source_table": "order_items", "source_column": "line"},
            {"name": "total", "type": "N", "source_table": "order_items", "source_column": "price"},
        ],
        sk="SK",
    )
    with Evaluator(factory, c, "Tab") as ev:
        assert ev.key_columns(None) == ("order_id", "line")
        keys = [r.source_key for r in ev.iter_items(None, chunk_rows=1)]
        assert keys == [(10, 1), (10, 2), (10, 3), (11, 1)]
        found = ev.items_for_source_keys(None, [(11, 1), (99, 9), (10, 2)])
        assert [r.source_key for r in found] == [(11, 1), (10, 2)]
        assert found[0].item == {"PK": {"S": "11"}, "SK": {"N": "1"}, "total": {"N": "1.33"}}
        s1 = [r.source_key for r in ev.sample(None, 2, seed=7)]
        s2 = [r.source_key for r in ev.sample(None, 2, seed=7)]
        assert s1 == s2 and len(set(s1)) == 2
        assert sorted(r.source_key for r in ev.sample(None, 10, seed=1)) == keys


def test_item_over_400kb_is_rejected(db: Any) -> None:
    conn, factory, _ = db
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE big (id INT PRIMARY KEY, body LONGTEXT)")
        cur.execute("INSERT INTO big VALUES (1, REPEAT('x', 409600)), (2, REPEAT('y', 100))")
    c = _contract(
        "big", [_pk("big"), {"name": "body", "type": "S", "source_table": "big", "source_column": "body"}]
    )
    items = _items(factory, c)
    assert items[(1,)][0] == "too_large" and "400 KB" in items[(1,)][1]
    assert items[(2,)]["body"] == {"S": "y" * 100}


def test_ambiguous_self_reference_is_refused(db: Any) -> None:
    _, factory, _ = db
    c = _contract(
        "cats",
        [_pk("cats"), {"name": "x", "type": "S", "source_table": "cats", "source_column": "name",
                       "join": {"type": "foreign-key", "target_table": "cats",
                                "join_condition": "cats.parent_id = cats.name", "select_column": "cats.name"}}],
    )  # fmt: skip
    with (
        Evaluator(factory, c, "Tab") as ev,
        pytest.raises(EvaluationUnsupported, match="no reading is certain"),
    ):
        ev.plan(None)


def test_compare_items_is_numerically_exact() -> None:
    a = {"n": {"N": "1.50"}, "s": {"SS": ["b", "a"]}, "j": {"S": '{"a": 1.0}'}, "_dm_marker": {"S": "r:1"}}
    b = {"n": {"N": "1.5"}, "s": {"SS": ["a", "b"]}, "j": {"S": '{"a":1}'}}
    assert compare_items(a, b, json_text_attrs=("j",)) == []
    diff = compare_items({"n": {"N": "1.5"}}, {"n": {"N": "1.50000000000000000001"}, "x": {"S": ""}})
    assert [(d.attribute, d.kind) for d in diff] == [("n", "changed"), ("x", "unexpected_attribute")]


def test_workshop_contract_matches_the_views(shop_db: str, mysql_settings: Any) -> None:
    """The sample shop through the workshop contract: views + encoder == evaluator, every entity."""
    kw = {**mysql_settings.connect_kwargs(), "database": shop_db, "autocommit": True}
    contract = load_contract(ROOT / "examples" / "workshop-contract.json")
    conn = pymysql.connect(**kw)
    try:
        # views in a private database that reads the shared shop (the shop itself stays untouched)
        apply_views(conn, contract, shop_db)
        for table in contract.tables:
            assert differences(conn, lambda: pymysql.connect(**kw), contract, table.name, chunk_rows=50) == []
        with (
            Evaluator(lambda: pymysql.connect(**kw), contract, contract.tables[0].name) as ev,
            conn.cursor() as cur,
        ):
            cur.execute("SELECT COUNT(*) FROM orders")
            assert ev.count_source("ORDER") == cur.fetchone()[0]
    finally:
        conn.close()
