"""A migration killed with SIGKILL mid-table and resumed ends exact, redoing at most one chunk."""

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


def _kill_when(
    config: Path, env: dict[str, str], runs: Path, table: str, ready: Any, *extra: str
) -> tuple[Path, dict[str, Any]]:
    """Start a migration, SIGKILL it as soon as ``ready(checkpoint)`` holds; the run dir and checkpoint."""
    proc = subprocess.Popen(_cli(config, *extra), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    ckpt_file: Path | None = None
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            assert proc.poll() is None, "the migration finished before it could be killed: " + (
                proc.stderr.read().decode() if proc.stderr else ""
            )
            found = list(runs.glob(f"*/checkpoints/{table}.json"))
            if found:
                ckpt_file = found[0]
                with contextlib.suppress(ValueError):  # replaced atomically, but be lenient
                    if ready(json.loads(ckpt_file.read_text())):
                        break
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert ckpt_file is not None
    return ckpt_file.parent.parent, json.loads(ckpt_file.read_text())


def _resume(config: Path, env: dict[str, str], run_dir: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run(
        [*_cli(config, "--resume", run_dir.name, "--json", *extra)], env=env, capture_output=True, timeout=300
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    summary: dict[str, Any] = json.loads(done.stdout)
    assert summary["run_id"] == run_dir.name and summary["status"] == "ok"
    return summary


def _expected(mysql_settings: Any, database: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": database})
    try:
        return expected_users(conn)
    finally:
        conn.close()


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

    run_dir, ckpt = _kill_when(
        config, env, tmp_path / "runs", table, lambda c: c["counters"]["read"] >= 10 * CHUNK
    )

    # state at the kill: the checkpoint on disk (replaced atomically, so always whole) and the items
    assert ckpt["status"] == "running"
    at_kill = len(scan_items(ddb_client, table))
    written_at_ckpt = ckpt["counters"]["written"]
    assert 0 < written_at_ckpt < total, "killed mid-table"
    assert written_at_ckpt <= at_kill <= written_at_ckpt + CHUNK, "at most one chunk beyond the checkpoint"

    summary = _resume(config, env, run_dir)
    (result,) = summary["tables"]
    assert result["resumed_from"]["after_key"] == ckpt["after_key"]

    # exact: every item, every attribute
    expected = _expected(mysql_settings, mysql_db)
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


def test_resume_in_the_second_entity_never_rereads_the_finished_one(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Killed inside CART (USER finished): the resumed run starts at the checkpoint in CART. Proof that
    USER is not read again: a USER item the application deleted in between stays deleted, and nothing
    is counted as skipped (a re-read USER row would find its item and count it)."""
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, SCALE)
    n_users, n_carts = counts["users"], counts["shopping_carts"]
    total = n_users + n_carts + counts["orders"]
    table = f"{ddb_prefix}Users"
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users",))
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=CHUNK, inflight_chunks=1)
    env = dict(os.environ)

    def in_carts(c: dict[str, Any]) -> bool:
        return c.get("entity") == "CART" and c["counters"]["read"] >= n_users + 3 * CHUNK

    run_dir, ckpt = _kill_when(config, env, tmp_path / "runs", table, in_carts)
    assert ckpt["entity"] == "CART" and ckpt["entities_done"] == ["USER"]
    assert n_users < ckpt["counters"]["read"] < n_users + n_carts, "killed inside the second entity"

    # the application deletes one user's profile item while the migration is down
    gone = ("user7@example.com", "#META")
    ddb_client.delete_item(TableName=table, Key={"PK": {"S": gone[0]}, "SK": {"S": gone[1]}})

    summary = _resume(config, env, run_dir)
    (result,) = summary["tables"]
    assert result["resumed_from"]["entities_done"] == ["USER"]
    assert result["resumed_from"]["entity"] == "CART"

    expected = _expected(mysql_settings, mysql_db)
    items = scan_items(ddb_client, table)
    assert gone not in items, "the finished USER entity was read again (the deleted item came back)"
    assert compare(items, expected, normalise=normalise_users_item, ignore={gone}) == []
    assert len(items) == total - 1
    # whole-table counters: every row read once, nothing found already there
    assert (result["read"], result["written"], result["skipped"]) == (total, total, 0)
    assert result["redone"] <= CHUNK


def test_resume_with_strategy_batch_never_overwrites_existing_items(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """--strategy batch writes blindly into a table this run created, but a resumed pass reads which keys
    exist first: items the application put in between (at keys the load had not reached) stay as the
    application wrote them and are counted as skipped."""
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, SCALE)
    total = counts["users"] + counts["shopping_carts"] + counts["orders"]
    table = f"{ddb_prefix}Users"
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users",))
    small = 20  # many small chunks: the blind batch load is fast, the kill must land mid-table
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=small, inflight_chunks=1)
    env = dict(os.environ)

    run_dir, _ = _kill_when(
        config,
        env,
        tmp_path / "runs",
        table,
        lambda c: c["counters"]["read"] >= 5 * small,
        "--strategy",
        "batch",
    )
    expected = _expected(mysql_settings, mysql_db)
    at_kill = scan_items(ddb_client, table)
    not_yet = sorted(k for k in expected if k not in at_kill)
    assert len(not_yet) >= 10, "killed too late: nothing left to resume"
    # the application writes its own items at ten keys the load has not reached (every 50th absent key)
    app_keys = not_yet[:: max(1, len(not_yet) // 10)][:10]
    app_items = {
        k: {"PK": {"S": k[0]}, "SK": {"S": k[1]}, "owner": {"S": "application"}, "n": {"N": str(i)}}
        for i, k in enumerate(app_keys)
    }
    for item in app_items.values():
        ddb_client.put_item(TableName=table, Item=item)

    summary = _resume(config, env, run_dir, "--strategy", "batch")
    (result,) = summary["tables"]

    for k, item in app_items.items():
        got = ddb_client.get_item(
            TableName=table, Key={"PK": item["PK"], "SK": item["SK"]}, ConsistentRead=True
        )
        assert got["Item"] == item, f"the application's item {k} was overwritten"
    items = scan_items(ddb_client, table)
    assert compare(items, expected, normalise=normalise_users_item, ignore=set(app_keys)) == []
    assert len(items) == total
    assert result["skipped"] == len(app_keys)
    assert result["written"] == total - len(app_keys) and result["read"] == total
