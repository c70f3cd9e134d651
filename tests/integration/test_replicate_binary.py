"""replicate on BINARY(16) keys and BIT columns, then validate and cutover on a run with rejected rows.

The binlog library hands a BINARY(n) without its trailing zero bytes (an all-zero UUID as '') and a
BIT as text of 0/1 digits ('00000011'): the changed parent was never found (its item, the items
denormalising it and its aggregates stayed stale) and a BIT change stopped replicate with "Data too
long for column". After replicate, validate compared the base tables with the load's old figures
(deleted items 'missing', counts 'not accounted for'), and cutover validated without the run, so
every row the migration rejected knowingly counted as a missing item: NO-GO forever.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_replicate import _connect, _exec, _replicate, binlog_on  # noqa: F401 - fixture
from test_replicate_shapes import PORT

from dynamigrate.config import load_config
from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration

ZERO = "00000000000000000000000000000000"
TRAIL = "AB000000000000000000000000000000"  # trailing zero bytes: stripped in the binlog


def _a(name: str, t: str, table: str, column: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": t, "source_table": table, "source_column": column, **extra}


CONTRACT = {
    "tables": [
        {
            "table": "Owners",
            "type": "single-entity",
            "source_table": "owner",
            "pk": "id",
            "attributes": [
                _a("id", "B", "owner", "id"),
                _a("name", "S", "owner", "name"),
                _a("flags", "N", "owner", "flags"),
                _a(
                    "n_pets",
                    "N",
                    "owner",
                    "id",
                    calculation={
                        "type": "aggregate",
                        "target_table": "pet",
                        "join_condition": "pet.owner_id = owner.id",
                        "operation": "COUNT",
                        "select_column": "pet.tag",
                    },
                ),
            ],
        },
        {
            "table": "Pets",
            "type": "single-entity",
            "source_table": "pet",
            "pk": "tag",
            "attributes": [
                _a("tag", "S", "pet", "tag"),
                _a(
                    "owner_name",
                    "S",
                    "pet",
                    "owner_id",
                    join={
                        "type": "foreign-key",
                        "target_table": "owner",
                        "join_condition": "owner.id = pet.owner_id",
                        "select_column": "owner.name",
                    },
                ),
                _a("weight", "N", "pet", "weight"),
            ],
        },
    ]
}


def _config(tmp: Path, name: str, db: str, endpoint: str, prefix: str) -> Path:
    data = json.loads(json.dumps(CONTRACT))
    for t in data["tables"]:
        t["table"] = prefix + t["table"]
    contract = tmp / f"{name}-contract.json"
    contract.write_text(json.dumps(data), encoding="utf-8")
    mysql = {
        "host": "127.0.0.1",
        "port": PORT,
        "user": "dynamigrate",
        "password": "dynamigrate",
        "database": db,
    }
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "mysql": mysql,
        "migration": {"contract_file": str(contract), "output_dir": str(tmp / f"{name}-runs")},
    }
    path = tmp / f"{name}-config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def _items(client: Any, table: str) -> dict[str, dict[str, Any]]:
    out = {}
    for page in client.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page["Items"]:
            item.pop("_dm_marker", None)
            ((_, key),) = (item.get("id") or item.get("tag") or {}).items()
            out[repr(key)] = item
    return out


@pytest.mark.usefixtures("binlog_on")
def test_replicate_binary_keys_and_bits_then_cutover_with_rejected_rows(
    mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    conn = _connect(mysql_db)
    _exec(
        conn, "CREATE TABLE owner (id BINARY(16) PRIMARY KEY, name VARCHAR(50) NOT NULL, flags BIT(8) NULL)"
    )
    _exec(
        conn, "CREATE TABLE pet (tag VARCHAR(10) PRIMARY KEY, owner_id BINARY(16) NULL, weight DOUBLE NULL)"
    )
    _exec(
        conn,
        f"INSERT INTO owner VALUES (UNHEX('{ZERO}'), 'Zero', b'1'), (UNHEX('{TRAIL}'), 'Trail 🐾', NULL)",
    )
    # pet 'huge': a DOUBLE beyond DynamoDB's range, rejected (accepted knowingly below)
    _exec(
        conn,
        f"INSERT INTO pet VALUES ('a', UNHEX('{ZERO}'), 1.5), ('b', UNHEX('{TRAIL}'), NULL), ('huge', NULL, 1e300)",
    )
    cfg_path = _config(tmp_path, "main", mysql_db, ddb_endpoint, ddb_prefix)
    first = migrate(load_config(cfg_path), MigrateOptions(progress_mode="quiet", accept=("number_range",)))
    assert first.status == "ok", first.render_text()

    _exec(conn, f"UPDATE owner SET name = 'Zero renamed', flags = b'10100101' WHERE id = UNHEX('{ZERO}')")
    _exec(conn, f"UPDATE owner SET name = 'Trail renamed' WHERE id = UNHEX('{TRAIL}')")
    _exec(conn, f"INSERT INTO pet VALUES ('c', UNHEX('{ZERO}'), 2)")
    _exec(conn, "DELETE FROM pet WHERE tag = 'b'")
    proc = _replicate(cfg_path, "--stop-at-head", "--json", check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "caught up"

    fresh = _config(tmp_path, "fresh", mysql_db, ddb_endpoint, f"{ddb_prefix}f_")
    again = migrate(load_config(fresh), MigrateOptions(progress_mode="quiet", accept=("number_range",)))
    assert again.status == "ok", again.render_text()
    for t in ("Owners", "Pets"):
        assert _items(ddb_client, ddb_prefix + t) == _items(ddb_client, f"{ddb_prefix}f_{t}"), t
    owners = _items(ddb_client, ddb_prefix + "Owners")
    assert owners[repr(bytes.fromhex(ZERO))]["flags"] == {"N": "165"}
    assert owners[repr(bytes.fromhex(ZERO))]["n_pets"] == {"N": "2"}
    assert owners[repr(bytes.fromhex(TRAIL))]["name"] == {"S": "Trail renamed"}

    # validate and cutover judge the replicated tables by the base tables, the run's rejected row apart
    env_cmd = [sys.executable, "-m", "dynamigrate"]
    val = subprocess.run(
        [*env_cmd, "validate", "--config", str(cfg_path)], capture_output=True, text=True, timeout=300
    )
    assert val.returncode == 0, val.stdout + val.stderr
    run_dir = tmp_path / "main-runs" / first.run_id
    proof = (run_dir / "validation.json").read_bytes()
    cut = subprocess.run(
        [*env_cmd, "cutover", "--config", str(cfg_path), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    verdict = json.loads(cut.stdout)
    assert cut.returncode == 0 and verdict["go"] is True, verdict
    # cutover's validation is recorded beside the run's proof, never over it
    assert (run_dir / "validation.json").read_bytes() == proof
    beside = json.loads((run_dir / "cutover_validation.json").read_text(encoding="utf-8"))
    assert beside["origin"] == "cutover" and beside["status"] == "passed", beside
    state = json.loads((run_dir / "state.json").read_text(encoding="utf-8"))
    assert state["cutover_validation"]["status"] == "passed"
    assert state["validation"]["finished_at"] == json.loads(proof)["finished_at"]
