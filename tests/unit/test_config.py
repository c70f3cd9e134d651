import json

import pytest

from dynamigrate.config import Secret, load_config, mask_secrets
from dynamigrate.errors import ConfigError


def test_workshop_layout_and_layers(tmp_path, monkeypatch):
    for var in (
        "MYSQL_HOST",
        "DYNAMIGRATE_MYSQL_HOST",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "MYSQL_PASSWORD",
        "DYNAMIGRATE_MYSQL_PASSWORD",
        "MYSQL_PWD",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
    ):
        monkeypatch.delenv(var, raising=False)
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {
                "aws": {"region": "us-west-2", "s3_bucket": "b"},
                "mysql": {
                    "public_host": "db.example",
                    "port": 3306,
                    "user": "u",
                    "password": "s3cr3t",
                    "database": "shop",
                },
                "migration": {"contract_file": "c.json", "s3_script_prefix": "etl/"},
            }
        )
    )
    cfg = load_config(path)
    assert cfg.mysql.host == "db.example"
    assert cfg.mysql.password.reveal() == "s3cr3t"
    assert cfg.aws.region == "us-west-2"
    assert cfg.aws.s3_script_prefix == "etl/"
    assert cfg.resolve_path(cfg.migration.contract_file) == tmp_path / "c.json"
    # environment beats the file, flags beat the environment
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("MYSQL_HOST", "envhost")
    cfg = load_config(path, {"mysql.host": "flaghost", "mysql.port": None})
    assert cfg.aws.region == "eu-west-1"
    assert cfg.mysql.host == "flaghost"
    assert cfg.mysql.port == 3306


def test_secrets_never_print(tmp_path):
    s = Secret("hunter2")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s) and "hunter2" not in f"{s}"
    masked = mask_secrets({"mysql": {"password": "hunter2", "user": "u"}, "aws": {"secret_access_key": "x"}})
    assert masked == {"mysql": {"password": "***", "user": "u"}, "aws": {"secret_access_key": "***"}}
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"mysql": {"password": "hunter2"}}))
    cfg = load_config(path)
    assert "hunter2" not in repr(cfg.mysql)
    assert "hunter2" not in json.dumps(cfg.masked())


def test_config_errors_say_where(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"mysql": {"port": 3306,}}')
    with pytest.raises(ConfigError, match="line 1"):
        load_config(bad)


def test_mcp_servers_block_and_separate_file(tmp_path):
    servers = tmp_path / "mcp.json"
    servers.write_text(json.dumps({"mcpServers": {"other": {"command": "x"}}}))
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            {"mcpServers": {"mysql": {"command": "mysql_mcp_server"}}, "mcp": {"config_file": "mcp.json"}}
        )
    )
    cfg = load_config(path)
    assert set(cfg.mcp_servers) == {"mysql", "other"}
