"""``migrate --workers N``: writer processes of the local engine load exactly what one process loads.

Every key shape (composite, VARCHAR, BINARY, unique key without primary key, no key at all, sparse
BIGINT, multi-entity) with 2 processes, conditional and batch; duplicate keys whose rows fall into
windows of different processes; SIGKILL of the engine's process mid-load (its writer processes die
with it) then ``--resume``; a writer process killed mid-load fails the table, ``--resume`` completes it.
Expected items come from the source rows (plain SELECTs), never from the code under test.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config, scan_items
from test_key_shapes import ENTITIES, SPARSE_AS_TEXT, _expected, _items, _load

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir, read_jsonl

pytestmark = pytest.mark.integration

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _contract(tmp: Path, tables: list[dict[str, Any]]) -> Path:
    path = tmp / "contract.json"
    path.write_text(json.dumps({"tables": tables}, indent=1), encoding="utf-8")
    return path


def _balanced(t: Any) -> None:
    """The accounting equation holds for the table and every entity."""
    acc = t.accounting if not isinstance(t, dict) else t["accounting"]
    assert acc["status"] != "mismatch", acc
    assert all(e["status"] != "mismatch" for e in acc["entities"]), acc


@pytest.mark.parametrize("strategy", ["transact", "batch"])
def test_every_key_shape_with_two_writer_processes(
    strategy: str,
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = _load(mysql_conn)
    singles = [
        {
            "table": f"{ddb_prefix}{src}",
            "type": "single-entity",
            "source_table": src,
            "pk": "PK",
            "attributes": a,
        }
        for src, a in ENTITIES.items()
    ]
    mixed = {
        "table": f"{ddb_prefix}Mixed",
        "type": "multi-entity",
        "source_table": "ck_iv",
        "pk": "PK",
        "entities": [
            {"entity_type": src.upper(), "source_table": src, "attributes": attrs}
            for src, attrs in {**ENTITIES, "sparse": SPARSE_AS_TEXT}.items()
        ],
    }
    cfg, _ = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, [*singles, mixed]), chunk_rows=3, workers=2
    )
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", strategy=strategy))
    assert summary.status == "ok", summary.render_text()
    results = {t.table: t for t in summary.tables}
    mixed_expected: dict[Any, Any] = {}
    for src, src_rows in rows.items():
        name = f"{ddb_prefix}{src}"
        expected = {_expected(src, r)["PK"]: _expected(src, r) for r in src_rows}
        assert _items(ddb_client, name) == expected, src
        res = results[name]
        assert (res.read, res.written, res.skipped, res.rejected_total) == (
            len(src_rows),
            len(src_rows),
            0,
            0,
        )
        assert res.extra["workers"]["count"] == 2
        _balanced(res)
        for r in src_rows:
            item = _expected(src, r)
            if src == "sparse":
                item["PK"] = f"SP#{r[0]}"
            mixed_expected[item["PK"]] = item
    assert _items(ddb_client, f"{ddb_prefix}Mixed") == mixed_expected
    res = results[f"{ddb_prefix}Mixed"]
    assert res.read == res.written == len(mixed_expected)
    _balanced(res)
    # the same two processes served all 8 tables (started once for the run)
    served = [
        r for r in caplog.records if r.name.endswith("local_worker") and "serves table" in r.getMessage()
    ]
    assert len(served) == 2 * 8 and len({r.process for r in served}) == 2
    # every written key is recorded once (rollback and validation read written/<T>.jsonl)
    run = RunDir.open(summary.run_dir)
    written = list(read_jsonl(run.file(run.written_file(f"{ddb_prefix}Mixed"))))
    assert len(written) == len({json.dumps(w["key"], sort_keys=True) for w in written}) == len(mixed_expected)


def test_duplicate_keys_across_writer_processes(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Rows of far-apart key windows (different processes) produce the same DynamoDB key: the first
    row in key order makes the item, every later one is skipped as duplicate_key and listed once."""
    n, groups = 400, 37
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE dk (id INT PRIMARY KEY, grp INT NOT NULL, v VARCHAR(20) NOT NULL)")
        cur.executemany("INSERT INTO dk VALUES (%s, %s, %s)", [(i, i % groups, f"v{i}") for i in range(n)])
    mysql_conn.commit()
    name = f"{ddb_prefix}Dk"
    table = {
        "table": name,
        "type": "single-entity",
        "source_table": "dk",
        "pk": "PK",
        "attributes": [
            {
                "name": "PK",
                "type": "S",
                "source_table": "dk",
                "source_column": "grp",
                "transformation": {"type": "string-format", "format": "G#{grp}"},
            },
            {"name": "id", "type": "N", "source_table": "dk", "source_column": "id"},
            {"name": "v", "type": "S", "source_table": "dk", "source_column": "v"},
        ],
    }
    for strategy in ("transact", "batch"):
        for t in ddb_client.list_tables()["TableNames"]:
            if t == name:
                ddb_client.delete_table(TableName=name)
                ddb_client.get_waiter("table_not_exists").wait(TableName=name)
        out = tmp_path / strategy
        out.mkdir()
        cfg, _ = make_config(out, mysql_db, ddb_endpoint, _contract(out, [table]), chunk_rows=10, workers=3)
        summary = migrate(
            cfg,
            MigrateOptions(
                progress_mode="quiet", strategy=strategy, skip_validation=True, accept=("duplicate_key",)
            ),
        )
        assert summary.status == "ok", summary.render_text()
        (t,) = summary.tables
        # the first row of each group (lowest id) made the item
        items = {k[0]: v for k, v in scan_items(ddb_client, name).items()}
        assert items.keys() == {f"G#{g}" for g in range(groups)}
        assert {k: (int(v["id"]), v["v"]) for k, v in items.items()} == {
            f"G#{g}": (g, f"v{g}") for g in range(groups)
        }
        assert (t.read, t.written, t.skipped) == (n, groups, n - groups), strategy
        assert t.extra["duplicate_keys"]["skipped"] == n - groups
        run = RunDir.open(summary.run_dir)
        listed = [
            json.loads(line)["key"] for line in run.file(f"duplicates/{name}.jsonl").read_text().splitlines()
        ]
        assert sorted(k["PK"]["S"] for k in listed) == sorted(f"G#{g}" for g in range(groups))
        _balanced(t)


