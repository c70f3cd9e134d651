"""A transaction cancelled with every reason "None" is retried a bounded number of times, with backoff,
and the retries are counted (issue 12: it looped without a cap, a backoff or a count)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from dynamigrate.contract import parse_contract
from dynamigrate.errors import TransientTargetError
from dynamigrate.target.encode import ItemEncoder
from dynamigrate.target.writer import MemorySink, TableWriter, WriterOptions

TABLE = {
    "table": "Orders",
    "type": "single-entity",
    "source_table": "orders",
    "pk": "PK",
    "attributes": [
        {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"},
        {"name": "status", "type": "S", "source_table": "orders", "source_column": "status"},
    ],
}


class _AlwaysCancelledWithoutReason:
    def __init__(self) -> None:
        self.calls = 0

    def transact_write_items(self, TransactItems: list[Any], **_: Any) -> Any:
        self.calls += 1
        raise ClientError(
            {
                "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
                "CancellationReasons": [{"Code": "None"} for _ in TransactItems],
            },
            "TransactWriteItems",
        )


def test_all_none_cancellations_give_up_after_max_attempts() -> None:
    contract, problems = parse_contract({"tables": [TABLE]})
    assert contract is not None, [str(p) for p in problems]
    table = contract.tables[0]
    options = WriterOptions(strategy="transact", max_attempts=4, base_delay=0.001, max_delay=0.002)
    encoder = ItemEncoder(table, options.marker_attribute)
    rows = [{"PK": f"O#{i}", "status": "NEW", "_dm_entity": "orders", "_dm_rowid": i} for i in range(3)]
    client = _AlwaysCancelledWithoutReason()
    with TableWriter(client, "Orders", table, options, MemorySink()) as writer:
        with pytest.raises(TransientTargetError, match="after 4 attempts"):
            writer.write_batch([encoder.encode(r) for r in rows])
        assert client.calls == 4
        assert writer.policy.stats.retries == 3, json.dumps(writer.policy.stats.__dict__, default=str)
