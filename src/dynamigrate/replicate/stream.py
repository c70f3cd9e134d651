"""The replicate loop: binlog row events -> windows of changes -> writes -> checkpoint.

Events are read with ``mysql-replication`` (COM_BINLOG_DUMP by file and position; MariaDB and MySQL
alike). Row events of the source database's watched tables are collected per transaction; a
transaction joins the window when it commits (Xid, or a COMMIT/DDL query). A window is applied when it
is ``window`` seconds old or holds ``max_rows`` row changes, then the position after its last
transaction is checkpointed (``replicate/checkpoint.json``): a kill loses nothing (the window is read
again and its items recomputed: the same content, written once more at most, or found unchanged).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.replicate.apply import Applier, ApplyStats, RowChange
from dynamigrate.replicate.position import (
    Position,
    check_replication_grant,
    check_server,
    start_position,
    translate_stream_error,
    write_checkpoint,
)
from dynamigrate.runstate import RunDir, utcnow

log = logging.getLogger(__name__)

STATE_FILE = "replicate/state.json"
NO_MARKER = "not_written_by_migration"


@dataclass
class ReplicateSummary:
    run_id: str
    started_from: str
    start_source: str
    head_at_start: str
    position: str
    events: int = 0
    transactions: int = 0
    windows: int = 0
    stats: ApplyStats = field(default_factory=ApplyStats)
    lag_seconds: float | None = None
    status: str = "running"
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "started_from": self.started_from,
            "start_source": self.start_source,
            "head_at_start": self.head_at_start,
            "position": self.position,
            "events": self.events,
            "transactions": self.transactions,
            "windows": self.windows,
            "lag_seconds": self.lag_seconds,
            "seconds": round(self.seconds, 3),
            "rows_per_second": round(self.stats.rows / self.seconds, 1) if self.seconds else None,
            **self.stats.as_dict(),
            "conflict_keys": self.stats.conflict_keys[-20:],
            "updated_at": utcnow(),
        }

    def render_text(self) -> str:
        d = self.as_dict()
        lines = [
            f"replicate {d['status']}: run {self.run_id}, from {self.started_from} ({self.start_source}) "
            f"to {self.position}",
            f"  {d['events']} row events in {d['transactions']} transactions, {d['rows']} row changes, "
            f"{d['windows']} windows, {d['seconds']} s",
            f"  items: {d['items_recomputed']} recomputed, {d['written']} written, {d['unchanged']} "
            f"unchanged, {d['deleted']} deleted, {d['rejected']} rejected",
            f"  conflicts (items changed by someone else, left alone): {d['conflicts']}",
        ]
        if d["conflicts"]:
            lines.append("  see replicate/conflicts.jsonl in the run directory")
        if any(k.get("reason") == "not_written_by_migration" for k in self.stats.conflict_keys):
            lines.append(
                f"  some conflicts are items without the migration's marker ('{NO_MARKER}'): the "
                "application wrote them, or their markers were removed (`dynamigrate markers remove`, after "
                "cut-over): replicate leaves such items alone; stop replicating once the application owns the tables"
            )
        return "\n".join(lines)


def _binlog_connection(cfg: Config) -> dict[str, Any]:
    """pymysqlreplication's connection settings from the config's MySQL settings."""
    settings = cfg.mysql.connect_kwargs()
    return {
        "host": settings["host"],
        "port": settings["port"],
        "user": settings["user"],
        "passwd": settings["password"],
    }


def _server_id() -> int:
    # a replica id no real replica is likely to use; unique per process
    return 3_000_000_000 + os.getpid() % 1_000_000


def _changes(event: Any, kind: str) -> list[RowChange]:
    out = []
    fix = _binlog_fixes(getattr(event, "columns", None) or [])
    for row in event.rows:
        if kind == "update":
            before, after = row["before_values"], row["after_values"]
        elif kind == "insert":
            before, after = None, row["values"]
        else:
            before, after = row["values"], None
        out.append(RowChange(event.table, kind, _fixed(before, fix), _fixed(after, fix)))
    return out


#: binlog column types (MySQL's enum_field_types) whose values the binlog library decodes unlike the server
_BIT, _STRING, _VARBINARY_TYPES = 16, 254, (15, 249, 250, 251, 252)


def _binlog_fixes(columns: list[Any]) -> dict[str, Callable[[Any], Any]]:
    """Per column, how to turn the binlog library's value into the column's value as the server reads it:
    a BIT arrives as text of 0/1 digits ('10100101': its number, 165); a BINARY(n) without its trailing
    zero bytes (the binlog strips them: all zeros arrive as ''), binary values that are empty as ''."""
    fixes: dict[str, Callable[[Any], Any]] = {}
    for c in columns:
        name = getattr(c, "name", None)
        binary = getattr(c, "character_set_name", None) == "binary"
        if name is None:
            continue
        if c.type == _BIT:
            fixes[name] = lambda v: int(v, 2) if isinstance(v, str) and v else v
        elif c.type == _STRING and binary and getattr(c, "max_length", None):
            fixes[name] = _binary_fix(int(c.max_length))
        elif c.type in _VARBINARY_TYPES and binary:
            fixes[name] = _binary_fix(None)
    return fixes


def _binary_fix(width: int | None) -> Callable[[Any], Any]:
    def fix(v: Any) -> Any:
        if isinstance(v, str):
            v = v.encode("latin-1", "surrogateescape")
        if isinstance(v, bytes | bytearray) and width is not None:
            v = bytes(v).ljust(width, b"\x00")
        return v

    return fix


def _fixed(values: Any, fix: dict[str, Callable[[Any], Any]]) -> Any:
    if values is None or not fix:
        return values
    return {k: fix[k](v) if k in fix and v is not None else v for k, v in values.items()}


def replicate(
    cfg: Config,
    contract: Contract,
    tables: tuple[Table, ...],
    run: RunDir,
    client: Any,
    *,
    from_position: str | None = None,
    stop_at_head: bool = False,
    window: float = 0.5,
    max_rows: int = 5000,
    stop: threading.Event | None = None,
    conn_factory: Callable[[], Any] | None = None,
) -> ReplicateSummary:
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.event import HeartbeatLogEvent, QueryEvent, RotateEvent, XidEvent
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    from dynamigrate.source.connect import connect

    stop = stop or threading.Event()
    database = cfg.mysql.database
    factory = conn_factory or (lambda: connect(cfg.mysql, database))
    conn = factory()
    try:
        start, source = start_position(run, from_position)
        top = check_server(conn, start)
        check_replication_grant(conn)
    finally:
        conn.close()
    meta = run.meta
    applier = Applier(
        contract,
        tables,
        factory,
        client,
        run,
        run_id=str(meta.get("run_id") or run.run_id),
        marker_attribute=str(meta.get("marker_attribute") or cfg.migration.marker_attribute or "_dm_marker"),
    )
    watched = applier.watched_tables()
    summary = ReplicateSummary(
        run_id=run.run_id,
        started_from=str(start),
        start_source=source,
        head_at_start=str(top),
        position=str(start),
    )
    reader = BinLogStreamReader(
        connection_settings=_binlog_connection(cfg),
        server_id=_server_id(),
        log_file=start.file,
        log_pos=start.pos,
        resume_stream=True,
        blocking=not stop_at_head,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, XidEvent, QueryEvent, RotateEvent]
        + ([] if stop_at_head else [HeartbeatLogEvent]),
        slave_heartbeat=None if stop_at_head else 1,
        only_schemas=[database],  # rows of other databases are not decoded (their commits still move us)
        enable_logging=False,
    )
    t0 = time.monotonic()
    window_rows: list[RowChange] = []
    txn_rows: list[RowChange] = []
    in_txn = False
    boundary = start
    window_started: float | None = None
    last_event_ts: float | None = None

    def flush() -> None:
        nonlocal window_rows, window_started
        if window_rows:
            stats = applier.apply(window_rows)
            summary.stats.add(stats)
            summary.windows += 1
        window_rows, window_started = [], None
        summary.position = str(boundary)
        summary.seconds = time.monotonic() - t0
        if last_event_ts is not None:
            summary.lag_seconds = max(0.0, time.time() - last_event_ts)
        write_checkpoint(run, boundary)
        run.write_json(STATE_FILE, summary.as_dict())

    try:
        run.file("replicate").mkdir(exist_ok=True)
        run.write_json(STATE_FILE, summary.as_dict())
        for event in reader:
            pos = Position(str(reader.log_file), int(reader.log_pos))
            if isinstance(event, (WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent)):
                in_txn = True
                if event.schema == database and str(event.table).lower() in watched:
                    kind = (
                        "insert"
                        if isinstance(event, WriteRowsEvent)
                        else "update"
                        if isinstance(event, UpdateRowsEvent)
                        else "delete"
                    )
                    txn_rows.extend(_changes(event, kind))
                    summary.events += 1
            elif isinstance(event, XidEvent) or (
                isinstance(event, QueryEvent) and _ends_transaction(str(event.query))
            ):
                in_txn = False
                boundary = pos
                last_event_ts = float(event.timestamp)
                summary.transactions += 1
                if txn_rows:
                    window_rows.extend(txn_rows)
                    txn_rows = []
                    if window_started is None:
                        window_started = time.monotonic()
            elif isinstance(event, QueryEvent):  # BEGIN
                in_txn = str(event.query).strip().upper() == "BEGIN"
            elif isinstance(event, RotateEvent) and not in_txn:
                boundary = Position(str(event.next_binlog), int(event.position))
            if in_txn:
                continue
            due = window_started is not None and (
                len(window_rows) >= max_rows or time.monotonic() - window_started >= window
            )
            if due or isinstance(event, HeartbeatLogEvent):
                flush()
            if stop.is_set():
                break
            if stop_at_head and boundary >= top:
                break
        flush()
        summary.status = "stopped" if stop.is_set() else "caught up" if stop_at_head else "stopped"
        if stop_at_head:
            summary.lag_seconds = 0.0
    except BaseException as exc:
        summary.status = "failed"
        translated = translate_stream_error(exc, boundary)
        if translated is not None:
            raise translated from None
        raise
    finally:
        reader.close()
        applier.close()
        summary.seconds = time.monotonic() - t0
        run.write_json(STATE_FILE, summary.as_dict())
    return summary


def _ends_transaction(query: str) -> bool:
    # COMMIT, or a DDL statement (implicitly committed, one event); BEGIN opens a transaction
    return not query.strip().upper().startswith("BEGIN")


def pending_changes(
    cfg: Config, watched: set[str], start: Position, top: Position
) -> tuple[int, float | None]:
    """Row events of the watched tables between ``start`` and ``top`` (not applied yet) and the
    timestamp of the first one: what replicate still has to do. Events of other tables or databases
    do not count."""
    from pymysqlreplication import BinLogStreamReader
    from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

    if start >= top:
        return 0, None
    reader = BinLogStreamReader(
        connection_settings=_binlog_connection(cfg),
        server_id=_server_id(),
        log_file=start.file,
        log_pos=start.pos,
        resume_stream=True,
        blocking=False,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
        only_schemas=[cfg.mysql.database],
        enable_logging=False,
    )
    count, first = 0, None
    try:
        for event in reader:
            if str(event.table).lower() in watched:
                count += len(event.rows)
                if first is None:
                    first = float(event.timestamp)
            if Position(str(reader.log_file), int(reader.log_pos)) >= top:
                break
    except Exception as exc:
        translated = translate_stream_error(exc, start)
        if translated is not None:
            raise translated from None
        raise
    finally:
        reader.close()
    return count, first
