"""What `migrate` says before any data moves: contract warnings grouped by cause, interpretations once
at INFO (-v), nothing but errors with -q; all of them in the run directory and the reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, write_contract

from dynamigrate.sample import load_sample

pytestmark = pytest.mark.integration


def _migrate(config: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy"}
    argv = [sys.executable, "-m", "dynamigrate", "migrate", "--config", str(config), *flags]
    argv += ["--skip-validation", "--write-mode", "overwrite", "--yes", "--strategy", "put"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)


def _latest_run(tmp_path: Path) -> Path:
    return sorted((tmp_path / "runs").iterdir())[-1]


def test_warnings_grouped_interpretations_at_info_all_recorded(
    mysql_settings: Any, mysql_db: str, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    load_sample(mysql_settings.connect_kwargs(), mysql_db, 10)
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users", "Categories"))
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract)

    # the contract's warnings, from the contract checker (independent of how migrate prints them)
    argv = [sys.executable, "-m", "dynamigrate", "contract", "check", str(contract), "--config", str(config)]
    check = subprocess.run([*argv, "--json"], capture_output=True, text=True, timeout=120)
    warnings = [p for p in json.loads(check.stdout)["problems"] if p["severity"] == "warning"]
    by_code = Counter(p["code"] for p in warnings)
    assert any(n > 1 for n in by_code.values()), "the example contract repeats a warning"

    # default: one line per cause, no interpretations
    proc = _migrate(config)
    assert proc.returncode == 0, proc.stderr[-3000:]
    contract_lines = [line for line in proc.stderr.splitlines() if "contract: " in line and "WARNING" in line]
    assert len(contract_lines) == len(by_code), proc.stderr
    for code, n in by_code.items():
        (line,) = [x for x in contract_lines if f"contract: {code}" in x]
        assert (f"{code} x{n}" in line) == (n > 1), line
    assert "interpretation" not in proc.stderr

    # everything is in the run directory and the reports
    run = _latest_run(tmp_path)
    notes = json.loads((run / "notes.json").read_text())
    assert sorted((w["code"], w["path"], w["message"]) for w in notes["contract_warnings"]) == sorted(
        (w["code"], w["path"], w["message"]) for w in warnings
    )
    # the interpretations as the views file of the run lists them (its comment lines)
    listed = [
        line.removeprefix("--   * ")
        for line in (run / "views.sql").read_text().splitlines()
        if line.startswith("--   * ")
    ]
    assert listed and [n["note"] for n in notes["interpretations"]] == listed
    report_md = (run / "report.md").read_text()
    report_json = json.loads((run / "report.json").read_text())
    assert report_json["notes"] == notes
    for w in warnings:
        assert w["path"] in report_md
    for note in listed:
        assert note.replace("|", "\\|") in report_md
    assert "Contract warnings and interpretations" in (run / "report.html").read_text()

    # -v (after the command): each interpretation once, at INFO
    proc = _migrate(config, "-v")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for note in listed:
        assert proc.stderr.count(note) == 1, note

    # -q: neither warnings nor interpretations nor progress
    proc = _migrate(config, "-q")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "WARNING" not in proc.stderr and "interpretation" not in proc.stderr
    assert "written" not in proc.stderr
