"""Source rows that produce the same DynamoDB key in different chunks / write batches.

The first row of the pass produces the item; every later row with its key is skipped with reason
``duplicate_key``, counted in the accounting equation and listed in ``duplicates/<T>.jsonl``, whatever
the strategy. Before, a later row whose item had the same content was counted written (the conditional
write took the earlier row's item for "our own earlier write"), or overwrote it (``--strategy batch``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer
from tests.integration._etl_expect import make_config

from dynamigrate.cli import main


def _a(name: str, typ: str, table: str, col: str, **kw: Any) -> dict[str, Any]:
    return {"name": name, "type": typ, "source_table": table, "source_column": col, **kw}


def _items(ddb_client: Any, table: str) -> list[dict[str, Any]]:
    td = TypeDeserializer()
    out = []
    for page in ddb_client.get_paginator("scan").paginate(TableName=table):
        for raw in page["Items"]:
            out.append({k: str(td.deserialize(v)) for k, v in raw.items() if k != "_dm_marker"})
    return sorted(out, key=lambda d: json.dumps(d, sort_keys=True))


def _run_dir(base: Path) -> Path:
    return next(p for p in (base / "runs").iterdir() if (p / "report.json").exists())


def _source(mysql_conn: Any) -> None:
    with mysql_conn.cursor() as cur:
        # a VARCHAR key made of a non-unique column: rows 1/3/5 share 'k😀' (1 and 3 identical items,
        # 5 different content), rows 2/4 share 'K' (identical items); row 6 is alone
        cur.execute(
            "CREATE TABLE ev (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, v DECIMAL(38,10) NULL)"
            " DEFAULT CHARSET utf8mb4 COLLATE utf8mb4_bin"
        )
        cur.execute(
            "INSERT INTO ev VALUES (1,'k😀',1.5),(2,'K',NULL),(3,'k😀',1.5),(4,'K',NULL),(5,'k😀',-2),"
            "(6,'solo',99999999999999999999999999.0000000001)"
        )
        # no primary key at all, two identical rows (the qa repro)
        cur.execute("CREATE TABLE rd (dev BIGINT UNSIGNED NOT NULL, ts DATETIME(6) NOT NULL)")
        cur.execute(
            "INSERT INTO rd VALUES (18446744073709551615,'2024-01-01 00:00:00.000001'),"
            "(1,'2024-06-30 23:59:59.999999'),(18446744073709551615,'2024-01-01 00:00:00.000001')"
        )
    mysql_conn.commit()


def _contract(prefix: str) -> dict[str, Any]:
    return {
        "tables": [
            {
                "table": f"{prefix}Ev",
                "type": "single-entity",
                "source_table": "ev",
                "pk": "PK",
                "attributes": [_a("PK", "S", "ev", "code"), _a("v", "N", "ev", "v")],
            },
            {
                "table": f"{prefix}Rd",
                "type": "single-entity",
                "source_table": "rd",
                "pk": "PK",
                "sk": "SK",
                "attributes": [_a("PK", "N", "rd", "dev"), _a("SK", "S", "rd", "ts")],
            },
        ]
    }


EXPECTED_EV = sorted(
    [{"PK": "k😀", "v": "1.5"}, {"PK": "K"}, {"PK": "solo", "v": "99999999999999999999999999.0000000001"}],
    key=lambda d: json.dumps(d, sort_keys=True),
)
EXPECTED_RD = [
    {"PK": "1", "SK": "2024-06-30 23:59:59.999999"},
    {"PK": "18446744073709551615", "SK": "2024-01-01 00:00:00.000001"},
]


@pytest.mark.parametrize("strategy", ["auto", "put", "batch"])
def test_duplicate_keys_in_different_chunks_are_skipped_and_listed(
    strategy: str,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
) -> None:
    _source(mysql_conn)
    prefix = f"{ddb_prefix}{strategy}"
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(_contract(prefix)), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=1)
    argv = ["migrate", "--config", str(cfg), "--accept", "duplicate_key", "--skip-validation"]
    assert main([*argv, "--strategy", strategy]) == 0

    assert _items(ddb_client, f"{prefix}Ev") == EXPECTED_EV
    assert _items(ddb_client, f"{prefix}Rd") == EXPECTED_RD
    run_dir = _run_dir(tmp_path)
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    by_name = {t["name"]: t for t in report["tables"]}
    ev, rd = by_name[f"{prefix}Ev"], by_name[f"{prefix}Rd"]
    assert ev["accounting"]["equation"] == (
        "6 source rows = written 3 + skipped 3 + conflicts 0 + rejected 0 + filtered 0"
    )
    assert rd["accounting"]["equation"] == (
        "3 source rows = written 2 + skipped 1 + conflicts 0 + rejected 0 + filtered 0"
    )
    assert ev["duplicate_keys"]["skipped"] == 3
    assert rd["duplicate_keys"]["skipped"] == 1
    listed = [
        json.loads(line)
        for line in (run_dir / ev["duplicate_keys"]["file"]).read_text(encoding="utf-8").splitlines()
    ]
    # each duplicated key once, in the order the pass met its first duplicate (rows 3 then 4)
    assert listed == [
        {"table": f"{prefix}Ev", "key": {"PK": {"S": "k😀"}}},
        {"table": f"{prefix}Ev", "key": {"PK": {"S": "K"}}},
    ]


def test_duplicate_keys_across_a_sigkill_and_resume(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Killed while the first rows of each key are loading, then resumed: exactly one item per key.

    Rows 1..2000, key ``code = id % 400``: every key 5 times with the same item. Kill after 2 chunks
    of 90, while the next one is partly written; the keys of the checkpointed chunks must still count as produced after the resume (later
    rows are duplicates, not "our own earlier write"), while the rows of the chunk in flight at the kill
    find their own items and count as written.
    """
    import os
    import signal
    import subprocess
    import sys
    import time

    n_rows, n_keys, chunk = 2000, 400, 90
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE ev (id INT PRIMARY KEY, code INT NOT NULL) DEFAULT CHARSET utf8mb4")
        cur.executemany("INSERT INTO ev VALUES (%s, %s)", [(i, i % n_keys) for i in range(1, n_rows + 1)])
    mysql_conn.commit()
    table = f"{ddb_prefix}Ev"
    doc = {
        "table": table,
        "type": "single-entity",
        "source_table": "ev",
        "pk": "PK",
        "attributes": [
            _a("PK", "S", "ev", "code", transformation={"type": "string-format", "format": "K😀#{code}"})
        ],
    }
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps({"tables": [doc]}), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=chunk, inflight_chunks=1)
    cli = [sys.executable, "-m", "dynamigrate", "-q", "migrate", "--config", str(cfg), "--progress", "quiet"]
    cli += ["--skip-validation", "--accept", "duplicate_key", "--strategy", "put", "--concurrency", "1"]
    proc = subprocess.Popen(cli, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    killed_at: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    try:
        # kill while a chunk beyond the checkpoint is partly written (its rows must be redone as
        # written, not as duplicates)
        while time.monotonic() < deadline and not killed_at:
            assert proc.poll() is None, "finished before the kill: " + (
                proc.stderr.read().decode() if proc.stderr else ""
            )
            for f in (tmp_path / "runs").glob(f"*/checkpoints/{table}.json"):
                try:
                    c = json.loads(f.read_text())
                except ValueError:
                    continue
                if c["counters"]["read"] >= 2 * chunk:
                    present = ddb_client.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"]
                    if 0 < present - c["counters"]["written"] <= chunk // 3:  # early in that chunk
                        killed_at = c
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    run_dir = next((tmp_path / "runs").iterdir())
    ckpt = json.loads((run_dir / f"checkpoints/{table}.json").read_text())
    present = ddb_client.scan(TableName=table, Select="COUNT", ConsistentRead=True)["Count"]
    assert ckpt["status"] == "running" and ckpt["counters"]["read"] < n_keys, "killed among the first rows"
    assert ckpt["counters"]["written"] < present, "a chunk beyond the checkpoint was partly written"

    done = subprocess.run(
        [*cli, "--resume", run_dir.name], env=dict(os.environ), capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    items = _items(ddb_client, table)
    assert items == sorted(
        ({"PK": f"K😀#{k}"} for k in range(n_keys)), key=lambda d: json.dumps(d, sort_keys=True)
    )
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    (t,) = report["tables"]
    assert t["accounting"]["equation"] == (
        f"{n_rows} source rows = written {n_keys} + skipped {n_rows - n_keys} + conflicts 0 + rejected 0 + filtered 0"
    )
    assert t["duplicate_keys"]["skipped"] == n_rows - n_keys
    listed = (run_dir / t["duplicate_keys"]["file"]).read_text(encoding="utf-8").splitlines()
    assert len(listed) == len(set(listed)) == n_keys


def test_validation_counts_the_loads_duplicates(
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    """validate as migrate runs it (keys from the load's record) and --full: one item per key expected."""
    _source(mysql_conn)
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(_contract(ddb_prefix)), encoding="utf-8")
    _, cfg = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=1)
    assert main(["migrate", "--config", str(cfg), "--accept", "duplicate_key"]) == 0
    capsys.readouterr()
    report = json.loads((_run_dir(tmp_path) / "report.json").read_text(encoding="utf-8"))
    figures = {t["name"]: t["validation"] for t in report["tables"]}
    ev, rd = figures[f"{ddb_prefix}Ev"], figures[f"{ddb_prefix}Rd"]
    assert (ev["status"], ev["expected"], ev["present"], ev["problems"]) == ("passed", 3, 3, []), ev
    assert (rd["status"], rd["expected"], rd["present"], rd["problems"]) == ("passed", 2, 2, []), rd
    # every row of a duplicated key is left out of the value comparison (the item is the first row's;
    # one row's evaluation cannot judge it): Ev rows 1-5, Rd rows 1 and 3; said, not silent
    not_compared = (
        " evaluated row(s) not compared: their key is produced by several source rows (duplicates/ in the "
        "run directory), the item is the first such row's"
    )
    assert ev["warnings"] == [
        "5" + not_compared,
        "3 source row(s) produce a key another row already produces (only one item can exist per key)",
    ]
    assert rd["warnings"] == [
        "2" + not_compared,
        "1 source row(s) produce a key another row already produces (only one item can exist per key)",
    ]
    assert main(["validate", "--config", str(cfg), "--full"]) == 0
    out = capsys.readouterr().out
    assert "source 6 - rejected 0 - duplicate keys 3 = expected 3; DynamoDB 3" in out, out
    assert "source 3 - rejected 0 - duplicate keys 1 = expected 2; DynamoDB 2" in out, out
