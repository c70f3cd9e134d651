"""The direct executor, ``views apply --via direct`` and the translation of MySQL errors."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.config import Secret, load_config
from dynamigrate.errors import SourceError, TransientSourceError, UnsafeSqlError
from dynamigrate.runstate import RunDir
from dynamigrate.source.connect import connect, detect_dialect, server_version
from dynamigrate.source.executor import DirectExecutor, apply_statements, choose_executor

pytestmark = pytest.mark.integration


@pytest.fixture
def items(mysql_conn: Any) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE items (id INT PRIMARY KEY, title VARCHAR(40), price DECIMAL(30,10))")
        cur.execute("INSERT INTO items VALUES (1, 'pen', 1.5), (2, 'ink', 12345678901234567890.0123456789)")


def _views(conn: Any, database: str) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s", (database,))
        return {r[0] for r in cur.fetchall()}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_direct_executor_applies_each_statement_independently(mysql_settings, mysql_db, mysql_conn, items):
    statements = [
        (
            "ddb_items_view",
            "CREATE OR REPLACE VIEW ddb_items_view AS SELECT CAST(price AS CHAR) AS p FROM items",
        ),
        ("ddb_bad_view", "CREATE OR REPLACE VIEW ddb_bad_view AS SELECT nope FROM items"),
        ("ddb_missing_view", "CREATE OR REPLACE VIEW ddb_missing_view AS SELECT id FROM no_such_table"),
        ("ddb_titles_view", "CREATE OR REPLACE VIEW ddb_titles_view AS SELECT title FROM items"),
    ]
    with DirectExecutor(mysql_settings, database=mysql_db) as ex:
        report = apply_statements(ex, statements)

    assert [r.ok for r in report.results] == [True, False, False, True]
    assert report.failed_labels() == ["ddb_bad_view", "ddb_missing_view"]
    bad, missing = report.failed
    assert bad.error_code == 1054 and "Unknown column 'nope'" in (bad.error or "") and bad.hint
    assert missing.error_code == 1146 and "table missing" in (missing.hint or "")
    assert all(r.path == "direct" and r.duration_s >= 0 for r in report.results)
    text = report.render_text()
    assert "2 ok, 2 failed" in text and "failed: ddb_bad_view, ddb_missing_view" in text
    assert json.loads(json.dumps(report.to_dict()))["failed"] == ["ddb_bad_view", "ddb_missing_view"]
    assert _views(mysql_conn, mysql_db) == {"ddb_items_view", "ddb_titles_view"}
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT p FROM ddb_items_view ORDER BY p")
        assert [r[0] for r in cur.fetchall()] == ["1.5000000000", "12345678901234567890.0123456789"]


def test_wrong_password_gives_1045_without_leaking_it(mysql_settings):
    wrong = "Sup3r-Secret-Pw!"
    settings = dataclasses.replace(mysql_settings, password=Secret(wrong))
    with pytest.raises(SourceError) as info:
        connect(settings)
    err = info.value
    assert err.where["mysql_errno"] == 1045
    assert "mysql_errno=1045" in str(err)
    assert "bad credentials" in (err.hint or "")
    assert wrong not in str(err) and wrong not in json.dumps(err.to_dict())
    assert not err.transient


def test_wrong_port_gives_2003_hint(mysql_settings):
    settings = dataclasses.replace(mysql_settings, port=_free_port(), connect_timeout=3)
    with pytest.raises(SourceError) as info:
        connect(settings)
    assert info.value.where["mysql_errno"] == 2003
    assert "host/port" in (info.value.hint or "") or "mysql.port" in (info.value.hint or "")
    assert info.value.where["port"] == settings.port


def test_unknown_database_gives_1049(mysql_settings):
    with pytest.raises(SourceError) as info:
        connect(mysql_settings, database="dm_no_such_database_xyz")
    assert info.value.where["mysql_errno"] == 1049
    assert "unknown database" in (info.value.hint or "")


def test_missing_table_and_invalid_view(mysql_settings, mysql_db, mysql_conn, items):
    with DirectExecutor(mysql_settings, database=mysql_db) as ex:
        missing = ex.execute("SELECT * FROM no_such_table")
        assert not missing.ok and missing.error_code == 1146

        assert ex.execute("CREATE OR REPLACE VIEW ddb_price_view AS SELECT id, price FROM items").ok
        assert ex.execute("ALTER TABLE items DROP COLUMN price").ok
        broken = ex.execute("SELECT * FROM ddb_price_view")
        assert not broken.ok and broken.error_code == 1356
        assert "regenerate and re-apply" in (broken.hint or "")

        with pytest.raises(SourceError) as info:
            ex.query("SELECT * FROM ddb_price_view")
        assert info.value.where["mysql_errno"] == 1356


def test_dialect_detection(mysql_settings):
    conn = connect(mysql_settings)
    try:
        version = server_version(conn)
    finally:
        conn.close()
    assert detect_dialect(version) == ("mariadb" if "mariadb" in version.lower() else "mysql")
    assert detect_dialect("10.11.6-MariaDB-0+deb12u1") == "mariadb"
    assert detect_dialect("8.0.36") == "mysql"


def test_transient_errors_are_marked():
    from dynamigrate.source.connect import translate_error

    class Fake(Exception):
        pass

    err = translate_error(Fake(2013, "Lost connection to MySQL server during query"), statement="SELECT 1")
    assert isinstance(err, TransientSourceError) and err.transient
    assert err.where["statement"] == "SELECT 1"


def test_direct_reconnects_after_the_connection_drops(mysql_settings, mysql_db, items):
    with DirectExecutor(mysql_settings, database=mysql_db) as ex:
        assert ex.query("SELECT COUNT(*) FROM items") == [(2,)]
        ex._conn.close()  # simulate a dropped connection
        assert ex.query("SELECT COUNT(*) FROM items") == [(2,)]


# ------------------------------------------------------------------------------------------- CLI


def _run_cli(argv: list[str]) -> int:
    from dynamigrate.cli._views_apply import main

    return main(argv)


def test_cli_direct_apply_records_manifest(
    tmp_path, mysql_settings, mysql_db, mysql_conn, items, capsys, monkeypatch, caplog
):
    monkeypatch.setenv("MYSQL_PASSWORD", mysql_settings.password.reveal())
    views = tmp_path / "views.sql"
    views.write_text(
        "-- two views\nCREATE OR REPLACE VIEW ddb_one_view AS SELECT id FROM items;\n"
        "CREATE OR REPLACE VIEW `ddb_two_view` AS SELECT title FROM items;\n",
        encoding="utf-8",
    )
    run = RunDir.create(tmp_path / "runs")
    argv = [
        str(views),
        "--host",
        mysql_settings.host,
        "--port",
        str(mysql_settings.port),
        "--user",
        mysql_settings.user,
        "--database",
        mysql_db,
        "--run-dir",
        str(run.path),
        "--json",
    ]
    with caplog.at_level(logging.INFO, logger="dynamigrate"):
        code = _run_cli(argv)
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["path"] == "direct" and out["failed"] == [] and out["database"] == mysql_db
    assert any("no MCP server configured: direct connection" in r.getMessage() for r in caplog.records)
    assert _views(mysql_conn, mysql_db) == {"ddb_one_view", "ddb_two_view"}
    assert [v["name"] for v in run.manifest()["views"]] == ["ddb_one_view", "ddb_two_view"]


def test_cli_refuses_anything_but_create_view(
    tmp_path, mysql_settings, mysql_db, mysql_conn, items, capsys, monkeypatch
):
    monkeypatch.setenv("MYSQL_PASSWORD", mysql_settings.password.reveal())
    views = tmp_path / "views.sql"
    views.write_text(
        "CREATE OR REPLACE VIEW ddb_ok_view AS SELECT id FROM items;\nDROP TABLE items;\n", encoding="utf-8"
    )
    with pytest.raises(UnsafeSqlError) as info:
        from dynamigrate.cli._views_apply import load_view_statements

        load_view_statements(views)
    assert "line 2" in str(info.value)
    code = _run_cli([str(views), "--database", mysql_db, "--user", mysql_settings.user])
    assert code == 1
    assert "nothing was run" in capsys.readouterr().err
    # nothing ran: the table is still there, no view was created
    assert _views(mysql_conn, mysql_db) == set()
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM items")
        assert cur.fetchone()[0] == 2


def test_cli_failure_exit_code_names_failures(tmp_path, mysql_settings, mysql_db, items, capsys, monkeypatch):
    monkeypatch.setenv("DYNAMIGRATE_MYSQL_PASSWORD", mysql_settings.password.reveal())
    views = tmp_path / "views.sql"
    views.write_text(
        "CREATE OR REPLACE VIEW ddb_fine_view AS SELECT id FROM items;\n"
        "CREATE OR REPLACE VIEW ddb_wrong_view AS SELECT id FROM itemz;\n",
        encoding="utf-8",
    )
    code = _run_cli([str(views), "--database", mysql_db, "--user", mysql_settings.user, "--via", "direct"])
    captured = capsys.readouterr()
    assert code == 1
    assert "1 of 2 statement(s) failed: ddb_wrong_view" in captured.err
    assert "ok       ddb_fine_view" in captured.out and "mysql_errno=1146" in captured.out


def test_choose_executor_without_server_and_via_mcp_is_a_config_error(tmp_path):
    from dynamigrate.errors import ConfigError

    cfg = load_config(None)
    with pytest.raises(ConfigError) as info:
        choose_executor(cfg, "mcp")
    assert "no MCP server is configured" in str(info.value)
    assert Path("docs/mcp.md").name in (info.value.hint or "")
