"""How the Spark job cuts a view into JDBC partitions, for every source key shape (pure, no Spark).

The plan is a list of SQL predicates over the view, one per Spark partition, that together select
every row exactly once. Per entity (``_dm_entity``), in this order of preference:

``rowid``
    The source table has a single integer key, exposed as ``_dm_rowid``: closed ``BETWEEN`` ranges of
    it, about ``partition_rows`` rows each (index range scans in the entity's UNION branch).
``range``
    The entity's row key (the view's key columns ``_dm_k1..``, see :mod:`dynamigrate.source.keys`)
    starts with an integer column (a junction table ``(book_id, tag)``): ranges of that column.
``text-range``
    A row key starting with a text or binary column (VARCHAR codes, BINARY(16) UUIDs, two VARCHARs):
    slices between boundaries taken from the data (every ``partition_rows``-th value of the column,
    :func:`boundaries_query`), written as hex literals in the column's collation.
``hash``
    Any other row key (a DATE or DECIMAL first...): ``n`` buckets
    ``MOD(CRC32(CONCAT_WS('|', k1, k2..)), n) = i``. Every row falls into exactly one bucket, whatever
    the values (NULL parts are skipped by CONCAT_WS, never make the bucket NULL). Each bucket scans
    the entity's source table once.
``single``
    No key at all (no primary key, no unique key of NOT NULL columns): one partition for the entity.

Rows of a ``rowid`` entity whose ``_dm_rowid`` is NULL (hand-written views) get one more partition.

The view's columns come from ``information_schema`` (:func:`columns_query`), so the job needs no
live-schema introspection of its own (it runs on Glue with only a JDBC connection). A column whose
type is NULL (``NULL AS _dm_rowid`` for a source without an integer key) cannot be read by Spark's
JDBC source ("Unsupported type NULL"); :func:`read_query` reads the view through a derived table that
casts such columns to a type.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from dynamigrate.source.keys import KEY_COLUMN_PREFIX

ENTITY_COLUMN = "_dm_entity"
ROWID_COLUMN = "_dm_rowid"
DEFAULT_PARTITION_ROWS = 50_000
INTEGER_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint"})
TEXT_TYPES = frozenset({"char", "varchar"})
BINARY_TYPES = frozenset({"binary", "varbinary"})
#: Types MariaDB reports for a column that is the NULL literal in every branch of the view.
NULL_COLUMN_TYPES = frozenset({"null", "binary(0)", "char(0)"})


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


# -- the view's columns ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewColumn:
    name: str
    data_type: str  # information_schema DATA_TYPE, lower case
    column_type: str = ""  # COLUMN_TYPE, lower case
    collation: str | None = None  # COLLATION_NAME of text columns

    @property
    def is_integer(self) -> bool:
        return self.data_type in INTEGER_TYPES

    @property
    def is_text(self) -> bool:
        return self.data_type in TEXT_TYPES and bool(self.collation)

    @property
    def is_binary(self) -> bool:
        return self.data_type in BINARY_TYPES and not self.is_null_type

    @property
    def orderable(self) -> bool:
        """Can its values be split into ranges with literals (text with a known collation, binary)?"""
        return self.is_text or self.is_binary

    @property
    def is_null_type(self) -> bool:
        return self.data_type == "null" or self.column_type in NULL_COLUMN_TYPES

    @property
    def is_key(self) -> bool:
        return is_key_column(self.name)


def is_key_column(name: str) -> bool:
    rest = name[len(KEY_COLUMN_PREFIX) :]
    return name.startswith(KEY_COLUMN_PREFIX) and rest.isdigit()


def columns_query(view: str) -> str:
    """The view's columns and types (a derived table for ``spark.read.jdbc``)."""
    return (
        "(SELECT COLUMN_NAME AS name, LOWER(DATA_TYPE) AS data_type, LOWER(COLUMN_TYPE) AS column_type,"
        " COLLATION_NAME AS collation_name, ORDINAL_POSITION AS pos FROM information_schema.COLUMNS"
        f" WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {sql_string(view)}) dm_columns"
    )


def read_columns(columns: Sequence[ViewColumn]) -> list[str]:
    """The select list that reads every column of the view: NULL-typed columns cast to a type."""
    parts = []
    for c in columns:
        q = quote_ident(c.name)
        if c.is_null_type:
            cast = "DECIMAL(20,0)" if c.name == ROWID_COLUMN else "CHAR"
            parts.append(f"CAST({q} AS {cast}) AS {q}")
        else:
            parts.append(q)
    return parts


def read_query(view: str, columns: Sequence[ViewColumn]) -> str:
    """The view as a derived table Spark can read: NULL-typed columns cast to a type."""
    return f"(SELECT {', '.join(read_columns(columns))} FROM {quote_ident(view)}) dm_view"


