"""`dynamigrate migrate ... 2>&1 | head -1`: the reader of the output goes away after one line; the
migration goes on, loads every row and ends with its true outcome (exit 0, run 'ok'), on real MariaDB
and DynamoDB Local through a real pipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

pytestmark = pytest.mark.integration

ROWS = 300


def _contract(prefix: str) -> dict[str, Any]:
    return {
        "tables": [
            {
                "table": f"{prefix}Notes",
                "type": "single-entity",
                "source_table": "notes",
                "pk": "PK",
                "attributes": [
                    {
                        "name": "PK",
                        "type": "S",
                        "source_column": "id",
                        "transformation": {"type": "string-format", "format": "NOTE#{id}"},
                    },
                    {"name": "body", "type": "S", "source_column": "body"},
                ],
            }
        ]
    }


def _scan(client: Any, table: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        resp = client.scan(**kwargs)
        for it in resp["Items"]:
            out[it["PK"]["S"]] = {k: v for k, v in it.items() if k != "_dm_marker"}
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def test_migrate_survives_its_reader_going_away(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE notes (id INT PRIMARY KEY, body VARCHAR(100) NOT NULL) CHARSET=utf8mb4")
        cur.executemany(
            "INSERT INTO notes VALUES (%s, %s)", [(i, f"note {i} ünï 😀") for i in range(1, ROWS + 1)]
        )
    mysql_conn.commit()
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(_contract(ddb_prefix)), encoding="utf-8")
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=20)
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src"),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }

    # -v: an information line per phase and table, all written after the reader has gone
    argv = [sys.executable, "-m", "dynamigrate", "migrate", "-v", "--config", str(config)]
    argv += ["--concurrency", "1"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # `| head -1`
    code = proc.wait(timeout=300)

    assert first  # it did print before the pipe closed
    assert code == 0
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    events = [json.loads(line) for line in (runs[0] / "events.jsonl").read_text().splitlines()]
    finished = [e for e in events if e["event"] == "run_finished"]
    assert [e["status"] for e in finished] == ["ok"]
    assert finished[0]["totals"]["read"] == ROWS and finished[0]["totals"]["written"] == ROWS
    items = _scan(ddb_client, f"{ddb_prefix}Notes")
    assert items == {
        f"NOTE#{i}": {"PK": {"S": f"NOTE#{i}"}, "body": {"S": f"note {i} ünï 😀"}} for i in range(1, ROWS + 1)
    }
