"""Which date-format ``source_format`` texts are readable (names, aliases, token patterns)."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate.contract.validate import SOURCE_FORMAT_NAMES, source_format_name, source_format_problem


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("date", "date"),
        ("DateTime", "datetime"),
        (" iso8601 ", "iso8601"),
        ("ISO-8601", "iso8601"),
        ("epoch", "epoch"),
        ("unix", "epoch"),
        ("epoch_ms", "epoch_ms"),
        ("epoch-millis", "epoch_ms"),
    ],
)
def test_names_and_aliases(text: str, name: str) -> None:
    assert source_format_name(text) == name
    assert source_format_problem(text) is None


@pytest.mark.parametrize(
    "pattern", ["YYYY-MM-DD", "DD/MM/YYYY HH:mm", "YYYYMMDDHHmmss", "YYYY-MM-DDTHH:mm:ssZ"]
)
def test_token_patterns_are_readable(pattern: str) -> None:
    assert source_format_name(pattern) is None
    assert source_format_problem(pattern) is None


@pytest.mark.parametrize(
    ("value", "in_fix"),
    [
        ("yyyy-mm-dd", "YYYY"),
        ("%d/%m/%Y", '"DD/MM/YYYY"'),
        ("epoch_sec", '"epoch"'),
        ("/-:", "DD/MM/YYYY"),
        ("", "iso8601"),
        (17, "iso8601"),
        (None, "iso8601"),
    ],
)
def test_anything_else_is_a_problem_with_a_fix(value: Any, in_fix: str) -> None:
    problem = source_format_problem(value)
    assert problem is not None
    assert in_fix in problem[1]


def test_every_documented_name_is_in_the_docs() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "contract-checks.md").read_text(encoding="utf-8")
    for name in SOURCE_FORMAT_NAMES:
        assert f"| `{name}` |" in doc
