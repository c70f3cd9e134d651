"""What the live MySQL schema looks like, as plain data (filled by :mod:`dynamigrate.source.introspect`).

Pure data so that SQL generation and contract lint can use it without a connection (tests build it by
hand; ``SchemaInfo.from_dict`` reads a JSON snapshot written by ``dynamigrate schema dump``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    data_type: str  # information_schema DATA_TYPE, lower case: int, varchar, datetime, decimal, json...
    column_type: str = ""  # full type: int(11) unsigned, decimal(12,2), tinyint(1), enum('a','b')
    nullable: bool = True
    max_length: int | None = None  # CHARACTER_MAXIMUM_LENGTH (characters) for strings
    numeric_precision: int | None = None
    numeric_scale: int | None = None
    datetime_precision: int | None = None
    collation: str | None = None  # COLLATION_NAME of string columns (keyset order, view key columns)

    @property
    def is_integer(self) -> bool:
        return self.data_type in ("tinyint", "smallint", "mediumint", "int", "integer", "bigint")

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.data_type in (
            "decimal",
            "numeric",
            "float",
            "double",
            "real",
            "bit",
            "year",
        )

    @property
    def is_temporal(self) -> bool:
        return self.data_type in ("date", "datetime", "timestamp", "time", "year")

    @property
    def is_binary(self) -> bool:
        return self.data_type in ("binary", "varbinary", "blob", "tinyblob", "mediumblob", "longblob")

    @property
    def is_string(self) -> bool:
        return self.data_type in (
            "char",
            "varchar",
            "text",
            "tinytext",
            "mediumtext",
            "longtext",
            "enum",
            "set",
            "json",
        )


def dialect_from_version(version: str) -> str:
    """The dialect of a ``SELECT VERSION()`` answer: ``10.11.6-MariaDB-...`` -> mariadb, else mysql."""
    return "mariadb" if "mariadb" in (version or "").lower() else "mysql"


@dataclass(frozen=True)
class TableInfo:
    name: str
    columns: dict[str, ColumnInfo]
    primary_key: tuple[str, ...] = ()
    is_view: bool = False
    row_estimate: int | None = None
    indexed_columns: frozenset[str] = frozenset()  # first column of every index
    #: every UNIQUE index but the primary key, in index-name order, columns in index order
    unique_keys: tuple[tuple[str, ...], ...] = ()
    #: declared single-column foreign keys: column -> (referenced table, referenced column)
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)

    def references(self, column: str) -> tuple[str, str] | None:
        """(table, column) the column references by a declared foreign key, or None."""
        for key, value in self.foreign_keys.items():
            if key.lower() == column.lower():
                return value
        return None

    def column(self, name: str) -> ColumnInfo | None:
        col = self.columns.get(name)
        if col is None:
            for key, value in self.columns.items():
                if key.lower() == name.lower():
                    return value
        return col

    @property
    def integer_primary_key(self) -> str | None:
        """The single integer primary key column, if the table has one (chunked reads need it)."""
        if len(self.primary_key) == 1:
            col = self.column(self.primary_key[0])
            if col is not None and col.is_integer:
                return col.name
        return None

    @property
    def row_key(self) -> tuple[str, ...]:
        """The columns that identify a row: the primary key, else the first unique key whose columns
        are all NOT NULL (a nullable unique column admits many NULL rows); () when there is none.

        Chunked, resumable reads page by keyset on these columns (:mod:`dynamigrate.source.keys`). A key
        with a FLOAT/DOUBLE column is not used: the value read back does not compare equal to the stored
        one, so window bounds would not be exact (such a table is read in one pass).
        """
        candidates = [self.primary_key] if self.primary_key else []
        for key in self.unique_keys:
            cols = [self.column(c) for c in key]
            if key and all(c is not None and not c.nullable for c in cols):
                candidates.append(tuple(c.name for c in cols if c is not None))
        for key in candidates:
            cols = [self.column(c) for c in key]
            if all(c is None or c.data_type not in ("float", "double", "real") for c in cols):
                return key
        return ()


@dataclass(frozen=True)
class SchemaInfo:
    database: str
    tables: dict[str, TableInfo] = field(default_factory=dict)
    version: str = ""  # SELECT VERSION()

    @property
    def dialect(self) -> str:
        return dialect_from_version(self.version)

    def table(self, name: str) -> TableInfo | None:
        t = self.tables.get(name)
        if t is None:
            for key, value in self.tables.items():
                if key.lower() == name.lower():
                    return value
        return t

    def to_dict(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "version": self.version,
            "tables": {
                t.name: {
                    "primary_key": list(t.primary_key),
                    "is_view": t.is_view,
                    "row_estimate": t.row_estimate,
                    "indexed_columns": sorted(t.indexed_columns),
                    "unique_keys": [list(k) for k in t.unique_keys],
                    "foreign_keys": {k: list(v) for k, v in t.foreign_keys.items()},
                    "columns": [c.__dict__ for c in t.columns.values()],
                }
                for t in self.tables.values()
            },
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SchemaInfo:
        tables = {}
        for name, t in (data.get("tables") or {}).items():
            cols = {c["name"]: ColumnInfo(**c) for c in t.get("columns", [])}
            tables[name] = TableInfo(
                name=name,
                columns=cols,
                primary_key=tuple(t.get("primary_key") or ()),
                is_view=bool(t.get("is_view")),
                row_estimate=t.get("row_estimate"),
                indexed_columns=frozenset(t.get("indexed_columns") or ()),
                unique_keys=tuple(tuple(k) for k in t.get("unique_keys") or ()),
                foreign_keys={k: (v[0], v[1]) for k, v in (t.get("foreign_keys") or {}).items()},
            )
        return cls(database=data.get("database", ""), tables=tables, version=data.get("version", ""))
