"""The fault-free scenarios of ``tests/unit/test_writer_exact.py``, run against DynamoDB Local.

The same test functions, with the same hand-written expectations, collected a second time here with
a ``ddb`` fixture that is DynamoDB Local (a table named like the contract's ``Orders``, with its GSI
``ByStatus``, under a unique prefix) instead of the in-memory DynamoDB: what the writer is expected to
do on the fake is what it does on AWS's engine. Scenarios with scripted faults (errors, unprocessed
items, lost answers, races) stay with the fake only; the fake itself is checked against DynamoDB
Local by ``test_fake_dynamodb_conformance.py``.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from _fake_dynamodb import canonical_number
from test_writer_exact import (
    T,
    table,
    test_a_key_repeated_in_a_batch_keeps_the_first_row,
    test_a_repeated_key_meeting_someone_elses_item_is_a_duplicate_too,
    test_a_resumed_batch_counts_our_earlier_items_written,
    test_a_writer_without_sink_still_counts,
    test_an_item_dynamodb_refuses_is_a_rejected_row_with_its_message,
    test_an_item_equal_to_ours_but_from_another_row_is_not_ours,
    test_every_omitted_gsi_key_is_counted,
    test_insert_writes_absent_items_and_skips_existing_ones,
    test_many_items_in_small_groups_all_land,
    test_newer_rejects_rows_without_the_version,
    test_newer_replaces_only_older_versions,
    test_newer_with_a_repeated_key_keeps_the_first_row,
    test_overwrite_keep_old_images,
    test_overwrite_replaces_everything_in_batches,
    test_overwrite_with_a_repeated_key_keeps_the_last_row,
    test_rows_the_encoder_rejected_are_counted_not_sent,
    test_sync_decides_per_item,
    test_sync_reads_more_keys_than_one_request_takes,
    test_sync_with_a_repeated_key_ends_with_the_last_row,
)

pytestmark = pytest.mark.integration

ON_LOCAL = [
    table,  # the contract's table (a fixture)
    test_a_key_repeated_in_a_batch_keeps_the_first_row,
    test_a_repeated_key_meeting_someone_elses_item_is_a_duplicate_too,
    test_a_resumed_batch_counts_our_earlier_items_written,
    test_a_writer_without_sink_still_counts,
    test_an_item_dynamodb_refuses_is_a_rejected_row_with_its_message,
    test_an_item_equal_to_ours_but_from_another_row_is_not_ours,
    test_every_omitted_gsi_key_is_counted,
    test_insert_writes_absent_items_and_skips_existing_ones,
    test_many_items_in_small_groups_all_land,
    test_newer_rejects_rows_without_the_version,
    test_newer_replaces_only_older_versions,
    test_newer_with_a_repeated_key_keeps_the_first_row,
    test_overwrite_keep_old_images,
    test_overwrite_replaces_everything_in_batches,
    test_overwrite_with_a_repeated_key_keeps_the_last_row,
    test_rows_the_encoder_rejected_are_counted_not_sent,
    test_sync_decides_per_item,
    test_sync_reads_more_keys_than_one_request_takes,
    test_sync_with_a_repeated_key_ends_with_the_last_row,
]

KEYS = ("PK", "SK")


class LocalDynamoDB:
    """DynamoDB Local behind the in-memory DynamoDB's names: its test helpers (``put``, ``get``,
    ``all``) and the table ``Orders``, which is ``<prefix>Orders`` on DynamoDB Local."""

    def __init__(self, client: Any, prefix: str):
        self.client = client
        self.prefix = prefix

    def _in(self, name: str) -> str:
        return self.prefix + name

    def _out(self, tables: dict[str, Any]) -> dict[str, Any]:
        return {name.removeprefix(self.prefix): v for name, v in tables.items()}

    # -- the fake's test helpers --------------------------------------------------------------------
    def put(self, table: str, item: dict[str, Any]) -> None:
        self.client.put_item(TableName=self._in(table), Item=item)

    def get(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        k = {a: key[a] for a in KEYS}
        item: dict[str, Any] | None = self.client.get_item(
            TableName=self._in(table), Key=k, ConsistentRead=True
        ).get("Item")
        return item

    def all(self, table: str) -> list[dict[str, Any]]:
        """Every item, in the fake's order (by key)."""
        items: list[dict[str, Any]] = []
        for page in self.client.get_paginator("scan").paginate(
            TableName=self._in(table), ConsistentRead=True
        ):
            items.extend(page["Items"])

        def order(item: dict[str, Any]) -> tuple[Any, ...]:
            return tuple(
                canonical_number(item[a]["N"]) if "N" in item[a] else next(iter(item[a].values()))
                for a in KEYS
            )

        return sorted(items, key=order)

    # -- the API the writer calls -------------------------------------------------------------------
    def put_item(self, **request: Any) -> dict[str, Any]:
        return dict(self.client.put_item(**{**request, "TableName": self._in(request["TableName"])}))

    def delete_item(self, **request: Any) -> dict[str, Any]:
        return dict(self.client.delete_item(**{**request, "TableName": self._in(request["TableName"])}))

    def update_item(self, **request: Any) -> dict[str, Any]:
        return dict(self.client.update_item(**{**request, "TableName": self._in(request["TableName"])}))

    def batch_write_item(self, RequestItems: dict[str, Any], **rest: Any) -> dict[str, Any]:
        answer = dict(self.client.batch_write_item(RequestItems=self._out_in(RequestItems), **rest))
        answer["UnprocessedItems"] = self._out(answer.get("UnprocessedItems", {}))
        return answer

    def batch_get_item(self, RequestItems: dict[str, Any], **rest: Any) -> dict[str, Any]:
        answer = dict(self.client.batch_get_item(RequestItems=self._out_in(RequestItems), **rest))
        answer["Responses"] = self._out(answer.get("Responses", {}))
        answer["UnprocessedKeys"] = self._out(answer.get("UnprocessedKeys", {}))
        return answer

    def transact_write_items(self, TransactItems: list[dict[str, Any]], **rest: Any) -> dict[str, Any]:
        mapped = [
            {op: {**body, "TableName": self._in(body["TableName"])} for op, body in t.items()}
            for t in TransactItems
        ]
        return dict(self.client.transact_write_items(TransactItems=mapped, **rest))

    def _out_in(self, tables: dict[str, Any]) -> dict[str, Any]:
        return {self._in(name): v for name, v in tables.items()}


@pytest.fixture(scope="module")
def local_table(ddb_client: Any) -> Iterator[LocalDynamoDB]:
    prefix = f"t{uuid.uuid4().hex[:10]}_exact_"
    ddb_client.create_table(
        TableName=prefix + T,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "S"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [
                    {"AttributeName": "status", "KeyType": "HASH"},
                    {"AttributeName": "PK", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        yield LocalDynamoDB(ddb_client, prefix)
    finally:
        ddb_client.delete_table(TableName=prefix + T)


@pytest.fixture
def ddb(local_table: LocalDynamoDB) -> LocalDynamoDB:
    """The table, emptied: each scenario starts from nothing, as with a new in-memory DynamoDB."""
    keys = [{a: item[a] for a in KEYS} for item in local_table.all(T)]
    for i in range(0, len(keys), 25):
        requests = [{"DeleteRequest": {"Key": k}} for k in keys[i : i + 25]]
        while requests:
            answer = local_table.client.batch_write_item(RequestItems={local_table._in(T): requests})
            requests = answer.get("UnprocessedItems", {}).get(local_table._in(T), [])
    return local_table
