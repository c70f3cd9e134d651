"""One writer process of the local engine (``--workers N``): reads the key windows it is handed from
MySQL, encodes them, has their keys claimed by the engine, writes them to DynamoDB.

The process shares nothing with the others: its own MySQL connections, DynamoDB client, encoder and
writer. What it writes to the run directory (written keys, rejected rows, conflicts) it hands to the
engine's process with each chunk's outcome; the engine writes the files, folds the counters and moves
the checkpoint (:mod:`dynamigrate.etl.local_workers`, which also describes the messages).

Two threads, so that reading the next window overlaps writing this one::

    reader thread: task -> chunks -> encode -> ("claim", keys) to the engine -> local queue (1)
    main thread:   chunk from the local queue -> duplicate positions from the engine -> write ->
                   ("done", outcome, records, counters) to the engine

The process dies with the engine (``PR_SET_PDEATHSIG`` on Linux, and a watch of the parent's pid):
a killed engine leaves no writer behind that could write past a resume.
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamigrate.config import Config
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import EtlOptions

log = logging.getLogger(__name__)

_DONE = object()


@dataclass(frozen=True)
class WorkerSpec:
    """What a writer process needs (pickled to it when it starts)."""

    config: Config
    table: Table
    options: EtlOptions
    run_id: str
    database: str | None
    fresh: bool  # the BatchWriteItem fast path of a table this run created
    resumed: bool
    with_keys: bool  # sync: send the keys of the rows (the engine's seen set)
    parent_pid: int
    log_level: int
    secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Task:
    """A piece of the pass: a key window of an entity (``hi`` None: its open-ended last window), or an
    entity without a row key read in one stream (``kind`` "stream")."""

    kind: str  # window | stream
    t: int  # task number, in pass order
    entity: str | None
    key: Any = None  # EntityKey
    lo: tuple[Any, ...] | None = None
    hi: tuple[Any, ...] | None = None

    def last(self, chunk: Any) -> bool:
        """Is ``chunk`` the task's last one?"""
        return bool(chunk.entity_done) or (self.kind == "window" and self.hi is not None)


class _Buffer:
    """A stand-in for the RunDir under a RunDirSink: the records of one chunk, for the engine to write."""

    def __init__(self) -> None:
        self.records: dict[str, list[Any]] = {}

    @staticmethod
    def written_file(table: str) -> str:
        from dynamigrate.runstate import safe_name

        return f"written/{safe_name(table)}.jsonl"

    @staticmethod
    def old_images_file(table: str) -> str:
        from dynamigrate.runstate import safe_name

        return f"old_images/{safe_name(table)}.jsonl"

    def append(self, name: str, obj: Any) -> None:
        self.records.setdefault(name, []).append(obj)

    def take(self) -> dict[str, str]:
        """The records so far, per file as JSON Lines text (serialised here, not in the engine)."""
        from dynamigrate.runstate import jsonl_text

        out, self.records = self.records, {}
        return {name: jsonl_text(recs) for name, recs in out.items()}


class _QueueLogHandler(logging.Handler):
    """Log records to the engine's process (which emits them through its own handlers)."""

    def __init__(self, out: Any):
        super().__init__()
        self.out = out

    def emit(self, record: logging.LogRecord) -> None:
        try:
            msg = self.format(record) if record.exc_info else record.getMessage()
            record = logging.makeLogRecord(record.__dict__)
            record.msg, record.args, record.exc_info, record.exc_text = msg, None, None, None
            self.out.put(("log", record))
        except Exception:
            self.handleError(record)


def _die_with_parent(parent_pid: int) -> None:
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(0.5)

    if os.getppid() != parent_pid:  # the parent died before prctl
        os._exit(1)
    threading.Thread(target=watch, name="dm-parent-watch", daemon=True).start()


def portable_error(exc: BaseException) -> BaseException:
    """``exc`` if it survives pickling (DynamigrateError, botocore errors), else an EngineError that
    says what it was."""
    from dynamigrate.errors import EngineError

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return EngineError(
            f"a writer process failed: {type(exc).__name__}: {exc}",
            hint="rerun with --resume to continue from the last checkpoint; with --log-level debug the "
            "process's traceback is in the log",
        )


