"""Contract -> one ``CREATE OR REPLACE VIEW`` per DynamoDB table.

The view of a table has one column per attribute (``Table.attribute_names``, in that order), then the
helper columns ``_dm_entity``, ``_dm_rowid`` and the source row key ``_dm_k1..`` (source/keys.py). Multi-entity tables are a ``UNION ALL`` of one SELECT
per entity; an entity that lacks an attribute gives NULL for it.

Shapes (docs/views.md has the full list):

* to-one joins (foreign-key, lookup-table, multi-column, self-join, conditional, chain) are LEFT JOINs;
  joins to the same table under the same condition are joined once per entity;
* to-many constructs (aggregate, json-construction) are correlated scalar subqueries, so one source row
  is always one view row;
* values are emitted in the wire format: S, N, M and L as utf8mb4 text (exact decimals, dates as the
  server prints them, JSON text), BOOL/B/sets as they are, SQL NULL for "attribute absent".

SQL is assembled from quoted identifiers, escaped literals and contract fragments that were parsed by
sqlglot, checked (no statements, subqueries, comments, variables) and re-rendered with every column
reference rewritten to a known alias; nothing from the contract is pasted as raw text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from dynamigrate.contract.model import (
    ENTITY_COLUMN,
    HELPER_PREFIX,
    ROWID_COLUMN,
    Attribute,
    Contract,
    Entity,
    Table,
)
from dynamigrate.errors import ContractError, SqlGenError
from dynamigrate.source.keys import KeyPlan, key_plan
from dynamigrate.source.schema import SchemaInfo
from dynamigrate.sqlgen.dialects import MySQL8Dialect, get_dialect
from dynamigrate.sqlgen.filters import filter_path, filter_tree
from dynamigrate.sqlgen.joins import _Joins
from dynamigrate.sqlgen.safety import assert_single_create_view, check_statement_shape, render_sql
from dynamigrate.sqlgen.scope import DOUBLE_TEXT_WIDTH, MAX_IDENTIFIER, Probe
from dynamigrate.sqlgen.values import date_format_spec

__all__ = [
    "MAX_IDENTIFIER",
    "Probe",
    "ViewStatement",
    "date_format_spec",
    "generate_statements",
    "generate_table_view",
]


@dataclass
class ViewStatement:
    """One generated statement: the view of one DynamoDB table."""

    table: str
    view_name: str
    sql: str
    interpretations: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    source_tables: list[str] = field(default_factory=list)


def _strip_paths(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _strip_paths(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "path"
        }
    if isinstance(value, tuple | list):
        return [_strip_paths(v) for v in value]
    return value


class _EntityBuilder(_Joins):
    """Builds the SELECT of one entity: each attribute's value (sqlgen/scope.py, values.py, joins.py) in
    the wire format, the helper columns, FROM, LEFT JOINs and the filter."""

    def value(self, attr: Attribute) -> str:
        """The SQL of one attribute's value, before the wire-format cast."""
        if (
            attr.source_table
            and attr.source_table.lower() != self.src.lower()
            and not (attr.join or attr.calculation)
        ):
            raise ContractError(
                f"attribute '{attr.name}' takes its value from {attr.source_table}, but the entity reads {self.src} "
                "and the attribute has no join",
                path=f"{attr.path}.source_table",
                table=self.table.name,
                hint=f"add a foreign-key join to {attr.source_table}, or set source_table to {self.src}",
            )
        if attr.join is not None:
            return self.join_value(attr, attr.join)
        if attr.calculation is not None:
            return self.calculation_value(attr, attr.calculation)
        if attr.transformation is not None:
            return self.transformation_value(attr, attr.transformation)
        if attr.type == "NULL" and not attr.source_columns:
            return "NULL"
        return self.source_column(attr)

    def wire(self, attr: Attribute, sql: str) -> str:
        if attr.type in ("S", "N", "M", "L"):
            if _is_text_cast(sql, self.d.to_text("")):
                return sql
            return self.d.to_text(sql, DOUBLE_TEXT_WIDTH if self._double_valued(attr) else None)
        return sql

    def _double_valued(self, attr: Attribute) -> bool:
        """Is the value a FLOAT/DOUBLE column, or SUM/AVG/MIN/MAX of one (its text needs a width)?"""
        if attr.join is not None or attr.transformation is not None:
            return False
        c = attr.calculation
        if c is None:
            cols = attr.source_columns
            return len(cols) == 1 and self.is_double(self.src_alias, _bare_column(cols[0]))
        if c.type != "aggregate" or (c.operation or "").upper() not in ("SUM", "AVG", "MIN", "MAX"):
            return False
        info = self.table_info(c.target_table or self.src)
        col = info.column(_bare_column(c.select_column or "")) if info is not None else None
        return col is not None and col.data_type in ("float", "double")

    # -- the SELECT --------------------------------------------------------------------------------------

    def rowid(self) -> str:
        info = self.table_info(self.src)
        if info is not None:
            pk = info.integer_primary_key
            return self.col(self.src_alias, pk) if pk else "NULL"
        if self.schema is None and self._mentions_id():
            self.note(self.entity.path, f"_dm_rowid assumed to be {self.src}.id (no schema given)")
            return self.col(self.src_alias, "id")
        return "NULL"

    def _mentions_id(self) -> bool:
        return any("id" in [c.lower() for c in attr.source_columns] for attr in self.entity.attributes)

    def select(self, columns: tuple[str, ...], keys: KeyPlan | None = None) -> str:
        values = self.values
        for attr in self.entity.attributes:
            values[attr.name] = self.wire(attr, self.value(attr))
        lines = []
        for name in columns:
            lines.append(f"  {values.get(name, 'NULL')} AS {self.q(name)}")
        # CAST gives the literal the IMPLICIT coercibility of a column: a literal alone would keep the
        # collation of the connection that created the view, and `WHERE _dm_entity = 'X'` from a
        # connection with another utf8mb4 collation would fail with "Illegal mix of collations"
        entity = self.d.to_text(self.d.literal(self.entity.entity_type))
        lines.append(f"  {entity} AS {self.q(ENTITY_COLUMN)}")
        lines.append(f"  {self.rowid()} AS {self.q(ROWID_COLUMN)}")
        if keys is not None and keys.view_columns:  # the row key, for keyset reads (source/keys.py)
            ek = keys.entity(self.entity.entity_type)
            by_slot = dict(zip(ek.view_columns, ek.columns, strict=True)) if ek else {}
            for slot in keys.view_columns:
                src_col = by_slot.get(slot)
                lines.append(
                    f"  {self.col(self.src_alias, src_col) if src_col else 'NULL'} AS {self.q(slot)}"
                )
        return "SELECT\n" + ",\n".join(lines) + "\n" + self.from_clause()

    def from_clause(self) -> str:
        """FROM the source table, its LEFT JOINs and the entity's filter (after :meth:`select`)."""
        sql = f"FROM {self.q(self.src)}"
        for alias, target, on in self.joins:
            sql += f"\nLEFT JOIN {self.q(target)} AS {self.q(alias)} ON {on}"
        where = self.filter_where()
        if where:
            sql += f"\nWHERE {where}"
        return sql

    def filter_where(self) -> str | None:
        """The entity's ``filter`` (dynamigrate's extension) over the source row, or None."""
        if self.entity.filter is None:
            return None
        tree = filter_tree(self.entity, self.src_alias, table=self.table.name)
        for column in tree.find_all(exp.Column):
            self.check_column(self.src_alias, column.name, filter_path(self.entity))
        return render_sql(tree)


