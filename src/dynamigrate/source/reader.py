"""Streaming reader of a generated view: bounded memory whatever the table size.

Rows come out in *chunks* (lists of dicts, column name -> value) per entity, in the order of the
entity's source row key, so that "everything up to key K of entity E is done" is a valid resume point
(checkpoint), whatever the key's shape (one integer, composite, VARCHAR, BINARY(16) UUIDs...).

How a view is read (measured on MariaDB 10.11, see docs/etl.md):

* Every view query goes through pymysql's ``SSCursor`` (unbuffered, server-side): the client never
  holds more than one chunk.
* An entity whose source table has a row key (primary key, else a unique key of NOT NULL columns; the
  view carries it as ``_dm_k1..``, :mod:`dynamigrate.source.keys`) is read in *key windows*: the upper
  key of the next window is read from the source table's index (``SELECT key FROM t WHERE key > lo
  ORDER BY key LIMIT 1 OFFSET chunk_rows-1``, an index range of ``chunk_rows`` entries), then the view
  is read for ``_dm_entity = E AND lo < key <= hi``. A single-entity view is merged into the query (an
  index range scan of the source table); a multi-entity (UNION ALL) view gets the condition pushed into
  every branch (MariaDB >= 10.2, MySQL >= 8.0.22): the other entities' branches become "Impossible
  WHERE", the entity's branch a range scan. Plain keyset pagination (``key > lo ORDER BY key LIMIT n``)
  would materialise the whole remainder of the entity for every chunk on a UNION view (LIMIT is not
  pushed into derived tables): quadratic. A window holds at most ``chunk_rows`` source rows however
  sparse the keys are; the last window is open-ended, so rows inserted above the last key while the
  entity is read are picked up.
* An entity without a row key (no primary key, no unique NOT NULL key): one streaming pass. It cannot
  resume mid-entity: an interrupted entity is read again from its start (conditional, idempotent
  writes make this safe, only slower).

Values are returned as the server prints them (the view's wire format): every non-binary value is
text (numbers as exact decimal text, dates as MySQL prints them); binary values stay ``bytes`` for
the attributes in ``keep_bytes`` (B, BS, BOOL from BIT) and are decoded as UTF-8 for the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dynamigrate.config import MySQLSettings
from dynamigrate.contract.model import ENTITY_COLUMN
from dynamigrate.errors import SourceError, TransientSourceError
from dynamigrate.source.connect import connect, translate_error
from dynamigrate.source.keys import EntityKey, after_condition, key_to_json, order_by, upto_condition
from dynamigrate.sqlgen.dialects import quote_ident

__all__ = [
    "Chunk",
    "ViewReader",
    "iter_view_chunks",
    "open_connection",
    "quote_ident",
]

log = logging.getLogger(__name__)


def _ident(name: str) -> str:
    """A quoted identifier for a query run with parameters: pymysql formats every such query with ``%``,
    so a ``%`` in a table, view or column name is doubled (``pct%t`` failed: 'not enough arguments')."""
    return quote_ident(name).replace("%", "%%")


def _names(columns: Sequence[str]) -> list[str]:
    """Column names for :mod:`dynamigrate.source.keys`' conditions, ``%`` doubled (see :func:`_ident`)."""
    return [c.replace("%", "%%") for c in columns]


