"""Secrets are masked by value in every byte a real `migrate` writes (issue 12).

A distinctive secret sits in each place a configuration can hold one: the MySQL password (of a MySQL
user created for the test), the AWS secret key and session token (environment), a variable of an MCP
server's ``env`` whose name does not say "password", a password flag in the server's ``args`` and the
credentials inside a ``mysql://`` URL. The migration runs with ``-vv`` and JSON logs; no secret may
appear in stdout, stderr or any file of the run directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _etl_expect import write_contract

from dynamigrate.sample import load_sample

pytestmark = pytest.mark.integration

TAG = uuid.uuid4().hex[:8]
SECRETS = {
    "mysql password": f"MyPw-{TAG}-q7Z",
    "aws secret key": f"AwsSecret{TAG}Kq9",
    "aws session token": f"SessTok{TAG}Vv3",
    "mcp env": f"EnvVal{TAG}Rr5",
    "mcp args": f"ArgPw{TAG}Tt1",
    "url credentials": f"UrlPw{TAG}Ww2",
}


@pytest.fixture
def secret_user(mysql_settings: Any, mysql_db: str) -> Any:
    user = f"dmsec_{TAG}"
    admin = pymysql.connect(**mysql_settings.connect_kwargs(), autocommit=True)
    try:
        with admin.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (SECRETS["mysql password"],))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{mysql_db}`.* TO '{user}'@'{host}'")
        yield user
    finally:
        with admin.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()


def test_no_secret_in_any_byte_of_a_real_migration(
    mysql_settings: Any, mysql_db: str, secret_user: str, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, 12)
    # a row that is rejected (empty key) and carries secrets as data: rejected.jsonl and the logs of
    # the rejection must mask them too
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": mysql_db}, autocommit=True)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO users (email, username, password_hash, created_at) VALUES ('', %s, %s, NOW())",
            (SECRETS["mysql password"], SECRETS["mcp env"]),
        )
    conn.close()
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users",))
    runs = tmp_path / "runs"
    config = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": ddb_endpoint},
        "mysql": {
            "host": "127.0.0.1",
            "port": 3306,
            "user": secret_user,
            "password": SECRETS["mysql password"],
            "database": mysql_db,
        },
        "migration": {"contract_file": str(contract), "output_dir": str(runs)},
        "mcpServers": {
            "mysql": {
                "disabled": True,
                "command": "mysql_mcp_server",
                "args": [
                    "--password",
                    SECRETS["mcp args"],
                    "--dsn",
                    f"mysql://{secret_user}:{SECRETS['url credentials']}@127.0.0.1:3306/{mysql_db}",
                ],
                "env": {"MYSQL_HOST": "127.0.0.1", "MYSQL_PASS": SECRETS["mcp env"]},
            }
        },
    }
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": SECRETS["aws secret key"],
        "AWS_SESSION_TOKEN": SECRETS["aws session token"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name in ("MYSQL_PASSWORD", "MYSQL_PWD", "DYNAMIGRATE_MYSQL_PASSWORD"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "dynamigrate", "-vv", "--log-format", "json", "migrate"]
    cmd += ["--config", str(config_path), "--progress", "json", "--json", "--accept", "key_missing"]
    done = subprocess.run(cmd, env=env, capture_output=True, timeout=300)
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 0, stderr[-4000:]

    # the migration really ran, so every writer had its chance to leak
    (run_dir,) = [p for p in runs.iterdir() if p.is_dir()]
    summary = json.loads(done.stdout)
    (table,) = summary["tables"]
    assert table["written"] == counts["users"] + counts["shopping_carts"] + counts["orders"]
    assert table["rejected_total"] == 1
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert {"run.json", "report.json", "report.md", "report.html", "events.jsonl", "state.json"} <= names
    assert "rejected.jsonl" in names and "***" in (run_dir / "rejected.jsonl").read_text()
    assert any(p.parent.name == "written" for p in files)
    # the config was recorded (masked), MCP block included
    recorded = json.loads((run_dir / "run.json").read_text())["config"]
    assert recorded["mcpServers"]["mysql"]["env"]["MYSQL_HOST"] == "127.0.0.1"

    blobs = {"stdout": done.stdout, "stderr": done.stderr}
    blobs.update({str(p.relative_to(run_dir)): p.read_bytes() for p in files})
    for where, blob in blobs.items():
        for what, secret in SECRETS.items():
            assert secret.encode() not in blob, f"{what} appears in {where}"
            assert secret.lower().encode() not in blob.lower(), f"{what} appears in {where}"


def test_mysql_mcp_server_gets_no_aws_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    from dynamigrate.source.mcp_client import build_server_env

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRETS["aws secret key"])
    monkeypatch.setenv("AWS_SESSION_TOKEN", SECRETS["aws session token"])
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("MYSQL_SSL_MODE", "DISABLED")
    env = build_server_env({"env": {"MYSQL_USER": "u"}})
    assert not {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID"} & set(env)
    assert env["AWS_REGION"] == "eu-west-1" and env["MYSQL_SSL_MODE"] == "DISABLED"
    # an AWS server (Glue's) is given the credentials it needs
    assert build_server_env({}, aws_credentials=True)["AWS_SECRET_ACCESS_KEY"] == SECRETS["aws secret key"]
