"""Pure parts of the ETL engine and the migrate pipeline (no database, no DynamoDB)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from dynamigrate.config import load_config
from dynamigrate.errors import ConfigError
from dynamigrate.etl.base import TableResult, get_engine
from dynamigrate.etl.local import LocalEngine, SeenKeys, canonical_key, resolve_strategy
from dynamigrate.etl.progress import ProgressReporter, choose_mode, format_duration
from dynamigrate.pipeline import MigrateOptions, RunSummary, resolve_etl_options
from dynamigrate.runstate import RunDir


def test_canonical_key_is_order_independent_and_binary_safe() -> None:
    a = canonical_key({"PK": {"S": "x"}, "SK": {"B": b"\x00\xff"}})
    b = canonical_key({"SK": {"B": b"\x00\xff"}, "PK": {"S": "x"}})
    assert a == b
    assert json.loads(a) == {"PK": {"S": "x"}, "SK": {"B": "AP8="}}


def test_seen_keys_reports_the_keys_not_added(tmp_path: Path) -> None:
    seen = SeenKeys(tmp_path / "seen" / "T.sqlite")
    keys = [canonical_key({"PK": {"S": f"k{i}"}}) for i in range(1200)]
    seen.add_many(keys[:1000])
    seen.add_many(keys[:10])  # duplicates are ignored
    assert len(seen) == 1000
    assert seen.missing(keys) == set(keys[1000:])
    seen.close()
    # durable: a resumed run reopens the same set
    again = SeenKeys(tmp_path / "seen" / "T.sqlite")
    assert len(again) == 1000
    again.close()


def test_table_result_counters_survive_a_checkpoint_round_trip() -> None:
    r = TableResult(table="T", read=10, written=7, skipped=1, conflicts=1)
    r.add_rejected("empty_key")
    r.retries, r.throttles, r.bytes, r.chunks = 3, 2, 999, 4
    restored = TableResult(table="T")
    restored.restore(json.loads(json.dumps(r.counters())))
    assert restored.counters() == r.counters()
    assert restored.done_rows == 10
    assert TableResult.from_dict(r.to_dict()).rejected == {"empty_key": 1}


def test_engines_are_found_by_name() -> None:
    assert isinstance(get_engine("local"), LocalEngine)
    with pytest.raises(ConfigError, match="unknown engine"):
        get_engine("nosuchengine")


def test_strategy_auto_depends_on_the_endpoint() -> None:
    assert resolve_strategy(None, "http://127.0.0.1:8000") == "transact"
    assert resolve_strategy("auto", None) == "put"
    assert resolve_strategy("put", "http://localhost:8000") == "put"


def test_write_mode_options_are_checked() -> None:
    cfg = load_config(None)
    assert resolve_etl_options(cfg, MigrateOptions(), False).write_mode == "insert"
    with pytest.raises(ConfigError, match="version attribute"):
        resolve_etl_options(cfg, MigrateOptions(write_mode="newer"), False)
    with pytest.raises(ConfigError, match="marker"):
        resolve_etl_options(cfg, MigrateOptions(write_mode="sync", no_marker=True), False)
    with pytest.raises(ConfigError, match="unknown write mode"):
        resolve_etl_options(cfg, MigrateOptions(write_mode="upsert"), False)
    opts = resolve_etl_options(cfg, MigrateOptions(no_marker=True, chunk_rows=50, concurrency=4), False)
    assert (opts.marker_attribute, opts.chunk_rows, opts.concurrency) == (None, 50, 4)


def test_progress_plain_and_json_lines_and_samples(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path)
    out = io.StringIO()
    rep = ProgressReporter(run, mode="plain", stream=out, interval=0.0, sample_interval=0.0)
    rep.start_table("T", 100)
    r = TableResult(table="T", total=100, read=40, written=38)
    r.add_rejected("null_key", 2)
    rep.update(r)
    rep.render()
    r.read, r.written, r.status = 100, 98, "done"
    rep.finish_table(r)
    rep.close()
    text = out.getvalue()
    assert "T" in text and "read 40/100" in text and "rejected 2" in text and "done in" in text
    samples = [e for e in run.read_lines("events.jsonl") if e["event"] == "progress"]
    assert samples and samples[-1]["read"] == 100 and samples[-1]["rejected"] == 2

    out = io.StringIO()
    rep = ProgressReporter(None, mode="json", stream=out, interval=0.0)
    rep.start_table("T", 10)
    rep.update(TableResult(table="T", total=10, read=5))
    rep.render()
    line = json.loads(out.getvalue().splitlines()[0])
    assert line["event"] == "progress" and line["read"] == 5 and line["total"] == 10


def test_progress_tty_draws_a_live_table_that_fits_80_columns() -> None:
    out = io.StringIO()
    rep = ProgressReporter(None, mode="tty", stream=out)
    rep.console.width = 80
    rep.start()
    rep.start_table("A_table_with_a_rather_long_name_indeed", 1000)
    r = TableResult(table="A_table_with_a_rather_long_name_indeed", total=1000, read=500, written=480)
    r.add_rejected("null_key", 20)
    rep.update(r)
    rep.start_table("B", None)  # total not known yet
    rep.update(TableResult(table="B", read=123_456, written=123_456))
    rep.render()
    rep.message("[etl] a phase line")
    rep.close()
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", out.getvalue())
    lines = [line for line in re.split(r"\r\n|\n|\r", text) if line.strip()]
    assert lines and all(len(line) <= 80 for line in lines), lines
    assert "[etl] a phase line" in lines
    header = [line for line in lines if line.startswith("table")][-1].split()
    assert header[-4:] == ["written", "rejected", "rows/s", "ETA"]
    a_row = [line for line in lines if line.startswith("A_table")][-1].split()
    assert a_row[2:5] == ["50%", "480", "20"]
    b_row = [line for line in lines if line.startswith("B ")][-1].split()
    # unknown total: no percentage, no question marks, no ETA yet
    assert b_row[-1] == "--:--" and b_row[-4] == "123,456" and "?" not in " ".join(b_row)


def test_choose_mode() -> None:
    assert choose_mode(io.StringIO()) == "plain"
    assert choose_mode(io.StringIO(), log_format="json") == "json"
    assert choose_mode(io.StringIO(), quiet=True) == "quiet"
    assert format_duration(3725) == "1:02:05" and format_duration(None) == "--:--"


def test_summary_text_names_rejects_and_resume_command() -> None:
    t = TableResult(table="T", status="failed", read=5, written=3, error="boom\nmore")
    t.add_rejected("empty_key", 2)
    s = RunSummary(
        run_id="20260101T000000Z-abcd", run_dir="/r", status="failed", engine="local", write_mode="insert"
    )
    s.tables.append(t)
    text = s.render_text()
    assert "empty_key" in text and "--resume 20260101T000000Z-abcd" in text and "error: boom" in text
    assert s.exit_code() == 1 and s.totals()["rejected"] == 2


def test_unconditional_batch_loading_is_opt_in_only():
    """Insert mode stays conditional by default, even into a table the run created (dual writes)."""
    from types import SimpleNamespace

    from dynamigrate.etl.local import LocalEngine

    class _Run:
        def manifest(self):
            return {"tables": [{"name": "Fresh"}]}

    fresh = SimpleNamespace(name="Fresh")
    other = SimpleNamespace(name="Other")

    def ctx(strategy, mode="insert"):
        return SimpleNamespace(options=SimpleNamespace(strategy=strategy, write_mode=mode), run=_Run())

    for strategy in (None, "auto", "put", "transact"):
        assert LocalEngine._fresh_table_fast_path(ctx(strategy), fresh) is False
    assert LocalEngine._fresh_table_fast_path(ctx("batch"), fresh) is True
    assert LocalEngine._fresh_table_fast_path(ctx("batch"), other) is False
    assert LocalEngine._fresh_table_fast_path(ctx("batch", "sync"), fresh) is False
