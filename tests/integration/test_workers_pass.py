"""The local engine's pass with writer processes (``--workers N``: etl/local_workers.py in the engine's
process, etl/local_worker.py in each writer process) on small MariaDB tables into DynamoDB Local,
driven through ``LocalEngine.run_table`` with 2 or 3 processes and 3-row key windows, against
hand-written expectations: the items (the first row of a key in window order wins, also when a later
window's claim reaches the engine first), the counters, the checkpoint after each chunk in window
order (also when a later window is written first), rejected rows, duplicates, empty sets and omitted
GSI keys, every key shape (S, N, B, composite, no key), batch and conditional writes, resume from a
checkpoint with another number of processes, sync's seen keys, a writer process killed, a missing
target table, a read error inside a process, Ctrl-C. Fast (processes kept across tables, ~30 s): the
first covering tests of `scripts/mutation.sh workers`.

Two seams, neither in production code: a view that sleeps on one row (a window's claim arrives late)
and an HTTP proxy in front of DynamoDB Local that holds the answer to a write naming a given key (a
window's completion arrives late).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import http.client
import json
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest

from dynamigrate.config import load_config
from dynamigrate.contract.load import parse_contract
from dynamigrate.errors import EngineError, SourceError
from dynamigrate.etl.base import EtlContext, EtlOptions, TableResult
from dynamigrate.etl.local import LocalEngine
from dynamigrate.etl.local_worker import Task, WorkerSpec, _Buffer, _QueueLogHandler, portable_error
from dynamigrate.etl.local_workers import MergedSink, WorkerPool, WorkersPass
from dynamigrate.runstate import RunDir, read_jsonl
from dynamigrate.source.introspect import introspect
from dynamigrate.sqlgen import generate_views

pytestmark = pytest.mark.integration

# t: 14 rows, 3-row key windows (ids 1-3 | 4-6 | 7-9 | 10-12 | 13-14, the last open-ended). Rows 4 and
# 10 are rejected (qty no number); rows 8 (c2 of row 2), 11 (c3 of row 3, after a reject in its chunk)
# and 13 (c5 of row 5) repeat an earlier row's key: skipped as duplicates. '[]' is an empty set (left out, counted), '' an empty
# GSI key (left out, counted); neither is counted for a rejected or duplicate row.
T_ROWS = [
    (1, "c1", "1", '["a"]', "g"),
    (2, "c2", "2", "[]", ""),
    (3, "c3", "3", None, "g"),
    (4, "c4", "x", "[]", ""),
    (5, "c5", "5", '["b"]', "g"),
    (6, "c6", "6", "[]", "g"),
    (7, "c7", "7", None, ""),
    (8, "c2", "8", "[]", ""),
    (9, "c9", "9", "[]", "g"),
    (10, "c11", "y", '["e"]', ""),
    (11, "c3", "11", "[]", ""),
    (12, "c12", "12", "[]", "g"),
    (13, "c5", "13", "[]", ""),
    (14, "c14", "14", '["f"]', ""),
]
# the items (attributes but the marker) the rows make: the first row of each key
T_ITEMS = {
    "c1": {"id": "1", "qty": "1", "tags": ["a"], "G": "g"},
    "c2": {"id": "2", "qty": "2"},
    "c3": {"id": "3", "qty": "3", "G": "g"},
    "c5": {"id": "5", "qty": "5", "tags": ["b"], "G": "g"},
    "c6": {"id": "6", "qty": "6", "G": "g"},
    "c7": {"id": "7", "qty": "7"},
    "c9": {"id": "9", "qty": "9", "G": "g"},
    "c12": {"id": "12", "qty": "12", "G": "g"},
    "c14": {"id": "14", "qty": "14", "tags": ["f"]},
}
# key shapes: VARCHAR (case-insensitive, emoji) -> S; BINARY -> B; INT + VARCHAR -> N + S; no key
KV_ROWS = [(f"k{i:02d}😀", f"v{i % 5}" if i < 10 else f"v{i}", str(i)) for i in range(12)]
KB_ROWS = [(bytes([0, i, 255 - i]), bytes([7, i % 4]) if i < 8 else bytes([9, i]), i) for i in range(11)]
KC_ROWS = [(a, b, a % 3, f"s{b}") for a in range(3) for b in ("x", "y", "z")] + [(3, "x", 0, "sx")]
NK_ROWS = [(f"n{i % 6}" if i < 9 else f"n{i}", i) for i in range(11)]


def _attr(name: str, type_: str, src: str, col: str) -> dict[str, Any]:
    return {"name": name, "type": type_, "source_table": src, "source_column": col}


def _t_attrs() -> list[dict[str, Any]]:
    return [
        _attr("PK", "S", "t", "code"),
        _attr("id", "N", "t", "id"),
        _attr("qty", "N", "t", "qty"),
        _attr("tags", "SS", "t", "tags"),
        _attr("G", "S", "t", "g"),
    ]


def _specs(prefix: str) -> list[dict[str, Any]]:
    def single(name: str, src: str, attrs: list[dict[str, Any]], sk: str | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "table": f"{prefix}{name}",
            "type": "single-entity",
            "source_table": src,
            "pk": "PK",
        }
        spec |= {"attributes": attrs} | ({"sk": sk} if sk else {})
        return spec

    out = [
        single(n, "t", _t_attrs()) | {"gsis": [{"index_name": "byG", "pk": "G", "projection": "ALL"}]}
        for n in ("Order", "Resume", "Kill", "NoTarget", "ReadErr", "Sync", "Late", "Late2", "Plain")
    ]
    out += [
        single(
            "KV", "kv", [_attr("PK", "S", "kv", "v"), _attr("k", "S", "kv", "k"), _attr("n", "N", "kv", "n")]
        ),
        single(
            "KB", "kb", [_attr("PK", "B", "kb", "c"), _attr("k", "B", "kb", "k"), _attr("n", "N", "kb", "n")]
        ),
        single(
            "KC",
            "kc",
            [_attr("PK", "N", "kc", "g"), _attr("SK", "S", "kc", "s"), _attr("a", "N", "kc", "a")],
            sk="SK",
        ),
        single("NK", "nk", [_attr("PK", "S", "nk", "c"), _attr("n", "N", "nk", "n")]),
        single("Ahead", "w", [_attr("PK", "S", "w", "code")]),
    ]
    out += [
        {
            "table": f"{prefix}{name}",
            "type": "multi-entity",
            "source_table": "t",
            "pk": "PK",
            "entities": [
                {"entity_type": "T", "source_table": "t", "attributes": [_attr("PK", "S", "t", "code")]},
                {"entity_type": "N", "source_table": "nk", "attributes": [_attr("PK", "S", "nk", "c")]},
            ],
        }
        for name in ("Multi", "Multi2")
    ]
    out.append(
        {
            "table": f"{prefix}Multi4",
            "type": "multi-entity",
            "source_table": "nk",
            "pk": "PK",
            "entities": [
                {"entity_type": "N", "source_table": "nk", "attributes": [_attr("PK", "S", "nk", "c")]},
                {"entity_type": "T", "source_table": "t", "attributes": [_attr("PK", "S", "t", "code")]},
            ],
        }
    )
    out.append(
        {
            "table": f"{prefix}Multi3",
            "type": "multi-entity",
            "source_table": "t",
            "pk": "PK",
            "entities": [
                {"entity_type": "T", "source_table": "t", "attributes": [_attr("PK", "S", "t", "code")]},
                {"entity_type": "U", "source_table": "u", "attributes": [_attr("PK", "S", "u", "code")]},
            ],
        }
    )
    return out


# -- a proxy in front of DynamoDB Local that holds some answers -------------------------------------


class _Proxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        u = urlsplit(upstream)
        self.up = (u.hostname or "127.0.0.1", u.port or 80)
        #: a write request whose body holds the bytes: its answer is held that many seconds
        self.hold: dict[bytes, float] = {}
        #: every request: (operation, body)
        self.requests: list[tuple[str, bytes]] = []
        super().__init__(("127.0.0.1", 0), _Forward)

    def ops(self, table: str) -> set[str]:
        """The operations of the requests naming ``table``."""
        return {op for op, body in list(self.requests) if f'"{table}"'.encode() in body}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Forward(BaseHTTPRequestHandler):
    server: _Proxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append(((self.headers.get("X-Amz-Target") or "").split(".")[-1], body))
        conn = http.client.HTTPConnection(*self.server.up, timeout=60)
        try:
            conn.request(
                "POST", self.path, body, {k: v for k, v in self.headers.items() if k != "Connection"}
            )
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        if b"Write" in (self.headers.get("X-Amz-Target") or "").encode():
            for needle, seconds in list(self.server.hold.items()):
                if needle in body:
                    time.sleep(seconds)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(
    mysql_settings: Any, ddb_client: Any, ddb_endpoint: str, tmp_path_factory: Any
) -> Iterator[dict[str, Any]]:
    db = f"dm_test_{uuid.uuid4().hex[:12]}"
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": None, "autocommit": True})
    contract, problems = parse_contract({"tables": _specs(prefix)})
    assert contract is not None, problems
    proxy = _Proxy(ddb_endpoint)
    threading.Thread(target=proxy.serve_forever, name="ddb-proxy", daemon=True).start()
    tmp = tmp_path_factory.mktemp("workers")
    cfg_path = tmp / "config.json"
    cfg_path.write_text(
        json.dumps(
            {
                "aws": {"region": "us-east-1", "dynamodb_endpoint_url": proxy.url},
                "mysql": {
                    "host": mysql_settings.host,
                    "port": mysql_settings.port,
                    "user": mysql_settings.user,
                    "password": "dynamigrate",
                    "database": "information_schema",  # the run's database is the context's
                },
            }
        ),
        encoding="utf-8",
    )
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4")
            cur.execute(f"USE `{db}`")
            cur.execute(
                "CREATE TABLE t (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL, qty VARCHAR(10),"
                " tags TEXT, g VARCHAR(10))"
            )
            cur.executemany("INSERT INTO t VALUES (%s, %s, %s, %s, %s)", T_ROWS)
            cur.execute(
                "CREATE TABLE kv (k VARCHAR(10) NOT NULL PRIMARY KEY, v VARCHAR(10) NOT NULL, n INT)"
                " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
            cur.executemany("INSERT INTO kv VALUES (%s, %s, %s)", KV_ROWS)
            cur.execute("CREATE TABLE kb (k BINARY(3) NOT NULL PRIMARY KEY, c VARBINARY(4) NOT NULL, n INT)")
            cur.executemany("INSERT INTO kb VALUES (%s, %s, %s)", KB_ROWS)
            cur.execute(
                "CREATE TABLE kc (a INT NOT NULL, b VARCHAR(2) NOT NULL, g INT, s VARCHAR(4), PRIMARY KEY (a, b))"
            )
            cur.executemany("INSERT INTO kc VALUES (%s, %s, %s, %s)", KC_ROWS)
            cur.execute("CREATE TABLE nk (c VARCHAR(10), n INT)")
            cur.executemany("INSERT INTO nk VALUES (%s, %s)", NK_ROWS)
            cur.execute("CREATE TABLE w (id INT NOT NULL PRIMARY KEY, code VARCHAR(4) NOT NULL)")
            cur.executemany("INSERT INTO w VALUES (%s, %s)", [(i, f"w{i:02d}") for i in range(1, 31)])
            cur.execute("CREATE TABLE u (id INT NOT NULL PRIMARY KEY, code VARCHAR(10) NOT NULL)")
            cur.executemany("INSERT INTO u VALUES (%s, %s)", [(i, f"u{i}") for i in range(1, 5)])
            cur.execute("CREATE TABLE two (k INT)")
            cur.executemany("INSERT INTO two VALUES (%s)", [(8,), (8,)])
            schema = introspect(conn, db)
            views = {
                s.sql.split()[4]: s.sql for s in generate_views(contract, None, "mariadb", schema).statements
            }
            for sql in views.values():
                cur.execute(sql)
            # Order: reading row 1 takes 0.6 s, so the first window's claim reaches the engine last
            order_view = contract.table(f"{prefix}Order").view_name
            cur.execute(
                views[order_view].replace(
                    "\nFROM `t`", ",\n  IF(`t`.`id` = 1, SLEEP(0.6), 0) AS `_dm_slow`\nFROM `t`"
                )
            )
            # Plain: a hand-written view without _dm_entity (its chunks belong to no entity)
            plain_view = contract.table(f"{prefix}Plain").view_name
            cur.execute(
                views[plain_view].replace("  CAST('t' AS CHAR CHARACTER SET utf8mb4) AS `_dm_entity`,\n", "")
            )
            # ReadErr: reading row 8 fails inside a writer process (a subquery of two rows)
            err_view = contract.table(f"{prefix}ReadErr").view_name
            cur.execute(
                views[err_view].replace(
                    "\nFROM `t`",
                    ",\n  (SELECT `k` FROM `two` WHERE `two`.`k` = `t`.`id`) AS `_dm_boom`\nFROM `t`",
                )
            )
        created: list[str] = []

        def create(name: str) -> None:
            """The DynamoDB table of contract table ``name``, created when a test first uses it."""
            if name in created or name.endswith("NoTarget"):
                return
            keys = [("PK", "HASH", {"KB": "B", "KC": "N"}.get(name[len(prefix) :], "S"))]
            if contract.table(name).sk:
                keys.append(("SK", "RANGE", "S"))
            ddb_client.create_table(
                TableName=name,
                KeySchema=[{"AttributeName": k, "KeyType": t} for k, t, _ in keys],
                AttributeDefinitions=[{"AttributeName": k, "AttributeType": a} for k, _, a in keys],
                BillingMode="PAY_PER_REQUEST",
            )
            created.append(name)

        yield {
            "create": create,
            "contract": contract,
            "schema": schema,
            "prefix": prefix,
            "config": load_config(cfg_path),
            "proxy": proxy,
            "db": db,
        }
    finally:
        proxy.shutdown()
        proxy.server_close()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        conn.close()
        for name in created:
            with contextlib.suppress(ddb_client.exceptions.ResourceNotFoundException):
                ddb_client.delete_table(TableName=name)


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A pass that hangs fails its test instead of stopping the suite (also under mutation testing,
    whose own timeout counts CPU seconds: a hung pass uses none)."""

    def fail(signum: int, frame: Any) -> None:
        raise TimeoutError("the test ran for more than 90 s: the pass hangs")

    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(90)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def engine() -> Iterator[LocalEngine]:
    """One engine for the module: its writer processes serve one table after another."""
    eng = LocalEngine()
    yield eng
    pool = getattr(eng, "_pool", None)
    if pool is not None:
        pool.close()


