"""migrate validates a table's source side while the next table loads and reads DynamoDB only after
the whole load: damage done to a loaded table while a later table loads (an item deleted, a value
changed, an item added) is found by the validation after migrate, exactly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _migrated_library import N_AUTHORS, N_BOOKS, contract_dict, create_source, make_config

import dynamigrate.pipeline as pipeline
from dynamigrate.config import load_config
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration

ITEMS = N_AUTHORS + N_BOOKS


def test_damage_while_the_next_table_loads_is_found(
    tmp_path: Path,
    mysql_settings: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    create_source(mysql_conn)
    first, second = f"{ddb_prefix}LibA", f"{ddb_prefix}LibB"
    _, cfg_path = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, first)
    contract = {"tables": contract_dict(first)["tables"] + contract_dict(second)["tables"]}
    Path(json.loads(cfg_path.read_text())["migration"]["contract_file"]).write_text(
        json.dumps(contract), encoding="utf-8"
    )
    cfg = load_config(cfg_path)
    real_get_engine = pipeline.get_engine

    class DamagingEngine:
        """The local engine; before the second table loads, the first table is damaged."""

        def __init__(self, name: str):
            self.inner = real_get_engine(name)

        def run_table(self, ctx: Any, table: Any) -> Any:
            if table.name == second:
                gone = {"PK": {"S": "AUTHOR#2"}, "SK": {"S": "BOOK#978-000001"}}
                assert "Item" in ddb_client.get_item(TableName=first, Key=gone)
                ddb_client.delete_item(TableName=first, Key=gone)
                ddb_client.update_item(
                    TableName=first,
                    Key={"PK": {"S": "AUTHOR#4"}, "SK": {"S": "BOOK#978-000003"}},
                    UpdateExpression="SET title = :t",
                    ExpressionAttributeValues={":t": {"S": "Mallory"}},
                )
                ddb_client.put_item(TableName=first, Item={"PK": {"S": "APP#1"}, "SK": {"S": "x"}})
            return self.inner.run_table(ctx, table)

    monkeypatch.setattr(pipeline, "get_engine", DamagingEngine)
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))

    assert summary.status == "failed" and [t.status for t in summary.tables] == ["done", "done"]
    assert "validation found differences" in " ".join(summary.errors)
    report = summary.validation
    a, b = report.table(first), report.table(second)
    assert b.status == "passed" and (b.ddb_count, b.missing, b.extra, b.compared) == (ITEMS, 0, 0, ITEMS)
    assert a.status == "failed"
    # the load wrote every item; DynamoDB now holds one fewer of them and one item nobody wrote
    assert (a.source_rows, a.expected, a.recorded_keys, a.ddb_count) == (ITEMS, ITEMS, ITEMS, ITEMS)
    assert a.missing == 1 and [k["key"]["SK"]["S"] for k in a.missing_keys] == ["BOOK#978-000001"]
    assert (a.extra, a.extra_unmarked) == (1, 1) and a.extra_keys[0]["key"]["PK"] == {"S": "APP#1"}
    assert [(d.key["SK"]["S"], d.attribute, d.actual) for d in a.differences] == [
        ("BOOK#978-000003", "title", {"S": "Mallory"})
    ]
    assert a.sampled == ITEMS and a.sampled_missing == 1 and a.compared == ITEMS - 1
    assert a.basis == f"counts + keys + {ITEMS} sampled items"
    assert summary.phases["validate"]["detail"].startswith("FAILED")
    saved = json.loads(RunDir.open(summary.run_dir).file("validation.json").read_text())
    assert [t["table"] for t in saved["tables"]] == [first, second]
