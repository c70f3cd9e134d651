"""RunDirSink: what the writer's outcomes look like in the run directory (JSON-safe, counted)."""

from __future__ import annotations

import base64
from pathlib import Path

from dynamigrate.contract.load import parse_contract
from dynamigrate.runstate import RunDir
from dynamigrate.target.encode import ItemEncoder
from dynamigrate.target.writer import BatchResult, MemorySink, RunDirSink, WriteMode, WriterOptions


def _table():
    raw = {
        "table": "Blobs",
        "type": "single-entity",
        "source_table": "blobs",
        "pk": "id",
        "sk": None,
        "attributes": [
            {"name": "id", "type": "B", "source_table": "blobs", "source_column": "id"},
            {"name": "n", "type": "N", "source_table": "blobs", "source_column": "n"},
        ],
    }
    contract, problems = parse_contract({"tables": [raw]})
    assert contract is not None, [str(p) for p in problems]
    return contract.tables[0]


def test_rundir_sink_writes_json_safe_lines(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, run_id="r1")
    sink = RunDirSink(run, "Blobs")
    enc = ItemEncoder(_table())
    bad = enc.encode({"id": b"\x00\xff", "n": "zz", "_dm_entity": "blobs", "_dm_rowid": 9})
    assert bad.reject_code == "bad_number"
    sink.on_rejected(bad, bad.reject_reason or "", bad.reject_code or "", None)
    sink.on_written({"id": {"B": b"\x01"}}, "r1:abc")
    sink.on_old_image({"id": {"B": b"\x01"}}, {"id": {"B": b"\x01"}, "n": {"N": "1"}})
    sink.on_conflict({"id": {"B": b"\x02"}}, "not_written_by_migration")
    sink.on_skipped({"id": {"B": b"\x03"}}, "exists")
    sink.on_retry("throttle")
    sink.flush()  # written records are buffered per batch (TableWriter.write_batch flushes)
    run.close()

    (rej,) = list(run.read_lines("rejected.jsonl"))
    assert rej["table"] == "Blobs" and rej["entity"] == "blobs" and rej["code"] == "bad_number"
    assert rej["key"] == {"id": {"B": base64.b64encode(b"\x00\xff").decode()}}
    assert rej["row"]["id"] == {"$b64": base64.b64encode(b"\x00\xff").decode(), "bytes": 2}
    assert rej["row"]["_dm_rowid"] == 9
    assert "'n'" in rej["reason"] and rej["message"] is None
    (w,) = list(run.read_lines(run.written_file("Blobs")))
    assert w == {"key": {"id": {"B": "AQ=="}}, "marker": "r1:abc"}
    (old,) = list(run.read_lines(run.old_images_file("Blobs")))
    assert old["old"] == {"id": {"B": "AQ=="}, "n": {"N": "1"}}
    (c,) = list(run.read_lines("conflicts.jsonl"))
    assert c["reason"] == "not_written_by_migration"
    assert sink.counters == {
        "rejected": 1,
        "rejected:bad_number": 1,
        "written": 1,
        "old_images": 1,
        "conflicts": 1,
        "skipped": 1,
        "skipped:exists": 1,
        "retries": 1,
        "throttles": 1,
    }


def test_memory_sink_and_batch_result() -> None:
    sink = MemorySink()
    sink.on_rejected({"id": {"S": "x"}}, "reason", "write_failed", "DynamoDB says no")
    assert sink.rejected == [
        {"key": {"id": {"S": "x"}}, "reason": "reason", "code": "write_failed", "message": "DynamoDB says no"}
    ]
    a = BatchResult(written=2, retries=1)
    a.add(BatchResult(written=1, skipped=4))
    assert a.as_dict()["written"] == 3 and a.skipped == 4 and a.retries == 1


def test_writer_options_defaults() -> None:
    opts = WriterOptions().validated()
    assert opts.mode is WriteMode.INSERT
    assert opts.strategy == "put"
    assert opts.marker_attribute == "_dm_marker"