def _decimal_cast(expr: str) -> str:
    # DECIMAL(20,0): every integer type, unsigned BIGINT included, as an exact Spark decimal
    return f"CAST({expr} AS DECIMAL(20,0))"


def stats_query(view: str, columns: Sequence[ViewColumn] = ()) -> str:
    """Per entity: rows, rows with a rowid, the rowid range; per key column: non-NULL rows and, for
    integer key columns, their range."""
    e, r = quote_ident(ENTITY_COLUMN), quote_ident(ROWID_COLUMN)
    rowid_null = any(c.name == ROWID_COLUMN and c.is_null_type for c in columns)
    parts = [f"{e} AS entity", "COUNT(*) AS n"]
    if rowid_null:
        parts += ["NULL AS lo", "NULL AS hi", "0 AS nr"]
    else:
        parts += [
            f"{_decimal_cast(f'MIN({r})')} AS lo",
            f"{_decimal_cast(f'MAX({r})')} AS hi",
            f"COUNT({r}) AS nr",
        ]
    for c in columns:
        if not c.is_key:
            continue
        k = quote_ident(c.name)
        parts.append(f"COUNT({k}) AS {quote_ident('n' + c.name)}")
        if c.is_integer:
            parts.append(f"{_decimal_cast(f'MIN({k})')} AS {quote_ident('lo' + c.name)}")
            parts.append(f"{_decimal_cast(f'MAX({k})')} AS {quote_ident('hi' + c.name)}")
    return f"(SELECT {', '.join(parts)} FROM {quote_ident(view)} GROUP BY {e}) dm_stats"


def literal_form(column: ViewColumn) -> tuple[str, str] | None:
    """How a value of ``column`` is written as an SQL literal from its hex digits: ``X'..'`` for binary,
    ``CONVERT(X'..' USING cs) COLLATE coll`` for text (the column's collation decides comparisons, so
    the ranges agree with the order the boundaries were taken in); None for other types."""
    if column.is_binary:
        return ("X'", "'")
    if column.is_text and column.collation:
        coll = column.collation
        charset = coll.split("_", 1)[0]
        if not (coll.replace("_", "").isalnum() and charset.isalnum()):
            return None
        return ("CONVERT(X'", f"' USING {charset}) COLLATE {coll}")
    return None


def boundaries_query(view: str, entity: str | None, column: str, step: int) -> str:
    """Every ``step``-th value of ``column`` (hex) in the entity's rows, in the column's order: the
    lower bounds of the slices after the first (one sort of the entity's key column)."""
    k = quote_ident(column)
    return (
        f"(SELECT HEX({k}) AS b, dm_rn FROM (SELECT {k}, ROW_NUMBER() OVER (ORDER BY {k}) AS dm_rn"
        f" FROM {quote_ident(view)} WHERE {entity_predicate(entity)}) dm_t"
        f" WHERE MOD(dm_rn - 1, {max(1, int(step))}) = 0 AND dm_rn > 1) dm_bounds"
    )


# -- statistics ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeyStats:
    """One key column of one entity: its view column, whether it is an integer, its range."""

    column: str
    integer: bool = False
    lo: int | None = None
    hi: int | None = None
    rows: int = 0  # rows where it is not NULL
    #: text/binary key column: the SQL literal of a value (None: not splittable into ranges), and
    #: the literals of the boundaries between slices (from :func:`boundaries_query`)
    literal: tuple[str, str] | None = None  # (prefix, suffix) around the hex digits
    boundaries: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntityStats:
    entity: str | None
    lo: int | None  # _dm_rowid range
    hi: int | None
    rows: int
    rows_with_rowid: int
    keys: tuple[KeyStats, ...] = field(default=())  # the entity's row key, key order


def _int(v: Any) -> int | None:
    return None if v is None else int(v)


def entity_stats_from_rows(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[ViewColumn],
    key_order: Mapping[str, Sequence[str]] | None = None,
) -> list[EntityStats]:
    """:class:`EntityStats` from the rows of :func:`stats_query`.

    An entity's key columns are those it fills (every key column of a row key is NOT NULL); their order
    is ``key_order[entity]`` when the caller knows the key plan, else the view's column order.
    """
    key_cols = [c for c in columns if c.is_key]
    out = []
    for r in rows:
        entity = r["entity"]
        n = int(r["n"])
        filled = {c.name: c for c in key_cols if int(r.get("n" + c.name) or 0) > 0}
        order = list((key_order or {}).get(entity or "", ())) or [c.name for c in key_cols]
        keys = tuple(
            KeyStats(
                column=name,
                integer=filled[name].is_integer,
                lo=_int(r.get("lo" + name)),
                hi=_int(r.get("hi" + name)),
                rows=int(r.get("n" + name) or 0),
                literal=literal_form(filled[name]),
            )
            for name in order
            if name in filled
        )
        out.append(EntityStats(entity, _int(r["lo"]), _int(r["hi"]), n, int(r["nr"] or 0), keys))
    return out


