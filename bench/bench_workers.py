"""Writer processes of the local engine: ``migrate --workers 1`` vs ``--workers N``, and memory.

    .venv/bin/python bench/bench_workers.py --rows 20000 --workers 1,2 --strategy batch
    .venv/bin/python bench/bench_workers.py --rows 10000,20000 --workers 2 --repeat 1   # RSS at two sizes

A synthetic table (INT key, VARCHAR with emoji, DECIMAL, DATETIME, a NULL every 7th row) is loaded
by ``python -m dynamigrate migrate`` in a child process (validation and preflight skipped: the ETL
phase is what the processes change), into a fresh DynamoDB table each time. Printed per run: the
table's ETL rate (written / the table's load duration), the ETL phase rate, the peak RSS of the
engine's process and of the largest writer process, and their sum at its peak (sampled every 0.1 s
from /proc), and the machine's load average before the run (the machine is shared: say so beside
any figure). Tables are prefixed ``perfwk<hex>_`` and the database ``perf_wk_<hex>``; both are
dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pymysql

SRC = str(Path(__file__).resolve().parents[1] / "src")


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])  # utime + stime


def _sample(pid: int, stop: threading.Event, peaks: dict[str, int]) -> None:
    while not stop.is_set():
        peaks["engine_ticks"] = max(peaks.get("engine_ticks", 0), _cpu_ticks(pid))
        pids = _tree(pid)
        rss = {p: _rss_kb(p) for p in pids}
        peaks["engine"] = max(peaks.get("engine", 0), rss.get(pid, 0))
        workers = [v for p, v in rss.items() if p != pid]
        peaks["worker"] = max(peaks.get("worker", 0), max(workers, default=0))
        peaks["sum"] = max(peaks.get("sum", 0), sum(rss.values()))
        stop.wait(0.1)


def _mysql(database: str | None = None) -> Any:
    return pymysql.connect(
        host="127.0.0.1",
        port=3306,
        user="dynamigrate",
        password="dynamigrate",
        database=database,
        autocommit=True,
    )


def _source(database: str, rows: int) -> None:
    conn = _mysql()
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
        cur.execute(f"USE `{database}`")
        cur.execute(
            "CREATE TABLE w (id INT PRIMARY KEY, a VARCHAR(40) NULL, b DECIMAL(20,4) NULL, c DATETIME NULL)"
        )
        batch = []
        for i in range(rows):
            batch.append(
                (i, None if i % 7 == 0 else f"name {i} 😀", f"{i * 1.25:.4f}", "2024-05-06 07:08:09")
            )
            if len(batch) == 5000:
                cur.executemany("INSERT INTO w VALUES (%s, %s, %s, %s)", batch)
                batch = []
        if batch:
            cur.executemany("INSERT INTO w VALUES (%s, %s, %s, %s)", batch)
    conn.close()


def _contract(tmp: Path, name: str) -> Path:
    attr = lambda n, t, c: {"name": n, "type": t, "source_table": "w", "source_column": c}  # noqa: E731
    doc = {
        "tables": [
            {
                "table": name,
                "type": "single-entity",
                "source_table": "w",
                "pk": "PK",
                "attributes": [
                    attr("PK", "N", "id"),
                    attr("a", "S", "a"),
                    attr("b", "N", "b"),
                    attr("c", "S", "c"),
                ],
            }
        ]
    }
    path = tmp / "contract.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _config(tmp: Path, database: str, endpoint: str, contract: Path) -> Path:
    raw = {
        "aws": {"region": "us-east-1", "dynamodb_endpoint_url": endpoint},
        "mysql": {
            "host": "127.0.0.1",
            "port": 3306,
            "user": "dynamigrate",
            "password": "dynamigrate",
            "database": database,
        },
        "migration": {"contract_file": str(contract), "output_dir": str(tmp / "runs")},
    }
    path = tmp / "config.json"
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def run_once(
    tmp: Path, database: str, endpoint: str, name: str, workers: int, strategy: str
) -> dict[str, Any]:
    ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    if name in ddb.list_tables()["TableNames"]:
        ddb.delete_table(TableName=name)
        ddb.get_waiter("table_not_exists").wait(TableName=name)
    work = Path(tempfile.mkdtemp(dir=tmp))
    config = _config(work, database, endpoint, _contract(work, name))
    load = os.getloadavg()[0]
    cmd = [
        sys.executable,
        "-m",
        "dynamigrate",
        "migrate",
        "--config",
        str(config),
        "--progress",
        "quiet",
        "--json",
        "--skip-validation",
        "--skip-preflight",
        "--strategy",
        strategy,
        "--workers",
        str(workers),
    ]
    t0 = time.monotonic()
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        cmd, env={**os.environ, "PYTHONPATH": SRC}, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    stop, peaks = threading.Event(), {}
    sampler = threading.Thread(target=_sample, args=(proc.pid, stop, peaks), daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.monotonic() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"migrate failed ({proc.returncode}):\n{err.decode()[-3000:]}")
    summary = json.loads(out)
    (t,) = summary["tables"]
    etl = summary["phases"]["etl"]
    return {
        "workers": t["extra"]["workers"]["count"],
        "written": t["written"],
        "table_seconds": round(t["duration"], 2),
        "etl_items_per_s": round(t["written"] / t["duration"]),
        "etl_phase_items_per_s": round(t["written"] / etl["duration"]) if etl.get("duration") else None,
        "wall_seconds": round(wall, 1),
        # CPU of the whole run (engine + writer processes + start-up), and of the engine's process alone
        "cpu_us_per_item": round(
            (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) * 1e6 / max(1, t["written"])
        ),
        "engine_cpu_us_per_item": round(
            peaks.pop("engine_ticks", 0) / os.sysconf("SC_CLK_TCK") * 1e6 / max(1, t["written"])
        ),
        "peak_rss_mb": {k: round(v / 1024) for k, v in peaks.items()},
        "load_before": round(load, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="20000", help="table sizes, comma-separated (20000)")
    ap.add_argument("--workers", default="1,2", help="writer processes to compare (1,2)")
    ap.add_argument("--strategy", default="batch")
    ap.add_argument("--repeat", type=int, default=2, help="runs per (size, workers), alternating (2)")
    ap.add_argument("--endpoint", default=os.environ.get("DYNAMODB_ENDPOINT", "http://127.0.0.1:8000"))
    args = ap.parse_args(argv)
    tag = secrets.token_hex(3)
    database = f"perf_wk_{tag}"
    name = f"perfwk{tag}_W"
    results = []
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        try:
            for rows in [int(r) for r in args.rows.split(",")]:
                conn = _mysql()
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
                conn.close()
                _source(database, rows)
                for _ in range(args.repeat):
                    for w in [int(x) for x in args.workers.split(",")]:
                        r = {
                            "rows": rows,
                            "strategy": args.strategy,
                            **run_once(tmp, database, args.endpoint, name, w, args.strategy),
                        }
                        results.append(r)
                        print(json.dumps(r), flush=True)
        finally:
            ddb = boto3.client("dynamodb", endpoint_url=args.endpoint, region_name="us-east-1")
            if name in ddb.list_tables()["TableNames"]:
                ddb.delete_table(TableName=name)
            conn = _mysql()
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
            conn.close()
    print(f"cores {os.cpu_count()}, load average now {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
