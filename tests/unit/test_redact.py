"""dynamigrate.redact: secrets found wherever a config holds them, masked by value by every writer."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from dynamigrate import redact
from dynamigrate.cli import run_command
from dynamigrate.config import load_config
from dynamigrate.errors import SourceError
from dynamigrate.runstate import JsonlWriter, write_json_atomic


@pytest.fixture(autouse=True)
def _fresh_registry():
    redact.clear()
    yield
    redact.clear()


def test_secrets_found_in_every_place_a_config_holds_them(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-1")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-2")
    raw = {
        "mysql": {"user": "appuser", "password": "mysql-pw-3", "database": "shop"},
        "aws": {"region": "us-east-1", "secret_access_key": "cfg-secret-4"},
        "mcpServers": {
            "mysql": {
                "command": "mysql_mcp_server",
                "args": [
                    "--password",
                    "arg-pw-5",
                    "--token=arg-tok-6",
                    "-parg-pw-7",
                    "mysql://u:url%2Fpw-8@h/db",
                ],
                "env": {
                    "MYSQL_HOST": "db.example",
                    "MYSQL_PORT": "3306",
                    "MYSQL_PASS": "env-pw-9",
                    "CUSTOM": "c-10x",
                },
            }
        },
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    load_config(path)
    text = " ".join(
        [
            "aws-secret-1",
            "session-token-2",
            "mysql-pw-3",
            "cfg-secret-4",
            "arg-pw-5",
            "arg-tok-6",
            "arg-pw-7",
            "url%2Fpw-8",
            "url/pw-8",
            "env-pw-9",
            "c-10x",
            "db.example",
            "3306",
            "appuser",
            "shop",
        ]
    )
    assert redact.redact(text) == "*** *** *** *** *** *** *** *** *** *** *** db.example 3306 appuser shop"


def test_password_equal_to_the_user_name_is_not_masked_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"mysql": {"user": "dynamigrate", "password": "dynamigrate"}}))
    load_config(path)
    assert redact.redact("dynamigrate migrate --resume") == "dynamigrate migrate --resume"


def test_a_dictionary_word_password_is_masked_as_a_word_not_inside_words() -> None:
    redact.register("shop")
    assert (
        redact.redact("password shop, dm_shop_runs/workshop.json")
        == "password ***, dm_shop_runs/workshop.json"
    )
    assert redact.redact("mysql -pshop -u x") == "mysql -p*** -u x"
    assert redact.redact("url mysql://u:shop@h/db shop") == "url mysql://u:***@h/db ***"
    assert redact.redact('{"password": "shop"}') == '{"password": "***"}'
    # a password with anything but letters is masked wherever it occurs, also inside words
    redact.register("s3cret")
    assert redact.redact("xs3cretx") == "x***x"


def test_escaped_forms_are_masked_too() -> None:
    redact.register('p"w\\ö-secret')
    assert "secret" not in redact.redact(json.dumps({"a": 'p"w\\ö-secret'}))
    assert "secret" not in redact.redact(json.dumps({"a": 'p"w\\ö-secret'}, ensure_ascii=False))
    assert "secret" not in redact.redact(repr('p"w\\ö-secret'))


def test_run_directory_writers_mask(tmp_path: Path) -> None:
    redact.register("hunter2-xyz")
    write_json_atomic(tmp_path / "a.json", {"error": "login failed with hunter2-xyz"})
    with JsonlWriter(tmp_path / "b.jsonl") as w:
        w.write({"key": {"id": "hunter2-xyz"}})
    assert "hunter2" not in (tmp_path / "a.json").read_text()
    assert "hunter2" not in (tmp_path / "b.jsonl").read_text()
    assert json.loads((tmp_path / "b.jsonl").read_text()) == {"key": {"id": "***"}}


def test_cli_output_errors_and_json_logs_are_masked(capsys) -> None:
    redact.register("hunter2-xyz")
    from dynamigrate.cli._logging import setup_logging

    setup_logging(verbosity=2, fmt="json")

    def handler(_args: object) -> int:
        logging.getLogger("dynamigrate.test").debug(
            "connecting with %s", "hunter2-xyz", extra={"fields": {"pw": "hunter2-xyz"}}
        )
        print("password is hunter2-xyz")
        raise SourceError("access denied for hunter2-xyz", hint="not hunter2-xyz")

    assert run_command(handler, object()) == 1
    out, err = capsys.readouterr()
    assert "hunter2" not in out + err
    assert "password is ***" in out and "access denied for ***" in err
    assert json.loads(err.splitlines()[0])["pw"] == "***"


def test_internal_error_is_exit_3_without_traceback(capsys) -> None:
    from dynamigrate.cli._logging import setup_logging

    setup_logging(verbosity=0)

    def handler(_args: object) -> int:
        raise KeyError("boom")

    assert run_command(handler, object()) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err and "internal error" in err and "KeyError" in err


def test_an_aws_profiles_keys_are_registered(tmp_path: Path, monkeypatch) -> None:
    from dynamigrate.config import AwsSettings
    from dynamigrate.target.client import dynamodb_client

    creds = tmp_path / "credentials"
    creds.write_text(
        "[migration]\naws_access_key_id = AKIAPROFILE\naws_secret_access_key = profile-secret-123\n"
        "aws_session_token = profile-token-456\n"
    )
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    dynamodb_client(
        AwsSettings(profile="migration", region="us-east-1", dynamodb_endpoint_url="http://127.0.0.1:1")
    )
    assert redact.redact("key profile-secret-123 token profile-token-456") == "key *** token ***"