# -- the plan --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Partition:
    index: int
    predicate: str
    entity: str | None
    lo: int | None
    hi: int | None
    estimated_rows: int
    #: what lo/hi bound (``_dm_rowid`` or a key column); ``scheme``: rowid | range | text-range | hash |
    #: single | nulls
    column: str = ROWID_COLUMN
    scheme: str = "rowid"

    def key(self, table: str) -> str:
        """Stable checkpoint name: the table and the predicate decide it."""
        return hashlib.sha256(f"{table}\n{self.predicate}".encode()).hexdigest()[:20]


def entity_predicate(entity: str | None) -> str:
    e = quote_ident(ENTITY_COLUMN)
    return f"{e} = {sql_string(entity)}" if entity is not None else f"{e} IS NULL"


def _ranges(
    ent: str, column: str, lo: int, hi: int, rows: int, target: int, scheme: str, entity: str | None
) -> list[Partition]:
    n = max(1, math.ceil(rows / target))
    span = hi - lo + 1
    n = min(n, span)
    step = math.ceil(span / n)
    out = []
    a = lo
    while a <= hi:
        b = min(hi, a + step - 1)
        out.append(
            Partition(
                index=0,
                predicate=f"{ent} AND {quote_ident(column)} BETWEEN {a} AND {b}",
                entity=entity,
                lo=a,
                hi=b,
                estimated_rows=math.ceil(rows * (b - a + 1) / span),
                column=column,
                scheme=scheme,
            )
        )
        a = b + 1
    return out


def hash_expression(columns: Sequence[str]) -> str:
    return f"CRC32(CONCAT_WS('|', {', '.join(quote_ident(c) for c in columns)}))"


def _entity_partitions(st: EntityStats, target: int) -> list[Partition]:
    ent = entity_predicate(st.entity)
    rid = quote_ident(ROWID_COLUMN)
    if st.rows_with_rowid > 0 and st.lo is not None and st.hi is not None:
        parts = _ranges(ent, ROWID_COLUMN, st.lo, st.hi, st.rows_with_rowid, target, "rowid", st.entity)
        if st.rows > st.rows_with_rowid:
            parts.append(
                Partition(
                    0,
                    f"{ent} AND {rid} IS NULL",
                    st.entity,
                    None,
                    None,
                    st.rows - st.rows_with_rowid,
                    scheme="nulls",
                )
            )
        return parts
    first = st.keys[0] if st.keys else None
    if first is not None and first.integer and first.lo is not None and first.hi is not None:
        parts = _ranges(ent, first.column, first.lo, first.hi, first.rows, target, "range", st.entity)
        if st.rows > first.rows:
            k = quote_ident(first.column)
            parts.append(
                Partition(
                    0,
                    f"{ent} AND {k} IS NULL",
                    st.entity,
                    None,
                    None,
                    st.rows - first.rows,
                    column=first.column,
                    scheme="nulls",
                )
            )
        return parts
    if first is not None and first.literal is not None and first.boundaries and first.rows == st.rows:
        return _literal_ranges(ent, st, first)
    if st.keys:
        n = max(1, math.ceil(st.rows / target))
        if n == 1:
            return [Partition(0, ent, st.entity, None, None, st.rows, column="", scheme="single")]
        expr = hash_expression([k.column for k in st.keys])
        return [
            Partition(
                0,
                f"{ent} AND MOD({expr}, {n}) = {i}",
                st.entity,
                None,
                None,
                math.ceil(st.rows / n),
                column="",
                scheme="hash",
            )
            for i in range(n)
        ]
    return [Partition(0, ent, st.entity, None, None, st.rows, column="", scheme="single")]


def _literal_ranges(ent: str, st: EntityStats, first: KeyStats) -> list[Partition]:
    """Slices of a text/binary first key column between boundaries taken from the data: ``k < b1``,
    ``b1 <= k < b2``, ..., ``k >= bn``. Open at both ends, so they cover rows added later too; equal
    boundaries (repeated values) only give an empty slice."""
    assert first.literal is not None
    pre, post = first.literal
    k = quote_ident(first.column)
    bounds = [f"{pre}{b}{post}" for b in first.boundaries]
    conds = [f"{k} < {bounds[0]}"]
    conds += [f"{k} >= {a} AND {k} < {b}" for a, b in itertools.pairwise(bounds)]
    conds.append(f"{k} >= {bounds[-1]}")
    est = math.ceil(st.rows / len(conds))
    return [
        Partition(0, f"{ent} AND {c}", st.entity, None, None, est, column=first.column, scheme="text-range")
        for c in conds
    ]


