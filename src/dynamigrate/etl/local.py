"""The local engine: streams a view from MySQL and writes its items to DynamoDB.

One table at a time (:meth:`LocalEngine.run_table`): resume from the checkpoint, count the source
(the accounting equation, :mod:`dynamigrate.etl.accounting`), the pass, the equation again.

Modules of the engine, one job each:

* this module: the table's life cycle, folding written chunks into the result, checkpoints;
* :mod:`~dynamigrate.etl.local_pass`: the pass in this process (reader thread, writer threads) and
  what a chunk did (:class:`ChunkOutcome`);
* :mod:`~dynamigrate.etl.local_strategy`: which writer (``auto``/``put``/``transact``/``batch``);
* :mod:`~dynamigrate.etl.local_writers`: the BatchWriteItem writer of fresh tables, the seen-keys set;
* :mod:`~dynamigrate.etl.pass_keys`: duplicate keys across chunks;
* :mod:`~dynamigrate.etl.local_sync`: sync mode's missing-source check.

Guarantees (docs/etl.md):

* Chunks are completed strictly in order; after a chunk is fully written the checkpoint
  ``checkpoints/<T>.json`` (entity, last key window's upper key, entities done, counters) is replaced
  atomically. A run killed at any moment resumes after the last checkpoint, so it redoes at most the
  chunks that were in flight. Redone writes are harmless: every write is conditional and idempotent.
* Rows the encoder rejects never reach DynamoDB: they go to ``rejected.jsonl`` through the writer's
  sink, are counted by reason, and the run continues.
* Writes are conditional by default: strategy ``auto`` is ``transact`` against a local endpoint and
  ``put`` against AWS (:func:`resolve_strategy`). ``--strategy batch`` (explicit opt-in) loads a table
  this run created with BatchWriteItem (:class:`FreshTableWriter`): fastest, but only safe while no
  one else writes to that table during the load.
* A row whose DynamoDB key an earlier row of the pass produced (duplicate keys, any chunk) is never
  sent: it is skipped (``duplicate_key``), counted and listed in ``duplicates/<T>.jsonl``.
* In ``sync`` mode the keys produced by the view are kept in an on-disk SQLite set
  (``seen/<T>.sqlite``); after the pass, migration-owned items whose key was not produced are reported
  as ``missing_source`` and, with ``--delete-missing`` only, deleted conditionally.
"""

from __future__ import annotations

import logging
import time
import weakref
from typing import Any

from dynamigrate.contract.model import Table
from dynamigrate.errors import DynamigrateError
from dynamigrate.etl.accounting import SourceCount, count_sources, settle
from dynamigrate.etl.base import RETRY_NAMES, EtlContext, TableResult, register_engine, utc_iso
from dynamigrate.etl.local_pass import ChunkOutcome, InProcessPass, report_duplicates
from dynamigrate.etl.local_strategy import fresh_table_fast_path, make_writer, resolve_strategy
from dynamigrate.etl.local_sync import check_missing
from dynamigrate.etl.local_workers import MergedSink, WorkerPool, WorkersPass, choose_workers
from dynamigrate.etl.local_writers import FreshTableWriter, SeenKeys, canonical_key
from dynamigrate.etl.pass_keys import PassKeys
from dynamigrate.runstate import safe_name
from dynamigrate.target.writer import RunDirSink

__all__ = ["FreshTableWriter", "LocalEngine", "SeenKeys", "canonical_key", "resolve_strategy"]

log = logging.getLogger(__name__)


def _error_types() -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...]]:
    from botocore.exceptions import BotoCoreError, ClientError
    from pymysql import MySQLError

    return (ClientError, BotoCoreError), (MySQLError,)


_BOTO_ERRORS, _MYSQL_ERRORS = _error_types()
#: what reading back a done checkpoint's target can raise (the table then fails, the run goes on)
_CHECK_ERRORS: tuple[type[BaseException], ...] = (DynamigrateError, *_BOTO_ERRORS)


