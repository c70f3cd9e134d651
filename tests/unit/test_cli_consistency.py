"""One CLI: --tables, --run and the global flags mean the same in every command; help texts are plain
text; `status` shows the latest run; shell completion."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

import pytest

from dynamigrate.cli import build_parser, main
from dynamigrate.cli._common import split_names
from dynamigrate.runstate import RunDir


def _parsers(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {opt for a in parser._actions for opt in a.option_strings}


# the smallest command line of every command that takes --tables
TABLES_COMMANDS = {
    ("migrate",): ["--config", "c.json"],
    ("preflight",): ["--config", "c.json"],
    ("validate",): [],
    ("rollback",): ["RUN1"],
    ("markers", "remove"): ["--config", "c.json"],
    ("views", "generate"): ["contract.json"],
    ("replicate",): ["--config", "c.json"],
}

# the smallest command line of every command that names a run
RUN_COMMANDS = {
    ("migrate",): ["--config", "c.json"],
    ("preflight",): ["--config", "c.json"],
    ("validate",): [],
    ("rollback",): [],
    ("cleanup",): [],
    ("status",): [],
    ("report",): [],
    ("markers", "remove"): ["--config", "c.json"],
    ("views", "apply"): ["views.sql"],
    ("replicate",): ["--config", "c.json"],
    ("cutover",): ["--config", "c.json"],
}


def test_tables_is_comma_and_space_separated_in_every_command() -> None:
    parser = build_parser()
    with_tables = {path for path, p in _parsers(parser) if "--tables" in _options(p)}
    assert with_tables == set(TABLES_COMMANDS)
    for path, required in TABLES_COMMANDS.items():
        args = parser.parse_args([*path, *required, "--tables", "Users,Orders", "Products"])
        value = args.table if path == ("views", "generate") else args.tables
        assert split_names(value) == ["Users", "Orders", "Products"], path
        # repeated flags add up
        args = parser.parse_args([*path, *required, "--tables", "Users", "--tables", "Orders"])
        value = args.table if path == ("views", "generate") else args.tables
        assert split_names(value) == ["Users", "Orders"], path


def test_a_run_is_named_with_run_in_every_command() -> None:
    parser = build_parser()
    naming = {path for path, p in _parsers(parser) if "--run" in _options(p)}
    assert naming == set(RUN_COMMANDS)
    for path, required in RUN_COMMANDS.items():
        args = parser.parse_args([*path, *required, "--run", "20260101T000000Z-abcd"])
        value = args.run_dir if path == ("views", "apply") else args.run
        assert value == "20260101T000000Z-abcd", path


def test_global_flags_work_after_the_command_too() -> None:
    parser = build_parser()
    args = parser.parse_args(["status", "-v", "-q", "--log-format", "json"])
    assert (args.verbose, args.quiet, args.log_format) == (1, True, "json")
    args = parser.parse_args(["-q", "--log-format", "json", "status"])
    assert (args.verbose, args.quiet, args.log_format) == (0, True, "json")
    args = parser.parse_args(["status"])
    assert (args.verbose, args.quiet, args.log_format) == (0, False, "text")
    for path, p in _parsers(parser):
        if not any(isinstance(a, argparse._SubParsersAction) for a in p._actions):
            assert {"-v", "-q", "--log-format"} <= _options(p), path


def test_help_texts_have_no_restructuredtext_markup() -> None:
    for path, p in _parsers(build_parser()):
        text = p.format_help()
        assert "``" not in text, (path, text)
        assert not re.search(r":[a-z]+:`", text), (path, text)


def _status(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["status", *argv]) == 0
    return capsys.readouterr().out


def test_status_without_a_run_shows_the_latest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = RunDir.create(tmp_path, "20260101T000000Z-aaaa")
    latest = RunDir.create(tmp_path, "20260102T000000Z-bbbb")
    out = _status(capsys, "--output-dir", str(tmp_path))
    assert out.startswith(f"run {latest.run_id} ")
    assert first.run_id not in out
    doc = json.loads(_status(capsys, "--output-dir", str(tmp_path), "--json"))
    assert doc["run_id"] == latest.run_id
    assert _status(capsys, first.run_id, "--output-dir", str(tmp_path)).startswith(f"run {first.run_id} ")
    assert _status(capsys, "--run", first.run_id, "--output-dir", str(tmp_path)).startswith(
        f"run {first.run_id} "
    )
    listed = _status(capsys, "--list", "--output-dir", str(tmp_path))
    assert first.run_id in listed and latest.run_id in listed


def test_rollback_needs_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    RunDir.create(tmp_path, "20260101T000000Z-aaaa")
    assert main(["rollback", "--output-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "name the run: dynamigrate rollback RUN" in err


def test_bash_completion_completes_commands_and_flags(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "dynamigrate.bash"
    script.write_text(capsys.readouterr().out)
    probe = (
        f"source {script}\n"
        'complete_words() { COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; '
        'COMP_POINT=${#COMP_LINE}; _shtab_dynamigrate; echo "${COMPREPLY[@]}"; }\n'
        "complete_words dynamigrate mig\n"
        "complete_words dynamigrate migrate --tab\n"
    )
    proc = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["migrate", "--tables"]


def test_status_of_a_table_whose_total_is_not_known_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = RunDir.create(tmp_path, "20260101T000000Z-aaaa")
    run.update_state(status="running", tables={"Users": {"status": "running", "read": 1200, "written": 1100}})
    out = _status(capsys, "--output-dir", str(tmp_path))
    (line,) = [x for x in out.splitlines() if "Users" in x]
    assert "read 1200 " in line and "written 1100" in line and "?" not in line