def with_boundaries(stats: EntityStats, boundaries: Sequence[str]) -> EntityStats:
    """``stats`` with the boundaries of its first key column (hex digits, in the column's order)."""
    if not stats.keys or not boundaries:
        return stats
    clean = tuple(b for b in boundaries if b and all(c in "0123456789ABCDEFabcdef" for c in b))
    if len(clean) != len(boundaries):
        return stats  # not hex: leave the entity to the hash scheme
    first = replace(stats.keys[0], boundaries=clean)
    return replace(stats, keys=(first, *stats.keys[1:]))


def needs_boundaries(st: EntityStats, partition_rows: int) -> int:
    """The boundary step for an entity whose first key column is text/binary and that needs more than
    one slice (0: it does not)."""
    first = st.keys[0] if st.keys else None
    if st.rows_with_rowid > 0 or first is None or first.integer or first.literal is None:
        return 0
    n = math.ceil(st.rows / max(1, int(partition_rows)))
    return math.ceil(st.rows / n) if n > 1 else 0


def _numbered(parts: Iterable[Partition], start: int = 0) -> list[Partition]:
    return [replace(p, index=start + i) for i, p in enumerate(parts)]


def plan_partitions(
    stats: Iterable[EntityStats], partition_rows: int = DEFAULT_PARTITION_ROWS
) -> list[Partition]:
    """One predicate per slice of ~``partition_rows`` rows, cut per entity (see the module docstring).

    Range slices split the entity's id range evenly (ids are assumed roughly dense; a sparse range
    gives some smaller slices, never wrong ones). Together the predicates cover every row exactly once.
    """
    target = max(1, int(partition_rows))
    parts: list[Partition] = []
    for st in sorted(stats, key=lambda s: (s.entity is None, s.entity or "")):
        if st.rows > 0:
            parts += _entity_partitions(st, target)
    return _numbered(parts)


def extend_plan(
    previous: list[Partition], stats: Iterable[EntityStats], partition_rows: int
) -> list[Partition]:
    """The previous plan plus partitions for rows beyond it: ids outside the entity's ranges, or an
    entity the previous plan did not know (pure). Existing predicates are unchanged, so their
    checkpoints still apply. Hash and single partitions cover new rows by themselves."""
    out = list(previous)
    by_entity: dict[str | None, list[Partition]] = {}
    for p in previous:
        by_entity.setdefault(p.entity, []).append(p)
    known_preds = {p.predicate for p in out}

    def add(p: Partition) -> None:
        if p.predicate not in known_preds:
            known_preds.add(p.predicate)
            out.append(replace(p, index=len(out)))

    for st in stats:
        known = by_entity.get(st.entity)
        if not known:
            for p in plan_partitions([st], partition_rows):
                add(p)
            continue
        ranged = [p for p in known if p.lo is not None and p.hi is not None]
        if not ranged:
            continue
        column = ranged[0].column
        scheme = ranged[0].scheme
        if column == ROWID_COLUMN:
            lo, hi = st.lo, st.hi
        else:
            ks = next((k for k in st.keys if k.column == column), None)
            lo, hi = (ks.lo, ks.hi) if ks is not None else (None, None)
        old_lo = min(p.lo for p in ranged if p.lo is not None)
        old_hi = max(p.hi for p in ranged if p.hi is not None)
        ent = entity_predicate(st.entity)
        q = quote_ident(column)
        if hi is not None and hi > old_hi:
            add(
                Partition(
                    0,
                    f"{ent} AND {q} BETWEEN {old_hi + 1} AND {hi}",
                    st.entity,
                    old_hi + 1,
                    hi,
                    hi - old_hi,
                    column=column,
                    scheme=scheme,
                )
            )
        if lo is not None and lo < old_lo:
            add(
                Partition(
                    0,
                    f"{ent} AND {q} BETWEEN {lo} AND {old_lo - 1}",
                    st.entity,
                    lo,
                    old_lo - 1,
                    old_lo - lo,
                    column=column,
                    scheme=scheme,
                )
            )
    return out


def partition_from_dict(data: Mapping[str, Any]) -> Partition:
    """A partition of a stored plan.json (plans written before ``column``/``scheme`` existed too)."""
    known = {f for f in Partition.__dataclass_fields__}
    return Partition(**{k: v for k, v in data.items() if k in known})
