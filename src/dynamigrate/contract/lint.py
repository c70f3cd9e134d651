"""Lint a contract against the live MySQL schema (information_schema, as :class:`SchemaInfo`).

Finds what only the database can tell: tables and columns that do not exist (with did-you-mean
suggestions), column references inside join conditions and select expressions (SQL fragments are
parsed with sqlglot, never matched with regular expressions), key columns whose MySQL type does not
fit the DynamoDB type, and tables without the primary key that self-references and chunked reads
rely on. Pure: no connection here, the schema is data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from dynamigrate.contract.model import DOCUMENT_TYPES, Attribute, Contract, Entity, Table
from dynamigrate.contract.problems import ProblemList, did_you_mean
from dynamigrate.contract.validate import placeholder_syntax_error, placeholders, source_format_name
from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo

QUALIFIED_RE = re.compile(r"^\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*\.\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*$")
TO_ONE_JOINS = ("foreign-key", "lookup-table", "multi-column", "self-join")
TEXT_TYPES = ("char", "varchar", "text", "tinytext", "mediumtext", "longtext", "json", "enum", "set")


@dataclass
class _Scope:
    """Which names a SQL fragment of one attribute may use, and the tables they stand for."""

    source: str  # the entity's source table
    names: dict[str, str] = field(default_factory=dict)  # lower-case qualifier -> real table name
    default_tables: list[str] = field(default_factory=list)  # tables searched for unqualified columns
    self_reference: bool = False

    def add(self, qualifier: str | None, table: str | None) -> None:
        if qualifier and table:
            self.names.setdefault(qualifier.lower(), table)


def lint_contract(contract: Contract, schema: SchemaInfo) -> ProblemList:
    """Every problem the live schema reveals (errors and warnings), each with its JSON path."""
    problems = ProblemList()
    for table in contract.tables:
        for entity in table.entities:
            _lint_entity(table, entity, schema, problems)
    return problems


# -- helpers -----------------------------------------------------------------------------------------


def _table_names(schema: SchemaInfo) -> list[str]:
    return sorted(schema.tables)


def _missing_table(schema: SchemaInfo, name: str, path: str, problems: ProblemList, what: str) -> None:
    guess = did_you_mean(name, _table_names(schema)) or did_you_mean(
        name.lower(), [t.lower() for t in _table_names(schema)]
    )
    fix = (
        f"did you mean '{guess}'?"
        if guess
        else f"tables in '{schema.database}': {_short_list(_table_names(schema))}"
    )
    problems.error(path, f"{what} '{name}' does not exist in database '{schema.database}'", fix, code="C201")


def _table_case(real: str, written: str, path: str, problems: ProblemList) -> None:
    """A table found only by ignoring case: the views name it as written, which fails (1146) where
    table names are case-sensitive (lower_case_table_names=0, the default on Linux)."""
    if real != written:
        problems.warning(
            path,
            f"table '{written}' is named '{real}' in the database: where table names are case-sensitive "
            "(lower_case_table_names=0, the default on Linux) the views fail with 'Table doesn't exist' (1146)",
            f"write '{real}'",
            code="C203",
        )


def _short_list(names: list[str], limit: int = 12) -> str:
    if len(names) <= limit:
        return ", ".join(names) or "(none)"
    return ", ".join(names[:limit]) + f", ... ({len(names)} in all)"


def _missing_column(info: TableInfo, column: str, path: str, problems: ProblemList, where: str = "") -> None:
    names = list(info.columns)
    guess = did_you_mean(column, names) or did_you_mean(column.lower(), [n.lower() for n in names])
    fix = f"did you mean '{guess}'?" if guess else f"columns of {info.name}: {_short_list(names)}"
    problems.error(
        path,
        f"column '{column}' does not exist in table '{info.name}'{where}",
        fix,
        code="C202",
    )


def _split_qualified(name: str) -> tuple[str | None, str]:
    m = QUALIFIED_RE.match(name)
    if m:
        return m.group(1), m.group(2)
    return None, name.strip().strip("`")


def _is_self_reference(entity: Entity, attr: Attribute) -> bool:
    src = entity.source_table.lower()
    j, c = attr.join, attr.calculation
    if j is not None:
        if j.type == "self-join":
            return True
        targets = [j.target_table] + [s.target_table for s in j.joins]
        return any(t is not None and t.lower() == src for t in targets)
    return c is not None and c.target_table is not None and c.target_table.lower() == src


# -- entity / attribute ------------------------------------------------------------------------------


def _lint_entity(table: Table, entity: Entity, schema: SchemaInfo, problems: ProblemList) -> None:
    src_path = f"{entity.path}.source_table"
    src_info = schema.table(entity.source_table)
    if src_info is None:
        _missing_table(schema, entity.source_table, src_path, problems, "source table")
        return
    _table_case(src_info.name, entity.source_table, src_path, problems)

    # primary key: self-references are resolved by it, chunked reads / resume / Spark need an integer one
    uses_self_reference = any(_is_self_reference(entity, a) for a in entity.attributes)
    if not src_info.primary_key and uses_self_reference:
        problems.error(
            src_path,
            f"table '{src_info.name}' has no primary key, but {('entity ' + entity.entity_type) if table.multi_entity else 'the table'} "
            f"joins it to itself: the joined row cannot be determined",
            f"add a primary key to {src_info.name}, or write the self-join with an explicit join_alias",
            code="C230",
        )
    elif not src_info.row_key and not src_info.is_view:
        problems.warning(
            src_path,
            f"table '{src_info.name}' has no primary key and no unique key of NOT NULL columns"
            + (" usable for chunked reads (FLOAT/DOUBLE keys are not)" if src_info.primary_key else "")
            + ": it is read in one pass, an interrupted run reads it again from its start, and Spark reads "
            "it in one partition",
            "fine for small tables; for large ones add a primary key (any column types but FLOAT/DOUBLE)",
            code="C231",
        )

    if entity.filter is not None:
        _lint_filter(entity, src_info, problems)

    key_names = set(table.key_names) | set(table.index_key_names)
    for attr in entity.attributes:
        _lint_attribute(table, entity, attr, src_info, schema, problems, attr.name in key_names)


def _lint_filter(entity: Entity, src_info: TableInfo, problems: ProblemList) -> None:
    """The columns of the entity's filter exist in its source table (an unsafe or foreign filter is
    reported by the semantic validation, C140/C141)."""
    from dynamigrate.errors import DynamigrateError
    from dynamigrate.sqlgen.filters import filter_columns, filter_path

    try:
        columns = filter_columns(entity)
    except DynamigrateError:
        return
    for name in columns:
        if src_info.column(name) is None:
            _missing_column(src_info, name, filter_path(entity), problems, " (used by the filter)")


def _lint_attribute(
    table: Table,
    entity: Entity,
    attr: Attribute,
    src_info: TableInfo,
    schema: SchemaInfo,
    problems: ProblemList,
    is_key: bool,
) -> None:
    path = attr.path
    # the table the source_column belongs to
    own_info = src_info
    if attr.source_table and attr.source_table.lower() != src_info.name.lower():
        other = schema.table(attr.source_table)
        if other is None:
            _missing_table(schema, attr.source_table, f"{path}.source_table", problems, "source table")
            return
        own_info = other

    column: ColumnInfo | None = None
    for k, raw_col in enumerate(attr.source_columns):
        cpath = (
            f"{path}.source_column" if isinstance(attr.source_column, str) else f"{path}.source_column[{k}]"
        )
        qual, col = _split_qualified(raw_col)
        info = own_info
        if qual is not None:
            q = schema.table(qual)
            if q is None:
                _missing_table(schema, qual, cpath, problems, "table")
                continue
            info = q
        c = info.column(col)
        if c is None:
            _missing_column(info, col, cpath, problems)
        elif column is None:
            column = c

    t = attr.transformation
    if (
        t is not None
        and t.type in ("string-format", "template")
        and t.format is not None
        and placeholder_syntax_error(t.format) is None
    ):
        fpath = f"{t.path}.template" if t.type == "template" else f"{t.path}.format"
        for name in placeholders(t.format):
            if src_info.column(name) is None:
                names = list(src_info.columns)
                guess = did_you_mean(name, names)
                problems.error(
                    fpath,
                    f"placeholder '{{{name}}}' names no column of '{src_info.name}'",
                    f"did you mean '{{{guess}}}'?"
                    if guess
                    else f"columns of {src_info.name}: {_short_list(names)}",
                    code="C210",
                )

    is_plain_value = (
        attr.join is None and attr.calculation is None and (t is None or t.type in ("json-parse",))
    )
    if column is not None:
        _lint_column_type(attr, column, is_key, is_plain_value, problems)

    if attr.join is not None or attr.calculation is not None:
        _lint_sql(entity, attr, src_info, schema, problems, is_key)


def _lint_column_type(
    attr: Attribute, col: ColumnInfo, is_key: bool, is_plain_value: bool, problems: ProblemList
) -> None:
    path = f"{attr.path}.type"
    where = f"column {col.name} is {col.column_type or col.data_type}"
    t = attr.transformation
    # a number column read as epoch seconds/milliseconds is a date by its source_format
    epoch = t is not None and source_format_name(t.source_format or "") in ("epoch", "epoch_ms")
    if t is not None and t.type == "date-format" and not (col.is_temporal or col.is_string or epoch):
        problems.warning(
            path,
            f"date-format on '{attr.name}', but {where}, not a date",
            "apply date-format to a DATE/DATETIME/TIMESTAMP column",
            code="C224",
        )
    if t is not None and t.type == "number-format" and not col.is_numeric:
        problems.warning(
            path,
            f"number-format on '{attr.name}', but {where}: non-numeric values cannot be formatted",
            "apply number-format to a numeric column",
            code="C224",
        )
    if not is_plain_value:
        return
    kind = "key attribute" if is_key else "attribute"
    # a set is read from a JSON array or comma-separated text: a text column is its usual source
    if (attr.type == "N" and not col.is_numeric) or (
        attr.type == "NS" and not (col.is_numeric or col.is_string)
    ):
        problems.warning(
            path,
            f"{kind} '{attr.name}' is {attr.type} but {where}: rows whose value is not a number will be rejected",
            'use "type": "S", or make sure the column only holds numbers (preflight counts the others)',
            code="C220",
        )
    elif attr.type == "N" and col.data_type in ("float", "double", "real"):
        problems.warning(
            path,
            f"{kind} '{attr.name}' comes from column {col.name} ({col.column_type or col.data_type}): "
            "binary floating point may not round-trip exactly",
            "prefer DECIMAL columns for exact numbers",
            code="C220",
        )
    if attr.type in ("S", "SS") and col.is_binary:
        problems.warning(
            path,
            f"{kind} '{attr.name}' is S but {where}: bytes that are not valid UTF-8 cannot become a string",
            'use "type": "B" for binary data',
            code="C221",
        )
    if attr.type in ("B", "BS") and not col.is_binary and not col.is_string:
        problems.warning(
            path,
            f"{kind} '{attr.name}' is B but {where}",
            'use "type": "S" or "N" for this column',
            code="C221",
        )
    if attr.type == "BOOL" and not (col.is_integer or col.data_type in ("bit", "boolean")):
        problems.warning(
            path,
            f"'{attr.name}' is BOOL but {where}: only 0/1 (true/false) values convert",
            "use a TINYINT(1)/BIT column, or a case calculation that yields 0/1",
            code="C222",
        )
    if attr.type in DOCUMENT_TYPES and col.data_type not in TEXT_TYPES:
        problems.warning(
            path,
            f"'{attr.name}' is {attr.type} but {where}: the value must be JSON text",
            "use a JSON or TEXT column, or json-construction to build the document from columns",
            code="C223",
        )


# -- SQL fragments -----------------------------------------------------------------------------------


def _scope_for(entity: Entity, attr: Attribute, src_info: TableInfo) -> _Scope:
    scope = _Scope(source=src_info.name)
    scope.add(src_info.name, src_info.name)
    scope.add(entity.source_table, src_info.name)
    j, c = attr.join, attr.calculation
    targets: list[str] = []
    if j is not None:
        if j.target_table:
            targets.append(j.target_table)
        targets += [s.target_table for s in j.joins]
        if j.join_alias:
            scope.add(j.join_alias, j.target_table or src_info.name)
    if c is not None and c.target_table:
        targets.append(c.target_table)
    for t in targets:
        scope.add(t, t)
    scope.default_tables = [src_info.name, *targets]
    scope.self_reference = _is_self_reference(entity, attr)
    return scope


def _fragments(attr: Attribute) -> list[tuple[str, str, str]]:
    """(json path, SQL text, kind) of every SQL fragment of the attribute's join/calculation."""
    out: list[tuple[str, str, str]] = []
    j, c = attr.join, attr.calculation
    if j is not None:
        p = j.path
        if j.join_condition:
            out.append((f"{p}.join_condition", j.join_condition, "condition"))
        for i, cond in enumerate(j.join_conditions):
            out.append((f"{p}.join_conditions[{i}]", cond, "condition"))
        if j.select_column:
            out.append((f"{p}.select_column", j.select_column, "expression"))
        if j.condition:
            out.append((f"{p}.condition", j.condition, "condition"))
        if isinstance(j.else_value, str) and QUALIFIED_RE.match(j.else_value):
            out.append((f"{p}.else_value", j.else_value, "expression"))
        for s in j.joins:
            out.append((f"{s.path}.join_condition", s.join_condition, "condition"))
            out.append((f"{s.path}.select_column", s.select_column, "expression"))
        if j.construction is not None:
            for key, col in j.construction.select_columns:
                out.append((f"{j.construction.path}.select_columns.{key}", col, "target"))
            if j.construction.order_by:
                out.append((f"{j.construction.path}.order_by", j.construction.order_by, "order"))
    if c is not None:
        p = c.path
        if c.join_condition:
            out.append((f"{p}.join_condition", c.join_condition, "condition"))
        if c.select_column:
            out.append((f"{p}.select_column", c.select_column, "target"))
        for case in c.cases:
            out.append((f"{case.path}.when", case.when, "condition"))
            out.append((f"{case.path}.then", case.then, "expression"))
        if c.else_value:
            out.append((f"{p}.else", c.else_value, "expression"))
        for i, part in enumerate(c.parts):
            out.append((f"{p}.parts[{i}]", part, "expression"))
        if c.expression:
            out.append((f"{p}.expression", c.expression, "expression"))
    return out


