"""A run's own settings are the default of every later command on it: ``validate --run RUN`` with no
config and no endpoint in the environment validates against the DynamoDB Local endpoint, region and
database the run used (secrets excepted: the password is asked for again), without touching the run's
outcome or times. Region sources that disagree stop every command that talks to AWS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _migrated_library import N_AUTHORS, N_BOOKS, create_source, make_config, run_migrate

from dynamigrate.config import load_config
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    """The environment without any endpoint, region, MySQL setting or config of the test run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_ENDPOINT_URL", "MYSQL_", "DYNAMIGRATE_MYSQL_"))
        and k not in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE")
    }
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return env


def _cli(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dynamigrate", *args],
        cwd=cwd,
        env=_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def migrated(
    tmp_path: Path, mysql_settings: Any, mysql_db: str, mysql_conn: Any, ddb_prefix: str, ddb_endpoint: str
) -> dict[str, Any]:
    create_source(mysql_conn)
    _, cfg_path = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, f"{ddb_prefix}Library")
    raw = json.loads(cfg_path.read_text())
    raw["migration"]["output_dir"] = str(tmp_path / "dynamigrate-runs")  # the default, seen from tmp
    cfg_path.write_text(json.dumps(raw))
    summary = run_migrate(load_config(cfg_path), skip_validation=True)
    return {"run": RunDir.open(summary.run_dir), "tmp": tmp_path, "cfg_path": cfg_path, "db": mysql_db}


def test_validate_run_without_config_uses_the_runs_endpoint(migrated: dict[str, Any]) -> None:
    run: RunDir = migrated["run"]
    settings = run.meta["settings"]
    assert settings["mysql.database"] == migrated["db"] and "secrets" in settings
    assert settings["secrets"] == ["mysql.password"]  # its name, never its value
    assert not [k for k in settings if "password" in k or "secret" in k.replace("secrets", "")]
    state_before = run.state()
    report_before = json.loads(run.file("report.json").read_text())

    done = _cli(["validate", "--run", run.run_id], migrated["tmp"], MYSQL_PASSWORD="dynamigrate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASSED" in done.stdout
    saved = json.loads(run.file("validation.json").read_text())
    (t,) = saved["tables"]
    # every figure from the same DynamoDB Local and database as the run
    assert saved["status"] == "passed" and saved["origin"] == "validate"
    assert t["source_rows"] == N_AUTHORS + N_BOOKS and t["ddb_count"] == N_AUTHORS + N_BOOKS
    state_after = run.state()
    for key in ("status", "started_at", "finished_at"):
        assert state_after.get(key) == state_before.get(key), key
    for key in ("status", "started", "finished", "duration", "tables"):
        assert state_after["summary"].get(key) == state_before["summary"].get(key), key
    report_after = json.loads(run.file("report.json").read_text())
    for key in ("outcome", "started_at"):
        assert report_after.get(key) == report_before.get(key), key
    assert abs(report_after["duration_seconds"] - state_before["summary"]["duration"]) < 0.01
    assert report_after["outcome"] == "succeeded"
    assert report_after["finished_at"] == state_before["summary"]["finished"]  # the run's, not validate's
    assert report_after["validation"]["status"] == "passed"


def test_validate_run_without_the_password_says_where_to_give_it(migrated: dict[str, Any]) -> None:
    run: RunDir = migrated["run"]
    done = _cli(["validate", "--run", run.run_id], migrated["tmp"])
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert "no MySQL password given" in done.stderr and "MYSQL_PASSWORD" in done.stderr
    assert "never saved with a run" in done.stderr
    assert not run.file("validation.json").exists()


def test_region_disagreement_stops_every_command_on_aws(migrated: dict[str, Any]) -> None:
    """aws.region of the config file against AWS_DEFAULT_REGION, toward real AWS (no local endpoint
    given now and none in a run of its own): refused before any call, --region chooses."""
    tmp: Path = migrated["tmp"]
    cfg = tmp / "aws-config.json"
    contract = json.loads(migrated["cfg_path"].read_text())["migration"]["contract_file"]
    cfg.write_text(
        json.dumps(
            {
                "aws": {"region": "us-west-2"},
                "migration": {"output_dir": str(tmp / "aws-runs"), "contract_file": contract},
            }
        )
    )
    aws_run = RunDir.create(tmp / "aws-runs", meta={"command": "migrate", "tables": []})
    commands = [
        ["validate", "--config", str(cfg), "--run", aws_run.run_id],
        ["rollback", "--config", str(cfg), aws_run.run_id, "--dry-run"],
        ["cleanup", "--config", str(cfg), aws_run.run_id, "--dry-run"],
        ["markers", "remove", "--config", str(cfg), "--dry-run"],
    ]
    for args in commands:
        done = _cli(args, tmp, AWS_DEFAULT_REGION="eu-west-1", MYSQL_PASSWORD="x")
        assert done.returncode == 1, (args, done.stdout, done.stderr)  # as migrate: DM700, exit 1
        assert "Traceback" not in done.stderr
        assert "disagree on the region" in done.stderr and "--region" in done.stderr, args
        assert "us-west-2" in done.stderr and "eu-west-1" in done.stderr
    assert not list((tmp / "aws-runs" / aws_run.run_id).glob("validation*"))  # stopped before any call
    # --region says which: the disagreement is no longer held against the run (validate goes on and
    # fails further, at the contract's MySQL, not at the region)
    done = _cli([*commands[1], "--region", "us-west-2"], tmp, AWS_DEFAULT_REGION="eu-west-1")
    assert "disagree on the region" not in done.stderr