def _bare_column(ref: str) -> str:
    """``t.col`` / `` `col` `` -> ``col`` (an expression stays as it is and names no column)."""
    return ref.strip().split(".")[-1].strip().strip("`")


def _is_text_cast(sql: str, empty_cast: str) -> bool:
    """Is ``sql`` one ``CAST(... AS CHAR CHARACTER SET utf8mb4)`` call (so casting again is a no-op)?"""
    head, tail = empty_cast.split("(", 1)[0] + "(", empty_cast[len(empty_cast.split("(", 1)[0]) + 1 :]
    if not (sql.startswith(head) and sql.endswith(tail)):
        return False
    depth = 0
    quote = None
    for i, ch in enumerate(sql):
        if quote:
            if ch == quote:
                quote = None
            continue
        if ch in "'`\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0 and i != len(sql) - 1:
                return False
    return True


def _observe_duplicates(table: Table, entity: Entity, notes: list[str]) -> None:
    seen: dict[str, str] = {}
    for attr in entity.attributes:
        spec = attr.join or attr.calculation
        if spec is None:
            continue
        key = json.dumps(_strip_paths(spec), sort_keys=True, default=str)
        if key in seen:
            notes.append(
                f"{table.name} ({attr.path}): attributes '{seen[key]}' and '{attr.name}' are computed identically "
                f"({attr.derivation}); generated as written (not corrected), but check the contract"
            )
        else:
            seen[key] = attr.name


