"""Generated views against real MariaDB: for every contract pattern, the exact rows the view returns.

Each case is a one-attribute contract fragment over the small schema in
tests/fixtures/all_patterns_schema.sql (NULLs, unicode, quotes, backslashes, negative and long numbers).
Values are asserted in the wire format (text for S and N, JSON text for M/L, numbers for BOOL).
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dynamigrate.contract import load_contract, parse_contract
from dynamigrate.errors import ContractError, UnsafeSqlError
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views, split_statements

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SCHEMA_SQL = FIXTURES / "all_patterns_schema.sql"
ALL_PATTERNS = FIXTURES / "contracts" / "all_patterns.json"
WORKSHOP = Path(__file__).resolve().parents[1] / "golden" / "views" / "workshop.contract.json"

CUSTOMER_IDS = (1, 2, 3, 1234567)


@pytest.fixture(scope="module")
def patterns_conn(mysql_settings: Any) -> Iterator[Any]:
    """One database with the pattern schema for the whole module (views are named per case)."""
    name = "dm_test_" + secrets.token_hex(6)
    admin = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": None, "autocommit": True})
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": name, "autocommit": True})
    try:
        with conn.cursor() as cur:
            for stmt in split_statements(SCHEMA_SQL.read_text(encoding="utf-8")):
                cur.execute(stmt)
        yield conn
    finally:
        conn.close()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _contract(table: str, source: str, attrs: list[dict[str, Any]]) -> Any:
    data = {
        "tables": [
            {
                "table": table,
                "type": "single-entity",
                "source_table": source,
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": source, "source_column": "id"},
                    *attrs,
                ],
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    return contract


def _apply(conn: Any, contract: Any, schema: Any = None) -> list[Any]:
    views = generate_views(contract, dialect="mariadb", schema=schema)
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
    return views.statements


def _rows(conn: Any, view: str, column: str) -> dict[int, Any]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT `_dm_rowid`, `{column}` FROM `{view}` ORDER BY `_dm_rowid`")
        return {int(r[0]): r[1] for r in cur.fetchall()}


def _json(value: Any) -> Any:
    return None if value is None else json.loads(value, parse_float=Decimal)


O100 = {"id": 100, "status": "paid", "total": Decimal("10.5000"), "at": "2024-02-01 10:00:00"}
O101 = {"id": 101, "status": "shipped", "total": Decimal("99999999.9999"), "at": "2024-03-01 10:00:00"}
O102 = {"id": 102, "status": "new", "total": None, "at": "2024-04-01 10:00:00"}
O200 = {"id": 200, "status": "paid", "total": Decimal("1.0000"), "at": "2024-01-15 12:30:00"}

# (case id, source table, attribute (without name/source_table), expected {rowid: value}, decode)
CASES: list[tuple[str, str, dict[str, Any], dict[int, Any], str]] = [
    (
        "plain_s_unicode_quotes_backslash",
        "customers",
        {"type": "S", "source_column": "name"},
        {1: "Zoë 😀", 2: "O'Brien", 3: 'back\\slash "quoted"', 1234567: ""},
        "raw",
    ),
    (
        "plain_n_exact_decimal",
        "customers",
        {"type": "N", "source_column": "balance"},
        {1: "1234.50", 2: "-5.25", 3: None, 1234567: "0.00"},
        "raw",
    ),
    (
        "plain_n_integer",
        "customers",
        {"type": "N", "source_column": "score"},
        {1: "7", 2: "-42", 3: None, 1234567: "1234567"},
        "raw",
    ),
    (
        "plain_bool",
        "customers",
        {"type": "BOOL", "source_column": "active"},
        {1: 1, 2: 0, 3: 0, 1234567: 1},
        "raw",
    ),
    (
        "plain_s_from_datetime",
        "customers",
        {"type": "S", "source_column": "created_at"},
        {1: "2024-01-05 08:09:10", 2: "2023-12-31 23:59:59", 3: None, 1234567: "2024-06-30 00:00:00"},
        "raw",
    ),
    (
        "plain_s_from_date",
        "customers",
        {"type": "S", "source_column": "birthday"},
        {1: "1990-02-03", 2: None, 3: None, 1234567: "2000-12-31"},
        "raw",
    ),
    (
        "plain_s_from_int",
        "customers",
        {"type": "S", "source_column": "id"},
        {1: "1", 2: "2", 3: "3", 1234567: "1234567"},
        "raw",
    ),
    (
        "string_format",
        "customers",
        {
            "type": "S",
            "source_column": "id",
            "transformation": {"type": "string-format", "format": "CUST#{id}"},
        },
        {1: "CUST#1", 2: "CUST#2", 3: "CUST#3", 1234567: "CUST#1234567"},
        "raw",
    ),
    (
        "string_format_null_placeholder",
        "customers",
        {
            "type": "S",
            "source_column": ["name", "email"],
            "transformation": {"type": "string-format", "format": "{name} <{email}>"},
        },
        {1: "Zoë 😀 <zoe@example.com>", 2: "O'Brien <ob@example.com>", 3: None, 1234567: " <100% real>"},
        "raw",
    ),
    (
        "string_format_constant",
        "customers",
        {"type": "S", "source_column": "id", "transformation": {"type": "string-format", "format": "#META"}},
        dict.fromkeys(CUSTOMER_IDS, "#META"),
        "raw",
    ),
    (
        "template",
        "customers",
        {
            "type": "S",
            "source_column": "id",
            "transformation": {"type": "template", "template": "C{{{id}}}'"},
        },
        {1: "C{1}'", 2: "C{2}'", 3: "C{3}'", 1234567: "C{1234567}'"},
        "raw",
    ),
    (
        "date_format_month",
        "customers",
        {
            "type": "S",
            "source_column": "created_at",
            "transformation": {"type": "date-format", "format": "YYYY-MM"},
        },
        {1: "2024-01", 2: "2023-12", 3: None, 1234567: "2024-06"},
        "raw",
    ),
    (
        "date_format_all_tokens_and_percent",
        "customers",
        {
            "type": "S",
            "source_column": "created_at",
            "transformation": {"type": "date-format", "format": "DD/MM/YYYY HH:mm:ss 100%"},
        },
        {
            1: "05/01/2024 08:09:10 100%",
            2: "31/12/2023 23:59:59 100%",
            3: None,
            1234567: "30/06/2024 00:00:00 100%",
        },
        "raw",
    ),
    (
        "number_format_pad",
        "customers",
        {"type": "S", "source_column": "id", "transformation": {"type": "number-format", "format": "000000"}},
        {1: "000001", 2: "000002", 3: "000003", 1234567: "1234567"},
        "raw",
    ),
    (
        "number_format_pad_negative_null",
        "customers",
        {
            "type": "S",
            "source_column": "score",
            "transformation": {"type": "number-format", "format": "0000"},
        },
        {1: "0007", 2: "-0042", 3: None, 1234567: "1234567"},
        "raw",
    ),
    (
        "number_format_decimals",
        "customers",
        {
            "type": "S",
            "source_column": "balance",
            "transformation": {"type": "number-format", "format": "0.0"},
        },
        {1: "1234.5", 2: "-5.3", 3: None, 1234567: "0.0"},
        "raw",
    ),
    (
        "number_format_pad_and_decimals",
        "customers",
        {
            "type": "S",
            "source_column": "balance",
            "transformation": {"type": "number-format", "format": "00000.00"},
        },
        {1: "01234.50", 2: "-00005.25", 3: None, 1234567: "00000.00"},
        "raw",
    ),
    (
        "json_parse",
        "customers",
        {"type": "M", "source_column": "prefs", "transformation": {"type": "json-parse"}},
        {1: {"theme": "dark", "n": [1, 2]}, 2: None, 3: [], 1234567: {}},
        "json",
    ),
    (
        "static_text_with_quote_and_backslash",
        "customers",
        {
            "type": "S",
            "source_column": "id",
            "transformation": {"type": "static", "value": "it's a \\ customer"},
        },
        dict.fromkeys(CUSTOMER_IDS, "it's a \\ customer"),
        "raw",
    ),
    (
        "static_number",
        "customers",
        {"type": "N", "source_column": "id", "transformation": {"type": "static", "value": 42}},
        dict.fromkeys(CUSTOMER_IDS, "42"),
        "raw",
    ),
    (
        "lookup_table",
        "customers",
        {
            "type": "S",
            "source_column": "tier_code",
            "join": {
                "type": "lookup-table",
                "target_table": "tiers",
                "join_condition": "tiers.code = customers.tier_code",
                "select_column": "tiers.label",
            },
        },
        {1: "Gold", 2: "Silver 'n' shiny", 3: None, 1234567: None},
        "raw",
    ),
    (
        "multi_column",
        "customers",
        {
            "type": "S",
            "source_column": "country_code",
            "join": {
                "type": "multi-column",
                "target_table": "countries",
                "join_conditions": [
                    "countries.code = customers.country_code",
                    "countries.lang = customers.lang",
                ],
                "select_column": "countries.name",
            },
        },
        {1: "Germany", 2: "France", 3: None, 1234567: None},
        "raw",
    ),
    (
        "chain_with_separator",
        "customers",
        {
            "type": "S",
            "source_column": "region_id",
            "join": {
                "type": "chain",
                "chain_separator": " > ",
                "joins": [
                    {
                        "target_table": "regions",
                        "join_condition": "regions.id = customers.region_id",
                        "select_column": "regions.name",
                    },
                    {
                        "target_table": "zones",
                        "join_condition": "zones.id = regions.zone_id",
                        "select_column": "zones.name",
                    },
                ],
            },
        },
        {1: "Bavaria > Europe", 2: "Nowhere", 3: "Orphan", 1234567: None},
        "raw",
    ),
    (
        "chain_without_separator",
        "customers",
        {
            "type": "S",
            "source_column": "region_id",
            "join": {
                "type": "chain",
                "joins": [
                    {
                        "target_table": "regions",
                        "join_condition": "regions.id = customers.region_id",
                        "select_column": "regions.name",
                    },
                    {
                        "target_table": "zones",
                        "join_condition": "zones.id = regions.zone_id",
                        "select_column": "zones.name",
                    },
                ],
            },
        },
        {1: "Europe", 2: None, 3: None, 1234567: None},
        "raw",
    ),
    (
        "self_join_null_value",
        "customers",
        {
            "type": "S",
            "source_column": "referrer_id",
            "join": {
                "type": "self-join",
                "join_alias": "ref",
                "join_condition": "ref.id = customers.referrer_id",
                "select_column": "ref.name",
                "null_value": "none",
            },
        },
        {1: "none", 2: "Zoë 😀", 3: "O'Brien", 1234567: "none"},
        "raw",
    ),
    (
        "foreign_key_self_reference",
        "customers",
        {
            "type": "S",
            "source_column": "referrer_id",
            "join": {
                "type": "foreign-key",
                "target_table": "customers",
                "join_condition": "customers.id = customers.referrer_id",
                "select_column": "customers.email",
            },
        },
        {1: None, 2: "zoe@example.com", 3: "ob@example.com", 1234567: None},
        "raw",
    ),
    (
        "conditional_literal_else",
        "customers",
        {
            "type": "S",
            "source_column": "tier_code",
            "join": {
                "type": "conditional",
                "condition": "customers.balance > 1000",
                "target_table": "tiers",
                "join_condition": "tiers.code = customers.tier_code",
                "select_column": "tiers.label",
                "else_value": "regular",
            },
        },
        {1: "Gold", 2: "regular", 3: "regular", 1234567: "regular"},
        "raw",
    ),
    (
        "conditional_self_reference_undeclared_alias",
        "categories",
        {
            "type": "S",
            "source_column": "parent_id",
            "join": {
                "type": "conditional",
                "condition": "parent_id IS NULL",
                "target_table": "categories",
                "join_condition": "categories.id = categories.parent_id",
                "select_column": "'ROOT'",
                "else_value": "parent.name",
            },
        },
        {1: "ROOT", 2: "Root", 3: "Root", 4: "Books", 5: None},
        "raw",
    ),
    (
        "conditional_else_parent_id",
        "categories",
        {
            "type": "S",
            "source_column": "parent_id",
            "join": {
                "type": "conditional",
                "condition": "parent_id IS NULL",
                "target_table": "categories",
                "join_condition": "categories.id = categories.parent_id",
                "select_column": "'ROOT'",
                "else_value": "parent.id",
            },
        },
        {1: "ROOT", 2: "1", 3: "1", 4: "2", 5: None},
        "raw",
    ),
    (
        "aggregate_count",
        "customers",
        {
            "type": "N",
            "source_column": "id",
            "calculation": {
                "type": "aggregate",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "operation": "COUNT",
                "select_column": "orders.id",
            },
        },
        {1: "3", 2: "1", 3: "0", 1234567: "0"},
        "raw",
    ),
    (
        "aggregate_sum_of_nothing_is_null",
        "customers",
        {
            "type": "N",
            "source_column": "id",
            "calculation": {
                "type": "aggregate",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "operation": "SUM",
                "select_column": "orders.total",
            },
        },
        {1: "100000010.4999", 2: "1.0000", 3: None, 1234567: None},
        "raw",
    ),
    (
        "aggregate_count_distinct",
        "customers",
        {
            "type": "N",
            "source_column": "id",
            "calculation": {
                "type": "aggregate",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "operation": "COUNT",
                "select_column": "DISTINCT orders.status",
            },
        },
        {1: "3", 2: "1", 3: "0", 1234567: "0"},
        "raw",
    ),
    (
        "aggregate_avg",
        "customers",
        {
            "type": "N",
            "source_column": "id",
            "calculation": {
                "type": "aggregate",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "operation": "AVG",
                "select_column": "orders.total",
            },
        },
        {1: "50000005.24995000", 2: "1.00000000", 3: None, 1234567: None},
        "raw",
    ),
    (
        "aggregate_self_reference_count",
        "categories",
        {
            "type": "N",
            "source_column": "id",
            "calculation": {
                "type": "aggregate",
                "target_table": "categories",
                "join_condition": "categories.parent_id = categories.id",
                "operation": "COUNT",
                "select_column": "categories.id",
            },
        },
        {1: "2", 2: "1", 3: "0", 4: "0", 5: "0"},
        "raw",
    ),
    (
        "aggregate_self_reference_max",
        "categories",
        {
            "type": "N",
            "source_column": "id",
            "calculation": {
                "type": "aggregate",
                "target_table": "categories",
                "join_condition": "categories.parent_id = categories.id",
                "operation": "MAX",
                "select_column": "categories.id",
            },
        },
        {1: "3", 2: "4", 3: None, 4: None, 5: None},
        "raw",
    ),
    (
        "json_array_order_by_limit",
        "customers",
        {
            "type": "L",
            "source_column": "id",
            "join": {
                "type": "json-construction",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "construction": {
                    "type": "array",
                    "order_by": "created_at DESC",
                    "limit": 2,
                    "select_columns": {"id": "id", "status": "status", "total": "total", "at": "created_at"},
                },
            },
        },
        {1: [O102, O101], 2: [O200], 3: [], 1234567: []},
        "json",
    ),
    (
        "json_array_as_s_with_awkward_text",
        "customers",
        {
            "type": "S",
            "source_column": "id",
            "join": {
                "type": "json-construction",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "construction": {
                    "type": "array",
                    "order_by": "orders.id",
                    "select_columns": {"note": "orders.note"},
                },
            },
        },
        {
            1: [{"note": "first"}, {"note": None}, {"note": 'it\'s "late" \\ ok'}],
            2: [{"note": None}],
            3: [],
            1234567: [],
        },
        "json",
    ),
    (
        "json_array_self_reference_children",
        "categories",
        {
            "type": "L",
            "source_column": "id",
            "join": {
                "type": "json-construction",
                "target_table": "categories",
                "join_condition": "categories.parent_id = categories.id",
                "construction": {
                    "type": "array",
                    "order_by": "name DESC",
                    "limit": 5,
                    "select_columns": {"id": "id", "name": "name"},
                },
            },
        },
        {
            1: [{"id": 3, "name": "Music"}, {"id": 2, "name": "Books"}],
            2: [{"id": 4, "name": "Poetry"}],
            3: [],
            4: [],
            5: [],
        },
        "json",
    ),
    (
        "json_object_row_itself",
        "customers",
        {
            "type": "M",
            "source_column": "id",
            "join": {
                "type": "json-construction",
                "target_table": "customers",
                "join_condition": "customers.id = customers.id",
                "construction": {"type": "object", "select_columns": {"name": "name", "score": "score"}},
            },
        },
        {
            1: {"name": "Zoë 😀", "score": 7},
            2: {"name": "O'Brien", "score": -42},
            3: {"name": 'back\\slash "quoted"', "score": None},
            1234567: {"name": "", "score": 1234567},
        },
        "json",
    ),
    (
        "json_object_related_row",
        "customers",
        {
            "type": "M",
            "source_column": "id",
            "join": {
                "type": "json-construction",
                "target_table": "orders",
                "join_condition": "orders.customer_id = customers.id",
                "construction": {
                    "type": "object",
                    "order_by": "orders.id",
                    "select_columns": {"id": "orders.id", "status": "orders.status"},
                },
            },
        },
        {1: {"id": 100, "status": "paid"}, 2: {"id": 200, "status": "paid"}, 3: None, 1234567: None},
        "json",
    ),
    (
        "case",
        "customers",
        {
            "type": "S",
            "source_column": "balance",
            "calculation": {
                "type": "case",
                "cases": [
                    {"when": "balance >= 1000", "then": "'gold'"},
                    {"when": "customers.balance >= 0", "then": "'standard'"},
                ],
                "else": "'unknown'",
            },
        },
        {1: "gold", 2: "unknown", 3: "unknown", 1234567: "standard"},
        "raw",
    ),
    (
        "concat",
        "customers",
        {
            "type": "S",
            "source_column": ["name", "email"],
            "calculation": {"type": "concat", "parts": ["name", "email"], "separator": " | "},
        },
        {
            1: "Zoë 😀 | zoe@example.com",
            2: "O'Brien | ob@example.com",
            3: 'back\\slash "quoted"',
            1234567: " | 100% real",
        },
        "raw",
    ),
    (
        "date_math",
        "customers",
        {
            "type": "S",
            "source_column": "created_at",
            "calculation": {
                "type": "date-math",
                "expression": "created_at",
                "interval": "1 YEAR",
                "format": "YYYY-MM-DD",
            },
        },
        {1: "2025-01-05", 2: "2024-12-31", 3: None, 1234567: "2025-06-30"},
        "raw",
    ),
]


@pytest.mark.parametrize(("case", "source", "attr", "expected", "decode"), CASES, ids=[c[0] for c in CASES])
def test_pattern_rows(
    patterns_conn: Any, case: str, source: str, attr: dict[str, Any], expected: dict[int, Any], decode: str
) -> None:
    table = f"P_{case}"
    contract = _contract(table, source, [{"name": "value", "source_table": source, **attr}])
    (stmt,) = _apply(patterns_conn, contract)
    rows = _rows(patterns_conn, stmt.view_name, "value")
    if decode == "json":
        rows = {k: _json(v) for k, v in rows.items()}
    assert rows == expected


def test_foreign_key_from_orders(patterns_conn: Any) -> None:
    contract = _contract(
        "P_foreign_key",
        "orders",
        [
            {
                "name": "customer_name",
                "type": "S",
                "source_table": "orders",
                "source_column": "customer_id",
                "join": {
                    "type": "foreign-key",
                    "target_table": "customers",
                    "join_condition": "customers.id = orders.customer_id",
                    "select_column": "customers.name",
                },
            }
        ],
    )
    (stmt,) = _apply(patterns_conn, contract)
    assert _rows(patterns_conn, stmt.view_name, "customer_name") == {
        100: "Zoë 😀",
        101: "Zoë 😀",
        102: "Zoë 😀",
        200: "O'Brien",
    }


def test_all_patterns_contract_one_row_per_source_row(patterns_conn: Any) -> None:
    """The whole all-patterns contract: every view applies; a to-many construct never multiplies rows;
    the multi-entity view has one row per source row of each entity."""
    contract = load_contract(ALL_PATTERNS)
    statements = _apply(patterns_conn, contract)
    counts = {}
    with patterns_conn.cursor() as cur:
        for stmt in statements:
            cur.execute(
                f"SELECT `_dm_entity`, COUNT(*), COUNT(DISTINCT `_dm_rowid`) FROM `{stmt.view_name}` GROUP BY 1"
            )
            counts[stmt.table] = {r[0]: (r[1], r[2]) for r in cur.fetchall()}
    assert counts == {
        "Customers": {"customers": (4, 4)},
        "Categories": {"categories": (5, 5)},
        "Shop": {"CUSTOMER": (4, 4), "ORDER": (4, 4)},
    }
    # repeated joins to the same table under the same condition are joined once
    customers_sql = statements[0].sql
    assert customers_sql.count("LEFT JOIN `tiers`") == 1
    assert customers_sql.count("LEFT JOIN `customers`") == 1
    assert customers_sql.count("LEFT JOIN `regions`") == 1


def test_all_patterns_with_schema_from_db(patterns_conn: Any) -> None:
    """With the live schema: primary keys are known (no 'assumed' interpretation), every column reference
    is checked, and the views return the same rows as without it."""
    with patterns_conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        database = cur.fetchone()[0]
    schema = introspect(patterns_conn, database)
    contract = load_contract(ALL_PATTERNS)
    views = generate_views(contract, dialect=schema.dialect, schema=schema)
    assert views.dialect == "mariadb"
    assert not [i for i in views.interpretations if "assumed" in i]
    with patterns_conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
        cur.execute(
            "SELECT `PK`, `parent_name`, `children_count` FROM `ddb_categories_view` ORDER BY `_dm_rowid`"
        )
        assert cur.fetchall() == (
            ("ROOT", None, "2"),
            ("Root", "Root", "1"),
            ("Root", "Root", "0"),
            ("Books", "Books", "0"),
            (None, None, "0"),
        )
        # JSON members of temporal columns are text on both servers
        cur.execute("SELECT `recent_orders` FROM `ddb_customers_view` WHERE `_dm_rowid` = 2")
        assert _json(cur.fetchone()[0]) == [O200]


def test_schema_catches_unknown_column(patterns_conn: Any) -> None:
    with patterns_conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        schema = introspect(patterns_conn, cur.fetchone()[0])
    contract = _contract(
        "P_bad_column",
        "customers",
        [{"name": "x", "type": "S", "source_table": "customers", "source_column": "emial"}],
    )
    with pytest.raises(ContractError) as err:
        generate_views(contract, dialect="mariadb", schema=schema)
    assert "did you mean 'email'" in str(err.value)
    assert err.value.where["path"] == "tables[0].attributes[1].source_column"


INJECTIONS = [
    ("users.id = orders.user_id; DROP TABLE customers", "';'"),
    ("customers.id = orders.customer_id -- ", "comment"),
    ("customers.id = orders.customer_id /* x */", "comment"),
    ("customers.id = orders.customer_id # x", "comment"),
    ("customers.id = (SELECT MAX(id) FROM customers)", "subquery"),
    ("customers.id = orders.customer_id AND SLEEP(5) = 0", "SLEEP"),
    ("customers.id = @x := 1", "variable"),
]


@pytest.mark.parametrize(("condition", "reason"), INJECTIONS, ids=[r for _, r in INJECTIONS])
def test_injection_in_join_condition_is_refused(patterns_conn: Any, condition: str, reason: str) -> None:
    contract = _contract(
        "P_injection",
        "orders",
        [
            {
                "name": "customer_name",
                "type": "S",
                "source_table": "orders",
                "source_column": "customer_id",
                "join": {
                    "type": "foreign-key",
                    "target_table": "customers",
                    "join_condition": condition,
                    "select_column": "customers.name",
                },
            }
        ],
    )
    with pytest.raises(UnsafeSqlError) as err:
        _apply(patterns_conn, contract)
    assert err.value.where["path"] == "tables[0].attributes[1].join.join_condition"
    assert reason in str(err.value)
    with patterns_conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM customers")
        assert cur.fetchone()[0] == 4


def test_workshop_contract_on_shop_db(shop_db: Any, mysql_settings: Any) -> None:
    """The whole workshop contract generates, applies and returns one row per source row for each
    single-entity table and per-entity counts for the multi-entity one."""
    database = shop_db if isinstance(shop_db, str) else getattr(shop_db, "database", shop_db)
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": database, "autocommit": True})
    # views go into a scratch database so that the read-only shop stays untouched
    scratch = "dm_test_" + secrets.token_hex(6)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{scratch}` CHARACTER SET utf8mb4")
        views = generate_views(
            load_contract(WORKSHOP), dialect="mariadb", schema=introspect(conn, database), accept=("C301",)
        )
        with conn.cursor() as cur:
            cur.execute(f"USE `{scratch}`")
            for table in ("users", "categories", "products", "shopping_carts", "orders", "order_items"):
                cur.execute(f"CREATE VIEW `{table}` AS SELECT * FROM `{database}`.`{table}`")
            for stmt in views.statements:
                cur.execute(stmt.sql)

            def count(sql: str) -> Any:
                cur.execute(sql)
                return cur.fetchall()

            for view, source in (("ddb_products_view", "products"), ("ddb_categories_view", "categories")):
                ((n_view, n_distinct),) = count(f"SELECT COUNT(*), COUNT(DISTINCT `_dm_rowid`) FROM `{view}`")
                ((n_source,),) = count(f"SELECT COUNT(*) FROM `{source}`")
                assert n_view == n_distinct == n_source > 0
            per_entity = dict(count("SELECT `_dm_entity`, COUNT(*) FROM `ddb_users_view` GROUP BY 1"))
            expected = {}
            for entity, source in (("USER", "users"), ("CART", "shopping_carts"), ("ORDER", "orders")):
                ((n,),) = count(f"SELECT COUNT(*) FROM `{source}`")
                expected[entity] = n
            assert per_entity == expected
            # every order's order_items JSON holds exactly its items
            ((mismatch,),) = count(
                "SELECT COUNT(*) FROM `ddb_users_view` v WHERE v.`_dm_entity` = 'ORDER' AND "
                "JSON_LENGTH(v.`order_items`) <> (SELECT COUNT(*) FROM `order_items` i WHERE i.order_id = v.`_dm_rowid`)"
            )
            assert mismatch == 0
            # the root categories get PK 'ROOT', the others their parent's name (compared in Python: the
            # view's text is utf8mb4 in the server's default collation, the table's is utf8mb4_unicode_ci)
            view_pk = dict(count("SELECT `_dm_rowid`, `PK` FROM `ddb_categories_view`"))
            expected_pk = dict(
                count(
                    "SELECT c.id, CASE WHEN c.parent_id IS NULL THEN 'ROOT' ELSE p.name END "
                    "FROM `categories` c LEFT JOIN `categories` p ON p.id = c.parent_id"
                )
            )
            assert view_pk == expected_pk
            assert "ROOT" in view_pk.values()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{scratch}`")
        conn.close()


def _config_file(tmp_path: Path, mysql_settings: Any, database: str) -> Path:
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "mysql": {
                    "host": mysql_settings.host,
                    "port": mysql_settings.port,
                    "user": mysql_settings.user,
                    "password": mysql_settings.password.reveal(),
                    "database": database,
                }
            }
        ),
        encoding="utf-8",
    )
    return cfg


def test_cli_generate_with_schema_from_db_then_apply(
    patterns_conn: Any, mysql_settings: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`views generate --config --schema-from-db --dialect auto` then `views apply` on the file."""
    from dynamigrate.cli import main as cli_main

    with patterns_conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        database = cur.fetchone()[0]
        cur.execute("DROP VIEW IF EXISTS `ddb_shop_view`")
    cfg = _config_file(tmp_path, mysql_settings, database)
    out = tmp_path / "views.sql"
    code = cli_main(
        [
            "views",
            "generate",
            str(ALL_PATTERNS),
            "--config",
            str(cfg),
            "--schema-from-db",
            "--dialect",
            "auto",
            "-t",
            "Shop",
            "-o",
            str(out),
        ]
    )
    assert code == 0
    err = capsys.readouterr().err
    assert "dialect: mariadb" in err
    text = out.read_text(encoding="utf-8")
    assert f"-- schema read from database: {database}" in text
    assert "-- dialect: mariadb" in text
    code = cli_main(["views", "apply", str(out), "--config", str(cfg), "--via", "direct"])
    assert code == 0, capsys.readouterr()
    with patterns_conn.cursor() as cur:
        cur.execute("SELECT `_dm_entity`, COUNT(*) FROM `ddb_shop_view` GROUP BY 1 ORDER BY 1")
        assert cur.fetchall() == (("CUSTOMER", 4), ("ORDER", 4))


