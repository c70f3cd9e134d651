"""Which writer the local engine uses for a table: the write strategy and the fresh-table fast path.

* :func:`resolve_strategy`: ``auto`` is ``transact`` against DynamoDB Local, ``put`` against AWS.
* :func:`fresh_table_fast_path`: ``--strategy batch`` applies only to insert mode into a table this run
  created (then :class:`~dynamigrate.etl.local_writers.FreshTableWriter` writes with BatchWriteItem).
* :func:`make_writer`: the writer and its sink, for the engine's process or a writer process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dynamigrate.etl.local_writers import FreshTableWriter

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import EtlOptions

log = logging.getLogger(__name__)


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


def fresh_table_fast_path(ctx: Any, table: Table) -> bool:
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


def make_writer(
    opts: EtlOptions,
    table: Table,
    client: Any,
    sink: Any,
    *,
    run_id: str,
    endpoint: str | None,
    fresh: bool,
    resumed: bool = False,
) -> Any:
    """The writer of one table: conditional (:class:`TableWriter`), or with ``fresh`` (the fast path
    allowed, :func:`fresh_table_fast_path`) the BatchWriteItem insert of a table this run created."""
    from dynamigrate.target.writer import TableWriter, WriterOptions

    wopts: dict[str, Any] = {
        "mode": opts.write_mode,
        "marker_attribute": opts.marker_attribute,
        "version_attribute": opts.version_attribute,
        "concurrency": opts.concurrency,
        "run_id": run_id,
    }
    conditional = None if opts.strategy == "batch" else opts.strategy
    wopts["strategy"] = resolve_strategy(conditional, endpoint)
    if wopts["strategy"] == "transact" and opts.transact_concurrency:
        wopts["concurrency"] = opts.transact_concurrency
    writer = TableWriter(client, table.name, table, WriterOptions(**wopts), sink)
    if not fresh:
        return writer
    blind = TableWriter(
        client,
        table.name,
        table,
        WriterOptions(
            mode="overwrite",
            marker_attribute=opts.marker_attribute,
            concurrency=opts.batch_concurrency,
            run_id=run_id,
        ),
        sink,
    )
    return FreshTableWriter(
        client, table, run_id, opts.marker_attribute, writer, blind, sink, check_existing=resumed
    )
