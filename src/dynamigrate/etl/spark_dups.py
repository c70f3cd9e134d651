"""Duplicate DynamoDB keys in the Spark job: the first row in the local engine's read order wins.

Several source rows may produce one DynamoDB key (a preflight error, P121, that ``--accept
duplicate_key`` lets through). The local engine claims keys in read order (entities in contract order,
rows by source key; :mod:`dynamigrate.etl.pass_keys`): the first row is the item, the later ones are
``skipped`` (``duplicate_key``) and never sent. Spark partitions cannot do that among themselves: a
row in another partition is unknown, and a later row with the same content looks like "our own earlier
write" to the conditional writer. So the driver decides before the tasks run:

1. a cheap check, ``COUNT(*) - COUNT(DISTINCT key)`` (:func:`check_query`); nothing more when no key
   repeats;
2. else one query (:func:`rows_query`) returns every row of a repeated key (all its columns, as the
   tasks read them), each with its position in the local engine's read order (``ROW_NUMBER() OVER
   (ORDER BY entity rank, the entity's key columns)``: the MySQL collation of the key columns orders
   them, as in the local engine's keyset reads);
3. :func:`plan_duplicates` walks them in that order and encodes them with the tasks' encoder, like
   :class:`~dynamigrate.etl.pass_keys.PassKeys` claims keys: a rejected row claims nothing, the first
   row of a key wins, each later row is recorded by its identity (entity, ``_dm_rowid``, key columns).

SQL groups the keys compared as bytes (``CAST(.. AS BINARY)``: a ``_ci`` collation must not merge
``A@x`` and ``a@x``, which DynamoDB keeps apart) and N keys as ``DECIMAL(65,30)`` (``1`` and ``1.0``
together). That grouping is never finer than the encoder's key, only sometimes coarser (numbers past
30 decimals): step 3 compares the encoder's keys, so the outcome is the encoder's equality.

The plan travels to the tasks (a broadcast); :class:`DuplicateFilter` skips the recorded rows in
whichever partition reads them. It is fixed before the job: a retried or speculative task skips the
same rows and finds its own earlier writes as written. A source row without a row key (no primary or
unique key: its entity is one partition, read in no defined order, like the local engine's streaming
pass) cannot be named: per (entity, key) the plan says how many of its rows may be written (1 when such
a row is the first of its key, else 0), and the partition lets that many through.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamigrate.etl.local_writers import canonical_key
from dynamigrate.etl.spark_plan import (
    ENTITY_COLUMN,
    ROWID_COLUMN,
    entity_predicate,
    quote_ident,
    read_columns,
)
from dynamigrate.runstate import safe_name

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.spark_job import JdbcSource, JobConf, Storage
    from dynamigrate.etl.spark_plan import EntityStats, ViewColumn

log = logging.getLogger("dynamigrate.etl.spark_job")

#: the column of :func:`rows_query` that holds a row's position in read order
POSITION_COLUMN = "dm_pos"


def group_expr(table: Table, name: str) -> str:
    """How SQL compares a key attribute: numbers by value, everything else as bytes."""
    q = quote_ident(name)
    if table.attribute_type(name) == "N":
        return f"CAST({q} AS DECIMAL(65,30))"
    return f"CAST({q} AS BINARY)"


def _valid(table: Table) -> str:
    # a NULL or empty key is rejected by the encoder: it never claims a key
    return " AND ".join(
        f"{quote_ident(k)} IS NOT NULL AND LENGTH({quote_ident(k)}) > 0" for k in table.key_names
    )


def check_query(view: str, table: Table) -> str:
    """How many rows share their key with an earlier one (as SQL groups keys: 0 means none; a derived
    table for ``spark.read.jdbc``). ``COUNT(DISTINCT ..)``: on 200,000 rows of a VARCHAR key 0.3-0.4 s
    where ``GROUP BY .. HAVING COUNT(*) > 1 LIMIT 1`` took 3.8 s (MariaDB 10.11, shared machine)."""
    groups = ", ".join(group_expr(table, k) for k in table.key_names)
    return (
        f"(SELECT COUNT(*) - COUNT(DISTINCT {groups}) AS dm_dups FROM {quote_ident(view)}"
        f" WHERE {_valid(table)}) dm_dup_check"
    )


def id_columns(columns: Sequence[ViewColumn]) -> tuple[str, ...]:
    """The view columns that name a source row: entity, row id, key columns (NULL-typed ones left out:
    they are NULL in every row)."""
    names = [ENTITY_COLUMN, ROWID_COLUMN]
    present = {c.name: c for c in columns}
    out = [n for n in names if n in present and not present[n].is_null_type]
    out += [c.name for c in columns if c.is_key and not c.is_null_type]
    return tuple(out)


def rows_query(
    view: str,
    table: Table,
    columns: Sequence[ViewColumn],
    entity_keys: Sequence[tuple[str | None, Sequence[str]]],
) -> str:
    """Every row whose key repeats (all its columns, as the tasks read them), with its position
    (``dm_pos``) in the local engine's read order: entities in ``entity_keys`` order, then the entity's
    key columns (in their own collation)."""
    inner = ", ".join(read_columns(columns))
    outer = ", ".join(quote_ident(c.name) for c in columns)
    groups = ", ".join(group_expr(table, k) for k in table.key_names)
    rank = " ".join(f"WHEN {entity_predicate(e)} THEN {i}" for i, (e, _) in enumerate(entity_keys))
    order = [f"CASE {rank} ELSE {len(entity_keys)} END" if entity_keys else "0"]
    # one CASE per entity and key column: a CASE of a single column keeps its type and collation
    # (one CASE over columns of several types would compare them in a common type)
    order += [
        f"CASE WHEN {entity_predicate(e)} THEN {quote_ident(c)} END" for e, cols in entity_keys for c in cols
    ]
    return (
        f"(SELECT {outer}, ROW_NUMBER() OVER (ORDER BY {', '.join(order)}) AS {POSITION_COLUMN}"
        f" FROM (SELECT {inner}, COUNT(*) OVER (PARTITION BY {groups}) AS dm_dup_n"
        f" FROM {quote_ident(view)} WHERE {_valid(table)}) dm_dup_rows WHERE dm_dup_n > 1) dm_dups"
    )


# -- the plan (pure) -------------------------------------------------------------------------------


class EncodedKey:
    """The canonical key text of a row's item, made by the encoder the tasks use (None: the encoder
    rejects the row, which then claims no key, as in the local engine)."""

    def __init__(self, table: Table, marker_attribute: str | None = "_dm_marker"):
        from dynamigrate.target.encode import ItemEncoder

        self.encoder = ItemEncoder(table, marker_attribute)

    def __call__(self, row: Mapping[str, Any]) -> str | None:
        enc = self.encoder.encode(row)
        return None if enc.reject_code is not None else canonical_key(enc.key)


def identity(row: Mapping[str, Any], ids: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row.get(c) for c in ids)


def _named(ident: tuple[Any, ...]) -> bool:
    """Does the identity name one row (a row id or key column besides the entity)?"""
    return any(v is not None for v in ident[1:])


@dataclass(frozen=True)
class DuplicatePlan:
    """Which rows of a table are duplicates (see the module docstring); plain data for a broadcast."""

    ids: tuple[str, ...]
    #: identities of the named rows to skip
    skip: frozenset[tuple[Any, ...]] = frozenset()
    #: (entity, canonical key) -> how many of that entity's unnamed rows with that key may be written
    unnamed: Mapping[tuple[Any, str], int] = field(default_factory=dict)
    #: each repeated key once (canonical JSON), in the order the pass meets its first duplicate
    keys: tuple[str, ...] = ()
    #: rows to skip (duplicates), the figure the partitions' counters must add up to
    rows: int = 0

    def examples(self, n: int = 5) -> list[dict[str, Any]]:
        return [json.loads(k) for k in self.keys[:n]]

    def file_lines(self, table: str) -> str:
        """``duplicates/<T>.jsonl`` as the local engine writes it: each key once."""
        return "".join(
            json.dumps({"table": table, "key": json.loads(k)}, ensure_ascii=False) + "\n" for k in self.keys
        )


def plan_duplicates(
    rows: Iterable[Mapping[str, Any]], key_of: Callable[[Mapping[str, Any]], str | None], ids: Sequence[str]
) -> DuplicatePlan:
    """The plan from the rows of repeated keys in read order (wire values, as the tasks see them)."""
    first: set[str] = set()
    skip: set[tuple[Any, ...]] = set()
    unnamed: dict[tuple[Any, str], int] = {}
    order: dict[str, None] = {}
    n = 0
    for row in rows:
        k = key_of(row)
        if k is None:
            continue
        ident = identity(row, ids)
        if k not in first:
            first.add(k)
            if not _named(ident):
                unnamed[(ident[0], k)] = 1
            continue
        n += 1
        order.setdefault(k)
        if _named(ident):
            skip.add(ident)
        else:
            unnamed.setdefault((ident[0], k), 0)
    return DuplicatePlan(
        ids=tuple(ids),
        skip=frozenset(skip),
        unnamed={ek: v for ek, v in unnamed.items() if ek[1] in order},
        keys=tuple(order),
        rows=n,
    )


class DuplicateFilter:
    """In one task attempt: is this encoded row a duplicate of an earlier row's key?"""

    def __init__(self, plan: DuplicatePlan):
        self.plan = plan
        self.left = dict(plan.unnamed)  # per attempt: a retried task starts again

    def __call__(self, row: Mapping[str, Any], key: Mapping[str, Any]) -> bool:
        ident = identity(row, self.plan.ids)
        if _named(ident):
            return ident in self.plan.skip
        if not self.left:
            return False
        ek = (ident[0], canonical_key(dict(key)))
        left = self.left.get(ek)
        if left is None:
            return False
        if left > 0:
            self.left[ek] = left - 1
            return False
        return True


