"""Every statement the generator writes applies on MariaDB (issue 12): REGEXP in fragments, attribute
names with backticks, dots and non-ASCII letters; a name MariaDB cannot take stops at its JSON path."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dynamigrate.cli import main
from dynamigrate.contract import parse_contract
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views, split_statements

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def conn(mysql_settings: Any) -> Iterator[Any]:
    name = "dm_test_" + secrets.token_hex(6)
    admin = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": None, "autocommit": True})
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    c = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": name, "autocommit": True})
    try:
        with c.cursor() as cur:
            for stmt in split_statements((FIXTURES / "all_patterns_schema.sql").read_text(encoding="utf-8")):
                cur.execute(stmt)
        yield c
    finally:
        c.close()
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        admin.close()


def _contract() -> dict[str, Any]:
    return {
        "tables": [
            {
                "table": "Odd",
                "type": "single-entity",
                "source_table": "customers",
                "pk": "PK",
                "attributes": [
                    {"name": "PK", "type": "S", "source_table": "customers", "source_column": "id"},
                    {"name": "we`ird", "type": "S", "source_table": "customers", "source_column": "name"},
                    {"name": "a.b", "type": "S", "source_table": "customers", "source_column": "email"},
                    {"name": "名前`x", "type": "S", "source_table": "customers", "source_column": "name"},
                    {
                        "name": "starts_a_to_m",
                        "type": "S",
                        "source_table": "customers",
                        "source_column": "name",
                        "calculation": {
                            "type": "case",
                            "cases": [{"when": "customers.name REGEXP '^[A-Ma-m]'", "then": "'yes'"}],
                            "else": "'no'",
                        },
                    },
                    {
                        "name": "tier_if_dotted_email",
                        "type": "S",
                        "source_table": "customers",
                        "source_column": "tier_code",
                        "join": {
                            "type": "conditional",
                            "target_table": "tiers",
                            "join_condition": "tiers.code = customers.tier_code",
                            "condition": "customers.email NOT REGEXP '[.].*@'",
                            "select_column": "tiers.label",
                            "else_value": "dotted",
                        },
                    },
                ],
            }
        ]
    }


def test_regexp_and_odd_names_apply_with_the_right_values(conn: Any) -> None:
    contract, problems = parse_contract(_contract())
    assert contract is not None and not problems.errors, problems
    schema = introspect(conn, conn.db.decode())
    views = generate_views(contract, dialect="mariadb", schema=schema)
    assert "REGEXP_LIKE" not in views.statements[0].sql
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
        cur.execute(
            f"SELECT `PK`, `we``ird`, `a.b`, `名前``x`, `starts_a_to_m` FROM `{views.statements[0].view_name}`"
        )
        got = {str(r[0]): r[1:] for r in cur.fetchall()}
        cur.execute("SELECT id, name, email FROM customers")
        base = cur.fetchall()
    assert len(got) == len(base) > 0
    for cid, name, email in base:
        # the expected values computed here, from the base rows, with Python's regex
        expected_flag = "yes" if name is not None and re.match(r"^[A-Ma-m]", name) else "no"
        assert got[str(cid)] == (name, email, name, expected_flag), cid


def test_a_name_mariadb_cannot_take_stops_at_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _contract()
    data["tables"][0]["attributes"][1]["name"] = "trailing "
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    for argv in (["contract", "check", str(path)], ["views", "generate", str(path)]):
        assert main(argv) == 2
        out = capsys.readouterr()
        assert "tables[0].attributes[1].name" in out.out + out.err and "space" in out.out + out.err


@pytest.mark.parametrize(
    "contract",
    [FIXTURES / "contracts" / "all_patterns.json", EXAMPLES / "workshop-contract.json"],
    ids=lambda p: p.name,
)
def test_the_views_of_the_test_contracts_parse_as_single_create_views(contract: Path) -> None:
    # full check: each statement is one CREATE VIEW ... AS SELECT, as `views apply` verifies before running
    from dynamigrate.contract import load_contract

    views = generate_views(load_contract(contract), dialect="mariadb", check="full")
    assert views.statements and all("REGEXP_LIKE" not in s.sql for s in views.statements)