@dataclass
class Chunk:
    """A run of rows of one entity, in source key order."""

    entity: str | None
    rows: list[dict[str, Any]]
    #: the resume point after this chunk: the key window's upper key as JSON (source/keys.py), or None
    after_key: list[Any] | None = None
    #: True on the last chunk of the entity (the entity is complete once it is written).
    entity_done: bool = False
    #: False when the chunk ends mid-window or the entity has no row key: not a resume point.
    resumable: bool = True

    def __len__(self) -> int:
        return len(self.rows)


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
    """Reads one view in chunks. Two connections per reader (the view stream and the key bounds, which
    come back typed); not thread-safe (one reader thread)."""

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
        self._key_conn: Any = None
        self._columns: list[str] | None = None

    # -- connection -----------------------------------------------------------------------------
    @property
    def conn(self) -> Any:
        if self._conn is None:
            self._conn = open_connection(self.settings, self.database)
        return self._conn

    @property
    def key_conn(self) -> Any:
        """A buffered connection with pymysql's usual decoders: key values come back typed (int, str,
        bytes, Decimal, datetime) and go back as query parameters unchanged."""
        if self._key_conn is None:
            self._key_conn = connect(self.settings, self.database or None)
        return self._key_conn

    def close(self) -> None:
        if self._conn is not None and self._owns_conn:
            try:
                self._conn.close()
            except Exception:
                log.debug("closing reader connection failed", exc_info=True)
            self._conn = None
        if self._key_conn is not None:
            try:
                self._key_conn.close()
            except Exception:
                log.debug("closing the key connection failed", exc_info=True)
            self._key_conn = None

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

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        import pymysql

        cur = self.conn.cursor()
        try:
            cur.execute(sql, tuple(params))
        except pymysql.err.MySQLError as exc:
            cur.close()
            raise self._read_error(exc) from None
        return cur

    def _query_all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur = self._execute(sql, params)
        try:
            return list(cur.fetchall())
        finally:
            cur.close()

    # -- metadata -------------------------------------------------------------------------------
    @property
    def columns(self) -> list[str]:
        if self._columns is None:
            cur = self._execute(f"SELECT * FROM {_ident(self.view)} LIMIT 0")
            try:
                cur.fetchall()
                self._columns = [d[0] for d in cur.description or ()]
            finally:
                cur.close()
        return self._columns

    @property
    def has_entity(self) -> bool:
        return ENTITY_COLUMN in self.columns

    def _where_entity(self, entity: str | None) -> tuple[str, list[Any]]:
        if entity is not None and self.has_entity:
            return f"{_ident(ENTITY_COLUMN)} = %s", [entity]
        return "1=1", []

    def count(self, entity: str | None = None) -> int:
        where, params = self._where_entity(entity)
        rows = self._query_all(f"SELECT COUNT(*) FROM {_ident(self.view)} WHERE {where}", params)
        return int(rows[0][0]) if rows else 0

    def keyed(self, key: EntityKey | None) -> bool:
        """Can the entity be read in key windows (the view carries the key's columns)?"""
        if key is None:
            return False
        missing = [c for c in key.view_columns if c not in self.columns]
        if missing:
            log.warning(
                "view %s lacks the key column(s) %s of %s (views generated without the live schema, or "
                "stale): entity %s is read in one pass; regenerate and apply the views to read it in "
                "resumable chunks",
                self.view,
                ", ".join(missing),
                key.source_table,
                key.entity,
            )
            return False
        self._check_key_types(key)
        return True

    def _check_key_types(self, key: EntityKey) -> None:
        """The view's key columns must hold the key's columns: a view generated for another contract
        or schema (``--skip-views``) can carry another entity's key in ``_dm_k1`` (a VARCHAR where the
        reader bounds windows with BIGINTs), and every window would come back empty. The type family
        of each view key column is compared with its source column's; a mismatch stops the entity."""
        import pymysql

        sql = (
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s)"
        )
        try:
            with self.key_conn.cursor() as cur:
                cur.execute(sql, (self.view, key.source_table))
                rows = cur.fetchall()
        except pymysql.err.MySQLError as exc:
            raise self._read_error(exc) from None
        types: dict[tuple[str, str], str] = {
            (str(t).lower(), str(c).lower()): str(d).lower() for t, c, d in rows
        }
        for view_col, src_col in zip(key.view_columns, key.columns, strict=True):
            in_view = types.get((self.view.lower(), view_col.lower()))
            in_source = types.get((key.source_table.lower(), src_col.lower()))
            if in_view is None or in_source is None or _family(in_view) == _family(in_source):
                continue
            raise SourceError(
                f"view {self.view} does not match the contract: its key column {view_col} is {in_view}, "
                f"but it should hold {key.source_table}.{src_col} ({in_source}) for entity {key.entity}; "
                "reading it would find no rows",
                view=self.view,
                table=key.source_table,
                hint="the view was generated for another contract or schema: regenerate and apply the views "
                "(run migrate without --skip-views, or `dynamigrate views generate --schema-from-db` then "
                "`views apply`)",
            )

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

    def _stream(self, sql: str, params: Sequence[Any]) -> Iterator[list[dict[str, Any]]]:
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
            except Exception:
                # pymysql raises AttributeError closing a connection it force-closed (dropped mid-result):
                # the read error above must reach the caller, not this one
                log.debug("closing a broken cursor failed", exc_info=True)
                _forget_result(cur)

    def iter_entity(
        self,
        entity: str | None,
        key: EntityKey | None = None,
        *,
        after: Sequence[Any] | None = None,
    ) -> Iterator[Chunk]:
        """Chunks of one entity (``None``: the whole view).

        ``key``: the entity's row key (``key_plan(table, schema).entity(E)``): read in key windows,
        resuming after the key tuple ``after`` (typed values, :func:`key_from_json` of a checkpoint).
        Without a key (or a view that lacks its columns): one streaming pass.
        """
        if self.keyed(key):
            assert key is not None
            yield from self._iter_windows(entity, key, tuple(after) if after is not None else None)
        else:
            yield from self._iter_stream(entity)

    def next_bound(self, key: EntityKey, lo: tuple[Any, ...] | None) -> tuple[Any, ...] | None:
        """The key ``chunk_rows`` source rows after ``lo`` (None: fewer rows than that remain)."""
        import pymysql

        columns = _names(key.columns)
        sql = f"SELECT {order_by(columns)} FROM {_ident(key.source_table)}"
        params: list[Any] = []
        if lo is not None:
            cond, params = after_condition(columns, lo)
            sql += f" WHERE {cond}"
        sql += f" ORDER BY {order_by(columns)} LIMIT 1 OFFSET {self.chunk_rows - 1}"
        try:
            with self.key_conn.cursor() as cur:
                cur.execute(sql, params)
                row = cur.fetchone()
        except pymysql.err.MySQLError as exc:
            err = translate_error(
                exc,
                settings=self.settings,
                context="reading the key range of the source table failed",
                table=key.source_table,
                view=self.view,
            )
            if err.hint is None:
                err.hint = "check that the source table exists and is readable; rerun with --resume"
            raise err from None
        return tuple(row) if row else None

    def _iter_windows(
        self, entity: str | None, key: EntityKey, lo: tuple[Any, ...] | None
    ) -> Iterator[Chunk]:
        while True:
            hi = self.next_bound(key, lo)
            yield from self.window(entity, key, lo, hi)
            if hi is None:
                return
            lo = hi

    def window(
        self, entity: str | None, key: EntityKey, lo: tuple[Any, ...] | None, hi: tuple[Any, ...] | None
    ) -> Iterator[Chunk]:
        """The chunks of one key window ``lo < key <= hi`` (``lo`` None: from the entity's start).

        A bounded window is one chunk (its resume point ``hi``). ``hi`` None is the entity's open-ended
        last window (also catches rows inserted above the last key meanwhile): pieces of ``chunk_rows``
        that are no resume points, the last one marked ``entity_done``. Writer processes read the
        windows the engine hands them with this (:mod:`dynamigrate.etl.local_workers`).
        """
        where, params = self._where_entity(entity)
        sql, p = f"SELECT * FROM {_ident(self.view)} WHERE {where}", list(params)
        view_columns = _names(key.view_columns)
        if lo is not None:
            cond, cp = after_condition(view_columns, lo)
            sql, p = sql + f" AND {cond}", p + cp
        if hi is not None:
            cond, cp = upto_condition(view_columns, hi)
            sql, p = sql + f" AND {cond}", p + cp
        # no ORDER BY: the window is the unit of resume, the order inside it does not matter
        if hi is not None:  # a bounded window: at most chunk_rows source rows
            rows = [r for piece in self._stream(sql, p) for r in piece]
            yield Chunk(entity, rows, after_key=key_to_json(hi))
            return
        pending: list[dict[str, Any]] | None = None
        for piece in self._stream(sql, p):
            if pending is not None:
                yield Chunk(entity, pending, resumable=False)
            pending = piece
        done_key = key_to_json(lo) if lo is not None else None
        yield Chunk(entity, pending or [], after_key=done_key, entity_done=True)

    def _iter_stream(self, entity: str | None) -> Iterator[Chunk]:
        log.info(
            "view %s%s: no row key (no primary key, no unique NOT NULL key): read in one streaming pass "
            "(resume restarts the entity)",
            self.view,
            f" entity {entity}" if entity else "",
        )
        where, params = self._where_entity(entity)
        pending: list[dict[str, Any]] | None = None
        for rows in self._stream(f"SELECT * FROM {_ident(self.view)} WHERE {where}", params):
            if pending is not None:
                yield Chunk(entity, pending, resumable=False)
            pending = rows
        yield Chunk(entity, pending or [], entity_done=True, resumable=False)