def test_dialect_quirks_are_real_on_mariadb(patterns_conn: Any) -> None:
    """Why MariaDB has its own shape for ordered arrays: the MySQL 8 shape (a derived table that refers
    to the outer row) is refused by MariaDB; the simple unordered shape is common to both."""
    ordered = {
        "type": "L",
        "source_column": "id",
        "join": {
            "type": "json-construction",
            "target_table": "orders",
            "join_condition": "orders.customer_id = customers.id",
            "construction": {"type": "array", "order_by": "id", "limit": 1, "select_columns": {"id": "id"}},
        },
    }
    contract = _contract(
        "P_mysql_shape", "customers", [{"name": "value", "source_table": "customers", **ordered}]
    )
    mysql_sql = generate_views(contract, dialect="mysql").statements[0].sql
    with patterns_conn.cursor() as cur, pytest.raises(pymysql.err.OperationalError) as err:
        cur.execute(mysql_sql)
    assert "Unknown column" in str(err.value)
    unordered = json.loads(json.dumps(ordered))
    del unordered["join"]["construction"]["order_by"], unordered["join"]["construction"]["limit"]
    contract = _contract(
        "P_common_shape", "customers", [{"name": "value", "source_table": "customers", **unordered}]
    )
    (stmt,) = generate_views(contract, dialect="mysql").statements
    with patterns_conn.cursor() as cur:
        cur.execute(stmt.sql)
    rows = {
        k: sorted(e["id"] for e in _json(v)) for k, v in _rows(patterns_conn, stmt.view_name, "value").items()
    }
    assert rows == {1: [100, 101, 102], 2: [200], 3: [], 1234567: []}


