"""The local engine's pass over one table in this process: a reader thread and writer threads.

Threads and queues (see docs/etl.md)::

    reader thread                       main thread                     writer (TableWriter)
    view chunk -> encode rows ──► queue(queue_chunks) ──► submit chunk ──► inflight_chunks chunks
      (SSCursor, key windows)            in order: wait oldest chunk,       being written, each by
                                         record seen keys, checkpoint       `concurrency` requests

* Memory is bounded by ``(queue_chunks + inflight_chunks + 1) * chunk_rows`` rows whatever the size of
  the table.
* Chunks are completed strictly in order (:meth:`LocalEngine._complete`: counters, checkpoint).
* A row whose DynamoDB key an earlier row of the pass produced is never sent (:class:`PassKeys`).

With ``--workers N`` (N > 1) the same pass runs in writer processes instead
(:mod:`dynamigrate.etl.local_workers`); both share :class:`ChunkOutcome` and the helpers below.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamigrate.errors import EngineError
from dynamigrate.etl.base import duplicates_run_file, note_duplicates
from dynamigrate.etl.local_writers import canonical_key
from dynamigrate.etl.pass_keys import PassKeys
from dynamigrate.source.keys import key_from_json, key_plan
from dynamigrate.source.reader import Chunk, ViewReader

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import EtlContext, TableResult

log = logging.getLogger(__name__)

_DONE = object()
#: How many rejected rows per table are logged at WARNING (all of them are in rejected.jsonl).
LOG_REJECTS = 5


@dataclass
class ChunkOutcome:
    """What one chunk did: everything :meth:`LocalEngine._complete` folds into the table's result.

    Built in this process (:func:`outcome_of`) or in a writer process (then pickled to the parent).
    """

    entity: str | None
    rows: int
    #: the chunk's resume point (source/reader.py Chunk): upper key of its window as JSON, or None
    after_key: list[Any] | None
    resumable: bool
    entity_done: bool
    rejected: int = 0  # encoder and writer rejects
    written: int = 0
    skipped: int = 0  # duplicate keys included
    unchanged: int = 0
    conflicts: int = 0
    bytes: int = 0
    omitted_gsi_keys: int = 0
    empty_sets: dict[str, int] = field(default_factory=dict)
    #: canonical keys of the rows the encoder accepted (sync's seen set); None when not tracked
    keys: list[str] | None = None


def outcome_of(chunk: Chunk, encoded: list[Any], br: Any, with_keys: bool) -> ChunkOutcome:
    """The outcome of a written chunk (``encoded``: its rows as encoded, duplicates left out; ``br``:
    the writer's BatchResult with the duplicates counted as skipped, or None when nothing was sent)."""
    out = ChunkOutcome(
        entity=chunk.entity,
        rows=len(chunk.rows),
        after_key=chunk.after_key,
        resumable=chunk.resumable,
        entity_done=chunk.entity_done,
        rejected=sum(1 for e in encoded if e.reject_code is not None) + (br.rejected if br else 0),
        written=int(br.written) if br else 0,
        skipped=int(br.skipped) if br else 0,
        unchanged=int(br.unchanged) if br else 0,
        conflicts=int(br.conflicts) if br else 0,
    )
    for enc in encoded:
        if enc.reject_code is None:
            out.bytes += enc.size
            if enc.omitted_gsi_keys:
                out.omitted_gsi_keys += 1
            for name in enc.empty_sets:
                out.empty_sets[name] = out.empty_sets.get(name, 0) + 1
    if with_keys:
        out.keys = [canonical_key(e.key) for e in encoded if e.reject_code is None]
    return out


def write_chunk(
    writer: Any, sink: Any, table: Table, encoded: list[Any], dups: list[Any], rejects_logged: list[int]
) -> Any:
    """Write a chunk's good rows; rejects go to the sink, duplicates are skipped (duplicate_key)."""
    from dynamigrate.target.writer import BatchResult

    good = []
    for enc in encoded:
        if enc.reject_code is None:
            good.append(enc)
        else:
            reject(sink, table, enc, rejects_logged)
    for enc in dups:
        sink.on_skipped(enc.key, "duplicate_key")
    if not good:
        return BatchResult(skipped=len(dups)) if dups else None
    br = writer.write_batch(good)
    br.skipped += len(dups)
    return br


def reject(sink: Any, table: Table, enc: Any, rejects_logged: list[int]) -> None:
    """A row the encoder rejected: to rejected.jsonl through the sink, the first few logged."""
    from dynamigrate.target.encode import key_for_report

    sink.on_rejected(enc, enc.reject_reason or enc.reject_code, enc.reject_code, None)
    if rejects_logged[0] < LOG_REJECTS:
        rejects_logged[0] += 1
        log.warning(
            "table %s: row rejected (%s): %s; key %s; written to rejected.jsonl. "
            "Fix the source row or the contract and rerun (sync mode picks it up).",
            table.name,
            enc.reject_code,
            enc.reject_reason,
            json.dumps(key_for_report(enc.key), ensure_ascii=False),
            extra={"fields": {"table": table.name, "reject_code": enc.reject_code}},
        )


def report_duplicates(ctx: EtlContext, table: Table, pass_keys: PassKeys, result: TableResult) -> None:
    """Rows skipped as duplicate keys: counted in the result, listed in ``duplicates/<T>.jsonl``."""
    n = pass_keys.duplicates()
    if not n:
        return
    path = ctx.run.file(duplicates_run_file(table.name))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:  # rewritten whole: a resumed pass lists each key once
        for k in pass_keys.all_keys():
            fh.write(json.dumps({"table": table.name, "key": json.loads(k)}, ensure_ascii=False) + "\n")
    note_duplicates(result, n, pass_keys.examples(5))


def read_plan(table: Table, ctx: EtlContext, reader: ViewReader) -> list[tuple[str | None, Any]]:
    """The entities of a pass in order, each with its row key (None: read in one streaming pass)."""
    keys = key_plan(table, ctx.schema)
    plan: list[tuple[str | None, Any]] = [(e.entity_type, keys.entity(e.entity_type)) for e in table.entities]
    if not reader.has_entity:  # a hand-written view without _dm_entity: one pass
        plan = [(None, keys.entity(table.entities[0].entity_type) if len(plan) == 1 else None)]
    return plan


def open_reader(ctx: EtlContext, table: Table) -> ViewReader:
    """A reader of the table's view (binary attributes kept as bytes)."""
    types = table.attribute_types()
    settings = ctx.config.mysql
    return ViewReader(
        settings,
        table.view_name,
        database=ctx.database or settings.database,
        chunk_rows=ctx.options.chunk_rows,
        keep_bytes=[n for n, t in types.items() if t in ("B", "BS", "BOOL")],
    )


@dataclass
class _Work:
    chunk: Chunk
    encoded: list[Any]
    #: rows whose key an earlier row of this pass produced: skipped (duplicate_key), never written
    dups: list[Any] = field(default_factory=list)


class InProcessPass:
    """One table's pass in this process (reader thread, writer threads); see the module docstring.

    ``complete(outcome)`` folds a written chunk into the result, strictly in order (the engine's
    :meth:`~dynamigrate.etl.local.LocalEngine._complete`, which writes the checkpoint).
    """

    def __init__(
        self,
        ctx: EtlContext,
        table: Table,
        writer: Any,
        sink: Any,
        pass_keys: PassKeys,
        seq: int,
        complete: Callable[[ChunkOutcome], None],
        with_keys: bool,
    ):
        self.ctx, self.table, self.writer, self.sink = ctx, table, writer, sink
        self.pass_keys, self.seq, self.complete, self.with_keys = pass_keys, seq, complete, with_keys

    def run(self, entities_done: set[str], resume_entity: str | None, resume_after: list[Any] | None) -> None:
        opts = self.ctx.options
        stop = threading.Event()
        q: queue.Queue[Any] = queue.Queue(maxsize=max(1, opts.queue_chunks))
        producer = threading.Thread(
            target=self._produce,
            args=(q, stop, entities_done, resume_entity, resume_after),
            name=f"dm-reader-{self.table.name}",
            daemon=True,
        )
        producer.start()
        pool = ThreadPoolExecutor(max_workers=max(1, opts.inflight_chunks), thread_name_prefix="dm-chunk")
        inflight: deque[tuple[_Work, Future[Any]]] = deque()
        rejects_logged = [0]
        try:
            while True:
                item = self._get(q, producer)
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                work: _Work = item
                work.encoded, work.dups = self.pass_keys.split(work.encoded, self.seq)
                self.seq += 1
                # the encoder's rejects reach the sink when their chunk completes (_finish), so the
                # counters a checkpoint keeps never include a reject of a chunk still in flight
                good = [e for e in work.encoded if e.reject_code is None]
                fut = pool.submit(
                    write_chunk, self.writer, self.sink, self.table, good, work.dups, rejects_logged
                )
                inflight.append((work, fut))
                while len(inflight) >= max(1, opts.inflight_chunks):
                    self._finish(*inflight.popleft(), rejects_logged)
            while inflight:
                self._finish(*inflight.popleft(), rejects_logged)
        finally:
            stop.set()
            for _, fut in inflight:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            producer.join(timeout=30)

    def _finish(self, work: _Work, fut: Future[Any], rejects_logged: list[int]) -> None:
        br = fut.result()  # raises the writer's error: the checkpoint stays before this chunk
        for enc in work.encoded:
            if enc.reject_code is not None:
                reject(self.sink, self.table, enc, rejects_logged)
        self.complete(outcome_of(work.chunk, work.encoded, br, self.with_keys))

    @staticmethod
    def _get(q: queue.Queue[Any], producer: threading.Thread) -> Any:
        while True:
            try:
                return q.get(timeout=1.0)
            except queue.Empty:
                if not producer.is_alive():
                    # the producer always ends with _DONE or an exception; the queue may hold it
                    try:
                        return q.get_nowait()
                    except queue.Empty:
                        return EngineError(
                            "the reader thread stopped unexpectedly",
                            hint="see the log above for the reader's error; rerun with --resume to continue "
                            "from the last checkpoint",
                        )

    def _produce(
        self,
        q: queue.Queue[Any],
        stop: threading.Event,
        entities_done: set[str],
        resume_entity: str | None,
        resume_after: list[Any] | None,
    ) -> None:
        from dynamigrate.target.encode import ItemEncoder

        def put(obj: Any) -> bool:
            while not stop.is_set():
                try:
                    q.put(obj, timeout=0.5)
                    return True
                except queue.Full:
                    continue
            return False

        try:
            encoder = ItemEncoder(self.table, self.ctx.options.marker_attribute)
            with open_reader(self.ctx, self.table) as reader:
                for name, key in read_plan(self.table, self.ctx, reader):
                    if (name if name is not None else "") in entities_done:
                        continue
                    after = (
                        key_from_json(resume_after)
                        if name == resume_entity and resume_after is not None and key is not None
                        else None
                    )
                    for chunk in reader.iter_entity(name, key, after=after):
                        if stop.is_set():
                            return
                        if not put(_Work(chunk, [encoder.encode(r) for r in chunk.rows])):
                            return
            put(_DONE)
        except BaseException as exc:  # handed to the main thread, which raises it
            put(exc)
