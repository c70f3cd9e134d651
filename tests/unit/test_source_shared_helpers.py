"""Helpers that several modules share: one statement splitter, one identifier quoting, one secret mask,
one set of CLI MySQL flags."""

from __future__ import annotations

import argparse

import pytest

from dynamigrate.cli._common import add_mysql_arguments, mysql_overrides, split_names
from dynamigrate.config import Config, load_config, mask_secrets, masked_args
from dynamigrate.errors import ConfigError, SqlGenError
from dynamigrate.source.sqlsplit import iter_statements
from dynamigrate.source.sqlsplit import split_statements as split_keeping_comments
from dynamigrate.sqlgen import split_statements
from dynamigrate.sqlgen.dialects import MySQL8Dialect, quote_ident


def test_sqlgen_splitter_is_the_source_splitter_without_comments():
    text = "-- head\nCREATE VIEW a AS SELECT 1 /* inner */ + 2 -- tail; still comment\n;\nSELECT 'x;y' # c\n"
    assert split_statements(text) == ["CREATE VIEW a AS SELECT 1   + 2", "SELECT 'x;y'"]
    assert (
        split_keeping_comments(text)[0] == "CREATE VIEW a AS SELECT 1 /* inner */ + 2 -- tail; still comment"
    )
    assert [s.line for s in iter_statements(text, strip_all_comments=True)] == [2, 4]


def test_double_dash_before_the_delimiter_is_text_in_both_splitters():
    # "--" followed by ';' is not a comment (MySQL needs a space after it), also at the cut
    assert split_statements("SELECT 1--;SELECT 2") == ["SELECT 1--", "SELECT 2"]
    assert split_keeping_comments("x--;y") == ["x--", "y"]


def test_executable_comment_alone_is_no_statement_once_comments_are_removed():
    assert split_statements("/*!40101 SET NAMES utf8mb4 */;SELECT 1;") == ["SELECT 1"]
    assert split_keeping_comments("/*!40101 SET NAMES utf8mb4 */;") == ["/*!40101 SET NAMES utf8mb4 */"]


def test_one_identifier_quoting():
    assert quote_ident("a`b") == "`a``b`"
    assert MySQL8Dialect.quote("t") == "`t`"
    with pytest.raises(SqlGenError):
        quote_ident("")


def test_secrets_masked_in_mcp_server_blocks_and_config_repr(tmp_path):
    raw = {
        "mcpServers": {
            "mysql": {
                "command": "srv",
                "args": ["--db-password", "hunter2", "--api-token=abc123", "--port", "3306"],
                "env": {"MYSQL_PWD": "hunter2", "MYSQL_HOST": "h"},
            }
        },
        "migration": {"tables": ["Users", "Orders"]},
    }
    masked = mask_secrets(raw)
    server = masked["mcpServers"]["mysql"]
    assert server["args"] == ["--db-password", "***", "--api-token=***", "--port", "3306"]
    assert server["env"] == {"MYSQL_PWD": "***", "MYSQL_HOST": "h"}
    assert masked["migration"]["tables"] == ["Users", "Orders"]
    assert masked_args(["--password=x"]) == ["--password=***"]
    path = tmp_path / "c.json"
    path.write_text(
        '{"mysql": {"password": "hunter2"}, "mcpServers": {"m": {"env": {"MYSQL_PASSWORD": "hunter2"}}}}'
    )
    cfg = load_config(path)
    assert isinstance(cfg, Config) and "hunter2" not in repr(cfg)


def test_config_values_say_which_setting_is_wrong():
    with pytest.raises(ConfigError) as info:
        load_config(None, {"mysql.port": "33o6"})
    assert "mysql.port" in str(info.value) and info.value.hint
    assert load_config(None, {"migration.tables": "Users, Orders"}).migration.tables == ("Users", "Orders")


def test_cli_mysql_flags_become_config_overrides():
    parser = argparse.ArgumentParser()
    add_mysql_arguments(parser, password=True)
    args = parser.parse_args(["--host", "db", "--port", "3307", "--database", "shop"])
    assert mysql_overrides(args) == {
        "mysql.host": "db",
        "mysql.port": 3307,
        "mysql.user": None,
        "mysql.password": None,
        "mysql.database": "shop",
    }
    assert "mysql.database" not in mysql_overrides(args, database=False)
    assert split_names(["a,b", " c "]) == ["a", "b", "c"] and split_names(None) == []
