"""`migrate` in an 80-column terminal: the live display, log lines and the summary fit, and the last
frame of the live display holds written / rejected / rate / ETA for every table."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import connect, make_config, write_contract
from _pty import final_screen, run_in_pty, screen_lines
from rich.cells import cell_len

from dynamigrate.sample import load_sample

pytestmark = pytest.mark.integration

SOURCE_COUNTS = {
    "Users": "SELECT (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM shopping_carts) "
    "+ (SELECT COUNT(*) FROM orders)",
    "Products": "SELECT COUNT(*) FROM products",
    "Categories": "SELECT COUNT(*) FROM categories",
}


def _count_items(ddb_client: Any, table: str) -> int:
    total = 0
    kwargs: dict[str, Any] = {"TableName": table, "Select": "COUNT"}
    while True:
        page = ddb_client.scan(**kwargs)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _last_frame(lines: list[str]) -> tuple[str, list[list[str]]]:
    """The header and rows of the last frame of the live table."""
    heads = [i for i, line in enumerate(lines) if re.match(r"^table\s+progress\s", line)]
    assert heads, "no live progress table was drawn:\n" + "\n".join(lines[-60:])
    start = heads[-1]
    rows = []
    for line in lines[start + 1 :]:
        if not line.strip() or line.startswith("run "):
            break
        rows.append(line.split())
    return lines[start], rows


def test_migrate_in_an_80_column_terminal(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    load_sample(mysql_settings.connect_kwargs(), mysql_db, 40)
    contract = write_contract(tmp_path, ddb_prefix, tables=tuple(SOURCE_COUNTS))
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=25, inflight_chunks=1)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "dummy", "AWS_SECRET_ACCESS_KEY": "dummy"}
    argv = [sys.executable, "-m", "dynamigrate", "migrate", "-v", "--config", str(config)]
    argv += ["--strategy", "put", "--concurrency", "1"]
    code, raw = run_in_pty(argv, env, columns=80)
    lines = screen_lines(raw)
    assert code == 0, "\n".join(lines[-80:])

    too_long = [line for line in lines if cell_len(line) > 80]
    assert too_long == [], "lines wider than the terminal:\n" + "\n".join(too_long)
    assert "????" not in raw

    # what the terminal shows at the end (a VT100 emulator: overwritten frames are gone): the live
    # table exactly once, log and phase lines whole above it, no stale frame left by a redraw
    screen = final_screen(raw, 80, 40)
    assert len([line for line in screen if re.match(r"^table\s+progress\s", line)]) == 1, "\n".join(screen)
    header, rows = _last_frame(screen)
    for word in ("written", "rejected", "rows/s", "ETA"):
        assert word in header.split(), header
    columns = header.split()
    # the progress column's percentage has no header of its own: values sit one place further right
    written_at = columns.index("written") + 1
    rejected_at = columns.index("rejected") + 1
    conn = connect(mysql_db)
    try:
        expected: dict[str, int] = {}
        for name, sql in SOURCE_COUNTS.items():
            with conn.cursor() as cur:
                cur.execute(sql)
                expected[prefix_name(ddb_prefix, name)] = int(cur.fetchone()[0])
    finally:
        conn.close()
    seen = {}
    for row in rows:
        name = row[0]
        assert row[-1] == "done", row  # a finished table shows its status where the ETA was
        assert re.fullmatch(r"[\d,]+", row[-2]), row  # rows/s
        written = int(row[written_at].replace(",", ""))
        rejected = int(row[rejected_at].replace(",", ""))
        seen[name] = (written, rejected)
    assert set(seen) == set(expected)
    for name, (written, rejected) in seen.items():
        assert written == _count_items(ddb_client, name)
        assert written + rejected == expected[name]

    # -v: log lines printed while the live table is drawn stay whole lines of their own
    created = [line for line in screen if re.search(r"INFO\s+created table " + re.escape(ddb_prefix), line)]
    assert len(created) == 3, "\n".join(lines)
    # the summary table follows, also within 80 columns, with one row per table
    summary_rows = [line for line in screen if line.split()[:2] in ([n, "done"] for n in expected)]
    assert {line.split()[0] for line in summary_rows} == set(expected)

    # the dry run's plan in the same terminal: within 80 columns, one row per table with its rows
    code, raw = run_in_pty([*argv[:4], "--config", str(config), "--dry-run"], env)
    screen = [line for line in final_screen(raw, 80, 40) if line.strip()]
    assert code == 0, "\n".join(screen)
    assert [line for line in screen if cell_len(line) > 80] == []
    plan_rows = {line.split()[0]: line.split()[1] for line in screen if line.split()[0] in expected}
    assert plan_rows == {name: f"{n:,}" for name, n in expected.items()}

    # `status` (the latest run) in the same terminal: within 80 columns, one row per table
    code, raw = run_in_pty([sys.executable, "-m", "dynamigrate", "status", "--config", str(config)], env)
    lines = screen_lines(raw)
    assert code == 0, "\n".join(lines)
    assert [line for line in lines if cell_len(line) > 80] == []
    rows = [line.split() for line in lines if line.split()[:1] and line.split()[0] in expected]
    assert {row[0] for row in rows} == set(expected)
    assert all(row[1] == "done" and "100%" in row for row in rows), rows


def prefix_name(prefix: str, name: str) -> str:
    return prefix + name


PRINTS_DURING_LIVE = """
import logging, sys, time
from dynamigrate.cli._logging import setup_logging
from dynamigrate.etl.base import TableResult
from dynamigrate.etl.progress import ProgressReporter

setup_logging(verbosity=1)
rep = ProgressReporter(None, mode="tty").start()
rep.start_table("Users", 1000)
for i in range(1, 11):
    rep.update(TableResult(table="Users", total=1000, read=100 * i, written=100 * i))
    if i == 4:
        print("a line printed to stdout " + "x" * 40)
        logging.getLogger("dynamigrate.test").info("a log record")
        print("to stderr " + "z" * 40, file=sys.stderr)
    time.sleep(0.15)
r = TableResult(table="Users", total=1000, read=1000, written=1000, status="done")
rep.finish_table(r)
rep.close()
print("after")
"""


def test_prints_and_log_records_during_the_live_table_stay_whole_lines() -> None:
    code, raw = run_in_pty([sys.executable, "-c", PRINTS_DURING_LIVE], dict(os.environ), columns=80)
    lines = screen_lines(raw)
    assert code == 0, "\n".join(lines)
    assert [line for line in lines if cell_len(line) > 80] == []
    # what the terminal shows at the end (a VT100 emulator: overwritten text is gone): each line
    # printed meanwhile whole, above the live table, whose last frame is the finished table
    screen = [line for line in final_screen(raw, 80, 40) if line.strip()]
    assert screen[0] == "a line printed to stdout " + "x" * 40
    assert re.fullmatch(r"\d\d:\d\d:\d\d INFO\s+a log record", screen[1])
    assert screen[2] == "to stderr " + "z" * 40
    assert screen[3].split()[-4:] == ["written", "rejected", "rows/s", "ETA"]
    row = screen[4].split()
    assert row[0] == "Users" and row[2:5] == ["100%", "1,000", "0"] and row[-1] == "done"
    assert screen[5:] == ["after"]