def find_duplicates(
    read: Callable[[str], list[dict[str, Any]]],
    view: str,
    table: Table,
    columns: Sequence[ViewColumn],
    entity_keys: Sequence[tuple[str | None, Sequence[str]]],
    to_wire: Callable[[Mapping[str, Any]], dict[str, Any]],
    marker_attribute: str | None = "_dm_marker",
) -> DuplicatePlan | None:
    """The plan of ``table`` (None when no key repeats). ``read(query)``: the rows of a derived table
    (the job reads through Spark's JDBC source, so values arrive typed as in the tasks)."""
    names = {c.name for c in columns}
    if not table.key_names or any(k not in names for k in table.key_names):
        return None  # a key attribute the view lacks: every row is rejected (null_key)
    found = read(check_query(view, table))
    if not found or not int(found[0].get("dm_dups") or 0):
        return None
    ids = id_columns(columns)
    query = rows_query(view, table, columns, entity_keys)
    rows = sorted(read(query), key=lambda r: int(r[POSITION_COLUMN]))
    wire = ({k: v for k, v in to_wire(r).items() if k != POSITION_COLUMN} for r in rows)
    plan = plan_duplicates(wire, EncodedKey(table, marker_attribute), ids)
    return plan if plan.rows else None


def entity_keys_in_order(
    table: Table, stats_keys: Mapping[str | None, Sequence[str]]
) -> list[tuple[str | None, list[str]]]:
    """Entities in contract order (then any other the view holds), each with its key columns."""
    out: list[tuple[str | None, list[str]]] = [
        (e.entity_type, list(stats_keys.get(e.entity_type, ()))) for e in table.entities
    ]
    known = {e for e, _ in out}
    out += [(e, list(cols)) for e, cols in stats_keys.items() if e not in known]
    return out