def _check_names(table: Table) -> None:
    if len(table.view_name) > MAX_IDENTIFIER:
        raise SqlGenError(
            f"view name {table.view_name} is longer than {MAX_IDENTIFIER} characters",
            path=f"{table.path}.table",
            table=table.name,
            hint="shorten the DynamoDB table name",
        )
    seen: dict[str, str] = {}
    for entity in table.entities:
        for attr in entity.attributes:
            low = attr.name.lower()
            if low.startswith(HELPER_PREFIX):
                raise ContractError(
                    f"attribute name '{attr.name}' starts with the reserved prefix {HELPER_PREFIX}",
                    path=f"{attr.path}.name",
                    table=table.name,
                    hint="rename the attribute",
                )
            if attr.name != attr.name.rstrip():  # MySQL/MariaDB: ERROR 1166 Incorrect column name
                raise SqlGenError(
                    f"attribute name {attr.name!r} ends with a space, which a view column cannot",
                    path=f"{attr.path}.name",
                    table=table.name,
                    hint="remove the trailing space from the attribute name",
                )
            if any(ord(ch) > 0xFFFF for ch in attr.name):  # ERROR 1300 Invalid utf8mb4 character string
                raise SqlGenError(
                    f"attribute name {attr.name!r} has a character outside the Basic Multilingual Plane (an "
                    "emoji, say), which a MySQL/MariaDB view column cannot hold",
                    path=f"{attr.path}.name",
                    table=table.name,
                    hint="rename the attribute (identifiers allow U+0001 to U+FFFF: "
                    "https://dev.mysql.com/doc/refman/8.0/en/identifiers.html)",
                )
            if len(attr.name) > MAX_IDENTIFIER:
                raise SqlGenError(
                    f"attribute name '{attr.name}' is longer than {MAX_IDENTIFIER} characters (a view column limit)",
                    path=f"{attr.path}.name",
                    table=table.name,
                    hint="shorten the attribute name",
                )
            if low in seen and seen[low] != attr.name:
                raise ContractError(
                    f"attributes '{seen[low]}' and '{attr.name}' differ only in case; view columns are "
                    "case-insensitive",
                    path=f"{attr.path}.name",
                    table=table.name,
                    hint="rename one of them",
                )
            seen[low] = attr.name


_PLAIN_VIEW_NAME = re.compile(r"ddb_[a-z0-9_]+_view")


def view_identifier(name: str, quote: Callable[[str], str]) -> str:
    """The view's name in its CREATE statement: bare when it is the default ``ddb_<table>_view`` of
    lower-case letters, digits and underscores (never a reserved word; the workshop's tools read the
    name from the file as ``CREATE OR REPLACE VIEW <name> AS``), quoted otherwise."""
    return name if _PLAIN_VIEW_NAME.fullmatch(name) else quote(name)


def generate_table_view(
    table: Table,
    dialect: str | MySQL8Dialect = "mysql",
    schema: SchemaInfo | None = None,
    check: bool | str = True,
) -> ViewStatement:
    """The CREATE OR REPLACE VIEW statement of one DynamoDB table."""
    d = get_dialect(dialect)
    _check_names(table)
    notes: list[str] = []
    columns = table.attribute_names
    keys = key_plan(table, schema)
    selects = []
    for entity in table.entities:
        _observe_duplicates(table, entity, notes)
        builder = _EntityBuilder(table, entity, d, schema, notes)
        selects.append(builder.select(columns, keys))
    body = "\nUNION ALL\n".join(selects)
    sql = f"CREATE OR REPLACE VIEW {view_identifier(table.view_name, d.quote)} AS\n{body}"
    if check == "full":
        assert_single_create_view(sql, d.name, table=table.name)
    elif check:
        check_statement_shape(sql, d.name, table=table.name)
    return ViewStatement(
        table=table.name,
        view_name=table.view_name,
        sql=sql,
        interpretations=notes,
        columns=[*columns, ENTITY_COLUMN, ROWID_COLUMN, *keys.view_columns],
        entities=[e.entity_type for e in table.entities],
        source_tables=list(dict.fromkeys(e.source_table for e in table.entities)),
    )


def generate_statements(
    contract: Contract,
    tables: list[str] | tuple[str, ...] | None = None,
    dialect: str | MySQL8Dialect = "mysql",
    schema: SchemaInfo | None = None,
    check: bool | str = True,
    on_statement: Callable[[ViewStatement], None] | None = None,
) -> list[ViewStatement]:
    out = []
    for table in contract.select(list(tables) if tables else None):
        stmt = generate_table_view(table, dialect, schema, check)
        if on_statement is not None:
            on_statement(stmt)
        out.append(stmt)
    return out