def _parse(sql: str, kind: str) -> Any:
    if kind == "order":
        return sqlglot.parse_one(f"SELECT 1 ORDER BY {sql}", read="mysql")
    return sqlglot.parse_one(sql, read="mysql")


_QUALIFIED = re.compile(r"`[^`]*`|'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|\b([A-Za-z_]\w*)\.([A-Za-z_]\w*)\b")


def backquoted_names(sql: str, kind: str) -> str | None:
    """``sql`` with every unquoted ``table.column`` backquoted, when that makes it parse (else None).

    MySQL reads a word after ``.`` as an identifier even when it is a reserved word (``group.select``);
    sqlglot does not, and backquotes are what MySQL itself asks for in every other position.
    """

    def quote(m: re.Match[str]) -> str:
        if m.group(1) is None:  # a quoted identifier or a string literal: unchanged
            return m.group(0)
        return f"`{m.group(1)}`.`{m.group(2)}`"

    fixed = _QUALIFIED.sub(quote, sql)
    if fixed == sql:
        return None
    try:
        _parse(fixed, kind)
    except SqlglotError:
        return None
    return fixed


def _lint_sql(
    entity: Entity,
    attr: Attribute,
    src_info: TableInfo,
    schema: SchemaInfo,
    problems: ProblemList,
    is_key: bool = False,
) -> None:
    scope = _scope_for(entity, attr, src_info)
    j, c = attr.join, attr.calculation
    target = (j.target_table if j is not None else None) or (c.target_table if c is not None else None)
    for tpath, tname in _target_tables(attr):
        info = schema.table(tname)
        if info is None:
            _missing_table(schema, tname, tpath, problems, "target table")
        else:
            _table_case(info.name, tname, tpath, problems)
    for fpath, sql, kind in _fragments(attr):
        try:
            tree = _parse(sql, kind)
        except SqlglotError as exc:
            quoted = backquoted_names(sql, kind)
            problems.error(
                fpath,
                f"not a valid MySQL expression: {sql!r} ({str(exc).splitlines()[0][:160]})",
                (
                    f"a table or column name here is a reserved word: backquote it, e.g. {quoted!r}"
                    if quoted
                    else "write an SQL expression such as 'users.id = orders.user_id'"
                ),
                code="C205",
            )
            continue
        for col in tree.find_all(exp.Column):
            name = col.name
            qual = col.table or None
            if not name or name == "*":
                continue
            if qual is None:
                # unqualified: the joined table for 'target' fragments, else any table in scope
                tables = [target] if kind == "target" and target else scope.default_tables
                infos = [i for i in (schema.table(t) for t in tables if t) if i is not None]
                if not infos or any(i.column(name) is not None for i in infos):
                    continue
                names = sorted({n for i in infos for n in i.columns})
                guess = did_you_mean(name, names)
                problems.error(
                    fpath,
                    f"column '{name}' exists in none of {', '.join(i.name for i in infos)}",
                    f"did you mean '{guess}'?"
                    if guess
                    else f"use a column of {', '.join(i.name for i in infos)} ({_short_list(names)}), or qualify "
                    "a column of another table with its table name",
                    code="C202",
                )
                continue
            real = scope.names.get(qual.lower())
            if real is None:
                if scope.self_reference and target and schema.table(target) is not None:
                    problems.warning(
                        fpath,
                        f"'{qual}' is not declared (no join_alias and no table of that name is joined); "
                        f"read as the joined '{target}' row of this self-reference",
                        f'declare it: "join_alias": "{qual}" (or use the table name \'{target}\')',
                        code="C206",
                    )
                    real = target
                else:
                    known = sorted(set(scope.names.values()) | {k for k in scope.names})
                    guess = did_you_mean(qual, known)
                    problems.error(
                        fpath,
                        f"'{qual}.{name}' refers to '{qual}', which this attribute neither reads nor joins",
                        f"did you mean '{guess}.{name}'?" if guess else f"use one of: {', '.join(known)}",
                        code="C204",
                    )
                    continue
            info = schema.table(real)
            if info is None:
                continue  # reported as a missing table
            if info.column(name) is None:
                _missing_column(info, name, fpath, problems)
    # a to-one join whose value is one column: that column's type must fit the attribute's type too
    if j is not None and j.type in TO_ONE_JOINS and j.select_column:
        col = _single_column(j.select_column, scope, schema, target)
        if col is not None:
            _lint_column_type(attr, col, is_key, True, problems)


def _single_column(sql: str, scope: _Scope, schema: SchemaInfo, target: str | None) -> ColumnInfo | None:
    """The column a select expression is, when it is exactly one (qualified) column reference."""
    try:
        tree = _parse(sql, "expression")
    except SqlglotError:
        return None
    if not isinstance(tree, exp.Column) or not tree.name:
        return None
    real = scope.names.get(tree.table.lower()) if tree.table else target
    info = schema.table(real) if real else None
    return info.column(tree.name) if info is not None else None


def _target_tables(attr: Attribute) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    j, c = attr.join, attr.calculation
    if j is not None:
        if j.target_table:
            out.append((f"{j.path}.target_table", j.target_table))
        for s in j.joins:
            out.append((f"{s.path}.target_table", s.target_table))
    if c is not None and c.target_table:
        out.append((f"{c.path}.target_table", c.target_table))
    return out
