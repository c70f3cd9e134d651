"""Differential tests: random schemas, data and contracts (tests/integration/_scenario_gen.py) read
twice on real MariaDB — the generated views (sqlgen, MariaDB dialect, live schema) encoded by the ETL's
encoder, and the reference evaluator over the base tables — must give the same items and the same
rejections, entity by entity.

CI runs ``DYNAMIGRATE_DIFF_EXAMPLES`` examples (default 60: seeds 0..59, one test per seed); a long run:
``DYNAMIGRATE_DIFF_EXAMPLES=2000 DYNAMIGRATE_DIFF_FIRST_SEED=1000 pytest tests/integration/test_differential.py``.
A failing example prints its seed and the whole scenario; it becomes a small fixed case of ``REGRESSIONS``.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _differential import apply_views, differences
from _scenario_gen import PATTERNS, describe, scenario

from dynamigrate.contract import parse_contract
from dynamigrate.sqlgen import split_statements

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("DYNAMIGRATE_DIFF_EXAMPLES", "60"))
FIRST_SEED = int(os.environ.get("DYNAMIGRATE_DIFF_FIRST_SEED", "0"))
SEEDS = range(FIRST_SEED, FIRST_SEED + EXAMPLES)

#: counterexamples the differential run found, kept as small fixed scenarios (name, statements, contract)
REGRESSIONS: list[tuple[str, list[str], dict[str, Any]]] = [
    (
        # number-format of a DECIMAL(38,10): the evaluator rounded 28+ digits (default decimal context)
        "number_format_28_digits",
        ["CREATE TABLE main (id INT PRIMARY KEY, n DECIMAL(38,10))",
         "INSERT INTO main VALUES (1, 8489832646620297239825684759.8489832646), (2, -0.05), (3, NULL)"],
        {"tables": [{"table": "Reg1", "type": "single-entity", "source_table": "main", "pk": "PK", "attributes": [
            {"name": "PK", "type": "S", "source_table": "main", "source_column": "id"},
            {"name": "n", "type": "S", "source_table": "main", "source_column": "n",
             "transformation": {"type": "number-format", "format": "000.0"}}]}]},
    ),
    (
        # a foreign-key whose select_column gives a value over the all-NULL row (constant, COALESCE): the view
        # wrote it for rows without a match; the format says the attribute is absent (sqlgen fixed)
        "foreign_key_without_match_is_absent",
        ["CREATE TABLE o (id INT PRIMARY KEY, u INT NULL)", "CREATE TABLE u (id INT PRIMARY KEY, name VARCHAR(9))",
         "INSERT INTO o VALUES (1, 1), (2, 5), (3, NULL)", "INSERT INTO u VALUES (1, NULL)"],
        {"tables": [{"table": "Reg2", "type": "single-entity", "source_table": "o", "pk": "PK", "attributes": [
            {"name": "PK", "type": "S", "source_table": "o", "source_column": "id"},
            {"name": "k", "type": "S", "source_table": "o", "source_column": "u",
             "join": {"type": "foreign-key", "target_table": "u", "join_condition": "u.id = o.u",
                      "select_column": "COALESCE(u.name, 'anon')"}},
            {"name": "c", "type": "S", "source_table": "o", "source_column": "u",
             "join": {"type": "lookup-table", "target_table": "u", "join_condition": "u.id = o.u",
                      "select_column": "'const'"}}]}]},
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def server(mysql_settings: Any) -> Iterator[dict[str, Any]]:
    kw = {**mysql_settings.connect_kwargs(), "autocommit": True}
    yield kw


def run_scenario(
    kw: dict[str, Any], seed: int, damage: Callable[[Any, str], None] | None = None
) -> list[str]:
    sc = scenario(seed)
    found = run_statements(kw, sc.statements, sc.contract, sc.chunk_rows, damage)
    if found:
        found.append(f"seed {seed}; scenario:\n{describe(sc)}")
    return found


def run_statements(
    kw: dict[str, Any],
    statements: list[str],
    contract_data: dict[str, Any],
    chunk_rows: int = 2,
    damage: Callable[[Any, str], None] | None = None,
) -> list[str]:
    """Create the tables in a new database, apply the views, compare both readings; drop it."""
    contract, problems = parse_contract(contract_data)
    assert contract is not None and not problems.errors, problems.errors
    name = "dm_test_" + secrets.token_hex(6)
    admin = pymysql.connect(**{**kw, "database": None})
    try:
        with admin.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        db = {**kw, "database": name}
        conn = pymysql.connect(**db)
        try:
            with conn.cursor() as cur:
                for stmt in statements:
                    cur.execute(stmt)
            apply_views(conn, contract, name)
            if damage is not None:
                damage(conn, contract.tables[0].view_name)
            table = contract.tables[0].name
            return differences(conn, lambda: pymysql.connect(**db), contract, table, chunk_rows)
        finally:
            conn.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


@pytest.mark.parametrize(("name", "statements", "contract"), REGRESSIONS, ids=[r[0] for r in REGRESSIONS])
def test_regressions(
    server: dict[str, Any], name: str, statements: list[str], contract: dict[str, Any]
) -> None:
    assert run_statements(server, statements, contract) == []


FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_curated_pattern_contract(server: dict[str, Any]) -> None:
    """The hand-written contract of every pattern (tests/fixtures/contracts/all_patterns.json) over its
    awkward data: both readings agree on every table."""
    statements = split_statements((FIXTURES / "all_patterns_schema.sql").read_text(encoding="utf-8"))
    data = json.loads((FIXTURES / "contracts" / "all_patterns.json").read_text(encoding="utf-8"))
    assert len(data["tables"]) == 3
    for table in data["tables"]:
        assert run_statements(server, statements, {"tables": [table]}) == [], table["table"]


@pytest.mark.parametrize("seed", SEEDS)
def test_views_equal_evaluator(server: dict[str, Any], seed: int) -> None:
    assert run_scenario(server, seed) == []


def test_the_examples_cover_every_pattern() -> None:
    """The seeds of this run generate every pattern of the contract format (no database needed)."""
    seen: set[str] = set()
    for seed in SEEDS:
        seen |= scenario(seed).patterns
    assert sorted(set(PATTERNS) - seen) == []


def _drop_one_row(conn: Any, view: str) -> None:
    """A view bug: one row less than the contract says (the view reads its renamed original)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM `{view}`")
        n = cur.fetchone()[0]
        cur.execute(f"RENAME TABLE `{view}` TO `{view}_orig`")
        cur.execute(f"CREATE VIEW `{view}` AS SELECT * FROM `{view}_orig` LIMIT {max(n - 1, 0)}")


def _change_one_value(conn: Any, view: str) -> None:
    """A view bug: one value of one row differs (the key of the first row gets a suffix)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM `{view}` LIMIT 0")
        cols = [d[0] for d in cur.description]
        cur.execute(f"RENAME TABLE `{view}` TO `{view}_orig`")
        first = f"`{cols[0]}`"
        rest = ", ".join(f"`{c}`" for c in cols if c != cols[0])
        cur.execute(
            f"CREATE VIEW `{view}` AS SELECT {rest}, CASE WHEN `_dm_rowid` = 1 OR `_dm_rowid` IS NULL"
            f" THEN CONCAT({first}, 'x') ELSE {first} END AS {first} FROM `{view}_orig`"
        )


@pytest.mark.parametrize("damage", [_drop_one_row, _change_one_value])
def test_the_comparison_catches_a_damaged_view(
    server: dict[str, Any], damage: Callable[[Any, str], None]
) -> None:
    """The harness itself: a view that lost a row or changed a value no longer equals the evaluator."""
    seed = 7  # a scenario with items in both entities
    assert run_scenario(server, seed) == []
    found = run_scenario(server, seed, damage)
    assert found and ("view only" in found[0] or "evaluator only" in found[0] or "rejects" in found[0])
