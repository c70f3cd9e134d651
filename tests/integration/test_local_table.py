"""The local engine's table life cycle (etl/local.py, LocalEngine.run_table) on a 7-row MariaDB table
into DynamoDB Local, against hand-written expectations: the checkpoint after each chunk, a resume from
a checkpoint (the rows after it only, counters carried over), the table-level counters and the
accounting equation, a table already complete, a reload (checkpoint says so; the target lost its
items), table-level errors (no target table, no view, numbers that do not add up, a DynamoDB error no
writer translated) failing the table; sync mode's unchanged items, conflicts and missing sources, two
rejects of one reason in one chunk, --strategy batch resumed, Ctrl-C, the run's database, durations.
Fast (one database, one DynamoDB table per test): the first covering tests of `scripts/mutation.sh
local`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import botocore.exceptions
import pymysql
import pytest

from dynamigrate.contract.load import parse_contract
from dynamigrate.etl import local as local_module
from dynamigrate.etl.base import EtlContext, EtlOptions, TableResult
from dynamigrate.etl.local import LocalEngine, SeenKeys
from dynamigrate.etl.progress import ProgressReporter
from dynamigrate.runstate import RunDir, read_jsonl, safe_name
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views

pytestmark = pytest.mark.integration

# id 4's qty is no number: rejected (bad_number); every other row is an item keyed by code. tags '[]' is
# an empty set (the attribute is left out, counted in empty_sets); g '' is an empty GSI key (left out,
# counted in omitted_gsi_keys); rejected rows count in neither
ROWS = [
    (1, "c1", "1", '["a"]', "g"),
    (2, "c2", "2", "[]", ""),
    (3, "c3", "3", None, "g"),
    (4, "c4", "x", "[]", ""),
    (5, "c5", "5", "[]", "g"),
    (6, "c6", "6", '["b"]', ""),
    (7, "c7", "7", None, "g"),
]
NAMES = (
    "Full",
    "Plain",
    "Kill",
    "Zero",
    "Resume",
    "Reload",
    "Lost",
    "Done",
    "NoTarget",
    "NoView",
    "Bad",
    "EntDone",
    "Sync",
    "Twice",
    "Batch",
    "Stop",
    "NoCreds",
    "Denied",
    "Db",
    "Clock",
    "Shown",
    "Count",
    "Auto",
    "Workers",
    "Dups",
    "Throttle",
)


def _spec(name: str) -> dict[str, Any]:
    return {
        "table": name,
        "type": "single-entity",
        "source_table": "t",
        "pk": "PK",
        "attributes": [
            {"name": "PK", "type": "S", "source_table": "t", "source_column": "code"},
            {"name": "qty", "type": "N", "source_table": "t", "source_column": "qty"},
            {"name": "tags", "type": "SS", "source_table": "t", "source_column": "tags"},
            {"name": "G", "type": "S", "source_table": "t", "source_column": "g"},
        ],
        "gsis": [{"index_name": "byG", "pk": "G", "projection": "ALL"}],
    }


@pytest.fixture(scope="module")
def env(mysql_settings: Any, ddb_client: Any, ddb_endpoint: str) -> Iterator[dict[str, Any]]:
    db = f"dm_test_{uuid.uuid4().hex[:12]}"
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": None, "autocommit": True})
    contract, problems = parse_contract({"tables": [_spec(f"{prefix}{n}") for n in NAMES]})
    assert contract is not None, problems
    created: set[str] = set()  # DynamoDB tables, each made by the first test that uses it (_ctx)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{db}`")
            cur.execute(
                "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL, qty VARCHAR(10),"
                " tags TEXT, g VARCHAR(10))"
            )
            cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s)", ROWS)
            schema = introspect(conn, db)
            for stmt in generate_views(contract, None, "mariadb", schema).statements:
                cur.execute(stmt.sql)
            cur.execute(f"DROP VIEW `{contract.table(f'{prefix}NoView').view_name}`")
            # a hand-written view without _dm_entity: its chunks belong to no entity
            cur.execute(
                f"CREATE OR REPLACE VIEW `{contract.table(f'{prefix}Plain').view_name}` AS"
                " SELECT id AS _dm_k1, code AS PK, qty, tags, g AS G FROM t"
            )
            # id 5 produces c1, the key of id 1 (an earlier chunk): a duplicate key, skipped
            cur.execute(
                f"CREATE OR REPLACE VIEW `{contract.table(f'{prefix}Dups').view_name}` AS"
                " SELECT id AS _dm_k1, IF(id = 5, 'c1', code) AS PK, qty, tags, g AS G FROM t"
            )
            # ids 4 and 5 (one chunk) rejected for one reason: bad_number counted twice in that chunk
            cur.execute(
                f"CREATE OR REPLACE VIEW `{contract.table(f'{prefix}Twice').view_name}` AS"
                " SELECT id AS _dm_k1, code AS PK, IF(id = 5, 'y', qty) AS qty, tags, g AS G FROM t"
            )
        yield {
            "contract": contract,
            "schema": schema,
            "prefix": prefix,
            "settings": dataclasses.replace(mysql_settings, database=db),
            "endpoint": ddb_endpoint,
            "created": created,
        }
    finally:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
        for name in created:
            with contextlib.suppress(ddb_client.exceptions.ResourceNotFoundException):
                ddb_client.delete_table(TableName=name)


class Recorder:
    """A progress reporter that keeps the checkpoint file as it is after each chunk."""

    def __init__(self, run: RunDir, table: str) -> None:
        self.run, self.table = run, table
        self.checkpoints: list[dict[str, Any]] = []
        self.totals: list[int | None] = []
        self.reads: list[int] = []
        self.statuses: list[str] = []
        self.finished: list[str] = []

    def start_table(self, table: str, total: int | None = None) -> None:
        pass

    def set_total(self, table: str, total: int | None) -> None:
        if table == self.table:  # the total shown on this table's line
            self.totals.append(total)

    def update(self, result: TableResult) -> None:
        self.checkpoints.append(self.run.read_json(self.run.checkpoint_file(self.table)))
        self.reads.append(result.read)
        self.statuses.append(result.status)

    def finish_table(self, result: TableResult) -> None:
        self.finished.append(result.status)


def _ctx(env: dict[str, Any], tmp_path: Path, ddb_client: Any, name: str) -> tuple[EtlContext, Any, Recorder]:
    run = RunDir.create(tmp_path, run_id=f"run-{uuid.uuid4().hex[:6]}")
    table = env["contract"].table(f"{env['prefix']}{name}")
    if name != "NoTarget" and table.name not in env["created"]:
        ddb_client.create_table(
            TableName=table.name,
            KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        env["created"].add(table.name)
    progress = Recorder(run, table.name)
    ctx = EtlContext(
        config=SimpleNamespace(mysql=env["settings"], aws=SimpleNamespace(dynamodb_endpoint=env["endpoint"])),  # type: ignore[arg-type]
        contract=env["contract"],
        run=run,
        options=EtlOptions(chunk_rows=3, strategy="put", inflight_chunks=1),
        progress=progress,  # type: ignore[arg-type]
        client_factory=lambda: ddb_client,
        schema=env["schema"],
        portable_client=False,
    )
    return ctx, table, progress


def _keys(ddb_client: Any, name: str) -> list[str]:
    items = ddb_client.scan(TableName=name, ConsistentRead=True)["Items"]
    return sorted(i["PK"]["S"] for i in items)


def _entity(read: int, written: int, rejected: int) -> dict[str, int]:
    return {
        "read": read,
        "written": written,
        "skipped": 0,
        "unchanged": 0,
        "conflicts": 0,
        "rejected": rejected,
    }


def _counters(
    read: int, written: int, rejected: int, chunks: int, gsi: int = 0, sets: int = 0
) -> dict[str, Any]:
    return {
        "read": read,
        "written": written,
        "skipped": 0,
        "unchanged": 0,
        "conflicts": 0,
        "rejected": {"bad_number": rejected} if rejected else {},
        "retries": 0,
        "throttles": 0,
        "retried_batches": 0,
        "transaction_retries": 0,
        "omitted_gsi_keys": gsi,
        "chunks": chunks,
        "empty_sets": {"tags": sets} if sets else {},
    }


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint without its clock-dependent fields (and bytes, checked > 0 apart)."""
    out = {k: v for k, v in doc.items() if k not in ("updated_at", "duration", "started", "result")}
    out["counters"] = {k: v for k, v in doc["counters"].items() if k not in ("bytes", "entities")}
    return out