class LocalEngine:
    name = "local"

    # -- entry point ----------------------------------------------------------------------------
    def run_table(self, ctx: EtlContext, table: Table) -> TableResult:
        run = ctx.run
        ckpt_name = run.checkpoint_file(table.name)
        ckpt = run.read_json(ckpt_name) or {}
        lost: str | None = None
        if ckpt.get("status") == "done":
            try:
                lost = self._target_lost(ctx, table, ckpt)
            except _CHECK_ERRORS:
                # the target cannot be read back (gone, access denied...): not taken as complete; the
                # check runs again below, where its error fails this table and the run goes on
                pass
            else:
                if ckpt.get("result") and lost is None:
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
        fresh = self._fresh_table_fast_path(ctx, table)
        if fresh:
            log.info(
                "table %s was created by this run and --strategy batch was given: insert via "
                "BatchWriteItem (safe only while nobody else writes to it)",
                table.name,
            )
        workers = self._choose_workers(ctx, table, result, fresh)
        sink: Any = RunDirSink(ctx.run, table.name) if workers == 1 else MergedSink()
        writer = None
        if workers == 1:
            writer = make_writer(
                opts,
                table,
                client,
                sink,
                run_id=ctx.run_id,
                endpoint=ctx.config.aws.dynamodb_endpoint,
                fresh=fresh,
                resumed=resumed,
            )
        seen = (
            SeenKeys(ctx.run.file(f"seen/{safe_name(table.name)}.sqlite")) if self._tracks_seen(ctx) else None
        )
        # keys produced by earlier rows of this pass (chunks after the last checkpoint are forgotten)
        pass_keys = PassKeys(ctx.run.file(f"seen/{safe_name(table.name)}.pass.sqlite"), result.chunks)
        entities_done = list(ckpt.get("entities_done") or [])
        state: dict[str, Any] = {
            "entities_done": entities_done,
            "entity": ckpt.get("entity"),
            "after_key": ckpt.get("after_key"),
            "prior_duration": prior_duration,
            "t0": t0,
        }
        base_rejected = dict(result.rejected)
        # retries as the writer counted them, failed batches included (a batch that gave up after its
        # attempts returns no result, but its retries happened)
        base_retries = {name: getattr(result, name) for name in RETRY_NAMES}

        def complete(outcome: ChunkOutcome) -> None:
            self._complete(ctx, table, result, state, seen, sink, base_rejected, base_retries, outcome)

        try:
            resume_at = (set(entities_done), ckpt.get("entity"), ckpt.get("after_key"))
            if writer is not None:
                InProcessPass(
                    ctx, table, writer, sink, pass_keys, result.chunks, complete, seen is not None
                ).run(*resume_at)
            else:
                WorkersPass(
                    ctx,
                    table,
                    self._pool_of(workers),
                    sink,
                    pass_keys,
                    result.chunks,
                    complete,
                    with_keys=seen is not None,
                    fresh=fresh,
                    resumed=resumed,
                ).run(*resume_at)
            report_duplicates(ctx, table, pass_keys, result)
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
                check_missing(ctx, table, client, seen, result)
        finally:
            pass_keys.close()
            if seen is not None:
                seen.close()
            sink.flush()
            self._take_retries(result, base_retries, sink.counters)
            if writer is not None:
                writer.close()

    def _pool_of(self, n: int) -> WorkerPool:
        """The engine's writer processes (kept across the tables of the run; a new pool after a table
        that did not end cleanly or for another number of processes)."""
        pool: WorkerPool | None = getattr(self, "_pool", None)
        if pool is not None and pool.usable and pool.n == n:
            return pool
        if pool is not None:
            pool.close(kill=not pool.usable)
        pool = self._pool = WorkerPool(n)
        # the processes end with the engine (the run's ETL phase) or, at the latest, with this process
        weakref.finalize(self, pool.close)
        return pool

    @staticmethod
    def _choose_workers(ctx: EtlContext, table: Table, result: TableResult, fresh: bool) -> int:
        """How many writer processes load the table (``--workers``, else chosen from the strategy and
        the endpoint): said at INFO and kept in the result (state.json, report)."""
        from dynamigrate.target.client import is_local_endpoint

        opts = ctx.options
        endpoint = ctx.config.aws.dynamodb_endpoint
        strategy = (
            "batch"
            if fresh
            else resolve_strategy(None if opts.strategy == "batch" else opts.strategy, endpoint)
        )
        choice = choose_workers(
            opts.workers,
            strategy=strategy,
            local_endpoint=is_local_endpoint(endpoint),
            rows=result.total,
            portable_client=ctx.portable_client,
        )
        result.extra["workers"] = choice.to_dict()
        log.info(
            "table %s: %d writer process(es): %s",
            table.name,
            choice.count,
            choice.why,
            extra={"fields": {"table": table.name, "workers": choice.count}},
        )
        return choice.count

    @staticmethod
    def _take_retries(result: TableResult, base: dict[str, int], counters: dict[str, int]) -> None:
        for name in RETRY_NAMES:
            setattr(result, name, base[name] + int(counters.get(name, 0)))

    def _tracks_seen(self, ctx: EtlContext) -> bool:
        return ctx.options.write_mode == "sync" and bool(ctx.options.marker_attribute)

    #: kept as a method: tests and subclasses look it up on the engine
    _fresh_table_fast_path = staticmethod(fresh_table_fast_path)

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
        out: ChunkOutcome,
    ) -> None:
        """Fold one written chunk into the result (chunks come strictly in order) and move the
        checkpoint past it when it is a resume point."""
        result.read += out.rows
        result.chunks += 1
        result.count_entity(
            out.entity if out.entity is not None else "",
            read=out.rows,
            rejected=out.rejected,
            written=out.written,
            skipped=out.skipped,
            unchanged=out.unchanged,
            conflicts=out.conflicts,
        )
        result.bytes += out.bytes
        result.omitted_gsi_keys += out.omitted_gsi_keys
        for name, n in out.empty_sets.items():
            result.empty_sets[name] = result.empty_sets.get(name, 0) + n
        result.written += out.written
        result.skipped += out.skipped
        result.unchanged += out.unchanged
        result.conflicts += out.conflicts
        # rejected by reason: encoder rejects (this engine) and writer rejects, as the sink counted them
        counters = sink.counters
        self._take_retries(result, base_retries, counters)
        result.rejected = dict(base_rejected)
        for name, n in list(counters.items()):
            if name.startswith("rejected:"):
                result.add_rejected(name.split(":", 1)[1], n)
        if seen is not None and out.keys is not None:
            seen.add_many(out.keys)
        if out.resumable and out.after_key is not None:
            state["entity"] = out.entity
            state["after_key"] = out.after_key
        if out.entity_done:
            done_name = out.entity if out.entity is not None else ""
            if done_name not in state["entities_done"]:
                state["entities_done"].append(done_name)
            state["entity"], state["after_key"] = None, None
        result.duration = state["prior_duration"] + (time.monotonic() - state["t0"])
        sink.flush()  # the written keys reach written/<T>.jsonl before the checkpoint moves past them
        if out.resumable or out.entity_done:
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


register_engine("local", LocalEngine)
