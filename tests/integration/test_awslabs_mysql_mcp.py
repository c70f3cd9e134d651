"""Views and migrations through the real ``awslabs.mysql-mcp-server`` (1.1.3, from PyPI) on MariaDB.

The server runs unchanged in its own virtualenv (scripts/mcp-venv.sh awslabs-mysql) with
``--connection_method MYSQL_WIRE_PROTOCOL``; RDS and Secrets Manager are moto in server mode, and
tests/integration/_awslabs_mysql.py explains the resolver and TLS relay it needs to reach the local
MariaDB. Everything checked is read directly from MariaDB or DynamoDB Local, never through MCP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _awslabs_mysql import AwsLabsMysqlRig, running_rig
from _migrated_library import contract_dict, create_source

from dynamigrate.source.executor import DirectExecutor, apply_statements
from dynamigrate.source.mcp_client import McpExecutor, McpReadOnlyError

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, mysql_settings: Any) -> Iterator[AwsLabsMysqlRig]:
    with running_rig(tmp_path_factory.mktemp("awslabs"), mysql_settings) as r:
        yield r


def _connect(settings: Any, database: str | None = None) -> Any:
    return pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=settings.password.reveal(),
        database=database,
        charset="utf8mb4",
        autocommit=True,
    )


@pytest.fixture
def db(mysql_settings: Any) -> Iterator[str]:
    """Two databases of this module's own (dm_mcp_*): one for MCP, one for the direct path."""
    import uuid

    name = f"dm_mcp_{uuid.uuid4().hex[:12]}"
    conn = _connect(mysql_settings)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


PEOPLE = [
    (1, "Ada", "first 🚀", None, Decimal("12345678901234567890.123456")),
    (2, "Grace", "", "2024-01-02 03:04:05", None),
    (3, "O'Brien", 'quote " and \\ backslash', "2023-12-31 23:59:59", Decimal("-0.000001")),
    (4, "Ünïcødé ß", "tab\there", None, Decimal("0")),
]

VIEWS = [
    "CREATE OR REPLACE VIEW `ddb_people_view` AS SELECT CAST(p.id AS CHAR) AS `PK`, p.name AS `name`, "
    "p.note AS `note`, CAST(p.seen AS CHAR) AS `seen`, p.amount AS `amount`, 'people' AS `_dm_entity`, "
    "p.id AS `_dm_rowid` FROM people p",
    "CREATE OR REPLACE VIEW ddb_names_view AS SELECT UPPER(name) AS `NAME`, id AS `_dm_rowid` FROM people "
    "WHERE id > 1",
]


def _people(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL, note TEXT, seen DATETIME NULL, "
            "amount DECIMAL(38,6) NULL) DEFAULT CHARSET=utf8mb4"
        )
        cur.executemany("INSERT INTO people VALUES (%s, %s, %s, %s, %s)", PEOPLE)


