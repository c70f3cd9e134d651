"""migrate's tables phase creates the tables side by side: when one existing table does not match the
contract, the run stops with that table's mismatch, and every table it created is in the manifest
(so rollback finds it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _migrated_library import contract_dict, create_source, make_config

from dynamigrate.config import load_config
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration


def test_a_mismatched_table_stops_the_run_and_the_created_ones_are_recorded(
    tmp_path: Path,
    mysql_settings: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
) -> None:
    create_source(mysql_conn)
    names = [f"{ddb_prefix}T{i}" for i in range(4)]
    _, cfg_path = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, names[0])
    contract = {"tables": [t for n in names for t in contract_dict(n)["tables"]]}
    Path(json.loads(cfg_path.read_text())["migration"]["contract_file"]).write_text(
        json.dumps(contract), encoding="utf-8"
    )
    # T1 exists with another key: the contract's PK/SK table cannot be it
    ddb_client.create_table(
        TableName=names[1],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    cfg = load_config(cfg_path)
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet"))
    assert summary.status == "failed" and not summary.tables
    message = " ".join(summary.errors)
    run = RunDir.open(summary.run_dir)
    assert names[1] in message
    recorded = [t["name"] for t in run.manifest().get("tables", [])]
    assert recorded == [names[0], names[2], names[3]]
    existing = set(ddb_client.list_tables()["TableNames"])
    assert set(recorded) <= existing
    assert ddb_client.scan(TableName=names[0], Select="COUNT")["Count"] == 0  # nothing loaded