# -- in the job (driver) ----------------------------------------------------------------------------


def duplicates_file(table: str) -> str:
    return f"spark-duplicates/{safe_name(table)}.jsonl"


def duplicate_plan(
    spark: Any, jdbc: JdbcSource, conf: JobConf, columns: Sequence[ViewColumn], stats: Sequence[EntityStats]
) -> DuplicatePlan | None:
    """The table's duplicate rows (:mod:`dynamigrate.etl.spark_dups`), None when no key repeats."""
    from dynamigrate.etl.spark_job import row_to_wire

    props = jdbc.properties()

    def read(query: str) -> list[dict[str, Any]]:
        return [r.asDict() for r in spark.read.jdbc(jdbc.url, query, properties=props).collect()]

    keys = entity_keys_in_order(conf.table, {st.entity: [k.column for k in st.keys] for st in stats})
    t0 = time.monotonic()
    plan = find_duplicates(read, conf.view, conf.table, columns, keys, row_to_wire, conf.marker_attribute)
    if plan is not None:
        log.info(
            "table %s: %d row(s) produce the key of an earlier row (%d key(s)), found in %.1fs: skipped",
            conf.table_name,
            plan.rows,
            len(plan.keys),
            time.monotonic() - t0,
        )
    return plan


def write_duplicates(storage: Storage, table: str, plan: DuplicatePlan | None) -> dict[str, Any]:
    """Each repeated key once under the output (``spark-duplicates/<T>.jsonl``); what the outcome says."""
    name = duplicates_file(table)
    if plan is None:
        if storage.read_text(name):
            storage.write_text(name, "")  # an earlier invocation's list no longer holds
        return {}
    storage.write_text(name, plan.file_lines(table))
    return {"rows": plan.rows, "keys": len(plan.keys), "examples": plan.examples(5), "file": name}
