"""One process per run, and no run beside a live run on the same tables (issue 12).

Two ``migrate --resume`` of one run used to both proceed, each writing every item; two fresh runs on the
same tables started without a word.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, write_contract

from dynamigrate.runlock import RunLockedError, acquire, read_owner
from dynamigrate.runstate import RunDir, read_jsonl
from dynamigrate.sample import load_sample

pytestmark = pytest.mark.integration


def test_a_locked_run_refuses_a_second_holder_and_stale_locks_are_taken_over(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path)
    first = acquire(run.path, tables=["T"])
    with pytest.raises(RunLockedError, match=f"in use by pid {os.getpid()} on {socket.gethostname()}"):
        acquire(run.path)
    first.release()
    assert not (run.path / "lock.json").exists()

    # a holder on this host that died (SIGKILL leaves lock.json behind, the kernel drops the flock)
    dead = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead.send_signal(signal.SIGKILL)
    dead.wait()
    owner = {"pid": dead.pid, "host": socket.gethostname(), "since": "x", "command": "dynamigrate migrate"}
    (run.path / "lock.json").write_text(json.dumps(owner))
    acquire(run.path).release()

    # a holder on another host may be alive: refused unless --force
    (run.path / "lock.json").write_text(json.dumps({**owner, "host": "elsewhere.example"}))
    with pytest.raises(RunLockedError, match="on another host") as info:
        acquire(run.path)
    assert "--force" in (info.value.hint or "")
    acquire(run.path, force=True).release()


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
    ]


def test_two_resumes_of_one_run_and_a_second_run_on_the_same_tables(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, 300)
    total = counts["users"] + counts["shopping_carts"] + counts["orders"]
    table = f"{ddb_prefix}Users"
    contract = write_contract(tmp_path, ddb_prefix, tables=("Users",))
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=25, inflight_chunks=1)
    base = [*_cli(config), "--skip-validation", "--skip-preflight", "--strategy", "put", "--concurrency", "1"]

    # a run killed mid-table
    proc = subprocess.Popen(base, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list((tmp_path / "runs").glob(f"*/checkpoints/{table}.json")):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    (run_dir,) = list((tmp_path / "runs").iterdir())

    # first resume runs; a second resume of the same run, and a fresh run on the same table, are refused
    first = subprocess.Popen(
        [*base, "--resume", run_dir.name, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (read_owner(run_dir) or {}).get("pid") != first.pid:
        # (the killed run's lock.json is still there until the resume takes the lock over)
        assert first.poll() is None, first.stderr.read().decode() if first.stderr else ""
        time.sleep(0.02)
    second = subprocess.run([*base, "--resume", run_dir.name], capture_output=True, text=True, timeout=120)
    fresh = subprocess.run(base, capture_output=True, text=True, timeout=120)
    out, err = first.communicate(timeout=300)
    assert first.returncode == 0, err.decode()[-3000:]

    assert second.returncode == 2, second.stderr[-2000:]
    assert f"run {run_dir.name} is in use by pid {first.pid}" in second.stderr
    assert fresh.returncode == 2, fresh.stderr[-2000:]
    assert f"run {run_dir.name}" in fresh.stderr and f"is loading {table} right now" in fresh.stderr
    assert "--force" in fresh.stderr
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [run_dir.name], (
        "the refused run created nothing"
    )

    # the one resume wrote what was left, and the written-keys log holds every item once
    summary = json.loads(out)
    assert summary["status"] == "ok" and summary["tables"][0]["written"] == total
    keys = [json.dumps(r["key"], sort_keys=True) for r in read_jsonl(run_dir / f"written/{table}.jsonl")]
    assert len(keys) == len(set(keys)) == total
    assert not (run_dir / "lock.json").exists()


def test_rollback_of_a_run_in_use_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from dynamigrate.cli import main

    run = RunDir.create(tmp_path / "runs", meta={"tables": ["T"]})
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"aws": {"region": "us-east-1", "dynamodb_endpoint_url": "http://127.0.0.1:8000"}})
    )
    with acquire(run.path, tables=["T"]):
        code = main(["rollback", run.run_id, "--config", str(config), "--output-dir", str(tmp_path / "runs")])
    assert code == 2
    assert f"run {run.run_id} is in use by pid {os.getpid()}" in capsys.readouterr().err
