"""Messages that used to mislead (issue 12): each says what really happened and what to do."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from dynamigrate.cli import run_command
from dynamigrate.errors import UnsafeSqlError
from dynamigrate.pipeline import RunSummary, TableResult
from dynamigrate.target.retry import RetryPolicy


def _give_up(exc: Exception) -> str:
    return RetryPolicy(max_attempts=2, sleep=lambda s: None).give_up(exc, "PutItem", 2).hint or ""


def test_a_closed_port_is_not_called_throttling() -> None:
    hint = _give_up(EndpointConnectionError(endpoint_url="http://127.0.0.1:9"))
    assert "could not be reached" in hint and "endpoint" in hint
    assert "throttl" not in hint and "capacity" not in hint
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}}, "PutItem"
    )
    assert "throttling" in _give_up(throttled) and "capacity" in _give_up(throttled)


def test_resume_command_names_the_config_and_only_when_something_is_left() -> None:
    summary = RunSummary(
        "20261130T000000Z-abcd", "/runs/x", "failed", "local", "insert", config_path="/my dir/c.json"
    )
    summary.tables = [TableResult(table="Users", status="failed"), TableResult(table="Orders", status="done")]
    assert (
        summary.resume_command()
        == "dynamigrate migrate --config '/my dir/c.json' --resume 20261130T000000Z-abcd"
    )
    assert (
        "<file>" not in summary.render_text()
        and "resume with: dynamigrate migrate --config" in summary.render_text()
    )
    summary.tables[0].status = "done"  # everything loaded, validation failed: nothing to resume
    assert summary.resume_command() is None and "resume with" not in summary.render_text()


def test_sql_safety_errors_get_no_value_conversion_hint(capsys: pytest.CaptureFixture[str]) -> None:
    def handler(_args: object) -> int:
        raise UnsafeSqlError(
            "'SLEEP(5)' is not a valid SQL expression", path="tables[0].attributes[1].join.select_column"
        )

    assert run_command(handler, object()) == 1
    err = capsys.readouterr().err
    assert "tables[0].attributes[1].join.select_column" in err
    assert "converted" not in err and "troubleshooting" not in err
