"""BatchGetItem answering UnprocessedKeys forever ends in an error after the retry policy's attempts
(issue 12: the loops in the lost-target check and the writer's read-back had no cap)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.errors import TransientTargetError
from dynamigrate.etl.lost_target import check_target
from dynamigrate.target.retry import RetryPolicy


class _AlwaysUnprocessed:
    def __init__(self) -> None:
        self.calls = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return {"Responses": {}, "UnprocessedKeys": RequestItems}


def test_lost_target_check_gives_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RetryPolicy, "delay", lambda self, n: 0.0)
    log = tmp_path / "written.jsonl"
    log.write_text(
        "".join(json.dumps({"key": {"PK": {"S": f"k{i}"}}, "marker": "m"}) + "\n" for i in range(3))
    )
    client = _AlwaysUnprocessed()
    with pytest.raises(TransientTargetError, match=r"unprocessed after 10 attempts") as info:
        check_target(client, "T", log)
    assert client.calls == RetryPolicy().max_attempts == 10
    assert "read capacity" in (info.value.hint or "")