# -- processes killed ------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _big_source(mysql_conn: Any, n: int, dup_from: int) -> None:
    """n rows; ids >= dup_from repeat the DynamoDB key of id - dup_from (far-apart windows)."""
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE big (id INT PRIMARY KEY, k INT NOT NULL, note VARCHAR(40) NULL)")
        cur.executemany(
            "INSERT INTO big VALUES (%s, %s, %s)",
            [
                (i, i if i < dup_from else i - dup_from, None if i % 7 == 0 else f"note {i} 😀")
                for i in range(n)
            ],
        )
    mysql_conn.commit()


def _big_contract(tmp: Path, name: str) -> Path:
    table = {
        "table": name,
        "type": "single-entity",
        "source_table": "big",
        "pk": "PK",
        "attributes": [
            {"name": "PK", "type": "N", "source_table": "big", "source_column": "k"},
            {"name": "id", "type": "N", "source_table": "big", "source_column": "id"},
            {"name": "note", "type": "S", "source_table": "big", "source_column": "note"},
        ],
    }
    return _contract(tmp, [table])


def _cli(config: Path, *args: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dynamigrate",
            "migrate",
            "--config",
            str(config),
            "--progress",
            "quiet",
            "--accept",
            "duplicate_key",
            *args,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _wait_for_progress(run_root: Path, name: str, proc: subprocess.Popen[bytes], rows: int) -> None:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        for ck in run_root.glob(f"*/checkpoints/{name}.json"):
            try:
                doc = json.loads(ck.read_text())
            except (OSError, ValueError):
                continue
            if int(doc["counters"]["read"]) >= rows:
                return
        time.sleep(0.05)
    raise AssertionError("the load made no progress")


def _check_exact(ddb_client: Any, name: str, n: int, dup_from: int, t: dict[str, Any]) -> None:
    items = {int(k[0]): v for k, v in scan_items(ddb_client, name).items()}
    assert items.keys() == set(range(dup_from))
    for k, v in items.items():  # the first row of each key (the lower id) made the item
        assert int(v["id"]) == k and v.get("note") == (None if k % 7 == 0 else f"note {k} 😀")
    assert (t["read"], t["written"], t["skipped"], t["rejected_total"]) == (n, dup_from, n - dup_from, 0)
    _balanced(t)


@pytest.mark.parametrize("strategy", ["transact", "batch"])
def test_sigkill_of_the_engine_then_resume_with_writer_processes(
    strategy: str,
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
) -> None:
    n, dup_from = 3000, 2600
    _big_source(mysql_conn, n, dup_from)
    name = f"{ddb_prefix}Big"
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, _big_contract(tmp_path, name), chunk_rows=25)
    proc = _cli(config, "--workers", "2", "--strategy", strategy, "--skip-validation")
    _wait_for_progress(tmp_path / "runs", name, proc, 400)
    kids = _children(proc.pid)
    assert len([k for k in kids if _alive(k)]) >= 2  # the writer processes (and the spawn tracker)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.1)
    assert not [k for k in kids if _alive(k)], "writer processes outlived the killed engine"
    run_dir = next((tmp_path / "runs").iterdir())
    ck = json.loads(run_dir.joinpath(f"checkpoints/{name}.json").read_text())
    assert ck["status"] == "running" and 0 < ck["counters"]["read"] < n
    # the checkpoint does not depend on the number of processes: resume with another one
    resumed = _cli(
        config, "--resume", "--workers", "3" if strategy == "batch" else "1", "--strategy", strategy
    )
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()
    t = RunDir.open(run_dir).state()["tables"][name]
    assert t["resumed_from"]["read"] == ck["counters"]["read"]
    _check_exact(ddb_client, name, n, dup_from, t)