def test_checkpoint_after_each_chunk_and_done(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Full")
    result = LocalEngine().run_table(ctx, table)

    assert (result.status, result.error, result.read, result.written, result.rejected, result.chunks) == (
        "done",
        None,
        7,
        6,
        {"bad_number": 1},
        3,
    )
    assert result.total == 7 and progress.totals == [7, 7]  # counted before and after the load
    assert result.bytes > 0 and result.duration > 0 and result.started and result.finished
    assert result.resumed_from is None and "reloaded" not in result.extra
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]
    base = {"table": table.name, "run_id": ctx.run_id, "engine": "local", "status": "running"}
    base |= {"view": table.view_name, "chunk_rows": 3, "entities_done": []}
    assert [_strip(c) for c in progress.checkpoints] == [
        {**base, "entity": "t", "after_key": [3], "counters": _counters(3, 3, 0, 1, 1, 1)},
        {**base, "entity": "t", "after_key": [6], "counters": _counters(6, 5, 1, 2, 2, 2)},
        {
            **base,
            "entity": None,
            "after_key": None,
            "entities_done": ["t"],
            "counters": _counters(7, 6, 1, 3, 2, 2),
        },
    ]
    assert [c["counters"]["entities"] for c in progress.checkpoints] == [
        {"t": _entity(3, 3, 0)},
        {"t": _entity(6, 5, 1)},
        {"t": _entity(7, 6, 1)},
    ]
    assert progress.reads == [3, 6, 7] and progress.statuses == ["running"] * 3
    assert (result.table, result.engine) == (table.name, "local")
    assert all(0 < c["duration"] < 120 for c in progress.checkpoints)
    accounted = [e for e in read_jsonl(ctx.run.file("events.jsonl")) if e["event"] == "accounting"]
    assert [(e["table"], e["accounting"]["status"]) for e in accounted] == [(table.name, "ok")]
    byts = [c["counters"]["bytes"] for c in progress.checkpoints]
    assert 0 < byts[0] < byts[1] < byts[2] == result.bytes
    assert all(c["started"] == result.started for c in progress.checkpoints)
    # the last checkpoint: done, with the whole result; state.json has the same entry
    done = ctx.run.read_json(ctx.run.checkpoint_file(table.name))
    assert _strip(done) == {
        "table": table.name,
        "run_id": ctx.run_id,
        "engine": "local",
        "status": "done",
        "view": table.view_name,
        "chunk_rows": 3,
        "counters": _counters(7, 6, 1, 3, 2, 2),
    }
    assert done["result"] == result.to_dict() and done["duration"] == result.duration
    assert done["result"]["accounting"]["status"] == "ok"
    state = ctx.run.read_json("state.json")
    assert state["tables"][table.name] == json.loads(json.dumps(result.to_dict()))
    assert progress.finished == ["done"]
    assert result.extra["workers"] == {
        "count": 1,
        "why": "the DynamoDB client was handed in by the caller: 1 process",
    }

    # run again in the same run: already complete, nothing read, the recorded result returned
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dynamigrate.etl.local"):
        again = LocalEngine().run_table(ctx, table)
    assert _messages(caplog) == [f"table {table.name}: already complete in run {ctx.run_id}, skipped"]
    assert again.extra["resumed"] == "already complete"
    assert (again.status, again.read, again.written, again.chunks) == ("done", 7, 6, 3)
    assert progress.finished == ["done", "done"] and progress.totals == [7, 7]