class Recorder:
    """A progress reporter that keeps the checkpoint file as it is after each chunk; ``hook`` runs
    after each chunk (with the number of chunks completed so far)."""

    def __init__(self, run: RunDir, table: str, hook: Callable[[int], None] | None = None) -> None:
        self.run, self.table, self.hook = run, table, hook
        self.checkpoints: list[dict[str, Any]] = []
        self.finished: list[str] = []

    def start_table(self, table: str, total: int | None = None) -> None:
        pass

    def set_total(self, table: str, total: int | None) -> None:
        pass

    def update(self, result: TableResult) -> None:
        self.checkpoints.append(self.run.read_json(self.run.checkpoint_file(self.table)))
        if self.hook is not None:
            self.hook(len(self.checkpoints))

    def finish_table(self, result: TableResult) -> None:
        self.finished.append(result.status)


def _ctx(
    env: dict[str, Any],
    tmp_path: Path,
    name: str,
    workers: int,
    *,
    strategy: str | None = "transact",
    run: RunDir | None = None,
    hook: Callable[[int], None] | None = None,
    created: bool = False,
    **options: Any,
) -> tuple[EtlContext, Any, Recorder]:
    run = run or RunDir.create(tmp_path, run_id=f"run-{uuid.uuid4().hex[:6]}")
    table = env["contract"].table(f"{env['prefix']}{name}")
    env["create"](table.name)
    if created:
        run.record_created("tables", {"name": table.name})
    progress = Recorder(run, table.name, hook)
    ctx = EtlContext(
        config=env["config"],
        contract=env["contract"],
        run=run,
        options=EtlOptions(chunk_rows=3, strategy=strategy, workers=workers, **options),
        progress=progress,  # type: ignore[arg-type]
        schema=env["schema"],
        database=env["db"],
    )
    return ctx, table, progress


