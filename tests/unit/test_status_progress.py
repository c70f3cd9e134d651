"""``status`` of a run mid-load and of a run whose process is gone.

A table enters state.json only when it ends, so a run loading its first table said "no table started
yet" (also after a SIGKILL with 9,000 items written), and a killed run stayed "running" for ever."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from dynamigrate.cli._status_view import render_status_rich
from dynamigrate.cli.status import render_status, run_status
from dynamigrate.runlock import acquire
from dynamigrate.runstate import RunDir


def _run(tmp_path: Path) -> RunDir:
    run = RunDir.create(tmp_path, meta={"engine": "local"})
    run.update_state(
        status="running", phase="etl", tables={"Done": {"status": "done", "read": 3, "written": 3}}
    )
    progress = {"table": "Big", "read": 7500, "written": 7400, "skipped": 0, "conflicts": 0, "rejected": 100}
    run.event("progress", **progress, retries=0, throttles=0, total=20000, rate=4000.0)
    return run


def test_live_run_shows_the_table_being_loaded(tmp_path: Path) -> None:
    run = _run(tmp_path)
    with acquire(run.path, command="migrate"):
        doc = run_status(run)
    assert doc["status"] == "running" and doc["resume"] is None
    big = next(t for t in doc["tables"] if t["table"] == "Big")
    assert (big["status"], big["read"], big["total"], big["written"], big["rejected"]) == (
        "running",
        7500,
        20000,
        7400,
        100,
    )
    assert "no table started yet" not in render_status(doc)


def test_run_without_its_process_is_interrupted_with_the_resume_command(tmp_path: Path) -> None:
    run = _run(tmp_path)
    doc = run_status(run)
    assert doc["status"] == "interrupted"
    assert {t["table"]: t["status"] for t in doc["tables"]} == {"Done": "done", "Big": "interrupted"}
    text = render_status(doc)
    assert f"resume with dynamigrate migrate --config CONFIG --resume {run.run_id}" in text
    assert "status interrupted, phase etl" in text


def test_rollback_line_counts_the_items_put_back(tmp_path: Path) -> None:
    """A rollback of a sync --delete-missing run puts items back: status said 'deleted 0, restored 0,
    left alone 0' as if nothing had happened."""
    run = RunDir.create(tmp_path, meta={"engine": "local"})
    run.update_state(
        status="ok",
        phase="report",
        rollback={"finished_at": "T", "deleted": 0, "restored": 0, "undeleted": 4, "left_alone": 0},
    )
    doc = run_status(run)
    line = "rolled back T: deleted 0, restored 0, put back 4 item(s) the run had deleted, left alone 0"
    assert line in render_status(doc)
    console = Console(width=200, record=True)
    console.print(render_status_rich(doc))
    assert line in console.export_text()