def test_a_resume_from_the_checkpoint_of_the_first_chunk_adds_up(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    """Two chunks in flight (the default): chunk 2's reject (id 4) is written while chunk 1 completes;
    the checkpoint after chunk 1 must not count it, or a resume from it counts it twice and the table
    fails its equation (found by this test: rejects now reach the sink when their chunk completes)."""
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Kill")
    ctx.options = dataclasses.replace(ctx.options, inflight_chunks=2, queue_chunks=2)
    # a client of the test's own whose PutItem of c1 (chunk 1) is slow, so chunk 2 is written meanwhile
    slow = boto3.client(
        "dynamodb",
        region_name=ddb_client.meta.region_name,
        endpoint_url=env["endpoint"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )

    def delay(request: Any, **_: Any) -> None:
        if b'"c1"' in (request.body or b""):
            time.sleep(0.5)

    slow.meta.events.register("before-send.dynamodb.PutItem", delay)
    ctx.client_factory = lambda: slow
    assert LocalEngine().run_table(ctx, table).status == "done"
    first = progress.checkpoints[0]
    assert (first["after_key"], first["counters"]["read"], first["counters"]["rejected"]) == ([3], 3, {})
    # killed after chunk 1: the run resumes from that checkpoint
    ctx.run.write_json(ctx.run.checkpoint_file(table.name), first)

    result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    assert (result.read, result.rejected, result.chunks) == (7, {"bad_number": 1}, 3)
    assert result.resumed_from == {
        "entity": "t",
        "after_key": [3],
        "entities_done": [],
        "read": 3,
        "written": 3,
    }
    rejected = list(read_jsonl(ctx.run.file("rejected.jsonl")))
    assert len(rejected) == 2  # id 4 once per pass over it
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dynamigrate.etl.local"]


def test_a_checkpoint_that_wrote_nothing_is_not_checked_against_the_target(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Zero")
    written = ctx.run.file(ctx.run.written_file(table.name))
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text('{"key": {"PK": {"S": "zz"}}}\n', encoding="utf-8")  # a key the target lacks
    # chunk 1's three rows were all skipped (written 0): nothing to look for in the target
    counters = _counters(3, 0, 0, 1) | {"skipped": 3, "entities": {"t": _entity(3, 0, 0) | {"skipped": 3}}}
    _ckpt(ctx, table, entity="t", after_key=[3], entities_done=[], counters=counters)
    ddb_client.put_item(TableName=table.name, Item={"PK": {"S": "c6"}})  # already there: skipped

    result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    assert "reloaded" not in result.extra
    assert (result.read, result.written, result.skipped, result.rejected) == (7, 2, 4, {"bad_number": 1})
    assert result.entities == {"t": _entity(7, 2, 1) | {"skipped": 4}}
    assert _keys(ddb_client, table.name) == ["c5", "c6", "c7"]


def test_chunks_of_no_entity_are_counted_under_the_empty_name(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Plain")
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert (result.read, result.written, result.rejected) == (7, 6, {"bad_number": 1})
    assert result.entities == {"": _entity(7, 6, 1)}
    assert [(c["entity"], c["after_key"], c["entities_done"]) for c in progress.checkpoints] == [
        (None, [3], []),
        (None, [6], []),
        (None, None, [""]),
    ]
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]


def _ckpt(ctx: EtlContext, table: Any, **fields: Any) -> None:
    doc = {
        "table": table.name,
        "run_id": ctx.run_id,
        "engine": "local",
        "status": "running",
        "started": "2020-01-02T03:04:05Z",
        "duration": 100.0,
        **fields,
    }
    ctx.run.write_json(ctx.run.checkpoint_file(table.name), doc)


def test_resume_reads_only_the_rows_after_the_checkpoint(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Resume")
    counters = _counters(3, 3, 0, 1, 1, 1) | {"bytes": 1000, "retries": 2, "throttles": 1}
    counters["entities"] = {"t": _entity(3, 3, 0)}
    _ckpt(ctx, table, entity="t", after_key=[3], entities_done=[], counters=counters)

    with caplog.at_level(logging.INFO, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    assert f"table {table.name}: resuming after 3 rows (entity t, key > [3])" in _messages(caplog)
    assert _keys(ddb_client, table.name) == ["c5", "c6", "c7"]  # rows after id 3 only
    assert (result.read, result.written, result.rejected, result.chunks) == (7, 6, {"bad_number": 1}, 3)
    assert (result.retries, result.throttles) == (2, 1)
    assert result.entities == {"t": _entity(7, 6, 1)}
    assert result.bytes > 1000 and result.duration >= 100.0
    assert result.started == "2020-01-02T03:04:05Z"
    assert result.resumed_from == {
        "entity": "t",
        "after_key": [3],
        "entities_done": [],
        "read": 3,
        "written": 3,
    }
    assert "reloaded" not in result.extra
    retries = {"retries": 2, "throttles": 1}  # carried over from the checkpoint
    assert [_strip(c)["counters"] for c in progress.checkpoints] == [
        _counters(6, 5, 1, 2, 2, 2) | retries,
        _counters(7, 6, 1, 3, 2, 2) | retries,
    ]
    assert [c["duration"] >= 100.0 for c in progress.checkpoints] == [True, True]
    assert [c["after_key"] for c in progress.checkpoints] == [[6], None]


def test_resume_after_the_entity_is_done_reads_nothing(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "EntDone")
    counters = _counters(7, 6, 1, 3)
    counters["entities"] = {"t": _entity(7, 6, 1)}
    _ckpt(ctx, table, entity="t", after_key=None, entities_done=["t"], counters=counters)

    result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    assert _keys(ddb_client, table.name) == []
    assert (result.read, result.written, result.chunks) == (7, 6, 3)
    assert result.resumed_from == {
        "entity": "t",
        "after_key": None,
        "entities_done": ["t"],
        "read": 7,
        "written": 6,
    }
    assert progress.checkpoints == []


def test_a_checkpoint_asking_for_a_reload_loads_from_the_start(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Reload")
    written = ctx.run.file(ctx.run.written_file(table.name))
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text('{"key": {"PK": {"S": "old"}}}\n', encoding="utf-8")
    counters = _counters(3, 2, 0, 1) | {"entities": {"t": _entity(3, 2, 0)}}
    _ckpt(ctx, table, entity="t", after_key=[3], entities_done=[], counters=counters, reload="7 != 5")

    with caplog.at_level(logging.INFO, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)

    warned = [r for r in caplog.records if r.levelno == logging.WARNING and r.name == "dynamigrate.etl.local"]
    assert [(r.getMessage(), r.fields) for r in warned] == [  # type: ignore[attr-defined]
        (f"table {table.name}: loading it again from its start (7 != 5)", {"table": table.name}),
        (
            f"table {table.name}: 2 item(s) without 'tags': the row's set was empty and DynamoDB cannot store"
            " an empty set (counted in the report; use an L attribute if an empty list must be kept)",
            {"table": table.name, "attribute": "tags", "empty_sets": 2},
        ),
    ]
    assert (result.empty_sets, result.omitted_gsi_keys) == ({"tags": 2}, 2)
    assert not any("resuming after" in m for m in _messages(caplog))

    assert result.status == "done", result.error
    assert result.extra["reloaded"] == "7 != 5"
    assert (result.read, result.written, result.chunks, result.resumed_from) == (7, 6, 3, None)
    assert result.started != "2020-01-02T03:04:05Z"
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]
    kept = [p.name for p in written.parent.iterdir() if "before-reload" in p.name]
    assert (
        len(kept) == 1 and kept[0].startswith(written.stem + ".before-reload-") and kept[0].endswith(".jsonl")
    )
    assert (written.parent / kept[0]).read_text(encoding="utf-8") == '{"key": {"PK": {"S": "old"}}}\n'
    assert '"old"' not in written.read_text(encoding="utf-8")
    events = [e for e in read_jsonl(ctx.run.file("events.jsonl")) if e["event"] == "table_reloaded"]
    assert [(e["table"], e["reason"]) for e in events] == [(table.name, "7 != 5")]
    assert progress.checkpoints[0]["counters"]["read"] == 3  # counted from zero again


def test_a_target_that_lost_its_items_is_loaded_again(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Lost")
    first = LocalEngine().run_table(ctx, table)
    assert first.status == "done"
    for k in ("c1", "c2", "c3", "c5", "c6", "c7"):
        ddb_client.delete_item(TableName=table.name, Key={"PK": {"S": k}})

    again = LocalEngine().run_table(ctx, table)

    assert again.status == "done", again.error
    assert str(again.extra["reloaded"]).startswith("the target lost its data: ")
    assert "resumed" not in again.extra
    assert (again.read, again.written, again.chunks) == (7, 6, 3)
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]


def test_a_running_checkpoint_whose_items_are_gone_is_loaded_again(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Done")
    written = ctx.run.file(ctx.run.written_file(table.name))
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text('{"key": {"PK": {"S": "zz"}}}\n', encoding="utf-8")
    counters = _counters(3, 1, 0, 1) | {"entities": {"t": _entity(3, 1, 0)}}
    _ckpt(ctx, table, entity="t", after_key=[3], entities_done=[], counters=counters)

    result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    assert str(result.extra["reloaded"]).startswith("the target lost its data: ")
    assert (result.read, result.written, result.resumed_from) == (7, 6, None)
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]


def test_numbers_that_do_not_add_up_fail_the_table_and_ask_for_a_reload(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Bad")
    # the checkpoint says 3 rows were read but only 2 written, nothing rejected: one row is unaccounted
    counters = _counters(3, 2, 0, 1) | {"entities": {"t": _entity(3, 2, 0)}}
    _ckpt(ctx, table, entity="t", after_key=[3], counters=counters)  # no entities_done: none

    with caplog.at_level(logging.ERROR, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)

    assert result.status == "failed"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "dynamigrate.etl.local"]
    assert [(r.getMessage(), r.fields) for r in errors] == [(result.error, {"table": table.name})]  # type: ignore[attr-defined]
    assert result.resumed_from == {
        "entity": "t",
        "after_key": [3],
        "entities_done": [],
        "read": 3,
        "written": 2,
    }
    assert result.error is not None
    assert (
        "\nhint: rerun with --resume: the table is loaded again from its start (writes are idempotent); if the"
        " numbers still differ, check the contract's joins (`dynamigrate contract check`) and the source for"
        " rows changing during the load"
    ) in result.error
    assert table.name in result.error
    ckpt = ctx.run.read_json(ctx.run.checkpoint_file(table.name))
    assert ckpt["status"] == "failed" and ckpt["reload"] and "result" not in ckpt
    assert "after_key" not in ckpt and ckpt["counters"]["read"] == 7
    assert ctx.run.read_json("state.json")["tables"][table.name]["status"] == "failed"
    assert progress.finished == ["failed"]

    # --resume: the table is loaded again from its start and its numbers add up
    again = LocalEngine().run_table(ctx, table)
    assert again.status == "done", again.error
    assert again.extra["reloaded"] == ckpt["reload"]
    assert (again.read, again.written, again.rejected) == (7, 6, {"bad_number": 1})


def test_a_missing_target_table_fails_the_table(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "NoTarget")
    with caplog.at_level(logging.ERROR, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "dynamigrate.etl.local"]
    assert [r.getMessage() for r in errors] == [f"table {table.name} failed: {result.error}"]
    assert errors[0].fields["table"] == table.name  # type: ignore[attr-defined]
    assert result.status == "failed"
    assert result.error is not None and table.name in result.error
    assert "Traceback" not in result.error
    assert ctx.run.read_json(ctx.run.checkpoint_file(table.name)) is None
    assert ctx.run.read_json("state.json")["tables"][table.name]["status"] == "failed"
    assert progress.finished == ["failed"]


def test_a_missing_view_fails_the_table(env: dict[str, Any], tmp_path: Path, ddb_client: Any) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "NoView")
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "failed"
    assert (
        result.error is not None and "reading view failed" in result.error and table.view_name in result.error
    )
    assert result.read == 0 and progress.totals == [7]  # the source table is counted, the view is read
    assert ctx.run.read_json("state.json")["tables"][table.name]["error"] == result.error


def _own_client(env: dict[str, Any], ddb_client: Any) -> Any:
    """A DynamoDB client of the test's own (its botocore events are the fault-injection seam)."""
    return boto3.client(
        "dynamodb",
        region_name=ddb_client.meta.region_name,
        endpoint_url=env["endpoint"],
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )


def _sync_counters(read: int, written: int, unchanged: int, conflicts: int, rejected: int) -> dict[str, int]:
    """Sync mode's counters: an unchanged item is also a skipped one."""
    return {
        "read": read,
        "written": written,
        "skipped": unchanged,
        "unchanged": unchanged,
        "conflicts": conflicts,
    } | {"rejected": {"bad_number": rejected} if rejected else {}}


def test_sync_folds_unchanged_and_conflicts_per_chunk_and_entity_and_reports_missing_sources(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, _ = _ctx(env, tmp_path / "first", ddb_client, "Sync")
    ctx.options = dataclasses.replace(ctx.options, write_mode="sync")
    first = LocalEngine().run_table(ctx, table)
    assert (first.status, first.written, first.missing_source) == ("done", 6, 0), first.error
    # the application replaced c1 (no marker: not ours any more), c7 was deleted, and c9 carries a marker
    # of an earlier run although no source row produces it
    ddb_client.put_item(TableName=table.name, Item={"PK": {"S": "c1"}, "qty": {"N": "99"}})
    ddb_client.delete_item(TableName=table.name, Key={"PK": {"S": "c7"}})
    ddb_client.put_item(TableName=table.name, Item={"PK": {"S": "c9"}, "_dm_marker": {"S": "old-run:abc"}})

    ctx, table, progress = _ctx(env, tmp_path / "second", ddb_client, "Sync")
    ctx.options = dataclasses.replace(ctx.options, write_mode="sync")
    result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    # chunk 1 (ids 1-3): c1 conflicts, c2 c3 unchanged; chunk 2 (4-6): id 4 rejected, c5 c6 unchanged;
    # chunk 3 (7): c7 written again
    steps = [_sync_counters(3, 0, 2, 1, 0), _sync_counters(6, 0, 4, 1, 1), _sync_counters(7, 1, 4, 1, 1)]
    assert [{k: c["counters"][k] for k in steps[0]} for c in progress.checkpoints] == steps
    assert [c["counters"]["entities"] for c in progress.checkpoints] == [
        {"t": {k: v if k != "rejected" else sum(v.values()) for k, v in s.items()}} for s in steps
    ]
    assert (result.read, result.written, result.skipped, result.unchanged, result.conflicts) == (
        7,
        1,
        4,
        4,
        1,
    )
    assert result.entities == {
        "t": {"read": 7, "written": 1, "skipped": 4, "unchanged": 4, "conflicts": 1, "rejected": 1}
    }
    assert result.accounting is not None and result.accounting["status"] == "ok"
    # the keys the view produced (the rows the encoder accepted) are in the seen set; only c9 is missing
    seen = SeenKeys(ctx.run.file(f"seen/{safe_name(table.name)}.sqlite"))
    try:
        produced = [
            json.dumps({"PK": {"S": k}}, separators=(",", ":")) for k in ("c1", "c2", "c3", "c5", "c6", "c7")
        ]
        assert (len(seen), seen.missing(produced)) == (6, set())
    finally:
        seen.close()
    assert (result.missing_source, result.deleted_missing) == (1, 0)
    assert result.missing_examples == [{"key": {"PK": {"S": "c9"}}, "marker": "old-run:abc"}]
    c1 = ddb_client.get_item(TableName=table.name, Key={"PK": {"S": "c1"}}, ConsistentRead=True)["Item"]
    assert c1 == {"PK": {"S": "c1"}, "qty": {"N": "99"}}  # a conflict is left alone
    c7 = ddb_client.get_item(TableName=table.name, Key={"PK": {"S": "c7"}}, ConsistentRead=True)["Item"]
    assert c7["_dm_marker"]["S"].startswith(f"{ctx.run_id}:")  # written again by this run
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7", "c9"]


def test_two_rejects_of_one_reason_in_one_chunk_count_twice(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Twice")
    # an item of another run's: insert mode keeps no seen keys and reports no missing source
    ddb_client.put_item(TableName=table.name, Item={"PK": {"S": "zz"}, "_dm_marker": {"S": "old-run:abc"}})
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert [c["counters"]["rejected"] for c in progress.checkpoints] == [
        {},
        {"bad_number": 2},
        {"bad_number": 2},
    ]
    assert [c["counters"]["entities"][""]["rejected"] for c in progress.checkpoints] == [0, 2, 2]
    assert (result.read, result.written, result.rejected) == (7, 5, {"bad_number": 2})
    assert sorted(r["code"] for r in read_jsonl(ctx.run.file("rejected.jsonl"))) == ["bad_number"] * 2
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c6", "c7", "zz"]
    assert (result.missing_source, result.missing_examples) == (0, [])
    assert not ctx.run.file(f"seen/{safe_name(table.name)}.sqlite").exists()


def _operations(client: Any) -> list[str]:
    """The DynamoDB operations ``client`` sends from now on (the requests the target receives)."""
    sent: list[str] = []

    def record(request: Any, **_: Any) -> None:
        target = request.headers["X-Amz-Target"]  # DynamoDB_20120810.<Operation>
        sent.append((target.decode() if isinstance(target, bytes) else target).split(".")[-1])

    client.meta.events.register("before-send.dynamodb", record)
    return sent


def test_a_resumed_fresh_table_load_with_strategy_batch_never_overwrites_an_existing_item(
    env: dict[str, Any],
    tmp_path: Path,
    ddb_client: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Batch")
    ctx.options = dataclasses.replace(ctx.options, strategy="batch")
    client = _own_client(env, ddb_client)
    sent = _operations(client)
    ctx.client_factory = lambda: client
    # the automatic choice of writer processes, on a 4-core machine, with a client other processes rebuild
    ctx.portable_client = True
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    ctx.run.record_created("tables", {"name": table.name})  # created by this run: BatchWriteItem allowed
    # killed after chunk 1 (c1-c3 written); meanwhile the application created c5
    written = ctx.run.file(ctx.run.written_file(table.name))
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text(
        "".join(f'{{"key": {{"PK": {{"S": "c{i}"}}}}}}\n' for i in (1, 2, 3)), encoding="utf-8"
    )
    for i in (1, 2, 3):
        ddb_client.put_item(TableName=table.name, Item={"PK": {"S": f"c{i}"}})
    app = {"PK": {"S": "c5"}, "app": {"S": "the application's"}}
    ddb_client.put_item(TableName=table.name, Item=app)
    counters = _counters(3, 3, 0, 1, 1, 1) | {"entities": {"t": _entity(3, 3, 0)}}
    _ckpt(ctx, table, entity="t", after_key=[3], entities_done=[], counters=counters)

    with caplog.at_level(logging.INFO, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)

    assert result.status == "done", result.error
    assert (result.read, result.written, result.skipped, result.rejected) == (7, 5, 1, {"bad_number": 1})
    assert (
        f"table {table.name} was created by this run and --strategy batch was given: insert via BatchWriteItem"
        " (safe only while nobody else writes to it)"
    ) in _messages(caplog)
    assert result.extra["workers"] == {
        "count": 1,
        "why": "7 source rows: fewer than 100,000, not worth a second process",
    }
    # existing keys read first (resumed), the absent items written with BatchWriteItem, no PutItem
    assert {op for op in sent if op != "BatchGetItem"} == {"BatchWriteItem"} and "BatchGetItem" in sent
    assert (
        ddb_client.get_item(TableName=table.name, Key={"PK": {"S": "c5"}}, ConsistentRead=True)["Item"] == app
    )
    c6 = ddb_client.get_item(TableName=table.name, Key={"PK": {"S": "c6"}}, ConsistentRead=True)["Item"]
    assert (c6["qty"], c6["tags"]) == ({"N": "6"}, {"SS": ["b"]})
    assert c6["_dm_marker"]["S"].startswith(f"{ctx.run_id}:")


class _CtrlC(Recorder):
    """Ctrl-C (KeyboardInterrupt, raised in the main thread) right after chunk 2 completed."""

    def update(self, result: TableResult) -> None:
        super().update(result)
        if len(self.checkpoints) == 2:
            raise KeyboardInterrupt


def test_ctrl_c_during_a_table_leaves_it_interrupted_and_resumable(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Stop")
    progress = _CtrlC(ctx.run, table.name)
    ctx.progress = progress  # type: ignore[assignment]

    with pytest.raises(KeyboardInterrupt):
        LocalEngine().run_table(ctx, table)

    state = ctx.run.read_json("state.json")["tables"][table.name]
    assert (state["status"], state["error"], state["read"]) == (
        "interrupted",
        "interrupted; rerun with --resume to continue from the last checkpoint",
        6,
    )
    assert progress.finished == ["interrupted"]
    ckpt = ctx.run.read_json(ctx.run.checkpoint_file(table.name))
    assert (ckpt["status"], ckpt["after_key"], ckpt["counters"]["read"]) == ("running", [6], 6)

    ctx.progress = Recorder(ctx.run, table.name)  # type: ignore[assignment]
    again = LocalEngine().run_table(ctx, table)
    assert again.status == "done", again.error
    assert (again.read, again.written, again.rejected) == (7, 6, {"bad_number": 1})
    assert again.resumed_from is not None and again.resumed_from["after_key"] == [6]
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]


def test_a_dynamodb_error_no_writer_translated_fails_the_table_with_its_message(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The credentials vanish while chunk 2 is written: botocore raises NoCredentialsError (no
    ClientError, so no writer path translates it); the table fails, its checkpoint stays after chunk 1."""
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "NoCreds")
    client = _own_client(env, ddb_client)

    def no_credentials(request: Any, **_: Any) -> None:
        if b'"c5"' in (request.body or b""):
            raise botocore.exceptions.NoCredentialsError()

    client.meta.events.register("before-send.dynamodb.PutItem", no_credentials)
    ctx.client_factory = lambda: client

    with caplog.at_level(logging.ERROR, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)

    assert result.status == "failed"
    assert result.error == (
        f"DynamoDB refused the request: NoCredentialsError: Unable to locate credentials [table={table.name}]"
    )
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and r.name == "dynamigrate.etl.local"]
    assert [(r.getMessage(), r.fields) for r in errors] == [  # type: ignore[attr-defined]
        (f"table {table.name} failed: {result.error}", {"table": table.name})
    ]
    ckpt = ctx.run.read_json(ctx.run.checkpoint_file(table.name))
    assert (ckpt["status"], ckpt["after_key"], ckpt["counters"]["read"]) == ("running", [3], 3)
    assert ctx.run.read_json("state.json")["tables"][table.name]["error"] == result.error
    assert progress.finished == ["failed"]


def test_a_table_level_client_error_outside_the_writers_fails_the_table_with_the_hint(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sync's missing-source check refused as a raw ClientError (the seam: the engine's check_missing)."""
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Denied")
    ctx.options = dataclasses.replace(ctx.options, write_mode="sync")

    def denied(*_: Any) -> None:
        error = {"Code": "AccessDeniedException", "Message": "not authorized to perform: dynamodb:Scan"}
        raise botocore.exceptions.ClientError({"Error": error}, "Scan")

    monkeypatch.setattr(local_module, "check_missing", denied)
    result = LocalEngine().run_table(ctx, table)

    assert result.status == "failed"
    assert result.error == (
        f"DynamoDB refused the table: AccessDeniedException: not authorized to perform: dynamodb:Scan"
        f" [table={table.name}]\n  hint: the credentials are missing, expired or lack a permission on the"
        " table (dynamodb:PutItem, BatchWriteItem, BatchGetItem, DescribeTable...); fix them, then rerun"
        " with --resume"
    )
    assert ctx.run.read_json("state.json")["tables"][table.name]["status"] == "failed"
    assert progress.finished == ["failed"]


def test_the_source_is_counted_in_the_runs_database_not_the_settings_one(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Db")
    ctx.database = env["settings"].database
    ctx.config.mysql = dataclasses.replace(env["settings"], database=f"dm_test_absent_{uuid.uuid4().hex[:8]}")
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert (result.total, result.read, result.written) == (7, 7, 6)
    assert progress.totals == [7, 7]


def test_durations_come_from_the_monotonic_clock_from_zero_for_a_fresh_table(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The engine's clock (its module's ``time``) advances 0.25 s per reading: t0, one per chunk, the end."""
    ticks = iter(1000.0 + 0.25 * i for i in range(100))
    monkeypatch.setattr(local_module, "time", SimpleNamespace(monotonic=lambda: next(ticks), time=time.time))
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Clock")
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert [c["duration"] for c in progress.checkpoints] == [0.25, 0.5, 0.75]
    assert result.duration == 1.0
    assert ctx.run.read_json(ctx.run.checkpoint_file(table.name))["duration"] == 1.0
    assert ctx.run.read_json("state.json")["tables"][table.name]["duration"] == 1.0


@pytest.mark.parametrize("status", ["running", "done"])
def test_a_checkpoint_whose_target_cannot_be_read_back_fails_the_table(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, status: str
) -> None:
    """A resume whose target table is gone (and was not created again): reading back the written keys
    fails, and so does the table, whether its checkpoint was running or done; the run goes on."""
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "NoTarget")
    written = ctx.run.file(ctx.run.written_file(table.name))
    written.parent.mkdir(parents=True, exist_ok=True)
    written.write_text('{"key": {"PK": {"S": "c1"}}}\n', encoding="utf-8")
    counters = _counters(3, 3, 0, 1) | {"entities": {"t": _entity(3, 3, 0)}}
    extra = {"result": TableResult(table=table.name, status="done").to_dict()} if status == "done" else {}
    _ckpt(ctx, table, status=status, entity="t", after_key=[3], entities_done=[], counters=counters, **extra)

    result = LocalEngine().run_table(ctx, table)

    assert result.status == "failed"
    assert result.error == (
        "DynamoDB refused the table: ResourceNotFoundException: Cannot do operations on a non-existent table"
        f" [table={table.name}]\n  hint: {table.name} does not exist (deleted during the run, or another"
        " region/endpoint); rerun with --resume: the table is created again and loaded completely"
    )
    assert ctx.run.read_json("state.json")["tables"][table.name]["status"] == "failed"
    assert progress.finished == ["failed"]


def test_the_progress_reporter_shows_the_table_from_its_start_to_its_end(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    """The reporter the CLI uses (json lines): the table's final line, and one progress sample, of
    this table only (a view opened under another name would stay 'running' and be sampled too)."""
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Shown")
    out = io.StringIO()
    ctx.progress = ProgressReporter(ctx.run, mode="json", stream=out)
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [{k: v for k, v in line.items() if k != "rate"} for line in lines] == [
        {
            "event": "table_finished",
            "table": table.name,
            "status": "done",
            "total": 7,
            "read": 7,
            "written": 6,
            "skipped": 0,
            "conflicts": 0,
            "rejected": 1,
            "retries": 0,
            "throttles": 0,
            "eta_s": None,
        }
    ]
    samples = [e for e in read_jsonl(ctx.run.file("events.jsonl")) if e["event"] == "progress"]
    assert [(e["table"], e["total"], e["read"]) for e in samples] == [(table.name, 7, 7)]


def test_a_mysql_error_while_counting_the_source_fails_the_table_without_the_password(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The connection drops during the source count (the seam: the engine's count_sources); the driver's
    message is scrubbed of the password, says what was being done and names the table."""
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Count")
    secret = env["settings"].password.reveal()
    assert len(secret) >= 3

    def dropped(*_: Any) -> None:
        raise pymysql.err.OperationalError(2013, f"Lost connection during query (server said: {secret})")

    monkeypatch.setattr(local_module, "count_sources", dropped)
    result = LocalEngine().run_table(ctx, table)

    assert result.status == "failed"
    assert result.error is not None
    assert result.error.splitlines()[0] == (
        "counting the source rows failed: Lost connection during query (server said: ***)"
        f" [mysql_errno=2013, table={table.name}]"
    )
    assert result.error.splitlines()[1].startswith("  hint: ")
    assert result.read == 0 and _keys(ddb_client, table.name) == []
    state = json.dumps(ctx.run.read_json("state.json"))
    assert secret not in state and "counting the source rows failed" in state
    assert progress.finished == ["failed"]


def test_strategy_auto_against_dynamodb_local_writes_with_transactions(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Auto")
    ctx.options = dataclasses.replace(ctx.options, strategy=None)
    client = _own_client(env, ddb_client)
    sent = _operations(client)
    ctx.client_factory = lambda: client
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert (result.read, result.written) == (7, 6)
    assert set(sent) == {"TransactWriteItems"}


_CONDITIONAL = (
    "DynamoDB Local serves conditional writes ({}) through one SQLite thread, the ceiling here: more processes"
    " would not load faster"
)


@pytest.mark.parametrize(
    ("options", "why"),
    [
        ({"strategy": "put"}, _CONDITIONAL.format("put")),
        ({"strategy": None}, _CONDITIONAL.format("transact")),  # auto against DynamoDB Local
        ({"strategy": "batch"}, _CONDITIONAL.format("transact")),  # a table this run did not create
        ({"strategy": "put", "workers": 1}, "--workers 1"),
    ],
)
def test_the_writer_processes_are_chosen_from_the_strategy_and_the_endpoint_and_said(
    env: dict[str, Any],
    tmp_path: Path,
    ddb_client: Any,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, Any],
    why: str,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Workers")
    ctx.options = dataclasses.replace(ctx.options, **options)
    ctx.portable_client = True  # the automatic choice (a client of the test's own forces one process)
    with caplog.at_level(logging.INFO, logger="dynamigrate.etl.local"):
        result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert result.extra["workers"] == {"count": 1, "why": why}
    said = [
        r for r in caplog.records if r.name == "dynamigrate.etl.local" and "writer process" in r.getMessage()
    ]
    assert [(r.getMessage(), r.fields) for r in said] == [  # type: ignore[attr-defined]
        (f"table {table.name}: 1 writer process(es): {why}", {"table": table.name, "workers": 1})
    ]
    assert ctx.run.read_json("state.json")["tables"][table.name]["extra"]["workers"]["why"] == why


def test_duplicate_keys_across_chunks_are_skipped_counted_and_listed(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ctx, table, _ = _ctx(env, tmp_path, ddb_client, "Dups")
    with caplog.at_level(logging.WARNING, logger="dynamigrate.etl.local_pass"):
        result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert (result.read, result.written, result.skipped, result.rejected) == (7, 5, 1, {"bad_number": 1})
    name = f"duplicates/{safe_name(table.name)}.jsonl"
    assert result.extra["duplicate_keys"] == {"skipped": 1, "examples": [{"PK": {"S": "c1"}}], "file": name}
    assert list(read_jsonl(ctx.run.file(name))) == [{"table": table.name, "key": {"PK": {"S": "c1"}}}]
    assert [r.fields for r in caplog.records if "duplicate_key" in r.getMessage()] == [  # type: ignore[attr-defined]
        {"table": table.name, "duplicate_keys": 1}
    ]
    c1 = ddb_client.get_item(TableName=table.name, Key={"PK": {"S": "c1"}}, ConsistentRead=True)["Item"]
    assert c1["qty"] == {"N": "1"}  # the first row's item, the later one never sent
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c6", "c7"]


def test_a_throttled_write_is_retried_and_counted_in_the_checkpoints(
    env: dict[str, Any], tmp_path: Path, ddb_client: Any
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, ddb_client, "Throttle")
    client = _own_client(env, ddb_client)
    throttled: list[bytes] = []

    def throttle_c5_once(request: Any, **_: Any) -> None:
        if b'"c5"' in (request.body or b"") and not throttled:
            throttled.append(request.body)
            error = {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}
            raise botocore.exceptions.ClientError({"Error": error}, "PutItem")

    client.meta.events.register("before-send.dynamodb.PutItem", throttle_c5_once)
    ctx.client_factory = lambda: client
    result = LocalEngine().run_table(ctx, table)
    assert result.status == "done", result.error
    assert (result.written, result.retries, result.throttles) == (6, 1, 1)
    assert [(c["counters"]["retries"], c["counters"]["throttles"]) for c in progress.checkpoints] == [
        (0, 0),
        (1, 1),
        (1, 1),
    ]
    assert _keys(ddb_client, table.name) == ["c1", "c2", "c3", "c5", "c6", "c7"]