def _views(conn: Any, database: str) -> dict[str, str]:
    """View name -> the connection collation it was created with."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT TABLE_NAME, COLLATION_CONNECTION FROM information_schema.VIEWS WHERE TABLE_SCHEMA = %s",
            (database,),
        )
        return {r[0]: r[1] for r in cur.fetchall()}


def _rows(conn: Any, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return [tuple(r) for r in cur.fetchall()]


def _cli(argv: list[str]) -> int:
    from dynamigrate import cli

    logger = logging.getLogger("dynamigrate")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        return cli.main(argv)
    finally:
        logger.handlers[:], logger.propagate, logger.level = saved[0], saved[1], saved[2]


def _config(tmp: Path, settings: Any, database: str, block: dict[str, Any], **extra: Any) -> Path:
    raw = {
        "mysql": {"host": settings.host, "port": settings.port, "user": settings.user, "database": database},
        "mcpServers": {"awslabs.mysql-mcp-server": block},
        **extra,
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ views


def test_views_apply_via_awslabs_server_equal_the_direct_path(
    tmp_path: Path, rig: AwsLabsMysqlRig, mysql_settings: Any, db: str, capsys: Any, caplog: Any
) -> None:
    conn = _connect(mysql_settings, db)
    _people(conn)
    views_file = tmp_path / "views.sql"
    views_file.write_text("-- two views\n" + ";\n/* second */\n".join(VIEWS) + ";\n", encoding="utf-8")
    config = _config(tmp_path, mysql_settings, db, rig.block(db))
    with caplog.at_level(logging.INFO, logger="dynamigrate"):
        code = _cli(["-v", "views", "apply", str(views_file), "--config", str(config), "--via", "mcp"])
    captured = capsys.readouterr()
    logs = caplog.text + captured.err
    assert code == 0, captured.out + logs
    assert "via mcp:awslabs.mysql-mcp-server" in captured.out
    assert "calling connect_to_database" in logs  # the server was started without --db_type
    assert "values not shown" in logs and "AWS_SECRET_ACCESS_KEY=" not in logs
    # dynamigrate's MySQL settings (password included) are not handed to a server that never reads them
    (started,) = [line for line in logs.splitlines() if "starting MCP server" in line]
    assert "MYSQL_" not in started.split("(env:")[1]
    created = _views(conn, db)
    assert set(created) == {"ddb_people_view", "ddb_names_view"}
    through_mcp = {v: _rows(conn, f"SELECT * FROM `{v}` ORDER BY _dm_rowid") for v in created}

    # the same statements over the direct path, in a second database with the same rows
    direct_db = db + "_d"
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{direct_db}` CHARACTER SET utf8mb4")
    try:
        direct_conn = _connect(mysql_settings, direct_db)
        _people(direct_conn)
        with DirectExecutor(mysql_settings, database=direct_db) as ex:
            assert apply_statements(ex, VIEWS).ok
        for view, rows in through_mcp.items():
            assert rows == _rows(direct_conn, f"SELECT * FROM `{view}` ORDER BY _dm_rowid"), view
        # collation: the views carry the collation a direct (PyMySQL) connection gets
        assert _views(direct_conn, direct_db) == created
        direct_conn.close()
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{direct_db}`")
    assert len(through_mcp["ddb_people_view"]) == len(PEOPLE)
    # the readers' chunk query compares the literal column with a parameter: no collation mix
    assert (
        _rows(
            conn, "SELECT COUNT(*) FROM ddb_people_view WHERE _dm_entity = %s AND _dm_rowid > %s", "people", 1
        )[0][0]
        == len(PEOPLE) - 1
    )
    conn.close()


def test_executor_reads_rows_as_json_and_reports_sql_errors(
    rig: AwsLabsMysqlRig, mysql_settings: Any, db: str
) -> None:
    conn = _connect(mysql_settings, db)
    _people(conn)
    with McpExecutor(rig.block(db), name="awslabs", database=db) as ex:
        assert ex.adapter.tool == "run_query"
        assert "MariaDB" in (ex.server_version or "") and ex.database == db
        assert ex.collation == ex.default_collation  # asyncmy connects with the server's default
        # JSON rows: NULL stays None, numbers stay numbers, text keeps its commas and newlines
        assert ex.query("SELECT id, note, seen FROM people WHERE id IN (1, 2) ORDER BY id") == [
            (1, "first 🚀", None),
            (2, "", "2024-01-02 03:04:05"),
        ]
        assert ex.query("SELECT 'a,b\nc' AS t, NULL AS n") == [("a,b\nc", None)]
        bad = ex.execute("CREATE OR REPLACE VIEW ddb_bad_view AS SELECT nope FROM people")
        # the server's answer holds only the exception type; MySQL's message is read from its log
        assert not bad.ok and bad.error_code == 1054, bad
        assert "Unknown column 'nope'" in (bad.error or "")
    assert _views(conn, db) == {}
    conn.close()


def test_read_only_server_refuses_with_its_documented_message(
    tmp_path: Path, rig: AwsLabsMysqlRig, mysql_settings: Any, db: str, capsys: Any
) -> None:
    conn = _connect(mysql_settings, db)
    _people(conn)
    with McpExecutor(rig.block(db, write=False), name="awslabs", database=db) as ex:
        with pytest.raises(McpReadOnlyError) as info:
            ex.execute(VIEWS[0])
        assert "Your MCP tool only allows readonly query" in info.value.message
        assert "--allow_write_query" in (info.value.hint or "")
        report = apply_statements(ex, VIEWS)
    assert report.aborted and "only allows readonly query" in report.aborted
    assert [r.skipped for r in report.results] == [False, True]
    assert _views(conn, db) == {}

    views_file = tmp_path / "views.sql"
    views_file.write_text(";\n".join(VIEWS), encoding="utf-8")
    config = _config(tmp_path, mysql_settings, db, rig.block(db, write=False))
    code = _cli(["views", "apply", str(views_file), "--config", str(config), "--via", "mcp"])
    out = capsys.readouterr()
    assert code == 1
    assert "only allows readonly query" in out.out + out.err and "--allow_write_query" in out.out + out.err
    assert _views(conn, db) == {}
    conn.close()


def test_union_views_refused_by_the_pattern_check_go_direct_with_fallback(
    tmp_path: Path, rig: AwsLabsMysqlRig, mysql_settings: Any, db: str, capsys: Any, monkeypatch: Any
) -> None:
    conn = _connect(mysql_settings, db)
    _people(conn)
    union = (
        "CREATE OR REPLACE VIEW ddb_two_view AS SELECT name AS `PK`, 'A' AS `_dm_entity` FROM people "
        "UNION ALL SELECT note AS `PK`, 'B' AS `_dm_entity` FROM people"
    )
    views_file = tmp_path / "views.sql"
    views_file.write_text(f"{VIEWS[1]};\n{union};\n", encoding="utf-8")
    config = _config(tmp_path, mysql_settings, db, rig.block(db))
    code = _cli(["views", "apply", str(views_file), "--config", str(config), "--via", "mcp", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    (names, two) = report["results"]
    assert names["ok"] and names["path"] == "mcp:awslabs.mysql-mcp-server"
    assert not two["ok"] and "risky injection patterns" in two["error"] and "--via direct" in two["hint"]
    assert set(_views(conn, db)) == {"ddb_names_view"}

    monkeypatch.setenv("DYNAMIGRATE_MYSQL_PASSWORD", mysql_settings.password.reveal())
    code = _cli(
        [
            "views",
            "apply",
            str(views_file),
            "--config",
            str(config),
            "--via",
            "mcp",
            "--allow-fallback",
            "--json",
        ]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert [(r["label"], r["path"], r["ok"]) for r in report["results"]] == [
        ("ddb_names_view", "mcp:awslabs.mysql-mcp-server", True),
        ("ddb_two_view", "direct", True),
    ]
    assert _rows(conn, "SELECT COUNT(*) FROM ddb_two_view")[0][0] == 2 * len(PEOPLE)
    conn.close()


# ---------------------------------------------------------------------------------------- migrate


def _scan(ddb: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    items: dict[tuple[str, str], dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = ddb.scan(**kwargs)
        for item in page["Items"]:
            items[(item["PK"]["S"], item["SK"]["S"])] = {k: v for k, v in item.items() if k != "_dm_marker"}
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _books_table(name: str) -> dict[str, Any]:
    def col(attr: str, typ: str, column: str, **extra: Any) -> dict[str, Any]:
        return {"name": attr, "type": typ, "source_table": "books", "source_column": column, **extra}

    return {
        "table": name,
        "type": "single-entity",
        "source_table": "books",
        "pk": "PK",
        "sk": "SK",
        "attributes": [
            col("PK", "S", "isbn", transformation={"type": "string-format", "format": "ISBN#{isbn}"}),
            col("SK", "S", "id", transformation={"type": "string-format", "format": "#BOOK"}),
            col("title", "S", "title"),
            col("price", "N", "price"),
        ],
    }


def test_migrate_via_awslabs_server_loads_what_the_direct_path_loads(
    tmp_path: Path,
    rig: AwsLabsMysqlRig,
    mysql_settings: Any,
    db: str,
    ddb_client: Any,
    ddb_endpoint: str,
    ddb_prefix: str,
    monkeypatch: Any,
    capsys: Any,
) -> None:
    conn = _connect(mysql_settings, db)
    create_source(conn)
    monkeypatch.setenv("DYNAMIGRATE_MYSQL_PASSWORD", mysql_settings.password.reveal())
    results: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for via in ("mcp", "direct"):
        table = f"{ddb_prefix}Lib{via.capitalize()}"
        spec = contract_dict(table)
        spec["tables"].append(_books_table(f"{ddb_prefix}Books{via.capitalize()}"))
        contract = tmp_path / f"contract_{via}.json"
        contract.write_text(json.dumps(spec), encoding="utf-8")
        config = _config(
            tmp_path,
            mysql_settings,
            db,
            rig.block(db),
            aws={"region": "us-east-1", "dynamodb_endpoint_url": ddb_endpoint},
            migration={"contract_file": str(contract), "output_dir": str(tmp_path / "runs")},
        )
        # the library view is multi-entity: a UNION ALL, which dynamigrate writes on lines of their own;
        # the server's pattern check (`union.*select`, no DOTALL) lets that through
        code = _cli(["-q", "migrate", "--config", str(config), "--progress", "quiet", "--via", via])
        out = capsys.readouterr()
        assert code == 0, out.out + out.err
        results[via] = {
            **_scan(ddb_client, table),
            **_scan(ddb_client, f"{ddb_prefix}Books{via.capitalize()}"),
        }
        if via == "mcp":
            (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
            applied = json.loads((run_dir / "views_apply.json").read_text(encoding="utf-8"))
            paths = {r["label"]: r["path"] for r in applied["results"]}
            assert paths == {
                f"ddb_{table.lower()}_view": "mcp:awslabs.mysql-mcp-server",
                f"ddb_{ddb_prefix.lower()}booksmcp_view": "mcp:awslabs.mysql-mcp-server",
            }
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM authors")
        authors = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM books")
        books = cur.fetchone()[0]
    assert len(results["mcp"]) == authors + 2 * books
    assert results["mcp"] == results["direct"]
    conn.close()


def test_endpoint_the_cluster_does_not_advertise_fails_at_start_with_the_reason(
    rig: AwsLabsMysqlRig, mysql_settings: Any, db: str
) -> None:
    from dynamigrate.errors import McpError

    block = rig.block(db)
    args = block["args"]
    args[args.index("--db_endpoint") + 1] = "elsewhere.example.com"
    with pytest.raises(McpError) as info:
        McpExecutor(block, name="awslabs", database=db)
    text = str(info.value)
    assert "could not connect to the database" in text and "ValueError" in text
    hint = info.value.hint or ""
    # the server's own log says which check refused it; the hint names the flags to check
    assert "does not match any endpoint of" in hint and "--db_endpoint" in hint