def worker_main(spec: WorkerSpec, wid: int, tasks: Any, replies: Any, out: Any) -> None:
    """The writer process's entry point (multiprocessing ``spawn``).

    The process serves one table after another (the engine keeps it for the run): ``spec`` is the
    first table's; each later table starts with a ``("table", spec)`` message on ``tasks``; a table
    ends with ``None`` (answered by ``("idle", wid)``); ``("exit",)`` ends the process.
    """
    _die_with_parent(spec.parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine's process decides what an interrupt stops
    root = logging.getLogger()
    root.handlers[:] = [_QueueLogHandler(out)]
    root.setLevel(spec.log_level)
    if spec.secrets:
        from dynamigrate import redact

        redact.register(*spec.secrets)
    current: WorkerSpec | None = spec
    try:
        while current is not None:
            _Worker(current, wid, tasks, replies, out).run()
            out.put(("idle", wid))
            msg = tasks.get()
            current = msg[1] if isinstance(msg, tuple) and msg and msg[0] == "table" else None
    except BaseException as exc:
        log.debug("writer process %d failed:\n%s", wid + 1, traceback.format_exc())
        out.put(("error", wid, portable_error(exc)))


_CLIENTS: dict[tuple[Any, ...], Any] = {}


def _client(spec: WorkerSpec) -> Any:
    """One DynamoDB client per process and endpoint, kept across the tables it serves."""
    from dynamigrate.target.client import dynamodb_client

    aws = spec.config.aws
    key = (aws.dynamodb_endpoint, aws.region, spec.options.concurrency)
    if key not in _CLIENTS:
        _CLIENTS[key] = dynamodb_client(
            aws,
            max_pool_connections=max(32, spec.options.concurrency * 2),
            parameter_validation=False,  # items come from the encoder (docs/etl.md)
        )
    return _CLIENTS[key]


class _Worker:
    def __init__(self, spec: WorkerSpec, wid: int, tasks: Any, replies: Any, out: Any):
        self.spec, self.wid, self.tasks, self.replies, self.out = spec, wid, tasks, replies, out
        self.local: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.stop = threading.Event()

    def run(self) -> None:
        from dynamigrate.etl.local_pass import outcome_of, write_chunk
        from dynamigrate.etl.local_strategy import make_writer
        from dynamigrate.target.sinks import RunDirSink

        spec, opts = self.spec, self.spec.options
        log.debug("writer process %d (pid %d) serves table %s", self.wid + 1, os.getpid(), spec.table.name)
        client = _client(spec)
        buffer = _Buffer()
        sink = RunDirSink(buffer, spec.table.name)
        writer = make_writer(
            opts,
            spec.table,
            client,
            sink,
            run_id=spec.run_id,
            endpoint=spec.config.aws.dynamodb_endpoint,
            fresh=spec.fresh,
            resumed=spec.resumed,
        )
        reader = threading.Thread(target=self._read, name=f"dm-wreader-{self.wid}", daemon=True)
        reader.start()
        sent: dict[str, int] = {}
        rejects_logged = [0]
        try:
            while True:
                item = self.local.get()
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                task, sub, chunk, encoded = item
                reply = self.replies.get()
                if reply is None:  # the engine stops the pass
                    break
                t, s, dup_at = reply
                if (t, s) != (task.t, sub):
                    raise RuntimeError(f"claim answer for {(t, s)} while writing {(task.t, sub)}")
                keyed = [e for e in encoded if e.reject_code is None]
                drop = {id(keyed[i]) for i in dup_at}
                dups = [keyed[i] for i in dup_at]
                rest = [e for e in encoded if id(e) not in drop]
                br = write_chunk(writer, sink, spec.table, rest, dups, rejects_logged)
                outcome = outcome_of(chunk, rest, br, spec.with_keys)
                sink.flush()
                counters = dict(sink.counters)
                delta = {k: v - sent.get(k, 0) for k, v in counters.items() if v != sent.get(k, 0)}
                sent = counters
                self.out.put(("done", self.wid, task.t, sub, outcome, buffer.take(), delta, task.last(chunk)))
        finally:
            self.stop.set()
            close = getattr(writer, "close", None)
            if callable(close):
                close()

    def _put(self, obj: Any) -> bool:
        while not self.stop.is_set():
            try:
                self.local.put(obj, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        from dynamigrate.etl.local_pass import open_reader
        from dynamigrate.etl.local_writers import canonical_key
        from dynamigrate.target.encode import ItemEncoder

        spec = self.spec
        try:
            encoder = ItemEncoder(spec.table, spec.options.marker_attribute)
            ctx = _ReaderContext(spec)
            with open_reader(ctx, spec.table) as reader:  # type: ignore[arg-type]
                while not self.stop.is_set():
                    task: Task | None = self.tasks.get()
                    if task is None:
                        break
                    if task.kind == "window":
                        chunks = reader.window(task.entity, task.key, task.lo, task.hi)
                    else:
                        chunks = reader.iter_entity(task.entity, None)
                    for sub, chunk in enumerate(chunks):
                        encoded = [encoder.encode(r) for r in chunk.rows]
                        keys = [canonical_key(e.key) for e in encoded if e.reject_code is None]
                        self.out.put(("claim", self.wid, task.t, sub, keys, task.last(chunk)))
                        if not self._put((task, sub, chunk, encoded)):
                            return
            self._put(_DONE)
        except BaseException as exc:  # handed to the main thread, which reports it
            self._put(exc)


class _ReaderContext:
    """The parts of an EtlContext :func:`open_reader` uses."""

    def __init__(self, spec: WorkerSpec):
        self.config = spec.config
        self.database = spec.database
        self.options = spec.options
