"""`migrate --engine glue` with the workshop's config.json and no Glue connection stops before anything
is created in AWS, saying why; the workshop keys it does not use are named."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import write_contract

from dynamigrate.sample import load_sample

pytestmark = pytest.mark.integration


def test_engine_glue_without_a_connection_stops_before_creating_anything(
    mysql_settings: Any, mysql_db: str, ddb_prefix: str, tmp_path: Path
) -> None:
    load_sample(mysql_settings.connect_kwargs(), mysql_db, 5)
    contract = write_contract(tmp_path, ddb_prefix, tables=("Categories",))
    raw = {
        "aws": {
            "account_id": "123456789012",
            "region": "us-east-1",
            "s3_bucket": "modernizer-bucket",
            "glue_role": "GlueMigrationRole",
            "vpc_id": "vpc-0abc",
            "subnet_ids": ["subnet-0abc"],
            "security_group_ids": ["sg-0abc"],
            "endpoint_url": "http://127.0.0.1:1",  # nothing may be created: nothing listens there
        },
        "mysql": {
            "public_host": "127.0.0.1",
            "private_host": "10.0.1.23",
            "port": 3306,
            "user": "dynamigrate",
            "password": "dynamigrate",
            "database": mysql_db,
        },
        "migration": {"contract_file": str(contract), "output_dir": str(tmp_path / "runs")},
    }
    config = tmp_path / "config.json"
    config.write_text(json.dumps(raw))
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy"}
    argv = [sys.executable, "-m", "dynamigrate", "migrate", "--config", str(config), "--engine", "glue"]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "the Glue jobs would not reach MySQL" in proc.stderr
    assert "mysql-modernizer-connection" in proc.stderr
    assert "aws.vpc_id, aws.subnet_ids, aws.security_group_ids not used" in proc.stderr
    assert "mysql.private_host (10.0.1.23) not used" in proc.stderr
    (run,) = (tmp_path / "runs").iterdir()
    state = json.loads((run / "state.json").read_text())
    assert state["phases"]["regions"]["status"] == "failed"
    assert "tables" not in state["phases"] and "views" not in state["phases"]
    manifest = json.loads((run / "manifest.json").read_text()) if (run / "manifest.json").exists() else {}
    assert not any(manifest.get(k) for k in ("tables", "glue_jobs", "s3_objects", "views"))
