"""The key scan of validation (validate/dynamo.py) against DynamoDB Local: every key exactly once,
whatever the segment count, through the lean sender and through botocore alike; binary keys and
pages beyond the first (the 1 MB limit) included."""

from __future__ import annotations

import os
from typing import Any

import pytest

from dynamigrate.validate.compare import key_string
from dynamigrate.validate.dynamo import DynamoSide, scan_segments


def _table(ddb_client: Any, name: str) -> dict[str, str | None]:
    ddb_client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "B"},
            {"AttributeName": "SK", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    expected: dict[str, str | None] = {}
    with_marker = 0
    for i in range(60):
        pk = bytes([i % 7, 0, 255, i])  # zero bytes, high bytes: base64 on the wire
        item: dict[str, Any] = {"PK": {"B": pk}, "SK": {"N": f"{i}.50"}}
        marker = None
        if i % 3:
            marker = f"run1:{i:04x}"
            item["_dm_marker"] = {"S": marker}
            with_marker += 1
        if i < 6:  # 6 x 300 KB: the scan needs more than one page
            item["blob"] = {"S": "x" * 300_000}
        ddb_client.put_item(TableName=name, Item=item)
        expected[key_string({"PK": {"B": pk}, "SK": {"N": f"{i}.5"}})] = marker
    assert 0 < with_marker < 60
    return expected


@pytest.mark.parametrize("lean", ["1", "0"])
def test_key_scan_sees_every_key_once_with_any_segment_count(
    ddb_client: Any, ddb_prefix: str, lean: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAMIGRATE_LEAN_CLIENT", lean)
    name = f"{ddb_prefix}scan"
    expected = _table(ddb_client, name)
    for segments in (1, 3, None, 200):  # None: chosen from the expected count
        side = DynamoSide(ddb_client, name, ("PK", "SK"), "_dm_marker", segments)
        assert (side.lean is not None) == (lean == "1")
        got: list[tuple[str, str | None]] = []
        pages: list[int] = []

        def consume(
            page: list[tuple[str, str | None]], got: list[Any] = got, pages: list[int] = pages
        ) -> None:
            got.extend(page)
            pages.append(len(page))

        count = side.scan_keys(consume, expected_items=len(expected))
        side.close()
        if segments == 1:
            assert len(pages) >= 2  # 1.8 MB of items: more than one page
        assert count == len(got) == len(expected), segments
        assert dict(got) == expected, segments
        assert side.used_segments == (segments or scan_segments(len(expected)))
        assert DynamoSide(ddb_client, name, ("PK", "SK"), None, segments).count_scan(60) == 60


def test_batch_get_returns_binary_keys_and_values(ddb_client: Any, ddb_prefix: str) -> None:
    name = f"{ddb_prefix}bget"
    expected = _table(ddb_client, name)
    side = DynamoSide(ddb_client, name, ("PK", "SK"), "_dm_marker")
    assert side.lean is not None or os.environ.get("DYNAMIGRATE_LEAN_CLIENT") == "0"
    keys = [{"PK": {"B": bytes([i % 7, 0, 255, i])}, "SK": {"N": str(i + 0.5)}} for i in range(6, 60)]
    found = side.get_many(keys)
    side.close()
    assert set(found) == {key_string(k) for k in keys} <= set(expected)
    one = found[key_string(keys[0])]
    assert one["PK"] == {"B": bytes([6 % 7, 0, 255, 6])}


def test_segments_follow_the_size() -> None:
    assert scan_segments(None) == scan_segments(0) == 4
    assert scan_segments(1000) == 4
    assert scan_segments(75_350) == 302
    assert scan_segments(10**12) == 10_000
