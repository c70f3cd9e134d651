"""``dynamigrate contract check`` without a database: output, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dynamigrate.cli import main

WORKSHOP = Path("/work/shared/reference/workshop-migrationContract.json")
if not WORKSHOP.exists():
    WORKSHOP = Path(__file__).resolve().parents[1] / "data" / "workshop-migrationContract.json"


def test_workshop_contract_stops_on_its_category_path(capsys: pytest.CaptureFixture[str]) -> None:
    # Products.category_path joins products to itself on products.category_id: not certain, it stops
    assert main(["contract", "check", str(WORKSHOP)]) == 2
    out = capsys.readouterr().out
    assert "INVALID:" in out and "1 error(s), 8 warning(s)" in out
    assert "ERROR   C301  tables[1].attributes[4].join.join_condition" in out
    assert (
        'join categories: {"type": "foreign-key", "target_table": "categories", "join_condition": '
        '"categories.id = products.category_id", "select_column": "categories.name"}' in out
    )
    assert "WARNING C112  tables[0].gsis[0].pk" in out


def test_workshop_contract_with_accept_is_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "check", str(WORKSHOP), "--accept", "c301"]) == 0
    out = capsys.readouterr().out
    assert "OK:" in out and "0 error(s), 9 warning(s)" in out
    assert "WARNING C301  tables[1].attributes[4].join.join_condition" in out
    assert "accepted knowingly (--accept C301)" in out


def test_accept_of_a_code_that_is_not_a_reading_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "check", str(WORKSHOP), "--accept", "C201"]) == 2
    err = capsys.readouterr().err
    assert "--accept C201" in err and "C301" in err


def test_broken_contract_lists_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(WORKSHOP.read_text())
    data["tables"][1]["attributes"][7]["type"] = "NUMBER"  # price
    data["tables"][2]["attributes"][0]["join"]["type"] = "self_join"
    data["tables"][1]["gsis"][0]["pk"] = "GSI1_PK"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["contract", "check", str(bad)]) == 2  # bad input, as in views generate and migrate
    out = capsys.readouterr().out
    assert "ERROR   C000  tables[1].attributes[7].type" in out
    assert "unknown attribute type 'NUMBER'" in out and "fix: did you mean 'N'?" in out
    assert "ERROR   C000  tables[2].attributes[0].join.type" in out and "did you mean 'self-join'?" in out
    assert "ERROR   C111  tables[1].gsis[0].pk" in out and "did you mean 'GSI1PK'?" in out
    assert "INVALID:" in out


def test_json_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = json.loads(WORKSHOP.read_text())
    data["tables"][1]["attributes"][1]["name"] = "_dm_sk"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    assert main(["contract", "check", str(bad), "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["tables"] == 3
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert any(p["path"] == "tables[1].attributes[1].name" and p["code"] == "C106" for p in errors)
    assert all(p["fix"] for p in errors)


def test_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "check", str(tmp_path / "nope.json")]) == 2
    assert "contract file not found" in capsys.readouterr().err


def test_invalid_json_exits_2_with_position(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"tables": [}')
    assert main(["contract", "check", str(bad)]) == 2
    out = capsys.readouterr().out
    assert "ERROR   C000  $" in out and "line 1 column 13" in out


def test_offline_ignores_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "cfg.json"
    cfg.write_text(json.dumps({"mysql": {"host": "203.0.113.1", "password": "s3cret-pw", "database": "x"}}))
    args = ["contract", "check", str(WORKSHOP), "--config", str(cfg), "--offline", "--accept", "C301"]
    assert main(args) == 0
    out = capsys.readouterr()
    assert "not linted against a live schema" in out.out
    assert "s3cret-pw" not in out.out + out.err