def _forget_result(cur: Any) -> None:
    """pymysql leaves the unbuffered result of a connection it force-closed marked active: garbage
    collection then reads the closed socket again ('Exception ignored ... AttributeError' on stderr, at
    any later point of the run). The result is dead: mark it finished."""
    result = getattr(cur, "_result", None)
    if result is not None and getattr(result, "unbuffered_active", False):
        result.unbuffered_active = False


_FAMILIES = {
    "number": ("tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric", "bit"),
    "float": ("float", "double", "real"),
    "text": ("char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"),
    "binary": ("binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"),
    "temporal": ("date", "datetime", "timestamp", "time", "year"),
}


def _family(data_type: str) -> str:
    """The comparison family of an information_schema DATA_TYPE (unknown types: themselves)."""
    for family, names in _FAMILIES.items():
        if data_type in names:
            return family
    return data_type


def iter_view_chunks(
    settings: MySQLSettings,
    view: str,
    entity_filter: str | None = None,
    key: EntityKey | None = None,
    chunk_rows: int = 1000,
    *,
    after: Sequence[Any] | None = None,
    database: str | None = None,
    keep_bytes: Iterable[str] = (),
) -> Iterator[Chunk]:
    """Stream one view (or one entity of it) in chunks; see the module docstring."""
    with ViewReader(settings, view, database=database, chunk_rows=chunk_rows, keep_bytes=keep_bytes) as r:
        yield from r.iter_entity(entity_filter, key, after=after)