def test_json_column_inside_a_construction_stays_json(patterns_conn: Any) -> None:
    """With the schema, a JSON column inside JSON_OBJECT is nested as JSON (MariaDB: JSON_EXTRACT(x, '$')),
    and a DATETIME member is text."""
    with patterns_conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        schema = introspect(patterns_conn, cur.fetchone()[0])
    attr = {
        "name": "value",
        "type": "M",
        "source_table": "orders",
        "source_column": "customer_id",
        "join": {
            "type": "json-construction",
            "target_table": "customers",
            "join_condition": "customers.id = orders.customer_id",
            "construction": {"type": "object", "select_columns": {"prefs": "prefs", "since": "created_at"}},
        },
    }
    (stmt,) = _apply(patterns_conn, _contract("P_json_member", "orders", [attr]), schema=schema)
    rows = {k: _json(v) for k, v in _rows(patterns_conn, stmt.view_name, "value").items()}
    assert rows[100] == {"prefs": {"theme": "dark", "n": [1, 2]}, "since": "2024-01-05 08:09:10"}
    assert rows[200] == {"prefs": None, "since": "2023-12-31 23:59:59"}


def test_entity_filter_works_across_connection_collations(patterns_conn: Any, mysql_settings: Any) -> None:
    """A view created by a connection with one utf8mb4 collation (an MCP server, say) can be filtered on
    `_dm_entity` and on text columns with literals from a connection with another collation."""
    with patterns_conn.cursor() as cur:
        cur.execute("SELECT DATABASE()")
        database = cur.fetchone()[0]
    creator = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": database, "autocommit": True})
    try:
        with creator.cursor() as cur:
            cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci")
            for stmt in generate_views(load_contract(ALL_PATTERNS), ["Shop"], dialect="mariadb").statements:
                cur.execute(stmt.sql)
    finally:
        creator.close()
    with patterns_conn.cursor() as cur:
        cur.execute("SET NAMES utf8mb4 COLLATE utf8mb4_general_ci")
        cur.execute(
            "SELECT COUNT(*) FROM `ddb_shop_view` WHERE `_dm_entity` = %s AND `SK` = %s",
            ("CUSTOMER", "#META"),
        )
        assert cur.fetchone()[0] == 4