def test_a_writer_process_that_dies_fails_the_table_and_resume_completes_it(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    n, dup_from = 3000, 2800
    _big_source(mysql_conn, n, dup_from)
    name = f"{ddb_prefix}Big"
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, _big_contract(tmp_path, name), chunk_rows=25)
    proc = _cli(config, "--workers", "2", "--skip-validation")
    _wait_for_progress(tmp_path / "runs", name, proc, 300)
    writers = [
        k
        for k in _children(proc.pid)
        if "multiprocessing.spawn" in Path(f"/proc/{k}/cmdline").read_text()
        and "spawn_main" in Path(f"/proc/{k}/cmdline").read_text()
    ]
    assert writers
    os.kill(writers[-1], signal.SIGKILL)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err.decode()
    run_dir = next((tmp_path / "runs").iterdir())
    t = RunDir.open(run_dir).state()["tables"][name]
    assert t["status"] == "failed"
    assert "writer process" in t["error"] and "SIGKILL" in t["error"] and "--resume" in t["error"]
    assert not [k for k in writers if _alive(k)]
    resumed = _cli(config, "--resume", "--workers", "2")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()
    _check_exact(ddb_client, name, n, dup_from, RunDir.open(run_dir).state()["tables"][name])


def test_a_table_level_error_in_the_writer_processes_fails_the_table(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """The target table disappears mid-load: the processes' ResourceNotFoundException fails the table
    (not a rejected row, not a silent stop), the run exits 1 and says to resume."""
    n = 3000
    _big_source(mysql_conn, n, n)
    name = f"{ddb_prefix}Big"
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, _big_contract(tmp_path, name), chunk_rows=25)
    proc = _cli(config, "--workers", "2", "--skip-validation")
    _wait_for_progress(tmp_path / "runs", name, proc, 200)
    ddb_client.delete_table(TableName=name)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 1, err.decode()
    t = RunDir.open(next((tmp_path / "runs").iterdir())).state()["tables"][name]
    assert t["status"] == "failed" and "ResourceNotFoundException" in t["error"] and "--resume" in t["error"]
    assert t["rejected_total"] == 0 and 0 < t["read"] < n


