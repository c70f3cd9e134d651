"""The local engine: streams a view from MySQL and writes its items to DynamoDB, in this process.

Threads and queues (see docs/etl.md)::

    reader thread                       main thread                     writer (TableWriter)
    view chunk -> encode rows ──► queue(queue_chunks) ──► submit chunk ──► inflight_chunks chunks
      (SSCursor, key windows)            in order: wait oldest chunk,       being written, each by
                                         record seen keys, checkpoint       `concurrency` requests

* Memory is bounded by ``(queue_chunks + inflight_chunks + 1) * chunk_rows`` rows whatever the size of
  the table.
* Chunks are completed strictly in order; after a chunk is fully written the checkpoint
  ``checkpoints/<T>.json`` (entity, last key window's upper key, entities done, counters) is replaced
  atomically. A run killed at any moment resumes after the last checkpoint, so it redoes at most the
  chunks that were in flight (``inflight_chunks * chunk_rows`` rows; one chunk with
  ``inflight_chunks=1``). Redone writes are harmless: every write is conditional and idempotent.
* Rows the encoder rejects never reach DynamoDB: they go to ``rejected.jsonl`` through the writer's
  sink, are counted by reason, and the run continues.
* Writes are conditional by default: strategy ``auto`` is ``transact`` against a local endpoint and
  ``put`` against AWS (:func:`resolve_strategy`). ``--strategy batch`` (explicit opt-in) loads a table
  this run created with BatchWriteItem (:class:`FreshTableWriter`): fastest, but only safe while no
  one else writes to that table during the load.
* A row whose DynamoDB key an earlier row of the pass produced (duplicate keys, any chunk) is never
  sent: it is skipped (``duplicate_key``), counted and listed in ``duplicates/<T>.jsonl``
  (:mod:`dynamigrate.etl.pass_keys`; survives a resume).
* In ``sync`` mode the keys produced by the view are kept in an on-disk SQLite set
  (``seen/<T>.sqlite``, bounded memory, survives a resume); after the pass, migration-owned items
  (those carrying the marker) whose key was not produced are reported as ``missing_source`` and, with
  ``--delete-missing`` only, deleted conditionally (only while their marker is unchanged).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.contract.model import Table
from dynamigrate.errors import DynamigrateError, EngineError
from dynamigrate.etl.accounting import SourceCount, count_sources, settle
from dynamigrate.etl.base import RETRY_NAMES, EtlContext, TableResult, register_engine, utc_iso
from dynamigrate.etl.local_writers import FreshTableWriter, SeenKeys, canonical_key
from dynamigrate.etl.pass_keys import PassKeys
from dynamigrate.runstate import safe_name
from dynamigrate.source.keys import key_from_json, key_plan
from dynamigrate.source.reader import Chunk, ViewReader

log = logging.getLogger(__name__)


def _error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    from botocore.exceptions import BotoCoreError, ClientError
    from pymysql import MySQLError

    return (ClientError, BotoCoreError), (MySQLError,)


_BOTO_ERRORS, _MYSQL_ERRORS = _error_types()

_DONE = object()
#: How many rejected rows per table are logged at WARNING (all of them are in rejected.jsonl).
LOG_REJECTS = 5
#: How many missing-source examples a result keeps.
MISSING_EXAMPLES = 20


@dataclass
class _Work:
    chunk: Chunk
    encoded: list[Any]
    #: rows whose key an earlier row of this pass produced: skipped (duplicate_key), never written
    dups: list[Any] = field(default_factory=list)


class LocalEngine:
    name = "local"

    # -- entry point ----------------------------------------------------------------------------
    def run_table(self, ctx: EtlContext, table: Table) -> TableResult:
        run = ctx.run
        ckpt_name = run.checkpoint_file(table.name)
        ckpt = run.read_json(ckpt_name) or {}
        lost = self._target_lost(ctx, table, ckpt) if ckpt.get("status") == "done" else None
        if ckpt.get("status") == "done" and ckpt.get("result") and lost is None:
            result = TableResult.from_dict(ckpt["result"])
            result.extra["resumed"] = "already complete"
            log.info("table %s: already complete in run %s, skipped", table.name, run.run_id)
            if ctx.progress:
                ctx.progress.finish_table(result)
            return result

        result = TableResult(table=table.name, engine=self.name, status="running", started=utc_iso())
        resumed = bool(ckpt)  # items of an earlier attempt may exist: the fresh-table writer reads first
        t0 = time.monotonic()
        prior_duration = float(ckpt.get("duration") or 0.0)
        if ctx.progress:
            ctx.progress.start_table(table.name, None)
        try:
            ckpt = self._reload_if_needed(ctx, table, ckpt, result, lost)
            if ckpt:
                self._restore(ckpt, result)
            before = self._count_sources(ctx, table, result)
            self._load(ctx, table, result, ckpt, prior_duration, t0, resumed)
            self._account(ctx, table, result, before)
        except KeyboardInterrupt:
            result.status = "interrupted"
            result.error = "interrupted; rerun with --resume to continue from the last checkpoint"
            raise
        except DynamigrateError as exc:
            self._fail(table, result, exc)
        except _BOTO_ERRORS as exc:  # a DynamoDB error no writer path translated: the table fails
            from dynamigrate.target.retry import is_table_error, table_error, terminal_error

            err = (
                table_error(exc, table=table.name)
                if is_table_error(exc)
                else terminal_error(exc, table=table.name)
            )
            self._fail(table, result, err)
        finally:
            result.duration = prior_duration + (time.monotonic() - t0)
            result.finished = utc_iso()
            if result.status == "done":
                self._write_checkpoint(ctx, table, result, ckpt_state=None, status="done")
            run.update_state(tables={table.name: result.to_dict()})
            if ctx.progress:
                ctx.progress.finish_table(result)
        return result

    @staticmethod
    def _fail(table: Table, result: TableResult, exc: DynamigrateError) -> None:
        result.status = "failed"
        result.error = str(exc)
        log.error(
            "table %s failed: %s",
            table.name,
            exc,
            extra={"fields": {"table": table.name, **{k: str(v) for k, v in exc.where.items()}}},
        )

    @staticmethod
    def _restore(ckpt: dict[str, Any], result: TableResult) -> None:
        result.restore(ckpt.get("counters") or {})
        result.resumed_from = {
            "entity": ckpt.get("entity"),
            "after_key": ckpt.get("after_key"),
            "entities_done": ckpt.get("entities_done", []),
            "read": result.read,
            "written": result.written,
        }
        if ckpt.get("started"):
            result.started = ckpt["started"]
        log.info(
            "table %s: resuming after %s rows (entity %s, key > %s)",
            result.table,
            result.read,
            ckpt.get("entity"),
            ckpt.get("after_key"),
        )

    def _reload_if_needed(
        self,
        ctx: EtlContext,
        table: Table,
        ckpt: dict[str, Any],
        result: TableResult,
        lost: str | None = None,
    ) -> dict[str, Any]:
        """The checkpoint to resume from, or {} when the table must be loaded again from its start: its
        numbers did not add up last time, or the target lost what the checkpoint says was written."""
        if not ckpt:
            return ckpt
        reason = str(ckpt["reload"]) if ckpt.get("reload") else lost or self._target_lost(ctx, table, ckpt)
        if reason is None:
            return ckpt
        log.warning(
            "table %s: loading it again from its start (%s)",
            table.name,
            reason,
            extra={"fields": {"table": table.name}},
        )
        written = ctx.run.file(ctx.run.written_file(table.name))
        if written.exists():  # the keys of items that are gone: kept apart, the new load records its own
            written.rename(
                written.with_name(f"{written.stem}.before-reload-{int(time.time())}{written.suffix}")
            )
        result.extra["reloaded"] = reason
        ctx.run.event("table_reloaded", table=table.name, reason=reason)
        return {}

    @staticmethod
    def _target_lost(ctx: EtlContext, table: Table, ckpt: dict[str, Any]) -> str | None:
        """Why the target no longer holds what the checkpoint says was written, or None."""
        if int((ckpt.get("counters") or {}).get("written") or 0) <= 0:
            return None
        from dynamigrate.etl.lost_target import check_target

        check = check_target(ctx.client(), table.name, ctx.run.file(ctx.run.written_file(table.name)))
        return f"the target lost its data: {check.describe()}" if check.lost else None

    def _count_sources(self, ctx: EtlContext, table: Table, result: TableResult) -> dict[str, SourceCount]:
        """The source rows of every entity, counted apart from the reader (the accounting equation)."""
        from dynamigrate.source.connect import connect, translate_error

        settings = ctx.config.mysql
        try:
            conn = connect(settings, ctx.database or settings.database)
            try:
                counts = count_sources(conn, table, ctx.schema)
            finally:
                conn.close()
        except _MYSQL_ERRORS as exc:
            raise translate_error(
                exc, settings=settings, context="counting the source rows failed", table=table.name
            ) from None
        result.total = sum(c.kept for c in counts.values())
        if ctx.progress:
            ctx.progress.set_total(table.name, result.total)
        return counts

    def _account(
        self, ctx: EtlContext, table: Table, result: TableResult, before: dict[str, SourceCount]
    ) -> None:
        """Count the source again and check the equation; a table whose numbers do not add up fails
        and is loaded again from its start by --resume."""
        after = self._count_sources(ctx, table, result)
        acc = settle(ctx.run, table.name, result, before, after)
        if acc.ok:
            result.status = "done"
            return
        result.status = "failed"
        result.error = (
            acc.failure_message(table.name)
            + "\nhint: rerun with --resume: the table is loaded again from its "
            "start (writes are idempotent); if the numbers still differ, check the contract's joins "
            "(`dynamigrate contract check`) and the source for rows changing during the load"
        )
        log.error("%s", result.error, extra={"fields": {"table": table.name}})
        self._write_checkpoint(
            ctx, table, result, ckpt_state=None, status="failed", reload=acc.table.equation()
        )

    # -- the load -------------------------------------------------------------------------------
    def _load(
        self,
        ctx: EtlContext,
        table: Table,
        result: TableResult,
        ckpt: dict[str, Any],
        prior_duration: float,
        t0: float,
        resumed: bool = False,
    ) -> None:
        opts = ctx.options
        client = ctx.client()
        writer, sink = self._make_writer(ctx, table, client, resumed=resumed)
        seen = (
            SeenKeys(ctx.run.file(f"seen/{safe_name(table.name)}.sqlite")) if self._tracks_seen(ctx) else None
        )
        # keys produced by earlier rows of this pass (chunks after the last checkpoint are forgotten)
        pass_keys = PassKeys(ctx.run.file(f"seen/{safe_name(table.name)}.pass.sqlite"), result.chunks)
        seq = result.chunks
        entities_done = list(ckpt.get("entities_done") or [])
        state: dict[str, Any] = {
            "entities_done": entities_done,
            "entity": ckpt.get("entity"),
            "after_key": ckpt.get("after_key"),
            "prior_duration": prior_duration,
            "t0": t0,
        }
        resume_entity = ckpt.get("entity")
        resume_after = ckpt.get("after_key")
        stop = threading.Event()
        q: queue.Queue[Any] = queue.Queue(maxsize=max(1, opts.queue_chunks))
        producer = threading.Thread(
            target=self._produce,
            args=(ctx, table, q, stop, set(entities_done), resume_entity, resume_after),
            name=f"dm-reader-{table.name}",
            daemon=True,
        )
        producer.start()
        pool = ThreadPoolExecutor(max_workers=max(1, opts.inflight_chunks), thread_name_prefix="dm-chunk")
        inflight: deque[tuple[_Work, Future[Any]]] = deque()
        rejects_logged = [0]
        base_rejected = dict(result.rejected)
        # retries as the writer counted them, failed batches included (a batch that gave up after its
        # attempts returns no result, but its retries happened)
        base_retries = {name: getattr(result, name) for name in RETRY_NAMES}
        try:
            while True:
                item = self._get(q, producer)
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                work: _Work = item
                work.encoded, work.dups = pass_keys.split(work.encoded, seq)
                seq += 1
                fut = pool.submit(self._write_chunk, writer, sink, table, work, rejects_logged)
                inflight.append((work, fut))
                while len(inflight) >= max(1, opts.inflight_chunks):
                    self._complete(
                        ctx,
                        table,
                        result,
                        state,
                        seen,
                        sink,
                        base_rejected,
                        base_retries,
                        *inflight.popleft(),
                    )
            while inflight:
                self._complete(
                    ctx, table, result, state, seen, sink, base_rejected, base_retries, *inflight.popleft()
                )
            self._report_duplicates(ctx, table, pass_keys, result)
            for name, n in sorted(result.empty_sets.items()):
                log.warning(
                    "table %s: %d item(s) without '%s': the row's set was empty and DynamoDB cannot store an "
                    "empty set (counted in the report; use an L attribute if an empty list must be kept)",
                    table.name,
                    n,
                    name,
                    extra={"fields": {"table": table.name, "attribute": name, "empty_sets": n}},
                )
            if seen is not None and opts.check_missing:
                self._check_missing(ctx, table, client, seen, result)
        finally:
            pass_keys.close()
            stop.set()
            for _, fut in inflight:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)
            producer.join(timeout=30)
            if seen is not None:
                seen.close()
            sink.flush()
            self._take_retries(result, base_retries, sink.counters)
            close = getattr(writer, "close", None)
            if callable(close):
                close()

    @staticmethod
    def _take_retries(result: TableResult, base: dict[str, int], counters: dict[str, int]) -> None:
        for name in RETRY_NAMES:
            setattr(result, name, base[name] + int(counters.get(name, 0)))

    def _tracks_seen(self, ctx: EtlContext) -> bool:
        return ctx.options.write_mode == "sync" and bool(ctx.options.marker_attribute)

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

    # -- reader thread --------------------------------------------------------------------------
    def _produce(
        self,
        ctx: EtlContext,
        table: Table,
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
            encoder = ItemEncoder(table, ctx.options.marker_attribute)
            types = table.attribute_types()
            keep_bytes = [n for n, t in types.items() if t in ("B", "BS", "BOOL")]
            settings = ctx.config.mysql
            with ViewReader(
                settings,
                table.view_name,
                database=ctx.database or settings.database,
                chunk_rows=ctx.options.chunk_rows,
                keep_bytes=keep_bytes,
            ) as reader:
                keys = key_plan(table, ctx.schema)
                plan: list[tuple[str | None, Any]] = [
                    (e.entity_type, keys.entity(e.entity_type)) for e in table.entities
                ]
                if not reader.has_entity:  # a hand-written view without _dm_entity: one pass
                    plan = [(None, keys.entity(table.entities[0].entity_type) if len(plan) == 1 else None)]
                for name, key in plan:
                    if name is not None and name in entities_done:
                        continue
                    if name is None and "" in entities_done:
                        continue
                    after = (
                        key_from_json(resume_after)
                        if name == resume_entity and resume_after is not None and key is not None
                        else None
                    )
                    for chunk in reader.iter_entity(name, key, after=after):
                        if stop.is_set():
                            return
                        work = _Work(chunk, [encoder.encode(r) for r in chunk.rows])
                        if not put(work):
                            return
            put(_DONE)
        except BaseException as exc:  # handed to the main thread, which raises it
            put(exc)

    # -- writer side ----------------------------------------------------------------------------
    def _make_writer(
        self, ctx: EtlContext, table: Table, client: Any, resumed: bool = False
    ) -> tuple[Any, Any]:
        from dynamigrate.target.writer import RunDirSink, TableWriter, WriterOptions

        opts = ctx.options
        wopts: dict[str, Any] = {
            "mode": opts.write_mode,
            "marker_attribute": opts.marker_attribute,
            "version_attribute": opts.version_attribute,
            "concurrency": opts.concurrency,
            "run_id": ctx.run_id,
        }
        conditional = None if opts.strategy == "batch" else opts.strategy
        wopts["strategy"] = resolve_strategy(conditional, ctx.config.aws.dynamodb_endpoint)
        if wopts["strategy"] == "transact" and opts.transact_concurrency:
            wopts["concurrency"] = opts.transact_concurrency
        sink = RunDirSink(ctx.run, table.name)
        writer = TableWriter(client, table.name, table, WriterOptions(**wopts), sink)
        if self._fresh_table_fast_path(ctx, table):
            blind = TableWriter(
                client,
                table.name,
                table,
                WriterOptions(
                    mode="overwrite",
                    marker_attribute=opts.marker_attribute,
                    concurrency=opts.batch_concurrency,
                    run_id=ctx.run_id,
                ),
                sink,
            )
            log.info(
                "table %s was created by this run and --strategy batch was given: insert via "
                "BatchWriteItem (safe only while nobody else writes to it)",
                table.name,
            )
            fresh = FreshTableWriter(
                client, table, ctx.run_id, opts.marker_attribute, writer, blind, sink, check_existing=resumed
            )
            return fresh, sink
        return writer, sink

    @staticmethod
    def _fresh_table_fast_path(ctx: EtlContext, table: Table) -> bool:
        """``--strategy batch``, insert mode, and a table this run created: BatchWriteItem is allowed.

        Never the default: during a migration with dual writes the application may write into the new
        table while it loads, and an unconditional write would replace its item (the insert promise).
        """
        opts = ctx.options
        if opts.strategy != "batch":
            return False
        created = {t.get("name") for t in (ctx.run.manifest().get("tables") or [])}
        if opts.write_mode != "insert" or table.name not in created:
            log.warning(
                "table %s: --strategy batch applies only to insert mode into a table this run created; "
                "using conditional writes",
                table.name,
            )
            return False
        return True

    def _write_chunk(
        self, writer: Any, sink: Any, table: Table, work: _Work, rejects_logged: list[int]
    ) -> Any:
        from dynamigrate.target.writer import BatchResult

        good = []
        for enc in work.encoded:
            if enc.reject_code is None:
                good.append(enc)
            else:
                self._reject(sink, table, enc, rejects_logged)
        for enc in work.dups:
            sink.on_skipped(enc.key, "duplicate_key")
        if not good:
            return BatchResult(skipped=len(work.dups)) if work.dups else None
        br = writer.write_batch(good)
        br.skipped += len(work.dups)
        return br

    @staticmethod
    def _report_duplicates(ctx: EtlContext, table: Table, pass_keys: PassKeys, result: TableResult) -> None:
        """Rows skipped as duplicate keys: counted in the result, listed in ``duplicates/<T>.jsonl``."""
        n = pass_keys.duplicates()
        if not n:
            return
        name = f"duplicates/{safe_name(table.name)}.jsonl"
        path = ctx.run.file(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:  # rewritten whole: a resumed pass lists each key once
            for k in pass_keys.all_keys():
                fh.write(json.dumps({"table": table.name, "key": json.loads(k)}, ensure_ascii=False) + "\n")
        result.extra["duplicate_keys"] = {"skipped": n, "examples": pass_keys.examples(5), "file": name}
        log.warning(
            "table %s: %d source row(s) produce the DynamoDB key of an earlier row: skipped (duplicate_key), "
            "one item per key; the keys are in %s. Make the key unique in the contract (e.g. add a column "
            "to the sort key) or deduplicate the source.",
            table.name,
            n,
            name,
            extra={"fields": {"table": table.name, "duplicate_keys": n}},
        )

    def _reject(self, sink: Any, table: Table, enc: Any, rejects_logged: list[int]) -> None:
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

    def _complete(
        self,
        ctx: EtlContext,
        table: Table,
        result: TableResult,
        state: dict[str, Any],
        seen: SeenKeys | None,
        sink: Any,
        base_rejected: dict[str, int],
        base_retries: dict[str, int],
        work: _Work,
        fut: Future[Any],
    ) -> None:
        br = fut.result()  # raises the writer's error: the checkpoint stays before this chunk
        chunk = work.chunk
        result.read += len(chunk.rows)
        result.chunks += 1
        result.count_entity(
            chunk.entity if chunk.entity is not None else "",
            read=len(chunk.rows),
            rejected=sum(1 for e in work.encoded if e.reject_code is not None) + (br.rejected if br else 0),
            written=br.written if br else 0,
            skipped=br.skipped if br else 0,
            unchanged=br.unchanged if br else 0,
            conflicts=br.conflicts if br else 0,
        )
        for enc in work.encoded:
            if enc.reject_code is None:
                result.bytes += enc.size
                if enc.omitted_gsi_keys:
                    result.omitted_gsi_keys += 1
                for name in enc.empty_sets:
                    result.empty_sets[name] = result.empty_sets.get(name, 0) + 1
        if br is not None:
            result.written += int(br.written)
            result.skipped += int(br.skipped)
            result.unchanged += int(br.unchanged)
            result.conflicts += int(br.conflicts)
        # rejected by reason: encoder rejects (this engine) and writer rejects, as the sink counted them
        counters = sink.counters
        self._take_retries(result, base_retries, counters)
        result.rejected = dict(base_rejected)
        for name, n in list(counters.items()):
            if name.startswith("rejected:"):
                result.add_rejected(name.split(":", 1)[1], n)
        if seen is not None:
            seen.add_many([canonical_key(e.key) for e in work.encoded if e.reject_code is None])
        if chunk.resumable and chunk.after_key is not None:
            state["entity"] = chunk.entity
            state["after_key"] = chunk.after_key
        if chunk.entity_done:
            done_name = chunk.entity if chunk.entity is not None else ""
            if done_name not in state["entities_done"]:
                state["entities_done"].append(done_name)
            state["entity"], state["after_key"] = None, None
        result.duration = state["prior_duration"] + (time.monotonic() - state["t0"])
        sink.flush()  # the written keys reach written/<T>.jsonl before the checkpoint moves past them
        if chunk.resumable or chunk.entity_done:
            self._write_checkpoint(ctx, table, result, ckpt_state=state, status="running")
        if ctx.progress:
            ctx.progress.update(result)

    def _write_checkpoint(
        self,
        ctx: EtlContext,
        table: Table,
        result: TableResult,
        ckpt_state: dict[str, Any] | None,
        status: str,
        reload: str | None = None,
    ) -> None:
        doc: dict[str, Any] = {
            "table": table.name,
            "run_id": ctx.run_id,
            "engine": self.name,
            "status": status,
            "view": table.view_name,
            "chunk_rows": ctx.options.chunk_rows,
            "started": result.started,
            "duration": result.duration,
            "counters": result.counters(),
            "updated_at": utc_iso(),
        }
        if ckpt_state is not None:
            doc.update(
                entity=ckpt_state["entity"],
                after_key=ckpt_state["after_key"],
                entities_done=list(ckpt_state["entities_done"]),
            )
        if status == "done":
            doc["result"] = result.to_dict()
        if reload:  # --resume loads the table again from its start
            doc["reload"] = reload
        ctx.run.write_json(ctx.run.checkpoint_file(table.name), doc)

    # -- sync: vanished source rows -------------------------------------------------------------
    def _check_missing(
        self, ctx: EtlContext, table: Table, client: Any, seen: SeenKeys, result: TableResult
    ) -> None:
        marker = ctx.options.marker_attribute
        assert marker
        names = {f"#k{i}": k for i, k in enumerate(table.key_names)}
        names["#m"] = marker
        kwargs: dict[str, Any] = {
            "TableName": table.name,
            "ProjectionExpression": ", ".join(names),
            "FilterExpression": "attribute_exists(#m)",
            "ExpressionAttributeNames": names,
        }
        missing = 0
        deleted = 0
        examples: list[dict[str, Any]] = []
        delete_if_marker = None
        if ctx.options.delete_missing:
            from dynamigrate.target.writer import delete_if_marker as _dim

            delete_if_marker = _dim
        for page in _scan_pages(client, kwargs):
            keyed = []
            for item in page:
                key = {k: item[k] for k in table.key_names if k in item}
                keyed.append((canonical_key(key), key, item.get(marker, {}).get("S")))
            gone = seen.missing([k for k, _, _ in keyed])
            for text, key, mark in keyed:
                if text not in gone:
                    continue
                missing += 1
                if len(examples) < MISSING_EXAMPLES:
                    examples.append({"key": json.loads(text), "marker": mark})
                if (
                    delete_if_marker is not None
                    and mark is not None
                    and delete_if_marker(client, table.name, key, mark)
                ):
                    deleted += 1
        result.missing_source = missing
        result.missing_examples = examples
        result.deleted_missing = deleted
        if missing:
            what = (
                f"{deleted} deleted (--delete-missing)"
                if ctx.options.delete_missing
                else "kept; rerun with --delete-missing to delete them"
            )
            log.warning(
                "table %s: %d migration-owned item(s) have no source row any more: %s",
                table.name,
                missing,
                what,
                extra={"fields": {"table": table.name, "missing_source": missing}},
            )
        ctx.run.event(
            "missing_source", table=table.name, missing=missing, deleted=deleted, examples=examples[:5]
        )

    @staticmethod
    def _old_image(ctx: EtlContext, table: Table, key: dict[str, Any], old: dict[str, Any]) -> None:
        from dynamigrate.target.encode import key_for_report

        ctx.run.append(
            ctx.run.old_images_file(table.name),
            {"key": key_for_report(key), "old": key_for_report(old), "ts": time.time(), "deleted": True},
        )


def resolve_strategy(strategy: str | None, endpoint: str | None) -> str:
    """``auto`` (the default): ``transact`` against a local endpoint, ``put`` against AWS.

    DynamoDB Local serves one TransactWriteItems of 100 conditional puts about as fast as a
    BatchWriteItem of 25 unconditional ones, but each PutItem costs a full request (~7x slower in
    bench/bench_local_engine.py). On AWS a transaction costs twice the write capacity, and many
    concurrent PutItems are cheap, so ``put`` is the default there.
    """
    if strategy and strategy != "auto":
        return strategy
    from dynamigrate.target.client import is_local_endpoint

    return "transact" if is_local_endpoint(endpoint) else "put"


def _scan_pages(client: Any, kwargs: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    from botocore.exceptions import ClientError

    from dynamigrate.target.retry import RetryPolicy, terminal_error

    policy = RetryPolicy()
    start: dict[str, Any] | None = None
    while True:
        args = dict(kwargs)
        if start:
            args["ExclusiveStartKey"] = start
        try:
            resp = policy.call(client.scan, what=f"Scan {kwargs['TableName']}", **args)
        except ClientError as exc:
            raise terminal_error(exc, table=kwargs["TableName"]) from None
        yield resp.get("Items", [])
        start = resp.get("LastEvaluatedKey")
        if not start:
            return


register_engine("local", LocalEngine)
