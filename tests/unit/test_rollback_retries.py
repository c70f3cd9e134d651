"""Rollback's reads of current items give up after a bounded number of attempts (issue 12: the loop on
UnprocessedKeys had no cap)."""

from __future__ import annotations

from typing import Any

import pytest

from dynamigrate import rollback
from dynamigrate.errors import TransientTargetError


class _AlwaysUnprocessed:
    def __init__(self) -> None:
        self.calls = 0

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        self.calls += 1
        return {"Responses": {"T": []}, "UnprocessedKeys": RequestItems}


def test_unprocessed_keys_are_retried_a_bounded_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(rollback.time, "sleep", slept.append)
    client = _AlwaysUnprocessed()
    with pytest.raises(TransientTargetError, match="1 key\\(s\\) unprocessed after 10 attempts") as info:
        rollback._current_items(client, "T", [{"PK": {"S": "a"}}])
    assert client.calls == rollback.UNPROCESSED_ATTEMPTS == 10
    assert len(slept) == 9 and all(0 <= s <= 2.0 for s in slept)
    assert "read capacity" in (info.value.hint or "")
