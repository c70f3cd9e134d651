"""Preflight counts silent NULLs on real MariaDB: a transformation that gives NULL for a non-NULL input
is an error (exit 1 of `dynamigrate preflight`), a non-NULL join key that matches no row a warning,
both with exact counts and example keys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.cli import main
from dynamigrate.contract import parse_contract
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views
from dynamigrate.validate.preflight import run_preflight

pytestmark = pytest.mark.integration

SCHEMA = [
    """CREATE TABLE owners (id INT NOT NULL PRIMARY KEY, name VARCHAR(50) NULL) DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE events (
         id INT NOT NULL PRIMARY KEY,
         code VARCHAR(20) NOT NULL,
         happened VARCHAR(40) NULL,
         amount VARCHAR(20) NULL,
         owner_id INT NULL,
         deleted TINYINT(1) NOT NULL DEFAULT 0
       ) DEFAULT CHARSET=utf8mb4""",
    "INSERT INTO owners VALUES (1, 'Zoë 😀'), (2, NULL)",
    # happened: a date, NULL, empty text, something else; owner 2 exists with a NULL name (a match),
    # owner 99 and 98 do not exist; event 6 is filtered out (deleted), its bad values are not counted
    """INSERT INTO events VALUES
         (1, 'e-1', '2024-01-05', '12', 1, 0),
         (2, 'e-2', NULL, NULL, NULL, 0),
         (3, 'e-3', '', 'seven', 2, 0),
         (4, 'e-4', '05/01/2024', '3', 99, 0),
         (5, 'e-😀', '2024-02-30', '1', 98, 0),
         (6, 'e-6', 'never', '1', 97, 1)""",
]


def _contract_data() -> dict[str, Any]:
    return {
        "tables": [
            {
                "table": "Events",
                "type": "single-entity",
                "source_table": "events",
                "pk": "PK",
                "filter": "deleted = 0",
                "attributes": [
                    {
                        "name": "PK",
                        "type": "S",
                        "source_column": "code",
                        "transformation": {"type": "string-format", "format": "EV#{code}"},
                    },
                    {
                        "name": "day",
                        "type": "S",
                        "source_column": "happened",
                        "transformation": {
                            "type": "date-format",
                            "format": "YYYY-MM-DD",
                            "source_format": "date",
                        },
                    },
                    {
                        "name": "amount",
                        "type": "S",
                        "source_column": "amount",
                        "transformation": {"type": "number-format", "format": "0000"},
                    },
                    {
                        "name": "owner",
                        "type": "S",
                        "source_column": "owner_id",
                        "join": {
                            "type": "foreign-key",
                            "target_table": "owners",
                            "join_condition": "owners.id = events.owner_id",
                            "select_column": "owners.name",
                        },
                    },
                    {
                        "name": "owner_id_copy",
                        "type": "N",
                        "source_column": "owner_id",
                        "join": {
                            "type": "foreign-key",
                            "target_table": "owners",
                            "join_condition": "owners.id = events.owner_id",
                            "select_column": "owners.id",
                        },
                    },
                ],
            }
        ]
    }


def _setup(conn: Any, database: str) -> Any:
    with conn.cursor() as cur:
        for stmt in SCHEMA:
            cur.execute(stmt)
    conn.commit()
    contract, problems = parse_contract(_contract_data())
    assert contract is not None and not problems.errors, problems
    views = generate_views(contract, dialect="mariadb", schema=introspect(conn, database))
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
    return contract


def test_preflight_counts_values_lost_and_unmatched_join_keys(mysql_conn: Any, mysql_db: str) -> None:
    contract = _setup(mysql_conn, mysql_db)
    report = run_preflight(mysql_conn, mysql_db, contract)

    lost, amount = report.find("value_lost")
    assert (lost.severity, lost.code, lost.attribute, lost.count) == ("error", "P160", "day", 3)
    # text that is not a number is not formatted as 0000 (MySQL would read it as 0): NULL, counted
    assert (amount.attribute, amount.count, amount.examples) == (
        "amount",
        1,
        [{"PK": "EV#e-3", "_dm_rowid": 3}],
    )
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT _dm_rowid, amount FROM ddb_events_view ORDER BY _dm_rowid")
        assert cur.fetchall() == ((1, "0012"), (2, None), (3, None), (4, "0003"), (5, "0001"))
    assert lost.examples == [
        {"PK": "EV#e-3", "_dm_rowid": 3},
        {"PK": "EV#e-4", "_dm_rowid": 4},
        {"PK": "EV#e-😀", "_dm_rowid": 5},
    ]
    assert "events.happened" in lost.message and "source_format" in lost.fix

    # both attributes of the one join to owners: one finding
    (unmatched,) = report.find("join_unmatched")
    assert (unmatched.severity, unmatched.code, unmatched.count) == ("warning", "P161", 2)
    assert unmatched.attribute == "owner, owner_id_copy"
    assert unmatched.examples == [{"PK": "EV#e-4", "_dm_rowid": 4}, {"PK": "EV#e-😀", "_dm_rowid": 5}]
    assert "owners" in unmatched.message

    assert report.failed()
    assert not report.failed(accept={"value_lost"})
    assert report.to_dict()["findings"] and "P160 value_lost" in report.render_text()


def test_preflight_cli_exit_code(mysql_conn: Any, mysql_db: str, ddb_endpoint: str, tmp_path: Path) -> None:
    _setup(mysql_conn, mysql_db)
    contract_path = tmp_path / "contract.json"
    contract_path.write_text(json.dumps(_contract_data()), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract_path)
    out = tmp_path / "preflight.json"
    assert main(["preflight", "--config", str(cfg), "--output", str(out)]) == 1
    findings = json.loads(out.read_text(encoding="utf-8"))["findings"]
    assert sorted((f["check"], f["attribute"], f["count"]) for f in findings) == [
        ("join_unmatched", "owner, owner_id_copy", 2),
        ("value_lost", "amount", 1),
        ("value_lost", "day", 3),
    ]
    assert main(["preflight", "--config", str(cfg), "--output", str(out), "--accept", "P160"]) == 0


def test_migrate_stopped_by_preflight_names_accept_in_its_resume_hint(
    mysql_conn: Any, mysql_db: str, ddb_endpoint: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _setup(mysql_conn, mysql_db)
    contract_path = tmp_path / "contract.json"
    contract_path.write_text(json.dumps(_contract_data()), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract_path)
    assert main(["migrate", "--config", str(cfg), "--skip-validation"]) == 1
    out = capsys.readouterr()
    text = out.out + out.err
    (line,) = [ln for ln in text.splitlines() if "resume with:" in ln]
    run_id = line.split("--resume ")[1].split()[0]
    assert "once the source rows are fixed; to accept knowingly add --accept value_lost" in line
    # the hint is true: the same run resumes once the check is accepted
    assert (
        main(
            [
                "migrate",
                "--config",
                str(cfg),
                "--resume",
                run_id,
                "--accept",
                "value_lost",
                "--skip-validation",
            ]
        )
        == 0
    )


def test_unmatched_conditional_says_its_else_value_and_text_keys_show_no_null_rowid(
    mysql_conn: Any, mysql_db: str
) -> None:
    """A conditional join whose row is missing gives its else_value (CASE ... ELSE), not an absent
    attribute; a source keyed by VARCHAR has no _dm_rowid, and its examples show the item key only."""
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE accts (no VARCHAR(20) PRIMARY KEY, status VARCHAR(10) NULL)")
        cur.execute(
            "CREATE TABLE txns (acct VARCHAR(20) NOT NULL, seq INT NOT NULL, PRIMARY KEY (acct, seq))"
        )
        cur.execute("INSERT INTO accts VALUES ('A', 'active')")
        cur.execute("INSERT INTO txns VALUES ('A', 1), ('GONE', 2)")
    mysql_conn.commit()
    on = "accts.no = txns.acct"
    data = {
        "tables": [
            {
                "table": "Txns",
                "type": "single-entity",
                "source_table": "txns",
                "pk": "PK",
                "attributes": [
                    {
                        "name": "PK",
                        "type": "S",
                        "source_column": "acct",
                        "transformation": {"type": "string-format", "format": "{acct}#{seq}"},
                    },
                    {
                        "name": "state",
                        "type": "S",
                        "source_column": "acct",
                        "join": {
                            "type": "conditional",
                            "condition": "accts.status = 'active'",
                            "target_table": "accts",
                            "join_condition": on,
                            "select_column": "accts.status",
                            "else_value": "blocked",
                        },
                    },
                ],
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    views = generate_views(contract, dialect="mariadb", schema=introspect(mysql_conn, mysql_db))
    with mysql_conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
        cur.execute("SELECT PK, state FROM ddb_txns_view ORDER BY PK")
        assert cur.fetchall() == (("A#1", "active"), ("GONE#2", "blocked"))
    (unmatched,) = run_preflight(mysql_conn, mysql_db, contract).find("join_unmatched")
    assert unmatched.examples == [{"PK": "GONE#2"}]
    assert "'state' gets its else_value 'blocked'" in unmatched.message
    assert "will be absent" not in unmatched.message


def test_zero_and_partial_dates_are_counted_never_formatted(
    mysql_conn: Any, mysql_db: str, mysql_settings: Any
) -> None:
    """MySQL's "no date" ('0000-00-00', '2024-00-15' in a DATE/DATETIME column, allowed without
    NO_ZERO_DATE) through date-format: the view gave '0000/00/00' and '2024-00' while the reference
    evaluator gave nothing (validation failed a migration that looked fine); now both give NULL and
    preflight counts the rows (value_lost). The column itself still lands as the server prints it."""
    import pymysql

    from dynamigrate.evaluate import Evaluator

    with mysql_conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = ''")
        cur.execute("CREATE TABLE zd (id INT PRIMARY KEY, d DATE NULL, dt DATETIME NULL)")
        cur.execute(
            "INSERT INTO zd VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2024-00-15', '2024-02-29 01:02:03'),"
            " (3, '2024-02-29', NULL)"
        )
    mysql_conn.commit()
    attrs = [
        {"name": "id", "type": "N", "source_column": "id"},
        {"name": "d", "type": "S", "source_column": "d"},
        {
            "name": "d_fmt",
            "type": "S",
            "source_column": "d",
            "transformation": {"type": "date-format", "format": "YYYY/MM"},
        },
        {
            "name": "dt_fmt",
            "type": "S",
            "source_column": "dt",
            "transformation": {"type": "date-format", "format": "YYYY"},
        },
    ]
    data = {
        "tables": [
            {
                "table": "Zdates",
                "type": "single-entity",
                "source_table": "zd",
                "pk": "id",
                "attributes": attrs,
            }
        ]
    }
    contract, problems = parse_contract(data)
    assert contract is not None and not problems.errors, problems
    views = generate_views(contract, dialect="mariadb", schema=introspect(mysql_conn, mysql_db))
    with mysql_conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
        cur.execute("SELECT id, d, d_fmt, dt_fmt FROM ddb_zdates_view ORDER BY id")
        assert cur.fetchall() == (
            ("1", "0000-00-00", None, None),
            ("2", "2024-00-15", None, "2024"),
            ("3", "2024-02-29", "2024/02", None),
        )
    lost = {f.attribute: f.count for f in run_preflight(mysql_conn, mysql_db, contract).find("value_lost")}
    assert lost == {"d_fmt": 2, "dt_fmt": 1}

    def factory() -> Any:
        return pymysql.connect(
            **{**mysql_settings.connect_kwargs(), "database": mysql_db, "autocommit": True}
        )

    with Evaluator(factory, contract, "Zdates") as ev:
        items = {r.item["id"]["N"]: r.item for r in ev.iter_items(None, 10) if r.ok}
    assert items == {
        "1": {"id": {"N": "1"}, "d": {"S": "0000-00-00"}},
        "2": {"id": {"N": "2"}, "d": {"S": "2024-00-15"}, "dt_fmt": {"S": "2024"}},
        "3": {"id": {"N": "3"}, "d": {"S": "2024-02-29"}, "d_fmt": {"S": "2024/02"}},
    }
