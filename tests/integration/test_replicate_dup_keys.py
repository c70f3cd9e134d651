"""replicate on a table without a primary key whose rows come to share an item key (two readings of one
device at one instant): deleting one of them deleted the item although the other row still produces it
(an item lost, replicate and the run said nothing). The remaining row's item is written instead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from test_replicate import PORT, _connect, _exec, _replicate, binlog_on  # noqa: F401 - fixture

from dynamigrate.config import load_config
from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration


@pytest.mark.usefixtures("binlog_on")
def test_deleting_one_of_two_rows_of_one_key_keeps_the_item(
    mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = _connect(mysql_db)
    _exec(
        conn,
        "CREATE TABLE readings (device BINARY(4) NOT NULL, taken DATETIME(6) NOT NULL, val DECIMAL(9,3) NULL)",
    )
    _exec(
        conn,
        "INSERT INTO readings VALUES (0x00000000, '2024-02-03 02:00:02.5', 2.002), (0xFF, '2024-01-01', NULL)",
    )
    table = f"{ddb_prefix}Readings"
    attrs = [
        {"name": "device", "type": "B", "source_table": "readings", "source_column": "device"},
        {"name": "taken", "type": "S", "source_table": "readings", "source_column": "taken"},
        {"name": "val", "type": "N", "source_table": "readings", "source_column": "val"},
    ]
    contract = tmp_path / "contract.json"
    contract.write_text(
        json.dumps(
            [
                {
                    "table": table,
                    "type": "single-entity",
                    "source_table": "readings",
                    "pk": "device",
                    "sk": "taken",
                    "attributes": attrs,
                }
            ]
        ),
        encoding="utf-8",
    )
    cfg = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": ddb_endpoint},
        "mysql": {
            "host": "127.0.0.1",
            "port": PORT,
            "user": "dynamigrate",
            "password": "dynamigrate",
            "database": mysql_db,
        },
        "migration": {"contract_file": str(contract), "output_dir": str(tmp_path / "runs")},
    }
    cfg_path = tmp_path / "config.json"
    cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
    first = migrate(load_config(cfg_path), MigrateOptions(progress_mode="quiet", skip_validation=True))
    assert first.status == "ok", first.render_text()

    # a second reading at the same instant (another value), then the first one is deleted
    _exec(conn, "INSERT INTO readings VALUES (0x00000000, '2024-02-03 02:00:02.5', 1002.002)")
    assert json.loads(_replicate(cfg_path, "--stop-at-head", "--json").stdout)["status"] == "caught up"
    # later, in another window:
    _exec(conn, "DELETE FROM readings WHERE device = 0x00000000 AND val = 2.002")
    result = json.loads(_replicate(cfg_path, "--stop-at-head", "--json").stdout)
    assert result["status"] == "caught up" and result["conflicts"] == 0, result

    key = {"device": {"B": b"\x00\x00\x00\x00"}, "taken": {"S": "2024-02-03 02:00:02.500000"}}
    item = ddb_client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    assert item is not None and item["val"] == {"N": "1002.002"}
    assert ddb_client.scan(TableName=table, Select="COUNT")["Count"] == 2

    # a second replicate on the run while one runs (here: the lock held as a running one holds it) is
    # refused, naming the holder; it applied the same changes alongside and moved the checkpoint
    from dynamigrate.runlock import RunLockedError, acquire

    with acquire(first.run_dir or "", command="dynamigrate replicate", tables=[table]):
        second = _replicate(cfg_path, "--stop-at-head", check=False)
        # a new sync run on the tables a replicate is writing: refused, saying what the other one does
        with pytest.raises(RunLockedError) as err:
            migrate(load_config(cfg_path), MigrateOptions(write_mode="sync", progress_mode="quiet"))
        assert f"run {first.run_id} (" in str(err.value) and f"is replicating into {table} right now" in str(
            err.value
        )
    assert second.returncode != 0
    assert f"run {first.run_id} is in use by" in second.stderr and "dynamigrate replicate" in second.stderr