def test_sync_with_writer_processes_reports_and_deletes_vanished_rows(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Sync with 2 processes: changed rows rewritten, new rows inserted, the items of deleted rows
    found missing (the keys of every process reach the engine's seen set) and deleted."""
    n = 600
    _big_source(mysql_conn, n, n)
    name = f"{ddb_prefix}Big"
    cfg, _ = make_config(
        tmp_path, mysql_db, ddb_endpoint, _big_contract(tmp_path, name), chunk_rows=20, workers=2
    )
    first = migrate(cfg, MigrateOptions(progress_mode="quiet", skip_validation=True))
    assert first.status == "ok", first.render_text()
    with mysql_conn.cursor() as cur:
        cur.execute("UPDATE big SET note = CONCAT('changed ', id) WHERE id % 50 = 3")
        cur.execute("DELETE FROM big WHERE id % 40 = 7")
        cur.executemany("INSERT INTO big VALUES (%s, %s, %s)", [(i, i, f"new {i}") for i in range(n, n + 30)])
        cur.execute("SELECT id, note FROM big")
        source = {int(i): note for i, note in cur.fetchall()}
    mysql_conn.commit()
    changed = sum(1 for i in range(n) if i % 50 == 3 and i in source)
    deleted = sum(1 for i in range(n) if i % 40 == 7)
    summary = migrate(
        cfg,
        MigrateOptions(progress_mode="quiet", skip_validation=True, write_mode="sync", delete_missing=True),
    )
    assert summary.status == "ok", summary.render_text()
    (t,) = summary.tables
    assert t.extra["workers"]["count"] == 2
    items = {int(k[0]): v for k, v in scan_items(ddb_client, name).items()}
    assert {k: v.get("note") for k, v in items.items()} == source
    assert (t.missing_source, t.deleted_missing) == (deleted, deleted)
    same = len(source) - changed - 30  # unchanged is a kind of skipped (etl/accounting.py)
    assert (t.read, t.written, t.skipped, t.unchanged) == (len(source), changed + 30, same, same)
    _balanced(t)


def test_ctrl_c_stops_the_writer_processes_and_resume_completes_exactly(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """SIGINT to the engine (Ctrl-C): exit 130, no writer process left, the checkpoint resumes exactly."""
    n, dup_from = 3000, 2900
    _big_source(mysql_conn, n, dup_from)
    name = f"{ddb_prefix}Big"
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, _big_contract(tmp_path, name), chunk_rows=25)
    proc = _cli(config, "--workers", "2", "--strategy", "put", "--skip-validation")
    _wait_for_progress(tmp_path / "runs", name, proc, 300)
    kids = _children(proc.pid)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(k) for k in kids):
        time.sleep(0.1)
    left = [Path(f"/proc/{k}/cmdline").read_text() for k in kids if _alive(k)]
    assert not left, f"processes outlived the interrupted engine: {left}"
    run_dir = next((tmp_path / "runs").iterdir())
    assert RunDir.open(run_dir).state()["tables"][name]["status"] == "interrupted"
    resumed = _cli(config, "--resume", "--workers", "2", "--strategy", "put")
    _, err = resumed.communicate(timeout=600)
    assert resumed.returncode == 0, err.decode()
    _check_exact(ddb_client, name, n, dup_from, RunDir.open(run_dir).state()["tables"][name])


def test_rejected_rows_of_every_writer_process_are_listed_and_counted(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """Rows without a key value, spread over the windows of 3 processes: each is in rejected.jsonl
    once, counted by reason, never written; the equation holds."""
    n = 500
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE rj (id INT PRIMARY KEY, code VARCHAR(20) NULL)")
        cur.executemany(
            "INSERT INTO rj VALUES (%s, %s)", [(i, None if i % 9 == 4 else f"c{i}") for i in range(n)]
        )
    mysql_conn.commit()
    bad = {i for i in range(n) if i % 9 == 4}
    name = f"{ddb_prefix}Rj"
    table = {
        "table": name,
        "type": "single-entity",
        "source_table": "rj",
        "pk": "PK",
        "attributes": [
            {"name": "PK", "type": "S", "source_table": "rj", "source_column": "code"},
            {"name": "id", "type": "N", "source_table": "rj", "source_column": "id"},
        ],
    }
    cfg, _ = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, [table]), chunk_rows=15, workers=3
    )
    summary = migrate(
        cfg, MigrateOptions(progress_mode="quiet", skip_validation=True, accept=("key_missing",))
    )
    (t,) = summary.tables
    assert t.status == "done", summary.render_text()
    items = {k[0]: int(v["id"]) for k, v in scan_items(ddb_client, name).items()}
    assert items == {f"c{i}": i for i in range(n) if i not in bad}
    assert (t.read, t.written, t.rejected_total) == (n, n - len(bad), len(bad))
    run = RunDir.open(summary.run_dir)
    rejected = [r for r in read_jsonl(run.file("rejected.jsonl")) if r["table"] == name]
    assert sorted(int(r["row"]["id"]) for r in rejected) == sorted(bad)
    assert sum(t.rejected.values()) == len(bad) and len(t.rejected) == 1
    _balanced(t)


def test_workers_with_the_spark_engine_is_said_to_be_ignored(
    mysql_conn: Any,
    mysql_db: str,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _big_source(mysql_conn, 10, 10)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _big_contract(tmp_path, f"{ddb_prefix}Big"))
    with caplog.at_level(logging.WARNING):
        summary = migrate(cfg, MigrateOptions(progress_mode="quiet", engine="spark", workers=3, dry_run=True))
    assert summary.status == "dry-run", summary.render_text()
    assert any("--workers 3 is ignored by the spark engine" in r.getMessage() for r in caplog.records)
