"""How a view exposes its source rows' key, and keyset pagination over it (pure logic, no I/O).

Every generated view carries, after ``_dm_entity`` and ``_dm_rowid``, the *key columns*
``_dm_k1 .. _dm_kN``: the source row's identifying columns (:attr:`TableInfo.row_key`: the primary key,
else the first unique key whose columns are all NOT NULL) with their own SQL types. An entity whose
source table has no such key has no key columns (NULL in a multi-entity view) and is read in one pass.

In a multi-entity (UNION ALL) view, key columns of different entities share a view column only when
their SQL types are identical (data type, column type, collation): a UNION column mixing INT and
VARCHAR, or two collations, would compare and sort differently from the source table, and keyset
reads would skip rows. :func:`key_plan` is the one place that assigns them; the SQL generator and the
engines (local reader, Spark) both call it, so they agree by construction.

Keyset pagination (see :mod:`dynamigrate.source.reader`): the next chunk's upper key is read from the
source table's index (``SELECT key ... WHERE key > lo ORDER BY key LIMIT 1 OFFSET n-1``), then the view
is read for ``lo < key <= hi``. Row-value comparisons are written out (``a > x OR (a = x AND b > y)``):
MariaDB 10.11 does not turn ``(a, b) > (x, y)`` into an index range, the expanded form it does, in
every branch of a UNION view the condition is pushed into.

Checkpoints keep key tuples as JSON (:func:`key_to_json`): ints and strings as they are, everything
else tagged (``{"b64": ...}`` for binary, ``{"dec": ...}`` for decimals, dates as ISO text).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.source.schema import SchemaInfo

#: Prefix of the view's key columns: ``_dm_k1``, ``_dm_k2``...
KEY_COLUMN_PREFIX = "_dm_k"


def key_column_name(i: int) -> str:
    """The view's i-th key column (0-based ``i``)."""
    return f"{KEY_COLUMN_PREFIX}{i + 1}"


@dataclass(frozen=True)
class EntityKey:
    """The key of one entity: its source table's key columns and the view columns that carry them."""

    entity: str
    source_table: str
    columns: tuple[str, ...]  # source columns, key order
    view_columns: tuple[str, ...]  # the view's key columns holding them, same order

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "source_table": self.source_table,
            "columns": list(self.columns),
            "view_columns": list(self.view_columns),
        }


@dataclass(frozen=True)
class KeyPlan:
    """The key columns of one view and which entity uses which (None: the entity has no row key)."""

    view_columns: tuple[str, ...]
    entities: dict[str, EntityKey | None]

    def entity(self, entity_type: str) -> EntityKey | None:
        return self.entities.get(entity_type)


def key_plan(table: Table, schema: SchemaInfo | None) -> KeyPlan:
    """Assign view key columns to every entity's row key (deterministic; needs the live schema).

    Without a schema (views generated offline) nothing is known about keys: no key columns.
    """
    slots: list[tuple[str, str, str | None]] = []  # type signature of each view key column
    entities: dict[str, EntityKey | None] = {}
    for entity in table.entities:
        info = schema.table(entity.source_table) if schema is not None else None
        key = info.row_key if info is not None and not info.is_view else ()
        if info is None or not key:
            entities[entity.entity_type] = None
            continue
        used: list[int] = []
        for name in key:
            col = info.column(name)
            sig = (col.data_type, col.column_type, col.collation) if col is not None else ("?", name, None)
            slot = next((i for i, s in enumerate(slots) if s == sig and i not in used), None)
            if slot is None:
                slots.append(sig)
                slot = len(slots) - 1
            used.append(slot)
        entities[entity.entity_type] = EntityKey(
            entity=entity.entity_type,
            source_table=info.name,
            columns=tuple(key),
            view_columns=tuple(key_column_name(i) for i in used),
        )
    return KeyPlan(tuple(key_column_name(i) for i in range(len(slots))), entities)


# -- keyset conditions ------------------------------------------------------------------------------


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def after_condition(columns: Sequence[str], values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``(c1, .., cn) > (v1, .., vn)`` written out so that the range optimizer uses the index."""
    return _lexicographic(columns, values, last_op=">")


def upto_condition(columns: Sequence[str], values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``(c1, .., cn) <= (v1, .., vn)`` written out (see :func:`after_condition`)."""
    return _lexicographic(columns, values, last_op="<=")


def _lexicographic(columns: Sequence[str], values: Sequence[Any], last_op: str) -> tuple[str, list[Any]]:
    if len(columns) != len(values) or not columns:
        raise ValueError(f"key of {len(columns)} column(s) compared with {len(values)} value(s)")
    strict = last_op[0]  # ">" or "<": the operator of every column but the last
    parts: list[str] = []
    params: list[Any] = []
    n = len(columns)
    for i in range(n):
        terms = [f"{_q(columns[j])} = %s" for j in range(i)]
        params.extend(values[:i])
        terms.append(f"{_q(columns[i])} {last_op if i == n - 1 else strict} %s")
        params.append(values[i])
        parts.append(terms[0] if len(terms) == 1 else "(" + " AND ".join(terms) + ")")
    sql = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return sql, params


def order_by(columns: Sequence[str]) -> str:
    return ", ".join(_q(c) for c in columns)


# -- checkpoints ------------------------------------------------------------------------------------


def key_to_json(values: Sequence[Any]) -> list[Any]:
    """A key tuple as JSON-safe values (binary as base64, decimals and dates as tagged text)."""
    out: list[Any] = []
    for v in values:
        if v is None or isinstance(v, bool):
            raise ValueError(f"a row key value cannot be {v!r}")
        if isinstance(v, int | str):
            out.append(v)
        elif isinstance(v, bytes | bytearray | memoryview):
            out.append({"b64": base64.b64encode(bytes(v)).decode("ascii")})
        elif isinstance(v, Decimal):
            out.append({"dec": str(v)})
        elif isinstance(v, dt.datetime):
            out.append({"datetime": v.isoformat()})
        elif isinstance(v, dt.date):
            out.append({"date": v.isoformat()})
        elif isinstance(v, dt.timedelta):
            out.append({"seconds": v.total_seconds()})
        elif isinstance(v, float):
            out.append({"float": repr(v)})
        else:
            raise ValueError(f"a row key value of type {type(v).__name__} cannot be checkpointed")
    return out


def key_from_json(data: Sequence[Any]) -> tuple[Any, ...]:
    """The inverse of :func:`key_to_json` (values usable as query parameters)."""
    out: list[Any] = []
    for v in data:
        if isinstance(v, int | str) and not isinstance(v, bool):
            out.append(v)
        elif isinstance(v, dict) and len(v) == 1:
            ((tag, text),) = v.items()
            if tag == "b64":
                out.append(base64.b64decode(text))
            elif tag == "dec":
                out.append(Decimal(text))
            elif tag == "datetime":
                out.append(dt.datetime.fromisoformat(text))
            elif tag == "date":
                out.append(dt.date.fromisoformat(text))
            elif tag == "seconds":
                out.append(dt.timedelta(seconds=float(text)))
            elif tag == "float":
                out.append(float(text))
            else:
                raise ValueError(f"unknown key value tag {tag!r} in a checkpoint")
        else:
            raise ValueError(f"unreadable key value {v!r} in a checkpoint")
    return tuple(out)
