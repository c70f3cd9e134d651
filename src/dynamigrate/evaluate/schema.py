"""What the evaluator needs to know about base tables, read from information_schema (its own reading)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

NUMERIC_TYPES = frozenset(
    {
        "tinyint",
        "smallint",
        "mediumint",
        "int",
        "integer",
        "bigint",
        "decimal",
        "numeric",
        "float",
        "double",
        "year",
        "bit",
    }
)
TEXT_TYPES = frozenset(
    {"char", "varchar", "text", "tinytext", "mediumtext", "longtext", "enum", "set", "json"}
)


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    collation: str | None
    nullable: bool

    @property
    def numeric(self) -> bool:
        return self.data_type in NUMERIC_TYPES

    @property
    def text(self) -> bool:
        return self.data_type in TEXT_TYPES

    @property
    def case_insensitive(self) -> bool:
        return bool(self.collation) and not str(self.collation).endswith("_bin")


@dataclass(frozen=True)
class BaseTable:
    name: str
    columns: dict[str, Column]  # lower-case name -> column (declaration order)
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()  # NOT NULL unique keys other than the primary key

    def column(self, name: str) -> Column | None:
        return self.columns.get(name.lower())

    @property
    def row_key(self) -> tuple[str, ...]:
        """The columns that identify a row: the primary key, else a NOT NULL unique key, else ()."""
        if self.primary_key:
            return self.primary_key
        return self.unique_keys[0] if self.unique_keys else ()


@dataclass
class Catalog:
    """Base tables of one database, read lazily (one round trip per table)."""

    conn: Any
    tables: dict[str, BaseTable] = field(default_factory=dict)

    def table(self, name: str) -> BaseTable:
        key = name.lower()
        if key not in self.tables:
            self.tables[key] = read_table(self.conn, name)
        return self.tables[key]


def read_table(conn: Any, name: str) -> BaseTable:
    from dynamigrate.evaluate.fragments import EvaluationUnsupported

    with conn.cursor() as cur:
        cur.execute(
            "SELECT COLUMN_NAME, DATA_TYPE, COLLATION_NAME, IS_NULLABLE FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (name,),
        )
        cols = {
            str(c).lower(): Column(str(c), str(t).lower(), str(coll) if coll else None, n == "YES")
            for c, t, coll, n in cur.fetchall()
        }
        if not cols:
            raise EvaluationUnsupported(f"table '{name}' does not exist in the source database", table=name)
        cur.execute(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY INDEX_NAME, SEQ_IN_INDEX",
            (name,),
        )
        indexes: dict[str, list[str]] = {}
        unique: set[str] = set()
        for index, non_unique, col in cur.fetchall():
            indexes.setdefault(str(index), []).append(str(col))
            if int(non_unique) == 0:
                unique.add(str(index))
    real = {k.lower(): c.name for k, c in cols.items()}
    pk = tuple(real.get(c.lower(), c) for c in indexes.get("PRIMARY", ()))
    uks = tuple(
        tuple(real.get(c.lower(), c) for c in indexes[i])
        for i in sorted(unique)
        if i != "PRIMARY" and all(not cols[c.lower()].nullable for c in indexes[i])
    )
    return BaseTable(name=name, columns=cols, primary_key=pk, unique_keys=uks)


_LEADING_NUMBER = re.compile(r"\s*([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)")


def sql_number(text: str) -> Decimal:
    """Text as the server reads it when it compares text with a number: its leading number, else 0
    (``'010' = 10``, ``' 11' = 11``, ``'12abc' = 12``, ``'x' = 0``; the server warns, and matches)."""
    m = _LEADING_NUMBER.match(text)
    return Decimal(m.group(1)) if m else Decimal(0)


def match_key(value: Any, column: Column | None, numeric: bool) -> Any:
    """A value normalised the way SQL '=' compares it, for matching rows in Python.

    Numbers compare numerically (``1 = 1.0 = '1'``); text under a case-insensitive collation compares
    case- and accent-insensitively, and trailing spaces never count (PAD SPACE collations). This is an
    approximation of the server's collations (documented in the package docstring).
    """
    if value is None:
        return None
    if numeric:
        if isinstance(value, bytes | bytearray):
            value = bytes(value).decode("utf-8", "replace")
        if isinstance(value, str):
            return ("n", sql_number(value).normalize())
        try:
            return ("n", Decimal(str(value)).normalize())
        except InvalidOperation:
            return ("x", value)
    if isinstance(value, str):
        text = value.rstrip(" ")
        if column is None or column.case_insensitive:
            text = "".join(
                ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch)
            ).casefold()
        return ("s", text)
    if isinstance(value, bytes | bytearray):
        return ("b", bytes(value))
    return ("v", value)


def sort_key(value: Any, column: Column | None = None) -> tuple[int, Any]:
    """Order of SQL ORDER BY (NULL first), approximating collations like :func:`match_key`."""
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, Decimal(int(value)))  # str(True) is no number
    if isinstance(value, int | Decimal | float):
        return (1, Decimal(str(value)) if not isinstance(value, Decimal) else value)
    if isinstance(value, str):
        return (2, match_key(value, column, False)[1])
    if isinstance(value, bytes | bytearray):
        return (3, bytes(value))
    return (4, value)