def _plain(av: dict[str, Any]) -> Any:
    ((t, v),) = av.items()
    return sorted(v) if t in ("SS", "NS", "BS") else v


def _items(ddb_client: Any, name: str, marker: bool = False) -> dict[Any, dict[str, Any]]:
    """The table's items by key (PK, or (PK, SK)), attributes as plain values, the marker left out."""
    out = {}
    for item in ddb_client.scan(TableName=name, ConsistentRead=True)["Items"]:
        plain = {k: _plain(v) for k, v in item.items() if marker or k != "_dm_marker"}
        key = (plain.pop("PK"), plain.pop("SK")) if "SK" in plain else plain.pop("PK")
        out[key] = plain
    return out


def _counters(read: int, written: int, skipped: int, rejected: int, chunks: int, gsi: int, sets: int) -> dict:
    return {
        "read": read,
        "written": written,
        "skipped": skipped,
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


def _entity(read: int, written: int, skipped: int, rejected: int) -> dict[str, int]:
    return {
        "read": read,
        "written": written,
        "skipped": skipped,
        "unchanged": 0,
        "conflicts": 0,
        "rejected": rejected,
    }


# the checkpoint after each of t's five windows: (after_key, counters, the entity's counters)
T_CHECKPOINTS = [
    ([3], _counters(3, 3, 0, 0, 1, 1, 1), _entity(3, 3, 0, 0)),
    ([6], _counters(6, 5, 0, 1, 2, 1, 2), _entity(6, 5, 0, 1)),
    ([9], _counters(9, 7, 1, 1, 3, 2, 3), _entity(9, 7, 1, 1)),
    ([12], _counters(12, 8, 2, 2, 4, 2, 4), _entity(12, 8, 2, 2)),
    (None, _counters(14, 9, 3, 2, 5, 3, 4), _entity(14, 9, 3, 2)),
]


def _strip(doc: dict[str, Any]) -> tuple[Any, ...]:
    counters = {k: v for k, v in doc["counters"].items() if k not in ("bytes", "entities")}
    return doc["status"], doc["entity"], doc["after_key"], doc["entities_done"], counters


def _expected_checkpoints(entity: str = "t", first: int = 0) -> list[tuple[Any, ...]]:
    out = []
    for i, (after, counters, _) in enumerate(T_CHECKPOINTS[first:], start=first):
        last = i == len(T_CHECKPOINTS) - 1
        out.append(("running", None if last else entity, after, [entity] if last else [], counters))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _pids(engine: LocalEngine) -> list[int]:
    return [p.pid for p in engine._pool.procs]


def _debug(caplog: pytest.LogCaptureFixture, engine: LocalEngine) -> None:
    """DEBUG for dynamigrate, quiet libraries; new writer processes (they log at the level of the
    table that starts them)."""
    for name in ("botocore", "boto3", "urllib3"):
        caplog.set_level(logging.WARNING, logger=name)
    caplog.set_level(logging.DEBUG)  # last: it also sets caplog's handler level
    pool = getattr(engine, "_pool", None)
    if pool is not None:
        pool.close()


# -- the writer process's parts, in this process -------------------------------------------------------


def test_portable_error_keeps_what_pickles_and_describes_the_rest() -> None:
    err = SourceError("reading view v failed", table="T")
    assert portable_error(err) is err

    class Local(Exception):  # a class pickle cannot find by name
        pass

    out = portable_error(Local("boom"))
    assert isinstance(out, EngineError)
    assert str(out) == (
        "a writer process failed: Local: boom\n  hint: rerun with --resume to continue from the last checkpoint;"
        " with --log-level debug the process's traceback is in the log"
    )
    pickle.loads(pickle.dumps(out))


def test_task_last_buffer_and_log_handler() -> None:
    chunk = dataclasses.make_dataclass("C", ["entity_done"])
    assert Task("window", 0, "e", None, None, (3,)).last(chunk(False)) is True
    assert Task("window", 0, "e", None, (3,), None).last(chunk(False)) is False
    assert Task("window", 0, "e", None, (3,), None).last(chunk(True)) is True
    assert Task("stream", 0, None).last(chunk(False)) is False
    assert Task("stream", 0, None).last(chunk(True)) is True

    buf = _Buffer()
    assert buf.written_file("a/b") == "written/a_b.jsonl" and buf.old_images_file("x") == "old_images/x.jsonl"
    buf.append("rejected.jsonl", {"a": "é"})
    buf.append("rejected.jsonl", {"b": 1})
    buf.append("written/x.jsonl", {"k": 2})
    assert buf.take() == {"rejected.jsonl": '{"a":"é"}\n{"b":1}\n', "written/x.jsonl": '{"k":2}\n'}
    assert buf.take() == {}

    q: queue.Queue[Any] = queue.Queue()
    handler = _QueueLogHandler(q)
    logger = logging.getLogger("test_workers_pass.handler")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("row %s of %s", 1, "T")
        try:
            raise ValueError("bad")
        except ValueError:
            logger.exception("failed %d", 2)
    finally:
        logger.removeHandler(handler)
    kind, rec = q.get_nowait()
    assert (kind, rec.name, rec.levelno, rec.msg, rec.args, rec.getMessage()) == (
        "log",
        "test_workers_pass.handler",
        logging.WARNING,
        "row 1 of T",
        None,
        "row 1 of T",
    )
    kind, rec = q.get_nowait()
    assert rec.msg.startswith("failed 2\nTraceback") and "ValueError: bad" in rec.msg
    assert (rec.exc_info, rec.exc_text) == (None, None)
    pickle.loads(pickle.dumps(rec))


@contextlib.contextmanager
def _kept() -> Iterator[list[logging.LogRecord]]:
    """The records that reach a handler of the ``dynamigrate`` logger (not the root's)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign,assignment]
    logger = logging.getLogger("dynamigrate")
    logger.addHandler(handler)
    try:
        yield records
    finally:
        logger.removeHandler(handler)


def test_what_a_finished_table_can_still_receive(caplog: pytest.LogCaptureFixture) -> None:
    """While the processes close their writers (WorkerPool.end_table), a log record is emitted here
    and an error is raised."""
    record = logging.makeLogRecord(
        {
            "name": "dynamigrate.etl.local_worker",
            "levelno": logging.WARNING,
            "levelname": "WARNING",
            "msg": "late",
        }
    )
    with caplog.at_level(logging.WARNING, logger="dynamigrate.etl.local_worker"), _kept() as kept:
        WorkersPass._handle_other(None, ("log", record))  # type: ignore[arg-type]
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("dynamigrate.etl.local_worker", "late")]
    assert [r.getMessage() for r in kept] == ["late"]  # through the record's own logger
    err = EngineError("closing failed", table="T")
    with pytest.raises(EngineError) as raised:
        WorkersPass._handle_other(None, ("error", 1, err))  # type: ignore[arg-type]
    assert raised.value is err
    WorkersPass._handle_other(None, ("other", 1))  # type: ignore[arg-type]


def test_merged_sink_and_an_empty_pool() -> None:
    sink = MergedSink()
    sink.add({"written": 2, "rejected:bad_number": 1})
    sink.add({"written": 3})
    sink.flush()
    assert sink.counters == {"written": 5, "rejected:bad_number": 1}
    pool = WorkerPool(2)
    assert (pool.n, pool.dead(), pool.usable) == (2, None, True)
    pool.close()
    assert (pool.procs, pool.out, pool.usable) == ([], None, False)


# -- the pass ---------------------------------------------------------------------------------------


def test_chunks_complete_in_window_order_and_the_first_row_of_a_key_wins(
    env: dict[str, Any],
    engine: LocalEngine,
    tmp_path: Path,
    ddb_client: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Window 1 (rows 1-3, process 1) is claimed last (its view row sleeps) and written last (its
    answer is held): the windows of process 2 are claimed and written first. Row 11 (window 4, process
    2) repeats row 3's key: row 3 still wins; the checkpoints follow the windows' order. A Ctrl-C in
    the terminal reaches every process of the group: the writer processes ignore it (the engine
    decides what an interrupt stops), so a SIGINT to them changes nothing."""
    _debug(caplog, engine)

    def sigint(n: int) -> None:
        if n == 1:
            for pid in _pids(engine):
                os.kill(pid, signal.SIGINT)

    ctx, table, progress = _ctx(env, tmp_path, "Order", 2, hook=sigint)
    env["proxy"].hold[b'"c1"'] = 0.8
    try:
        with _kept() as kept:
            result = engine.run_table(ctx, table)
    finally:
        env["proxy"].hold.clear()
    assert sum("row rejected" in r.getMessage() for r in kept) == 2  # through the records' own loggers

    assert result.status == "done", result.error
    assert _items(ddb_client, table.name) == T_ITEMS
    markers = [i["_dm_marker"]["S"] for i in ddb_client.scan(TableName=table.name)["Items"]]
    assert len(markers) == 9 and all(m.startswith(f"{ctx.run_id}:") for m in markers)
    assert [_strip(c) for c in progress.checkpoints] == _expected_checkpoints()
    assert [c["counters"]["entities"] for c in progress.checkpoints] == [
        {"t": e} for _, _, e in T_CHECKPOINTS
    ]
    byts = [c["counters"]["bytes"] for c in progress.checkpoints]
    assert 0 < byts[0] < byts[1] < byts[2] < byts[3] < byts[4] == result.bytes
    assert (result.read, result.written, result.skipped, result.rejected, result.chunks) == (
        14,
        9,
        3,
        {"bad_number": 2},
        5,
    )
    assert (result.omitted_gsi_keys, result.empty_sets) == (3, {"tags": 4})
    assert result.extra["workers"] == {"count": 2, "why": "--workers 2"}
    assert result.extra["duplicate_keys"]["skipped"] == 3
    # the run directory: each key written once, rejected rows and duplicate keys listed
    written = list(read_jsonl(ctx.run.file(ctx.run.written_file(table.name))))
    assert sorted(w["key"]["PK"]["S"] for w in written) == sorted(T_ITEMS)
    rejected = list(read_jsonl(ctx.run.file("rejected.jsonl")))
    assert sorted((r["row"]["id"], r["table"], r["entity"], r["code"], r["key"]) for r in rejected) == [
        ("10", table.name, "t", "bad_number", {"PK": {"S": "c11"}}),
        ("4", table.name, "t", "bad_number", {"PK": {"S": "c4"}}),
    ]
    dups = list(read_jsonl(ctx.run.file(f"duplicates/{table.name}.jsonl")))
    assert sorted(d["key"]["PK"]["S"] for d in dups) == ["c2", "c3", "c5"]
    # the processes' log records reach the engine's handlers: each process said which table it serves
    served = [r for r in caplog.records if r.name == "dynamigrate.etl.local_worker"]
    assert sorted(r.getMessage().split(" (pid")[0] for r in served) == [
        "writer process 1",
        "writer process 2",
    ]
    assert {r.process for r in served} == set(_pids(engine)) and os.getpid() not in _pids(engine)
    assert sorted(str(r.processName) for r in served) == ["dm-writer-1", "dm-writer-2"]
    # --strategy transact: every item in a conditional transaction
    assert env["proxy"].ops(table.name) == {"TransactWriteItems"}
    rejects = [r for r in caplog.records if "row rejected" in r.getMessage()]
    assert sorted(r.getMessage().split(";")[0] for r in rejects) == [
        f"table {table.name}: row rejected (bad_number): attribute 'qty' (N): 'x' is not a decimal number",
        f"table {table.name}: row rejected (bad_number): attribute 'qty' (N): 'y' is not a decimal number",
    ]
    assert all(r.levelno == logging.WARNING and r.name == "dynamigrate.etl.local_pass" for r in rejects)


SHAPES: dict[str, tuple[int, str | None, dict[Any, dict[str, Any]], tuple[int, int, int]]] = {
    # name: (processes, strategy, items, (read, written, skipped)); batch: into a table the run created
    "KV": (
        3,
        "put",
        {f"v{i}": {"k": f"k{i:02d}😀", "n": str(i)} for i in (0, 1, 2, 3, 4, 10, 11)},
        (12, 7, 5),
    ),
    "KB": (
        2,
        "batch",
        {
            bytes([7, i % 4]) if i < 8 else bytes([9, i]): {"k": bytes([0, i, 255 - i]), "n": str(i)}
            for i in (0, 1, 2, 3, 8, 9, 10)
        },
        (11, 7, 4),
    ),
    "KC": (
        2,
        None,  # auto: transact against DynamoDB Local
        {(str(a % 3), f"s{b}"): {"a": str(a)} for a in range(3) for b in ("x", "y", "z")},
        (10, 9, 1),
    ),
    "NK": (2, "batch", {f"n{i}": {"n": str(i)} for i in (0, 1, 2, 3, 4, 5, 9, 10)}, (11, 8, 3)),
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_every_key_shape(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any, name: str
) -> None:
    """S (VARCHAR with emoji), B (BINARY), N + S (composite) keys in 3-row windows, and a table without
    a key read as one stream of 3-row chunks by one process: the first row of a key wins."""
    workers, strategy, items, (read, written, skipped) = SHAPES[name]
    ctx, table, progress = _ctx(env, tmp_path, name, workers, strategy=strategy, created=strategy == "batch")
    before = _pids(engine) if getattr(engine, "_pool", None) else []
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    if len(before) == workers:  # the processes of the table before serve this one too
        assert _pids(engine) == before
    writes = {"put": "PutItem", "batch": "BatchWriteItem", None: "TransactWriteItems"}[strategy]
    assert env["proxy"].ops(table.name) == {writes}
    assert _items(ddb_client, table.name) == items
    assert (result.read, result.written, result.skipped, result.rejected) == (read, written, skipped, {})
    # windows of 3 rows, the last open-ended one (empty when the rows fill the windows before it); a
    # table without a key: chunks of 3 rows
    assert result.chunks == (-(-read // 3) if name == "NK" else read // 3 + 1)
    assert len(_pids(engine)) == workers
    entity = name.lower()
    last = (None, None, [entity])
    if name == "NK":  # one stream: no resume point before its end
        assert [c and (c["entity"], c["after_key"], c["entities_done"]) for c in progress.checkpoints] == [
            None,
            None,
            None,
            last,
        ]
    else:
        assert [
            (c["entity"], c["after_key"] and len(c["after_key"]), c["entities_done"])
            for c in progress.checkpoints
        ] == [(entity, 2 if name == "KC" else 1, [])] * (result.chunks - 1) + [last]
    assert [c["counters"]["read"] for c in progress.checkpoints if c] == (
        [read] if name == "NK" else [min(3 * (i + 1), read) for i in range(result.chunks)]
    )
    dups = list(read_jsonl(ctx.run.file(f"duplicates/{table.name}.jsonl")))
    assert len(dups) == len({json.dumps(d["key"]) for d in dups}) == read - written


def test_entities_in_order_and_a_resume_after_a_finished_entity(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """A table of two entities (T in key windows, N without a key in one stream): checkpoints move
    through T's windows, then T is done, then N; a resume whose checkpoint lists T as done reads N only."""
    ctx, table, progress = _ctx(env, tmp_path, "Multi", 2)
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    t_codes = {r[1] for r in T_ROWS}
    n_codes = {r[0] for r in NK_ROWS}
    assert set(_items(ddb_client, table.name)) == t_codes | n_codes
    assert (result.read, result.written, result.skipped) == (25, 19, 6)
    assert result.entities == {"T": _entity(14, 11, 3, 0), "N": _entity(11, 8, 3, 0)}
    t_done = (None, None, ["T"], 14)  # N's chunks before its last are no resume points
    assert [
        (c["entity"], c["after_key"], c["entities_done"], c["counters"]["read"]) for c in progress.checkpoints
    ] == [
        ("T", [3], [], 3),
        ("T", [6], [], 6),
        ("T", [9], [], 9),
        ("T", [12], [], 12),
        t_done,
        t_done,
        t_done,
        t_done,
        (None, None, ["T", "N"], 25),
    ]

    ctx, table, progress = _ctx(env, tmp_path, "Multi2", 3)
    counters = _counters(14, 11, 3, 0, 5, 0, 0) | {"entities": {"T": _entity(14, 11, 3, 0)}}
    doc = {"table": table.name, "run_id": ctx.run_id, "engine": "local", "status": "running"}
    doc |= {"entity": None, "after_key": None, "entities_done": ["T"], "counters": counters}
    ctx.run.write_json(ctx.run.checkpoint_file(table.name), doc)
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    assert set(_items(ddb_client, table.name)) == n_codes
    assert (result.read, result.written, result.skipped, result.chunks) == (25, 19, 6, 9)
    assert result.entities == {"T": _entity(14, 11, 3, 0), "N": _entity(11, 8, 3, 0)}


def test_ctrl_c_stops_the_processes_and_a_resume_with_three_processes_completes_exactly(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """--strategy batch into a table the run created: Ctrl-C after the second window (its checkpoint
    stays, the processes end); an application then writes c14 (window 5); --resume with 3 processes
    reads after the checkpoint, keeps the application's item (a resumed fresh-table load checks what
    exists), still knows the keys of windows 1-2 (row 13 repeats row 5's key: a duplicate) and forgets
    the claims of the windows in flight at the interrupt (their rows are read again, not duplicates);
    it ends with the counters of one whole pass."""
    pids: list[int] = []

    def interrupt(n: int) -> None:
        if n == 2:
            pids.extend(_pids(engine))
            raise KeyboardInterrupt

    ctx, table, progress = _ctx(env, tmp_path, "Resume", 2, strategy="batch", created=True, hook=interrupt)
    with pytest.raises(KeyboardInterrupt):
        engine.run_table(ctx, table)
    assert len(pids) == 2 and not [p for p in pids if _alive(p)]
    assert ctx.run.state()["tables"][table.name]["status"] == "interrupted"
    ckpt = ctx.run.read_json(ctx.run.checkpoint_file(table.name))
    assert _strip(ckpt) == _expected_checkpoints()[1]
    ddb_client.put_item(TableName=table.name, Item={"PK": {"S": "c14"}, "app": {"S": "mine"}})

    ctx, table, progress = _ctx(env, tmp_path, "Resume", 3, strategy="batch", run=ctx.run)
    result = engine.run_table(ctx, table)

    assert result.status == "done", result.error
    assert result.resumed_from == {
        "entity": "t",
        "after_key": [6],
        "entities_done": [],
        "read": 6,
        "written": 5,
    }
    assert _items(ddb_client, table.name) == {**T_ITEMS, "c14": {"app": "mine"}}
    assert len(_pids(engine)) == 3
    assert (result.read, result.written, result.skipped, result.rejected, result.chunks) == (
        14,
        8,
        4,
        {"bad_number": 2},
        5,
    )
    assert [c["after_key"] for c in progress.checkpoints] == [[9], [12], None]
    assert [c["counters"]["read"] for c in progress.checkpoints] == [9, 12, 14]
    # the fresh-table fast path in each process: BatchWriteItem, after reading what exists (resumed)
    assert env["proxy"].ops(table.name) == {"BatchWriteItem", "BatchGetItem"}


def test_a_writer_process_killed_fails_the_table_and_resume_completes_it(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """Process 2 is killed while it holds windows 2 and 4 (window 2's answer is held): the table
    fails at once with what happened and what to do; the other process ends; --resume completes it."""
    pids: list[int] = []

    def kill(n: int) -> None:
        if n == 1:
            pids.extend(_pids(engine))
            os.kill(pids[1], signal.SIGKILL)

    ctx, table, progress = _ctx(env, tmp_path, "Kill", 2, hook=kill)
    env["proxy"].hold[b'"c5"'] = 3.0
    started = time.monotonic()
    try:
        result = engine.run_table(ctx, table)
    finally:
        env["proxy"].hold.clear()
    assert time.monotonic() - started < 20
    assert result.status == "failed"
    assert result.error == (
        f"writer process 2 of 2 for table {table.name} stopped unexpectedly (killed by SIGKILL) with 2 key"
        f" window(s) in hand [table={table.name}]\n  hint: nothing past the last checkpoint is lost: rerun with --resume (redone writes"
        " are idempotent); if the system killed it for memory, lower --workers or --chunk-rows"
    )
    assert not [p for p in pids if _alive(p)]
    assert ctx.run.read_json(ctx.run.checkpoint_file(table.name))["after_key"] == [3]
    assert [c["after_key"] for c in progress.checkpoints] == [[3]]  # window 2 never completed

    ctx, table, _ = _ctx(env, tmp_path, "Kill", 2, run=ctx.run)
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    assert _items(ddb_client, table.name) == T_ITEMS
    assert (result.read, result.written, result.skipped, result.rejected) == (14, 9, 3, {"bad_number": 2})
    assert not set(pids) & set(_pids(engine))  # new processes


def test_a_missing_target_table_fails_the_table(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path
) -> None:
    ctx, table, progress = _ctx(env, tmp_path, "NoTarget", 2)
    result = engine.run_table(ctx, table)
    assert result.status == "failed"
    assert result.error is not None and "ResourceNotFoundException" in result.error, result.error
    assert table.name in result.error and "Traceback" not in result.error
    assert result.read == 0 and progress.checkpoints == [] and progress.finished == ["failed"]
    assert engine._pool.procs == []


def test_a_read_error_in_a_writer_process_fails_the_table(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reading row 8 (window 3, process 1) fails inside a process: the table fails with the server's
    message, at once: process 2, whose write of window 2 waits for an answer held 6 s, is killed
    (a process of a failed table may be mid-chunk: it is never waited for). With --log-level debug
    the failed process's traceback is in the engine's log."""
    _debug(caplog, engine)
    ctx, table, progress = _ctx(env, tmp_path, "ReadErr", 2)
    env["proxy"].hold[b'"c5"'] = 6.0
    started = time.monotonic()
    try:
        result = engine.run_table(ctx, table)
    finally:
        env["proxy"].hold.clear()
    assert time.monotonic() - started < 5
    assert result.status == "failed"
    assert result.error is not None and "Subquery returns more than 1 row" in result.error, result.error
    assert table.view_name in result.error
    assert result.read <= 6 and all(c["after_key"] in ([3], [6]) for c in progress.checkpoints)
    failed = [r.getMessage() for r in caplog.records if " failed:\n" in r.getMessage()]
    assert len(failed) == 1 and failed[0].startswith("writer process 1 failed:\nTraceback"), failed
    assert "Subquery returns more than 1 row" in failed[0]


def test_sync_with_processes_hands_every_key_to_the_seen_set(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """Sync's missing-source check sees the keys of every process: nothing is missing after a sync
    of an unchanged source; an item whose row is gone is found missing."""
    ctx, table, _ = _ctx(env, tmp_path, "Sync", 2)
    assert engine.run_table(ctx, table).status == "done"
    ddb_client.put_item(TableName=table.name, Item={"PK": {"S": "gone"}, "_dm_marker": {"S": "old-run:1"}})
    ctx, table, _ = _ctx(env, tmp_path, "Sync", 2, write_mode="sync")
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    assert (result.read, result.written, result.unchanged, result.missing_source) == (14, 0, 9, 1)
    assert _items(ddb_client, table.name)["c1"] == T_ITEMS["c1"]


def test_the_processes_read_at_most_three_windows_each_ahead_of_the_oldest_unfinished_one(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """30 rows, 3-row windows, 2 processes: window 1's answer is held for 2 s. Meanwhile process 2
    writes windows 2, 4, 5 and 6 (two in hand each, at most 2 x 3 windows handed out past the oldest
    unfinished one), and no window after the sixth is handed out until window 1 completes."""
    seen: list[set[int]] = []

    def look(n: int) -> None:
        if n == 1:
            items = ddb_client.scan(TableName=table.name, ConsistentRead=True)["Items"]
            seen.append({int(i["PK"]["S"][1:]) for i in items})

    ctx, table, _ = _ctx(env, tmp_path, "Ahead", 2, hook=look)
    env["proxy"].hold[b'"w01"'] = 2.0
    try:
        result = engine.run_table(ctx, table)
    finally:
        env["proxy"].hold.clear()
    assert result.status == "done", result.error
    (first,) = seen
    ahead = {*range(4, 7), *range(10, 19)}  # windows 2, 4, 5, 6
    assert first & ahead == ahead and not first & set(range(19, 31)) and first >= {1, 2, 3}
    assert set(_items(ddb_client, table.name)) == {f"w{i:02d}" for i in range(1, 31)}
    assert (result.read, result.written, result.chunks) == (30, 30, 11)


def test_a_resume_inside_the_first_entity_reads_the_next_one_from_its_start(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """The checkpoint is inside entity T (after key 6): T resumes after it, U (ids 1-4, all below 6)
    is read whole."""
    ctx, table, _ = _ctx(env, tmp_path, "Multi3", 2)
    counters = _counters(6, 6, 0, 0, 2, 0, 0) | {"entities": {"T": _entity(6, 6, 0, 0)}}
    doc = {"table": table.name, "run_id": ctx.run_id, "engine": "local", "status": "running"}
    doc |= {"entity": "T", "after_key": [6], "entities_done": [], "counters": counters}
    ctx.run.write_json(ctx.run.checkpoint_file(table.name), doc)
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    assert set(_items(ddb_client, table.name)) == {r[1] for r in T_ROWS[6:]} | {"u1", "u2", "u3", "u4"}
    assert result.entities == {"T": _entity(14, 14, 0, 0), "U": _entity(4, 4, 0, 0)}


def test_the_processes_end_by_themselves_when_the_pool_closes(env: dict[str, Any]) -> None:
    """A table's end: each process closes its writer and answers idle; the run's end: each leaves
    its loop and exits 0 (none is killed)."""
    pool = WorkerPool(2)
    pool.begin(_spec(env, 0), "Order")
    procs = list(pool.procs)
    other: list[Any] = []
    pool.end_table(other.append)
    assert pool.usable and [p.exitcode for p in procs] == [None, None]
    started = time.monotonic()
    pool.close()
    assert [p.exitcode for p in procs] == [0, 0]
    assert time.monotonic() - started < 10 and pool.procs == [] and not pool.usable


def _spec(env: dict[str, Any], parent: int) -> WorkerSpec:
    table = env["contract"].table(f"{env['prefix']}Order")
    return WorkerSpec(
        config=env["config"],
        table=table,
        options=EtlOptions(chunk_rows=3),
        run_id="r",
        database=env["db"],
        fresh=False,
        resumed=False,
        with_keys=False,
        parent_pid=parent or os.getpid(),
        log_level=logging.DEBUG,
    )


HELPER = """
import dataclasses, os, pickle, sys, time
from dynamigrate.etl.local_workers import WorkerPool

spec = pickle.load(sys.stdin.buffer)
pool = WorkerPool(1)
pool.begin(dataclasses.replace(spec, parent_pid=os.getpid()), spec.table.name)
pool.out.get(timeout=60)  # the process's first log record: it runs, its death signal is set
print(pool.procs[0].pid, flush=True)
time.sleep(120)
"""


def test_a_killed_engine_takes_its_writer_processes_with_it(env: dict[str, Any], tmp_path: Path) -> None:
    """An engine process killed with SIGKILL: its writer process is killed by the kernel at once
    (PR_SET_PDEATHSIG), not left writing behind a later --resume. This process adopts the orphan
    (a child subreaper) to read how it ended."""
    spec = _spec(env, 0)
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(36, 1) == 0  # PR_SET_CHILD_SUBREAPER
    try:
        engine = subprocess.Popen(
            [sys.executable, "-c", HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)},
        )
        assert engine.stdin is not None and engine.stdout is not None
        engine.stdin.write(pickle.dumps(spec))
        engine.stdin.flush()
        writer = int(engine.stdout.readline())
        others = [p for p in _children(engine.pid) if p != writer]  # multiprocessing's resource tracker
        engine.kill()
        engine.wait()
        _, status = os.waitpid(writer, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, status
        for pid in others:  # ends when the engine's end closes its pipe
            os.waitpid(pid, 0)
    finally:
        libc.prctl(36, 0)


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if int(entry.joinpath("stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def test_a_process_that_dies_after_the_last_window_is_not_reused(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """Process 2 dies once every window is written, before it answers idle: the table is complete
    (done), and the next table starts new processes instead of handing work to a dead one."""
    pids: list[int] = []

    def kill(n: int) -> None:
        if n == 5:
            pids.extend(_pids(engine))
            os.kill(pids[1], signal.SIGKILL)

    ctx, table, _ = _ctx(env, tmp_path, "Late", 2, hook=kill)
    first = engine.run_table(ctx, table)
    assert first.status == "done", first.error
    assert (first.read, first.written, first.skipped) == (14, 9, 3)
    ctx, table, _ = _ctx(env, tmp_path, "Late2", 2, run=ctx.run)
    second = engine.run_table(ctx, table)
    assert second.status == "done", second.error
    assert _items(ddb_client, table.name) == T_ITEMS
    assert len(_pids(engine)) == 2 and not set(pids) & set(_pids(engine))


def test_an_entity_without_a_key_before_one_with_windows(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """Entity N (no key: one stream of four chunks) comes first, then T's windows: the task after a
    stream is numbered next, its claims and completions follow."""
    ctx, table, progress = _ctx(env, tmp_path, "Multi4", 2)
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    assert set(_items(ddb_client, table.name)) == {r[1] for r in T_ROWS} | {r[0] for r in NK_ROWS}
    assert result.entities == {"N": _entity(11, 8, 3, 0), "T": _entity(14, 11, 3, 0)}
    assert [c and (c["entity"], c["after_key"], c["entities_done"]) for c in progress.checkpoints] == [
        None,
        None,
        None,
        (None, None, ["N"]),
        ("T", [3], ["N"]),
        ("T", [6], ["N"]),
        ("T", [9], ["N"]),
        ("T", [12], ["N"]),
        (None, None, ["N", "T"]),
    ]


def test_a_view_without_the_entity_column_resumed_after_its_end_reads_nothing(
    env: dict[str, Any], engine: LocalEngine, tmp_path: Path, ddb_client: Any
) -> None:
    """A hand-written view without _dm_entity: one pass of no entity (counted under ""); a checkpoint
    that lists "" as done reads nothing more."""
    ctx, table, progress = _ctx(env, tmp_path, "Plain", 2)
    result = engine.run_table(ctx, table)
    assert result.status == "done", result.error
    assert result.entities == {"": _entity(14, 9, 3, 2)}
    assert [(c["entity"], c["after_key"], c["entities_done"]) for c in progress.checkpoints][-2:] == [
        (None, [12], []),
        (None, None, [""]),
    ]
    for key in T_ITEMS:
        ddb_client.delete_item(TableName=table.name, Key={"PK": {"S": key}})
    ctx, table, progress = _ctx(env, tmp_path, "Plain", 2)
    counters = _counters(14, 0, 0, 0, 5, 0, 0) | {"entities": {"": _entity(14, 0, 0, 0)}} | {"skipped": 14}
    counters["entities"][""]["skipped"] = 14
    doc = {"table": table.name, "run_id": ctx.run_id, "engine": "local", "status": "running"}
    doc |= {"entity": None, "after_key": None, "entities_done": [""], "counters": counters}
    ctx.run.write_json(ctx.run.checkpoint_file(table.name), doc)
    again = engine.run_table(ctx, table)
    assert again.status == "done", again.error
    assert (again.read, again.chunks, progress.checkpoints) == (14, 5, [])
    assert _items(ddb_client, table.name) == {}
