"""What the Spark engine checks around a job: the accounting equation and a target that lost its data.

Both use the code the local engine uses (:mod:`dynamigrate.etl.accounting`,
:mod:`dynamigrate.etl.lost_target`); this module only adapts them to the Spark job's checkpoints:

* the source rows are counted in the base tables (``COUNT(*)`` per entity, with its ``filter``) before
  and after the job, apart from the JDBC reads; the job's per-entity counters (every Spark partition
  reads one entity) must add up, else the table FAILS with the equation;
* before a resumed job skips the partitions an earlier invocation finished, a sample of the keys it
  recorded as written is read back; when the target lost them (table deleted and created again, an
  in-memory endpoint restarted), the table is loaded again from its start.

When a table must be loaded again (numbers that did not add up, a lost target), its partition
checkpoints and partition files are moved aside (``spark-checkpoints/<T>.<reason>-<time>``), so the
next invocation reads every partition again (writes are conditional: a reload is always safe).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.accounting import SourceCount, TableAccount
    from dynamigrate.etl.base import EtlContext, TableResult
    from dynamigrate.runstate import RunDir

log = logging.getLogger(__name__)


def count_sources(ctx: EtlContext, table: Table) -> dict[str, SourceCount]:
    """Every entity's source rows, counted in its base table (a MySQL connection of the driver)."""
    from pymysql import MySQLError

    from dynamigrate.etl.accounting import count_sources as count
    from dynamigrate.source.connect import connect, translate_error

    settings = ctx.config.mysql
    try:
        conn = connect(settings, ctx.database or settings.database)
        try:
            return count(conn, table, ctx.schema)
        finally:
            conn.close()
    except MySQLError as exc:
        raise translate_error(
            exc, settings=settings, context="counting the source rows failed", table=table.name
        ) from None


def check_account(
    ctx: EtlContext,
    table: Table,
    result: TableResult,
    before: dict[str, SourceCount],
    set_aside_checkpoints: bool = True,
) -> TableAccount:
    """Count the source again and check the equation; sets the result's accounting, and its status
    and error when the numbers do not add up (then, with ``set_aside_checkpoints``, the table's
    checkpoints are moved aside: the next invocation reads every partition again)."""
    from dynamigrate.etl.accounting import settle

    acc = settle(ctx.run, table.name, result, before, count_sources(ctx, table))
    if acc.ok:
        return acc
    result.status = "failed"
    again = "rerun with --resume" if set_aside_checkpoints else "run the table again (a new run)"
    result.error = (
        acc.failure_message(table.name)
        + f"\nhint: {again}: every partition of the table is read again (writes are idempotent); if "
        "the numbers still differ, check the view against the contract (`dynamigrate validate`) and the "
        "source for rows changing during the load"
    )
    if set_aside_checkpoints:
        set_aside(ctx.run, table.name, "mismatch")
    return acc


def set_aside(run: RunDir, table: str, reason: str) -> None:
    """Move the table's partition checkpoints and files aside: the next job reads everything again."""
    from dynamigrate.etl.spark_job import checkpoint_dir, parts_dir

    stamp = f"{reason}-{int(time.time())}"
    for rel in (checkpoint_dir(table), parts_dir(table)):
        path = run.path / rel.rstrip("/")
        if path.exists():
            path.rename(path.with_name(f"{path.name}.{stamp}"))
    # the table's rejected rows and conflicts come again with the new partitions: the run files keep
    # the other tables' lines only (the whole files are kept apart, named with the stamp)
    for name in ("rejected.jsonl", "conflicts.jsonl"):
        old = run.set_aside(name, f"{table}.{stamp}")
        if old is not None:
            from dynamigrate.runstate import read_jsonl

            run.writer(name).write_many([r for r in read_jsonl(old) if r.get("table") != table])


def reload_if_target_lost(ctx: EtlContext, table: Table, result: TableResult, client: Any) -> bool:
    """Before resuming: when the target no longer holds what earlier partitions wrote, set the table's
    checkpoints aside (a full reload) and keep the old written keys apart. True when it did."""
    from dynamigrate.etl.lost_target import check_target
    from dynamigrate.etl.spark_job import checkpoint_dir

    run = ctx.run
    if not (run.path / checkpoint_dir(table.name)).exists():
        return False
    check = check_target(client, table.name, run.file(run.written_file(table.name)))
    if not check.lost:
        return False
    reason = f"the target lost its data: {check.describe()}"
    log.warning("table %s: loading it again from its start (%s)", table.name, reason)
    set_aside(run, table.name, "lost-target")
    # the keys of items that are gone: kept apart, the reload records its own
    run.set_aside(run.written_file(table.name), f"before-reload-{int(time.time())}")
    result.extra["reloaded"] = reason
    run.event("table_reloaded", table=table.name, reason=reason)
    return True
