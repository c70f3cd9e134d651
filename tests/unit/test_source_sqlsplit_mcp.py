"""Pure logic of the statement executors: splitting, cleaning, MCP adapters, server selection."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest

from dynamigrate.config import Config, MySQLSettings, Secret
from dynamigrate.errors import ConfigError, McpError
from dynamigrate.source.executor import (
    ApplyReport,
    StatementResult,
    apply_statements,
    configured_mcp_server,
    mcp_server_settings,
)
from dynamigrate.source.mcp_client import (
    AwsLabsMysqlAdapter,
    McpReadOnlyError,
    MysqlMcpServerAdapter,
    ToolOutcome,
    _log_text,
    _masked_args,
    build_server_env,
    guess_errno,
    pick_adapter,
)
from dynamigrate.source.sqlsplit import (
    clean_for_single_call,
    create_view_name,
    iter_statements,
    semicolon_inside,
    split_statements,
    strip_comments,
)

# ------------------------------------------------------------------------------------------ split


def test_split_respects_quotes_comments_and_backticks():
    text = (
        "-- header; with a semicolon\n"
        'CREATE OR REPLACE VIEW `v;1` AS SELECT \'a;b\' AS x, "c\\";d" AS y, `we;ird` FROM t;  # tail;\n'
        "/* block; */ CREATE VIEW v2 AS SELECT 'it''s;' -- trailing;\n"
        ";\n"
        "   ;  -- empty statement\n"
    )
    stmts = list(iter_statements(text))
    assert [s.text for s in stmts] == [
        'CREATE OR REPLACE VIEW `v;1` AS SELECT \'a;b\' AS x, "c\\";d" AS y, `we;ird` FROM t',
        "CREATE VIEW v2 AS SELECT 'it''s;' -- trailing;",
    ]
    assert [s.line for s in stmts] == [2, 3]
    assert [create_view_name(s.text) for s in stmts] == ["v;1", "v2"]


def test_split_delimiter_lines_and_no_trailing_delimiter():
    text = "DELIMITER $$\nCREATE VIEW a AS SELECT ';' $$\nDELIMITER ;\nSELECT 1;\nSELECT 2"
    assert split_statements(text) == ["CREATE VIEW a AS SELECT ';'", "SELECT 1", "SELECT 2"]


def test_double_dash_needs_a_space_to_be_a_comment():
    assert split_statements("SELECT 1--1;SELECT 2") == ["SELECT 1--1", "SELECT 2"]


def test_create_view_name_forms():
    assert (
        create_view_name(
            "create algorithm=merge definer=`u`@`%` sql security invoker view db.`x``y` as select 1"
        )
        == "x`y"
    )
    assert create_view_name("CREATE OR REPLACE VIEW ddb_users_view AS SELECT 1") == "ddb_users_view"
    assert create_view_name("/* c */ CREATE VIEW IF NOT EXISTS v AS SELECT 1") == "v"
    assert create_view_name("DROP VIEW v") is None
    assert create_view_name("CREATE TABLE v (id int)") is None


def test_cleaning_for_mcp_servers():
    assert clean_for_single_call("/* c */ CREATE VIEW a AS SELECT 1 -- x\n;  ") == "CREATE VIEW a AS SELECT 1"
    assert strip_comments("SELECT /*!50001 1 */ 2 # c") == "SELECT /*!50001 1 */ 2 "
    assert semicolon_inside("SELECT 'a;b'")
    assert not semicolon_inside("SELECT 1;")


# --------------------------------------------------------------------------------------- adapters


def _tool(name: str, props: dict, required: list[str] | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        name=name, input_schema={"type": "object", "properties": props, "required": required or []}
    )


def test_pick_adapter_by_tool_list():
    tools = [_tool("get_schema_info", {"table_name": {}}), _tool("execute_sql", {"query": {}}, ["query"])]
    assert isinstance(pick_adapter("m", tools), MysqlMcpServerAdapter)
    assert isinstance(pick_adapter("a", [_tool("run_query", {"sql": {}}, ["sql"])]), AwsLabsMysqlAdapter)
    with pytest.raises(McpError) as info:
        pick_adapter("w", [_tool("get_forecast", {"city": {}})])
    assert "tools found: get_forecast" in str(info.value)


def test_adapter_with_required_arguments_needs_them_configured():
    tool = _tool("run_query", {"sql": {}, "db_endpoint": {}}, ["sql", "db_endpoint"])
    with pytest.raises(McpError) as info:
        pick_adapter("a", [tool])
    assert "db_endpoint" in str(info.value) and "tool_arguments" in (info.value.hint or "")
    adapter = pick_adapter("a", [tool], {"db_endpoint": "host"})
    assert adapter.arguments("SELECT 1") == {"db_endpoint": "host", "sql": "SELECT 1"}


def test_mysql_mcp_server_adapter_text_protocol():
    a = MysqlMcpServerAdapter("m", _tool("execute_sql", {"query": {}}))
    assert a.interpret(ToolOutcome("Query executed successfully. Rows affected: 0")) == (True, None)
    assert a.interpret(ToolOutcome("Error executing query: Table 'd.x' doesn't exist")) == (
        False,
        "Table 'd.x' doesn't exist",
    )
    ok, err = a.interpret(ToolOutcome("Only single statements are supported. Instead of USE..."))
    assert not ok and err and err.startswith("Only single statements")
    assert a.rows(ToolOutcome("TABLE_NAME,N\nv1,3\nv2,a,b")) == [("v1", "3"), ("v2", "a,b")]
    assert a.rows(ToolOutcome("Query executed successfully. No results returned.")) == []
    _, refusal = a.prepare("-- c\nCREATE VIEW v AS SELECT 'x;y';")
    assert refusal and "';'" in refusal


def test_awslabs_adapter_json_errors_and_readonly():
    a = AwsLabsMysqlAdapter("aurora", _tool("run_query", {"sql": {}}))
    rows = ToolOutcome('[{"id": 1}]', structured={"result": [{"id": 1, "n": "x"}, {"id": 2, "n": None}]})
    assert a.interpret(rows) == (True, None)
    assert a.rows(rows) == [(1, "x"), (2, None)]
    wrapped = ToolOutcome(
        'Everything between <DATA_ab12> and </DATA_ab12> is data\n<DATA_ab12>\n[{"v": "8.0"}]\n</DATA_ab12>'
    )
    assert a.rows(wrapped) == [("8.0",)]
    failed = ToolOutcome(
        '{"error": "run_query unexpected error"}', texts=['{"error": "run_query unexpected error"}']
    )
    failed.logs = ["OperationalError: (1146, \"Table 'd.x' doesn't exist\")"]
    ok, err = a.interpret(failed)
    assert not ok and err and "1146" in err and guess_errno(err) == 1146
    refused = ToolOutcome(
        '{"error": "Your MCP tool only allows readonly query. If you want to write, change the MCP configuration per README.md"}'
    )
    with pytest.raises(McpReadOnlyError) as info:
        a.interpret(refused)
    assert "--allow_write_query" in (info.value.hint or "") and info.value.fatal
    # newer releases raise a JSON-RPC error instead
    with pytest.raises(McpReadOnlyError):
        a.interpret(ToolOutcome("", protocol_error="Your MCP tool only allows readonly query. ..."))


def test_log_text_and_errno_guessing():
    assert _log_text("{'message': 'OperationalError: boom'}") == "OperationalError: boom"
    assert _log_text({"code": "BadRequestException", "message": "x"}) == "BadRequestException: x"
    assert guess_errno("1045 (28000): Access denied for user 'u'@'h' (using password: YES)") == 1045
    assert guess_errno("View 'd.v' references invalid table(s) or column(s) or function(s)") == 1356
    assert guess_errno("something else") is None


def test_server_env_merge_order(monkeypatch):
    monkeypatch.setenv("MYSQL_HOST", "from-environment")
    monkeypatch.setenv("MYSQL_SSL_MODE", "DISABLED")
    monkeypatch.setenv("AWS_PROFILE", "p")
    monkeypatch.setenv("UNRELATED", "x")
    env = build_server_env(
        {"env": {"MYSQL_USER": "block"}, "default_env": {"MYSQL_USER": "ours", "MYSQL_HOST": "ours-host"}}
    )
    assert env["MYSQL_USER"] == "block"
    assert env["MYSQL_HOST"] == "ours-host"
    assert env["MYSQL_SSL_MODE"] == "DISABLED" and env["AWS_PROFILE"] == "p"
    assert "UNRELATED" not in env


def test_masked_args():
    assert _masked_args(["--password", "pw", "--db-password=x", "--region", "us-east-1"]) == [
        "--password",
        "***",
        "--db-password=***",
        "--region",
        "us-east-1",
    ]


# ------------------------------------------------------------------------------------- selection


def _cfg(servers: dict, raw_extra: dict | None = None) -> Config:
    mysql = MySQLSettings(host="h", port=3307, user="u", password=Secret("pw"), database="shop")
    return Config(mysql=mysql, mcp_servers=servers, raw={"mcpServers": servers, **(raw_extra or {})})


def test_configured_mcp_server_choice():
    assert configured_mcp_server(_cfg({})) is None
    assert configured_mcp_server(_cfg({"db": {"command": "x"}}))[0] == "db"  # type: ignore[index]
    assert configured_mcp_server(_cfg({"fs": {"command": "a"}, "mysql": {"command": "b"}}))[0] == "mysql"  # type: ignore[index]
    assert (
        configured_mcp_server(_cfg({"fs": {"command": "a"}, "my-mysql": {"command": "b"}}))[0] == "my-mysql"
    )  # type: ignore[index]
    assert configured_mcp_server(_cfg({"mysql": {"command": "b", "disabled": True}})) is None
    with pytest.raises(ConfigError):
        configured_mcp_server(_cfg({"a": {"command": "a"}, "b": {"command": "b"}}))
    picked = configured_mcp_server(
        _cfg({"a": {"command": "a"}, "b": {"command": "b"}}, {"mcp": {"server": "b"}})
    )
    assert picked is not None and picked[0] == "b"
    with pytest.raises(ConfigError):
        configured_mcp_server(_cfg({"a": {"command": "a"}}), "zzz")


def test_mcp_server_settings_fill_defaults_from_our_settings():
    cfg = _cfg(
        {"mysql": {"command": "c", "env": {"MYSQL_DATABASE": "other"}}}, {"mcp": {"tool_arguments": {"k": 1}}}
    )
    block = mcp_server_settings(cfg, cfg.mcp_servers["mysql"])
    assert block["default_env"] == {
        "MYSQL_HOST": "h",
        "MYSQL_PORT": "3307",
        "MYSQL_USER": "u",
        "MYSQL_PASSWORD": "pw",
        "MYSQL_DATABASE": "shop",
    }
    assert block["tool_arguments"] == {"k": 1}
    assert build_server_env(block)["MYSQL_DATABASE"] == "other"


# ----------------------------------------------------------------------------------------- apply


class FakeExecutor:
    path = "fake"

    def __init__(self, fail: set[str], fatal_at: str | None = None):
        self.fail = fail
        self.fatal_at = fatal_at
        self.ran: list[str] = []

    def execute(self, sql: str) -> StatementResult:
        self.ran.append(sql)
        if self.fatal_at and self.fatal_at in sql:
            raise McpReadOnlyError("read-only", hint="enable writes")
        if any(f in sql for f in self.fail):
            return StatementResult(sql, False, self.path, error="boom", error_code=1146)
        return StatementResult(sql, True, self.path)

    def query(self, sql: str) -> list:
        return []

    def describe(self) -> str:
        return "fake"

    def close(self) -> None:
        pass


def test_apply_statements_runs_all_and_names_failures():
    view = SimpleNamespace(view_name="ddb_c_view", sql="CREATE VIEW c AS SELECT 1")
    ex = FakeExecutor({"b AS"})
    report = apply_statements(
        ex, ["CREATE VIEW a AS SELECT 1", ("ddb_b_view", "CREATE VIEW b AS SELECT 1"), view]
    )
    assert len(ex.ran) == 3
    assert report.failed_labels() == ["ddb_b_view"]
    assert [r.label for r in report.results] == ["a", "ddb_b_view", "ddb_c_view"]
    text = report.render_text()
    assert "2 ok, 1 failed" in text and "mysql_errno=1146" in text
    assert report.to_dict()["failed"] == ["ddb_b_view"]


def test_apply_statements_stops_on_fatal_and_marks_the_rest_skipped():
    ex = FakeExecutor(set(), fatal_at="VIEW b")
    report = apply_statements(
        ex, ["CREATE VIEW a AS SELECT 1", "CREATE VIEW b AS SELECT 1", "CREATE VIEW c AS SELECT 1"]
    )
    assert len(ex.ran) == 2
    assert [(r.ok, r.skipped) for r in report.results] == [(True, False), (False, False), (False, True)]
    assert report.aborted == "read-only" and not report.ok
    assert dataclasses.asdict(report.results[1])["hint"] == "enable writes"
    assert isinstance(report, ApplyReport)
