"""Every command against the bad-input corpus (tests/fixtures/bad-inputs): no traceback, exit 2, and
the message names the JSON path or config key (issue 12).

The corpus is files kept in the repository (make_corpus.py documents how each was made): contracts
that are all_patterns.json with one defect, and broken config files. Each contract case runs through
``contract check`` (linted against the live schema), ``views generate``, ``preflight``,
``migrate --dry-run`` and ``validate``; each config case through the same commands with the good
contract.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dynamigrate.cli import main
from dynamigrate.sqlgen import split_statements

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "bad-inputs"
CASES: list[dict[str, Any]] = json.loads((CORPUS / "cases.json").read_text(encoding="utf-8"))
GOOD_CONTRACT = FIXTURES / "contracts" / "all_patterns.json"


def test_corpus_is_big_enough() -> None:
    assert len([c for c in CASES if c["kind"] == "contract"]) >= 60
    assert len([c for c in CASES if c["kind"] == "config"]) >= 15
    for case in CASES:
        assert (CORPUS / case["file"]).is_file(), case["file"]


@pytest.fixture(scope="module")
def schema_db(mysql_settings: Any) -> Any:
    """A database with the all_patterns schema (module scope: the corpus only reads it)."""
    name = f"dm_test_{uuid.uuid4().hex[:12]}"
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": None}, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{name}`")
            for stmt in split_statements((FIXTURES / "all_patterns_schema.sql").read_text(encoding="utf-8")):
                cur.execute(stmt)
        yield name
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        conn.close()


@pytest.fixture(scope="module")
def good_config(schema_db: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bad-inputs")
    path = tmp / "config.json"
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": "http://127.0.0.1:8000"},
        "mysql": {"host": "127.0.0.1", "port": 3306, "user": "dynamigrate", "database": schema_db},
        "migration": {"output_dir": str(tmp / "runs")},
    }
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def _commands(contract: Path, config: Path, out: Path) -> dict[str, list[str]]:
    return {
        "contract check": ["contract", "check", str(contract), "--config", str(config)],
        "views generate": ["views", "generate", str(contract), "--config", str(config), "--schema-from-db"],
        "preflight": [
            "preflight",
            "--config",
            str(config),
            "--contract",
            str(contract),
            "--output",
            str(out),
        ],
        "migrate --dry-run": ["migrate", "--dry-run", "--config", str(config), "--contract", str(contract)],
        "validate": [
            "validate",
            "--config",
            str(config),
            "--contract",
            str(contract),
            "--output-dir",
            str(out),
        ],
    }


@pytest.mark.parametrize("case", CASES, ids=[Path(c["file"]).stem for c in CASES])
def test_bad_input(
    case: dict[str, Any],
    good_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: Any,
) -> None:
    monkeypatch.setenv("MYSQL_PASSWORD", "dynamigrate")
    monkeypatch.chdir(tmp_path)
    bad = CORPUS / case["file"]
    if case["kind"] == "contract":
        contract, config = bad, good_config
    else:  # the config cases name the database @DATABASE@
        contract, config = GOOD_CONTRACT, tmp_path / "config.json"
        database = json.loads(good_config.read_text())["mysql"]["database"]
        config.write_bytes(bad.read_bytes().replace(b"@DATABASE@", database.encode()))
    failures = []
    for name, argv in _commands(contract, config, tmp_path / "out").items():
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        text = out + err
        if "Traceback" in text or code != 2 or not any(e in text for e in case["expect"]):
            failures.append(f"{name}: exit {code}, expected 2 and one of {case['expect']}:\n{text[-1500:]}")
    assert not failures, "\n".join(failures)


def test_the_good_contract_passes_every_command(
    good_config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    """The corpus's base: every command that judges a contract accepts it (the same verdict both ways)."""
    monkeypatch.setenv("MYSQL_PASSWORD", "dynamigrate")
    monkeypatch.chdir(tmp_path)
    commands = _commands(GOOD_CONTRACT, good_config, tmp_path / "out")
    for name in ("contract check", "views generate", "migrate --dry-run"):
        assert main(commands[name]) == 0, name + ": " + capsys.readouterr().err[-2000:]
    out = capsys.readouterr().out
    assert "CREATE OR REPLACE VIEW" in out and "OK:" in out


@pytest.mark.parametrize("command", ["migrate", "validate", "preflight"])
def test_environment_errors_are_bad_input(
    command: str,
    good_config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: Any,
) -> None:
    """AWS_PROFILE naming no profile, an output directory that cannot be created: exit 2, named."""
    monkeypatch.setenv("MYSQL_PASSWORD", "dynamigrate")
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    unwritable = blocker / "runs"
    args = {
        "migrate": [
            "migrate",
            "--config",
            str(good_config),
            "--contract",
            str(GOOD_CONTRACT),
            "--progress",
            "quiet",
        ],
        "validate": ["validate", "--config", str(good_config), "--contract", str(GOOD_CONTRACT)],
        "preflight": ["preflight", "--config", str(good_config), "--contract", str(GOOD_CONTRACT)],
    }[command]
    out_flag = (
        ["--output", str(unwritable / "p.json")]
        if command == "preflight"
        else ["--output-dir", str(unwritable)]
    )
    assert main([*args, *out_flag]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(blocker) in err and "internal error" not in err

    if command != "preflight":  # preflight never talks to AWS
        monkeypatch.setenv("AWS_PROFILE", "nosuch")
        assert main([*args, "--output-dir", str(tmp_path / "runs")]) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err and "AWS profile 'nosuch' not found" in err and "AWS_PROFILE" in err
