"""``migrate --engine spark`` killed with SIGKILL mid-table, then ``--resume``: exact items for a
composite-key table (INT + VARCHAR primary key, read in ranges of its first key column).

The migration runs in a subprocess (its own driver and Spark JVM, ``local[2,2]``); it is killed as
soon as some partitions of the table are checkpointed and others are not. The resumed run skips the
finished partitions and lands every item exactly once; the expected items come from the Python rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import compare, make_config, scan_items

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = [
    (book, f"tag-{t:02d}{'-🙂' if t % 7 == 0 else ''}", None if (book + t) % 5 == 0 else f"note {book}/{t}")
    for book in range(1, 241)
    for t in range(10)
]
PARTITION_ROWS = 100


def _contract(prefix: str) -> dict[str, Any]:
    def attr(name: str, column: str, fmt: str | None = None) -> dict[str, Any]:
        a: dict[str, Any] = {"name": name, "type": "S", "source_table": "book_tags", "source_column": column}
        if fmt:
            a["transformation"] = {"type": "string-format", "format": fmt}
        return a

    return {
        "tables": [
            {
                "table": f"{prefix}BookTags",
                "type": "single-entity",
                "source_table": "book_tags",
                "pk": "PK",
                "sk": "SK",
                "attributes": [
                    attr("PK", "book_id", "BOOK#{book_id}"),
                    attr("SK", "tag"),
                    attr("note", "note"),
                ],
            }
        ]
    }


def _expected() -> dict[tuple[Any, Any], dict[str, Any]]:
    out = {}
    for book, tag, note in ROWS:
        item = {"PK": f"BOOK#{book}", "SK": tag, **({"note": note} if note is not None else {})}
        out[(item["PK"], item["SK"])] = item
    return out


def _cli(config: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "dynamigrate", "-q", "migrate", "--config", str(config), "--engine", "spark",
        "--spark-master", "local[2,2]", "--progress", "quiet", "--skip-validation", "--skip-preflight",
        *extra,
    ]  # fmt: skip


def test_sigkill_mid_table_then_resume_is_exact_for_a_composite_key(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE book_tags (book_id INT NOT NULL, tag VARCHAR(20) NOT NULL, note VARCHAR(40) NULL,"
            " PRIMARY KEY (book_id, tag)) DEFAULT CHARSET=utf8mb4"
        )
        cur.executemany("INSERT INTO book_tags VALUES (%s, %s, %s)", ROWS)
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps(_contract(ddb_prefix), ensure_ascii=False), encoding="utf-8")
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract)
    raw = json.loads(config.read_text())
    raw["spark"] = {"partition_rows": PARTITION_ROWS, "chunk_rows": 25, "task_concurrency": 2}
    config.write_text(json.dumps(raw))
    table = f"{ddb_prefix}BookTags"
    runs = tmp_path / "runs"
    env = dict(os.environ)

    proc = subprocess.Popen(_cli(config), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    done_at_kill: list[Path] = []
    planned = 0
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the migration ended before it could be killed: " + (
                proc.stderr.read().decode()[-3000:] if proc.stderr else ""
            )
            plans = list(runs.glob(f"*/spark-checkpoints/{table}/plan.json"))
            if plans:
                with contextlib.suppress(ValueError):
                    planned = len(json.loads(plans[0].read_text()))
                done_at_kill = list(plans[0].parent.glob("*.done"))
                if len(done_at_kill) >= 2:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert planned == len(ROWS) // PARTITION_ROWS and 2 <= len(done_at_kill) < planned, "killed mid-table"
    (run_dir,) = runs.iterdir()
    at_kill = len(scan_items(ddb_client, table))
    assert 0 < at_kill < len(ROWS)

    done = subprocess.run(
        [*_cli(config, "--resume", run_dir.name, "--json")], env=env, capture_output=True, timeout=600
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    summary = json.loads(done.stdout)
    assert summary["run_id"] == run_dir.name and summary["status"] == "ok"
    (result,) = summary["tables"]
    spark = result["extra"]["spark"]
    assert spark["schemes"] == {"range": planned} and spark["partitions"] == planned
    assert spark["skipped_partitions"] >= len(done_at_kill)  # finished partitions are not read again

    # exact: every item, every attribute, once; whole-table counters, the equation holds
    assert compare(scan_items(ddb_client, table), _expected()) == []
    assert result["read"] == result["written"] == len(ROWS) and result["rejected_total"] == 0
    assert result["accounting"]["status"] == "ok"
    keys = {
        json.dumps(r["key"], sort_keys=True)
        for r in map(json.loads, (run_dir / f"written/{table}.jsonl").read_text().splitlines())
    }
    assert len(keys) == len(ROWS)  # rollback knows every item
