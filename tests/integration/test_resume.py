"""A migration killed with SIGKILL mid-table and resumed ends exact, redoing at most one chunk."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _etl_expect import compare, expected_users, make_config, normalise_users_item, scan_items, write_contract

from dynamigrate.runstate import read_jsonl
from dynamigrate.sample import load_sample

pytestmark = pytest.mark.integration

CHUNK = 50
SCALE = 600  # 600 users + 900 cart lines + 1800 orders = 3300 items in the Users table


def _cli(config: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dynamigrate",
        "-q",
        "migrate",
        "--config",
        str(config),
        "--progress",
        "quiet",
        "--skip-validation",
        "--skip-preflight",
        "--strategy",
        "put",
        "--concurrency",
        "2",
        *extra,
    ]


def test_sigkill_mid_table_then_resume_is_exact(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, SCALE)
    total = counts["users"] + counts["shopping_carts"] + counts["orders"]
    table = f"{ddb_prefix}Users"
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users",))
    # one chunk in flight at a time: the checkpoint interval is exactly one chunk
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=CHUNK, inflight_chunks=1)
    env = dict(os.environ)  # the suite's credentials (tests/conftest.py), not a hard-coded key

    proc = subprocess.Popen(_cli(config), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ckpt_file: Path | None = None
    ckpt: dict[str, Any] = {}
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the migration finished before it could be killed: " + (
                proc.stderr.read().decode() if proc.stderr else ""
            )
            found = list((tmp_path / "runs").glob(f"*/checkpoints/{table}.json"))
            if found:
                ckpt_file = found[0]
                ckpt = json.loads(ckpt_file.read_text())
                if ckpt["counters"]["read"] >= 10 * CHUNK:
                    break
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert ckpt_file is not None
    run_dir = ckpt_file.parent.parent

    # state at the kill: the checkpoint on disk (replaced atomically, so always whole) and the items
    ckpt = json.loads(ckpt_file.read_text())
    assert ckpt["status"] == "running"
    at_kill = len(scan_items(ddb_client, table))
    written_at_ckpt = ckpt["counters"]["written"]
    assert 0 < written_at_ckpt < total, "killed mid-table"
    assert written_at_ckpt <= at_kill <= written_at_ckpt + CHUNK, "at most one chunk beyond the checkpoint"

    done = subprocess.run(
        [*_cli(config, "--resume", run_dir.name, "--json")], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    summary = json.loads(done.stdout)
    assert summary["run_id"] == run_dir.name and summary["status"] == "ok"
    (result,) = summary["tables"]
    assert result["resumed_from"]["after_rowid"] == ckpt["after_rowid"]

    # exact: every item, every attribute
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": mysql_db})
    try:
        expected = expected_users(conn)
    finally:
        conn.close()
    items = scan_items(ddb_client, table)
    assert len(items) == total
    assert compare(items, expected, normalise=normalise_users_item) == []

    # counters are whole-table figures: every row read and written exactly once as far as the
    # summary is concerned (the checkpoint's counters plus the resumed part)
    assert result["read"] == total and result["written"] == total
    assert result["rejected_total"] == 0
    # redone work: what was written after the last checkpoint before the kill (at most one chunk,
    # asserted above) is written again after the resume; the written-keys log is flushed with each
    # checkpoint, so it holds every item exactly once (rollback relies on it)
    keys = [json.dumps(r["key"], sort_keys=True) for r in read_jsonl(run_dir / f"written/{table}.jsonl")]
    assert len(keys) == len(set(keys)) == total
