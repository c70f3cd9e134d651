"""Preflight's passes on several connections at once: the same report as one connection, sooner.

MariaDB runs each query on one thread, and preflight's cost is two full evaluations of every view
(the aggregate pass and the duplicate-key pass, :mod:`.preflight`). Here both passes of every table
are queued on ``parallel`` connections of their own, in contract order, and the
findings are put back in the order one connection gives: the aggregate pass's findings, the
duplicates, then the silent NULLs (which run after the aggregate pass of their table, on its
connection). A pass that cannot read the view makes the same ``view_unreadable`` finding.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import Any

from dynamigrate.contract.model import Contract, Table
from dynamigrate.errors import SourceError
from dynamigrate.validate.preflight import (
    Finding,
    TableStats,
    _check_duplicates,
    _silent_nulls,
    _table_pass,
    _unreadable,
    _unreadable_finding,
)


def check_tables(
    connect: Callable[[], Any],
    database: str,
    contract: Contract,
    tables: Sequence[Table],
    schema: Any,
    parallel: int,
) -> list[tuple[TableStats, list[Finding]]]:
    """(stats, findings) of each table, in the order of ``tables``."""
    local = threading.local()
    opened: list[Any] = []
    lock = threading.Lock()

    def conn() -> Any:
        c = getattr(local, "conn", None)
        if c is None:
            c = local.conn = connect()
            with lock:
                opened.append(c)
        return c

    def first(table: Table, stats: TableStats) -> tuple[list[Finding], list[Finding]]:
        c = conn()
        pass1, _error = _table_pass(c, database, table, stats)
        silent: list[Finding] = []
        if schema is not None and not _unreadable(pass1):
            silent = _silent_nulls(c, contract, table, schema)
        return pass1, silent

    def second(table: Table) -> tuple[list[Finding], SourceError | None, float | None]:
        scratch = TableStats(table=table.name, view=table.view_name)
        try:
            found = _check_duplicates(conn(), database, table, scratch)
        except SourceError as exc:
            return [], exc, None
        return found, None, scratch.seconds.get("duplicates")

    out: list[tuple[TableStats, list[Finding]]] = []
    try:
        with cf.ThreadPoolExecutor(max(1, parallel), thread_name_prefix="preflight") as pool:
            jobs = []
            for table in tables:
                stats = TableStats(table=table.name, view=table.view_name)
                jobs.append((table, stats, pool.submit(first, table, stats), pool.submit(second, table)))
            for table, stats, a, b in jobs:
                pass1, silent = a.result()
                dups, error, seconds = b.result()
                if _unreadable(pass1):
                    findings = pass1  # one connection would not have run the other passes
                elif error is not None:
                    findings = [*pass1, _unreadable_finding(table, error)]
                else:
                    findings = [*pass1, *dups, *silent]
                    if seconds is not None:
                        stats.seconds["duplicates"] = seconds
                out.append((stats, findings))
    finally:
        for c in opened:
            with contextlib.suppress(Exception):  # closing is best effort
                c.close()
    return out
