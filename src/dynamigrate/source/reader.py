"""Streaming reader of a generated view: bounded memory whatever the table size.

Rows come out in *chunks* (lists of dicts, column name -> value) in ``_dm_rowid`` order per entity, so
that "everything up to rowid R of entity E is done" is a valid resume point (checkpoint).

How a view is read (measured on MariaDB 10.11, see docs/etl.md):

* Every query goes through pymysql's ``SSCursor`` (unbuffered, server-side): the client never holds
  more than one chunk.
* Each chunk is a *rowid window* ``WHERE _dm_entity = %s AND _dm_rowid > lo AND _dm_rowid <= hi ORDER
  BY _dm_rowid``. A single-entity view is merged into the query, so the window is an index range scan
  of the source table's primary key. A multi-entity (UNION ALL) view cannot be merged, but MariaDB
  (>= 10.2) and MySQL (>= 8.0.22) push the condition into every branch of the derived table: the
  other entities' branches become "Impossible WHERE" and the entity's branch a range scan, so only the
  window's rows are materialised. Plain keyset pagination (``_dm_rowid > lo ORDER BY _dm_rowid
  LIMIT n``) would materialise the *whole remainder* of the entity for every chunk on a UNION view
  (LIMIT is not pushed into derived tables): 0.84 s per 1000-row chunk of a 200k-row entity against
  0.014 s for the window, i.e. quadratic.
* The window's width adapts to the density of rowids (sparse ids after deletions), starting at
  ``chunk_rows``; rowids are unique per entity so a window of width ``w`` never holds more than
  ``w`` rows, and wide windows are streamed and cut into chunks of ``chunk_rows`` anyway.
* The bounds (min/max rowid) come from the entity's source table when the caller knows its integer
  primary key (an index lookup), else from the view (one pass). Rows inserted above the max while
  the table is read are picked up by a final open-ended window.
* Fallback when the view has no usable ``_dm_rowid`` (the source table has no single integer primary
  key): one streaming pass per entity. Such a table cannot resume mid-entity: an interrupted entity
  is read again from its start (idempotent writes make this safe, only slower).

Values are returned as the server prints them (the view's wire format): every non-binary value is
text (numbers as exact decimal text, dates as MySQL prints them); binary values stay ``bytes`` for
the attributes in ``keep_bytes`` (B, BS, BOOL from BIT) and are decoded as UTF-8 for the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from dynamigrate.config import MySQLSettings
from dynamigrate.contract.model import ENTITY_COLUMN, ROWID_COLUMN
from dynamigrate.errors import SourceError, TransientSourceError
from dynamigrate.source.connect import connect, translate_error
from dynamigrate.sqlgen.dialects import quote_ident

__all__ = [
    "Chunk",
    "ViewReadPlan",
    "ViewReader",
    "iter_view_chunks",
    "open_connection",
    "quote_ident",
    "source_bounds",
]

log = logging.getLogger(__name__)

#: Upper bound of a rowid window, in multiples of ``chunk_rows`` (sparse ids).
MAX_SPAN_FACTOR = 256


@dataclass
class Chunk:
    """A run of rows of one entity, in rowid order."""

    entity: str | None
    rows: list[dict[str, Any]]
    first_rowid: int | None = None
    last_rowid: int | None = None
    #: True on the last chunk of the entity (the entity is complete once it is written).
    entity_done: bool = False
    #: False for the streaming fallback (no rowid): the chunk cannot be a resume point.
    resumable: bool = True

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class ViewReadPlan:
    """How one entity of a view will be read (also printed by ``--dry-run``)."""

    view: str
    entity: str | None
    mode: str  # "window" | "stream"
    lo: int | None = None
    hi: int | None = None
    notes: list[str] = field(default_factory=list)


def _conv() -> dict[Any, Any]:
    """pymysql conversions without decoders: values come back as the server prints them."""
    from pymysql import converters

    return dict(converters.encoders)


def open_connection(settings: MySQLSettings, database: str | None = None) -> Any:
    """A pymysql connection with an unbuffered cursor class and text-only decoding.

    Connection errors are translated by :func:`dynamigrate.source.connect.translate_error`
    (``mysql_errno`` in ``where``, a hint per error number, transient when a retry may help).
    """
    from pymysql.cursors import SSCursor

    conn = connect(settings, database or None, cursorclass=SSCursor, conv=_conv())
    with conn.cursor() as cur:
        # a slow consumer (throttled writes) must not make the server drop a streaming result
        cur.execute("SET SESSION net_write_timeout = 3600")
    return conn


class ViewReader:
    """Reads one view in chunks. One connection per reader; not thread-safe (one reader thread)."""

    def __init__(
        self,
        settings: MySQLSettings,
        view: str,
        *,
        database: str | None = None,
        chunk_rows: int = 1000,
        keep_bytes: Iterable[str] = (),
        connection: Any = None,
    ):
        self.settings = settings
        self.view = view
        self.database = database or settings.database
        self.chunk_rows = max(1, int(chunk_rows))
        self.keep_bytes = frozenset(keep_bytes)
        self._conn = connection
        self._owns_conn = connection is None
        self._columns: list[str] | None = None

    # -- connection -----------------------------------------------------------------------------
    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = open_connection(self.settings, self.database)
        return self._conn

    def close(self) -> None:
        if self._conn is not None and self._owns_conn:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing reader connection failed", exc_info=True)
            self._conn = None

    def __enter__(self) -> ViewReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _read_error(self, exc: BaseException, *, streaming: bool = False) -> SourceError:
        """Our error for a driver error while reading the view (``mysql_errno`` in ``where``)."""
        if streaming:
            err = translate_error(
                exc, settings=self.settings, context="reading view failed while streaming", view=self.view
            )
            # a failure mid-result is a dropped connection or a query the server gave up: resumable
            return TransientSourceError(
                err.message,
                hint="the connection dropped or the server gave up the query; rerun with --resume "
                "to continue from the last checkpoint",
                **err.where,
            )
        err = translate_error(exc, settings=self.settings, context="reading view failed", view=self.view)
        if err.hint is None:
            err.hint = (
                "regenerate and apply the views (`dynamigrate views apply`) and check that the server is "
                "reachable; the contract may not match the schema"
            )
        return err

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        import pymysql

        cur = self.conn.cursor()
        try:
            cur.execute(sql, params)
        except pymysql.err.MySQLError as exc:
            cur.close()
            raise self._read_error(exc) from None
        return cur

    def _query_all(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self._execute(sql, params)
        try:
            return list(cur.fetchall())
        finally:
            cur.close()

    # -- metadata -------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        if self._columns is None:
            cur = self._execute(f"SELECT * FROM {quote_ident(self.view)} LIMIT 0")
            try:
                cur.fetchall()
                self._columns = [d[0] for d in cur.description or ()]
            finally:
                cur.close()
        return self._columns

    @property
    def has_rowid(self) -> bool:
        return ROWID_COLUMN in self.columns

    @property
    def has_entity(self) -> bool:
        return ENTITY_COLUMN in self.columns

    def _where_entity(self, entity: str | None) -> tuple[str, tuple[Any, ...]]:
        if entity is not None and self.has_entity:
            return f"{quote_ident(ENTITY_COLUMN)} = %s", (entity,)
        return "1=1", ()

    def rowid_bounds(self, entity: str | None) -> tuple[int | None, int | None]:
        """MIN/MAX of _dm_rowid for an entity, from the view (one pass over a UNION view's branch)."""
        where, params = self._where_entity(entity)
        rid = quote_ident(ROWID_COLUMN)
        rows = self._query_all(
            f"SELECT MIN({rid}), MAX({rid}) FROM {quote_ident(self.view)} WHERE {where}", params
        )
        lo, hi = rows[0] if rows else (None, None)
        return (_int(lo), _int(hi))

    def count(self, entity: str | None = None) -> int:
        where, params = self._where_entity(entity)
        rows = self._query_all(f"SELECT COUNT(*) FROM {quote_ident(self.view)} WHERE {where}", params)
        return int(rows[0][0]) if rows else 0

    # -- rows -----------------------------------------------------------------------------------
    def _to_dict(self, names: list[str], raw: tuple[Any, ...]) -> dict[str, Any]:
        row = dict(zip(names, raw, strict=False))
        for name, value in row.items():
            if isinstance(value, (bytes, bytearray)) and name not in self.keep_bytes:
                try:
                    row[name] = bytes(value).decode("utf-8")
                except UnicodeDecodeError:
                    row[name] = bytes(value)  # the encoder rejects it with a clear reason
        return row

    def _stream(self, sql: str, params: tuple[Any, ...]) -> Iterator[list[dict[str, Any]]]:
        """Run a query unbuffered and yield its rows in lists of at most ``chunk_rows``."""
        import pymysql

        cur = self._execute(sql, params)
        try:
            names = [d[0] for d in cur.description or ()]
            while True:
                try:
                    batch = cur.fetchmany(self.chunk_rows)
                except pymysql.err.MySQLError as exc:
                    raise self._read_error(exc, streaming=True) from None
                if not batch:
                    break
                yield [self._to_dict(names, r) for r in batch]
        finally:
            try:
                cur.close()
            except pymysql.err.MySQLError:
                log.debug("closing a broken cursor failed", exc_info=True)

    def iter_entity(
        self,
        entity: str | None,
        *,
        after_rowid: int | None = None,
        bounds: tuple[int | None, int | None] | None = None,
    ) -> Iterator[Chunk]:
        """Chunks of one entity (``None``: the whole view), resuming after ``after_rowid``."""
        if not self.has_rowid:
            yield from self._iter_stream(entity)
            return
        lo, hi = bounds if bounds is not None else self.rowid_bounds(entity)
        if lo is None or hi is None:
            # empty source (or unknown bounds): a single open-ended window catches anything there
            lo, hi = (after_rowid or 0), (after_rowid or 0)
        start = lo - 1 if after_rowid is None else max(after_rowid, lo - 1)
        yield from self._iter_windows(entity, start, hi)

    def _iter_windows(self, entity: str | None, start: int, hi: int) -> Iterator[Chunk]:
        where, params = self._where_entity(entity)
        rid = quote_ident(ROWID_COLUMN)
        base = f"SELECT * FROM {quote_ident(self.view)} WHERE {where} AND {rid} > %s"
        span = self.chunk_rows
        cursor = start
        pending: Chunk | None = None
        while True:
            final = cursor >= hi
            if final:
                # open-ended tail: rows inserted above the initial max while we were reading
                sql, p = base + f" ORDER BY {rid}", (*params, cursor)
            else:
                upper = min(hi, cursor + span)
                sql, p = base + f" AND {rid} <= %s ORDER BY {rid}", (*params, cursor, upper)
            got = 0
            for rows in self._stream(sql, p):
                got += len(rows)
                if pending is not None:
                    yield pending
                first, last = _int(rows[0].get(ROWID_COLUMN)), _int(rows[-1].get(ROWID_COLUMN))
                pending = Chunk(entity, rows, first, last)
                if last is not None:
                    cursor = max(cursor, last)
            if final:
                break
            cursor = max(cursor, upper)
            # adapt the window to the density of rowids (sparse after deletions)
            if got < self.chunk_rows // 2:
                span = min(span * 2, self.chunk_rows * MAX_SPAN_FACTOR)
            elif got > self.chunk_rows:
                span = max(self.chunk_rows, span // 2)
        if pending is not None:
            yield replace(pending, entity_done=True)
        else:
            yield Chunk(entity, [], None, start if start >= 0 else None, entity_done=True)

    def _iter_stream(self, entity: str | None) -> Iterator[Chunk]:
        log.info(
            "view %s has no %s column: reading it in one streaming pass (resume restarts the entity)",
            self.view,
            ROWID_COLUMN,
        )
        where, params = self._where_entity(entity)
        pending: Chunk | None = None
        for rows in self._stream(f"SELECT * FROM {quote_ident(self.view)} WHERE {where}", params):
            if pending is not None:
                yield pending
            pending = Chunk(entity, rows, resumable=False)
        if pending is not None:
            yield replace(pending, entity_done=True)
        else:
            yield Chunk(entity, [], entity_done=True, resumable=False)


def source_bounds(conn: Any, table: str, pk: str) -> tuple[int | None, int | None]:
    """MIN/MAX of a source table's integer primary key (an index lookup)."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT MIN({quote_ident(pk)}), MAX({quote_ident(pk)}) FROM {quote_ident(table)}")
        row = cur.fetchone()
        cur.fetchall()
    if not row:
        return (None, None)
    return (_int(row[0]), _int(row[1]))


def iter_view_chunks(
    settings: MySQLSettings,
    view: str,
    entity_filter: str | None = None,
    after_rowid: int | None = None,
    chunk_rows: int = 1000,
    *,
    database: str | None = None,
    keep_bytes: Iterable[str] = (),
    bounds: tuple[int | None, int | None] | None = None,
) -> Iterator[Chunk]:
    """Stream one view (or one entity of it) in chunks; see the module docstring."""
    with ViewReader(settings, view, database=database, chunk_rows=chunk_rows, keep_bytes=keep_bytes) as r:
        yield from r.iter_entity(entity_filter, after_rowid=after_rowid, bounds=bounds)


def _int(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
