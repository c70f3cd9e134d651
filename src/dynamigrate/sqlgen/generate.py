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
import logging
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
    Calculation,
    Contract,
    Entity,
    Join,
    Table,
    Transformation,
)
from dynamigrate.contract.validate import source_format_problem
from dynamigrate.errors import ContractError, SqlGenError
from dynamigrate.source.keys import KeyPlan, key_plan
from dynamigrate.source.schema import SchemaInfo, TableInfo
from dynamigrate.sqlgen.dates import read_date_sql
from dynamigrate.sqlgen.dialects import MySQL8Dialect, get_dialect
from dynamigrate.sqlgen.filters import filter_path, filter_tree
from dynamigrate.sqlgen.safety import (
    assert_single_create_view,
    check_statement_shape,
    parse_fragment,
    parse_order_by,
    render_sql,
)

log = logging.getLogger(__name__)

#: MySQL/MariaDB limit for identifiers (columns, views, aliases).
MAX_IDENTIFIER = 64

_QUALIFIED_REF = re.compile(r"^\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*\.\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*$")
_DATE_TOKENS = (("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("mm", "%i"), ("ss", "%s"))
_BARE_COLUMN = re.compile(r"`(?:[^`]|``)+`\.`(?:[^`]|``)+`")
_NUMBER_FORMAT = re.compile(r"^(0+)(?:\.(0+))?$")
#: a number as text (what number-format may read from a text column); no backslash (sql_mode-proof)
_NUMBER_TEXT = "^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$"
_INTERVAL = re.compile(
    r"^\s*([+-]?\d+)\s+(MICROSECOND|SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)S?\s*$", re.IGNORECASE
)

# roles a column reference can take inside a join condition
_CURRENT = "current"
_JOINED = "joined"


@dataclass
class Probe:
    """One preflight count over an entity's rows: ``condition`` is true for a row whose computed
    value is NULL although its inputs are not (kind transformation / calculation), or whose non-NULL
    join key matches no row of ``target`` (kind join)."""

    attribute: str
    kind: str  # transformation | calculation | join
    path: str
    condition: str
    inputs: list[str]
    target: str | None = None


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


def _did_you_mean(word: str, choices: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


class _Names:
    """How the qualifiers of one fragment map to SQL aliases.

    ``mapping`` maps a lower-case qualifier (table name or declared alias) to an alias; ``default`` is
    the alias of unqualified columns (None: they must be qualified, unless the schema tells); ``undeclared``
    is the alias an unknown qualifier stands for (a conditional's own joined row), or None (error).
    """

    def __init__(
        self,
        mapping: dict[str, str],
        default: str | None,
        undeclared: str | None = None,
        candidates: tuple[str, ...] = (),
    ):
        self.mapping = mapping
        self.default = default
        self.undeclared = undeclared
        self.candidates = candidates  # aliases to try, with the schema, for unqualified columns


class _EntityBuilder:
    """Builds the SELECT of one entity."""

    def __init__(
        self,
        table: Table,
        entity: Entity,
        dialect: MySQL8Dialect,
        schema: SchemaInfo | None,
        notes: list[str],
        known_tables: frozenset[str] = frozenset(),
    ):
        self.table = table
        self.known_tables = known_tables
        self.entity = entity
        self.d = dialect
        self.schema = schema
        self.notes = notes
        self.src = entity.source_table
        self.src_alias = entity.source_table
        self.alias_tables: dict[str, str] = {self.src_alias.lower(): self.src}
        self.joins: list[tuple[str, str, str]] = []  # (alias, target table, ON sql)
        self.join_keys: dict[tuple[str, str], str] = {}
        #: lower-case join alias -> the current-row columns its ON clause reads (preflight probes)
        self.join_inputs: dict[str, list[str]] = {}
        #: what preflight counts: computed values that are NULL from non-NULL inputs (sqlgen/probes.py)
        self.probes: list[Probe] = []
        self.values: dict[str, str] = {}
        self._assumed_pk_noted: set[str] = set()
        if len(self.src_alias) > MAX_IDENTIFIER:
            raise SqlGenError(
                f"source table name '{self.src}' is longer than {MAX_IDENTIFIER} characters",
                table=self.table.name,
                hint="MySQL identifiers have at most 64 characters: check the entity's source_table",
            )

    # -- helpers -----------------------------------------------------------------------------------------

    def note(self, path: str, text: str) -> None:
        line = f"{self.table.name} ({path}): {text}"
        if line not in self.notes:
            self.notes.append(line)
            log.debug("interpretation: %s", line)  # callers present them (CLI, migrate)

    def q(self, ident: str) -> str:
        return self.d.quote(ident)

    def table_info(self, name: str) -> TableInfo | None:
        return self.schema.table(name) if self.schema is not None else None

    def col(self, alias: str, column: str) -> str:
        return f"{self.q(alias)}.{self.q(column)}"

    def is_float(self, alias: str, column: str) -> bool:
        """Is the column a FLOAT (single precision) per the schema?"""
        info = self.column_info(alias, column)
        return info is not None and info.data_type == "float"

    def value_col(self, alias: str, column: str) -> str:
        """A column read as a value: FLOAT widened to DOUBLE. The server prints a FLOAT (as text, in
        JSON) with 6 significant digits (16777216 -> 16777200); the DOUBLE holding the same binary value
        prints the shortest digits that read back exactly (docs/views.md, "FLOAT and DOUBLE")."""
        sql = self.col(alias, column)
        return f"CAST({sql} AS DOUBLE)" if self.is_float(alias, column) else sql

    def allocate_alias(self, preferred: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_$]", "_", preferred)[: MAX_IDENTIFIER - 4] or "j"
        name = base
        n = 2
        while name.lower() in self.alias_tables or name.lower().startswith(HELPER_PREFIX):
            name = f"{base}_{n}"
            n += 1
        return name

    def primary_key(self, table: str, path: str) -> str:
        """The single-column primary key of ``table`` (schema), or the ``id`` convention (noted)."""
        info = self.table_info(table)
        if info is not None and info.primary_key:
            if len(info.primary_key) == 1:
                return info.primary_key[0]
            raise ContractError(
                f"table '{table}' has a composite primary key ({', '.join(info.primary_key)}); a "
                "self-referencing condition cannot be read by the primary key rule",
                path=path,
                table=self.table.name,
                hint="declare an alias: use a self-join with join_alias and qualify both sides",
            )
        if table.lower() not in self._assumed_pk_noted:
            self._assumed_pk_noted.add(table.lower())
            self.note(path, f"assumed primary key {table}.id (no schema given)")
        return "id"

    def check_column(self, alias: str, column: str, path: str) -> None:
        table = self.alias_tables.get(alias.lower())
        info = self.table_info(table) if table else None
        if info is None or not info.columns:
            return
        if info.column(column) is None:
            raise ContractError(
                f"table '{table}' has no column '{column}'{_did_you_mean(column, list(info.columns))}",
                path=path,
                table=self.table.name,
                hint=f"columns of {table}: {', '.join(info.columns)}",
            )

    def column_info(self, alias: str, column: str) -> Any:
        table = self.alias_tables.get(alias.lower())
        info = self.table_info(table) if table else None
        return info.column(column) if info is not None else None

    # -- fragments ---------------------------------------------------------------------------------------

    def render(
        self, text: str, path: str, what: str, names: _Names, roles: dict[int, str] | None = None
    ) -> str:
        """Parse ``text``, rewrite every column reference to a known alias, render it (quoted)."""
        tree = parse_fragment(text, path, what, table=self.table.name)
        return self.render_tree(tree, path, what, names, roles, copy=False)

    def render_tree(
        self,
        tree: exp.Expression,
        path: str,
        what: str,
        names: _Names,
        roles: dict[int, str] | None = None,
        copy: bool = True,
        seen: list[tuple[str, str]] | None = None,
    ) -> str:
        """Rewrite the column references of ``tree`` (a copy unless ``copy=False``) and render it;
        ``seen`` receives every (alias, column) referenced."""
        if copy:
            tree = tree.copy()
        for i, column in enumerate(list(tree.find_all(exp.Column))):
            alias = roles.get(i) if roles else None
            if alias is None:
                alias = self.resolve_column(column, path, what, names)
            column.set("table", exp.to_identifier(alias, quoted=True))
            column.set("db", None)
            column.set("catalog", None)
            self.check_column(alias, column.name, path)
            if seen is not None:
                seen.append((alias, column.name))
            if self.is_float(alias, column.name):
                widened = exp.Cast(this=column.copy(), to=exp.DataType.build("DOUBLE"))
                if column is tree:
                    tree = widened
                else:
                    column.replace(widened)
        return render_sql(tree)

    def resolve_column(self, column: exp.Column, path: str, what: str, names: _Names) -> str:
        if column.args.get("db") is not None or column.args.get("catalog") is not None:
            raise ContractError(
                f"the {what} names a database ('{column.sql('mysql')}'); only table.column references are allowed",
                path=path,
                table=self.table.name,
                hint="refer to columns as table.column",
            )
        qualifier = column.table
        if not qualifier:
            if names.candidates and self.schema is not None:
                having = [a for a in names.candidates if self.column_info(a, column.name) is not None]
                if len(having) == 1:
                    if names.default is None or having[0] != names.default:
                        table = self.alias_tables.get(having[0].lower(), having[0])
                        self.note(
                            path,
                            f"unqualified column '{column.name}' in the {what} read as {table}.{column.name}",
                        )
                    return having[0]
                if len(having) > 1 and names.default is None:
                    tables = [self.alias_tables.get(a.lower(), a) for a in having]
                    raise ContractError(
                        f"unqualified column '{column.name}' in the {what} exists in {' and '.join(tables)}",
                        path=path,
                        table=self.table.name,
                        hint=f"qualify it, e.g. {tables[0]}.{column.name}",
                    )
            if names.default is None:
                raise ContractError(
                    f"unqualified column '{column.name}' in the {what}: cannot tell which table it belongs to",
                    path=path,
                    table=self.table.name,
                    hint=f"qualify it as table.{column.name}",
                )
            return names.default
        alias = names.mapping.get(qualifier.lower())
        if alias is not None:
            return alias
        if names.undeclared is not None:
            self.note(
                path,
                f"'{qualifier}.{column.name}' uses the undeclared alias '{qualifier}': read as this join's own "
                f"joined row ({self.alias_tables.get(names.undeclared.lower(), '')} AS {names.undeclared})",
            )
            return names.undeclared
        known = sorted({k for k in names.mapping})
        raise ContractError(
            f"'{qualifier}.{column.name}' in the {what} refers to '{qualifier}', which is not in scope here"
            f"{_did_you_mean(qualifier, known)}",
            path=path,
            table=self.table.name,
            hint=f"tables/aliases usable here: {', '.join(known)}",
        )

    # -- join conditions ---------------------------------------------------------------------------------

    def condition_roles(
        self,
        tree: exp.Expression,
        target: str,
        current_alias: str,
        to_many: bool,
        path: str,
    ) -> dict[int, str] | str:
        """Assign the two sides of a condition that compares ``target`` with itself.

        Returns ``{column index: role}`` (roles _JOINED / _CURRENT) or ``"itself"`` when both sides are
        the primary key (the row itself). Raises when no reading is certain.
        """
        columns = list(tree.find_all(exp.Column))
        ambiguous = [c for c in columns if not c.table or c.table.lower() == target.lower()]
        if not ambiguous:
            return {}
        pk = self.primary_key(target, path)
        if not (
            isinstance(tree, exp.EQ)
            and isinstance(tree.this, exp.Column)
            and isinstance(tree.expression, exp.Column)
        ):
            raise self._selfref_error(tree, target, pk, to_many, path)
        left, right = tree.this, tree.expression
        if left not in ambiguous or right not in ambiguous:
            # one side is qualified by another alias: the ambiguous side is the joined row
            return {i: _JOINED for i, c in enumerate(columns) if c in ambiguous}
        ln, rn = left.name.lower(), right.name.lower()
        if ln == rn == pk.lower():
            return "itself"
        if pk.lower() not in (ln, rn) or ln == rn:
            raise self._selfref_error(tree, target, pk, to_many, path)
        pk_side, other = (0, 1) if ln == pk.lower() else (1, 0)
        if to_many:
            # the joined rows are the ones whose foreign key points at the current row
            return {pk_side: _CURRENT, other: _JOINED}
        # the joined row is the one whose primary key is compared
        return {pk_side: _JOINED, other: _CURRENT}

    def _selfref_error(
        self, tree: exp.Expression, target: str, pk: str, to_many: bool, path: str
    ) -> ContractError:
        text = tree.sql("mysql")
        fk = "parent_id"
        cols = [c.name for c in tree.find_all(exp.Column) if c.name.lower() != pk.lower()]
        if cols:
            fk = cols[0]
        if to_many:
            snippet = (
                f'"join_condition": "child.{fk} = {target}.{pk}"  (and refer to the related rows as child.*)'
            )
        else:
            snippet = (
                f'{{"type": "self-join", "join_alias": "parent", "join_condition": "parent.{pk} = {target}.{fk}", '
                f'"select_column": "parent.<column>"}}'
            )
        return ContractError(
            f"the condition '{text}' compares {target} with itself and no reading is certain "
            f"(primary key {target}.{pk})",
            path=path,
            table=self.table.name,
            hint=f"declare an alias for the joined row, e.g. {snippet}",
        )

    def add_to_one_join(
        self,
        target: str,
        conditions: list[tuple[str, str]],
        preferred_alias: str | None,
        declared_alias: str | None,
        scope: dict[str, str],
        path: str,
    ) -> tuple[str | None, list[str]]:
        """LEFT JOIN ``target`` (once per distinct condition); returns (alias or None for 'the current
        row itself', the joined-row columns compared by equality in the ON clause)."""
        target_in_scope = target.lower() in scope
        self_ref = declared_alias is None and target_in_scope
        current_alias = scope.get(target.lower(), self.src_alias)
        rendered_roles: list[tuple[exp.Expression, dict[int, str], str]] = []
        for text, cpath in conditions:
            tree = parse_fragment(text, cpath, "join condition", table=self.table.name, copy=False)
            roles: dict[int, str] = {}
            if self_ref:
                r = self.condition_roles(tree, target, current_alias, to_many=False, path=cpath)
                if r == "itself":
                    self.note(
                        cpath,
                        f"join_condition '{text}' compares {target} with itself on its primary key: the row itself "
                        "(no join)",
                    )
                    return None, []
                assert isinstance(r, dict)
                roles = r
            rendered_roles.append((tree, roles, cpath))

        inputs: list[tuple[str, str]] = []

        def on_sql(join_alias: str) -> tuple[str, list[str]]:
            self.alias_tables.setdefault(join_alias.lower(), target)
            parts, matched = [], []
            inputs.clear()
            for tree, roles, cpath in rendered_roles:
                mapping = dict(scope)
                if declared_alias:
                    mapping[declared_alias.lower()] = join_alias
                if not target_in_scope:
                    mapping[target.lower()] = join_alias
                role_alias = {
                    i: (join_alias if role == _JOINED else current_alias) for i, role in roles.items()
                }
                candidates = (join_alias, *dict.fromkeys(scope.values()))
                names = _Names(mapping, None, None, candidates)
                parts.append(self.render_tree(tree, cpath, "join condition", names, role_alias, seen=inputs))
                matched += self._joined_eq_columns(tree, roles, mapping, join_alias, role_alias)
            return " AND ".join(f"({p})" if len(rendered_roles) > 1 else p for p in parts), matched

        placeholder = "_dm_join_placeholder"
        key_sql, _ = on_sql(placeholder)
        self.alias_tables.pop(placeholder.lower(), None)
        key = (target.lower(), key_sql)
        if key in self.join_keys:
            alias = self.join_keys[key]
            _, matched = on_sql(alias)
            self.join_inputs[alias.lower()] = self._current_inputs(inputs, alias)
            if declared_alias and declared_alias.lower() != alias.lower():
                self.note(
                    path,
                    f"join_alias '{declared_alias}' joins {target} under the same condition as {alias}: joined once, "
                    f"{declared_alias} refers to {alias}",
                )
            return alias, matched
        alias = self.allocate_alias(declared_alias or preferred_alias or target)
        sql, matched = on_sql(alias)
        self.join_inputs[alias.lower()] = self._current_inputs(inputs, alias)
        self.joins.append((alias, target, sql))
        self.join_keys[key] = alias
        if self_ref:
            pretty = sql.replace("`", "")
            self.note(
                path,
                f"join to {target} from {target} read as: {target} AS {alias} ON {pretty} "
                "(the joined row is the one whose primary key is compared)",
            )
        return alias, matched

    def _current_inputs(self, inputs: list[tuple[str, str]], join_alias: str) -> list[str]:
        """The columns of the rows already in scope that a join condition reads (its key)."""
        cols = [self.col(a, c) for a, c in inputs if a.lower() != join_alias.lower()]
        return list(dict.fromkeys(cols))

    def probe_join(
        self, attr: Attribute, path: str, target: str, alias: str | None, matched: list[str]
    ) -> None:
        """Preflight probe: a non-NULL join key that matches no row of ``target``."""
        if alias is None or not matched:
            return
        inputs = self.join_inputs.get(alias.lower()) or []
        if not inputs:
            return
        cond = " AND ".join(f"{c} IS NOT NULL" for c in inputs) + f" AND {matched[0]} IS NULL"
        self.probes.append(Probe(attr.name, "join", path, cond, [c.replace("`", "") for c in inputs], target))

    def probe_value(self, attr: Attribute, kind: str, path: str, inputs: list[str], value: str) -> None:
        """Preflight probe: a computed value that is NULL although its inputs are not."""
        if not inputs:
            return
        cond = " AND ".join(f"{c} IS NOT NULL" for c in inputs) + f" AND ({value}) IS NULL"
        self.probes.append(Probe(attr.name, kind, path, cond, [c.replace("`", "") for c in inputs], None))

    def _joined_eq_columns(
        self,
        tree: exp.Expression,
        roles: dict[int, str],
        mapping: dict[str, str],
        join_alias: str,
        role_alias: dict[int, str],
    ) -> list[str]:
        """Columns of the joined row compared with '=' at the top level (non-NULL whenever a row matched)."""
        out: list[str] = []
        columns = list(tree.find_all(exp.Column))
        index = {id(c): i for i, c in enumerate(columns)}
        eqs = (
            [tree]
            if isinstance(tree, exp.EQ)
            else [n for n in tree.flatten() if isinstance(n, exp.EQ)]
            if isinstance(tree, exp.And)
            else []
        )
        for eq in eqs:
            for side in (eq.this, eq.expression):
                if isinstance(side, exp.Column):
                    i = index.get(id(side))
                    alias = role_alias.get(i) if i is not None else None
                    if alias is None and side.table:
                        alias = mapping.get(side.table.lower())
                    if alias == join_alias:
                        out.append(self.col(join_alias, side.name))
        return out

    def to_many_where(self, target: str, text: str, path: str, sub_alias: str) -> tuple[str, bool]:
        """The WHERE of a correlated subquery over ``target`` AS ``sub_alias``; (sql, is the row itself)."""
        tree = parse_fragment(text, path, "join condition", table=self.table.name, copy=False)
        self_ref = target.lower() == self.src.lower()
        roles: dict[int, str] = {}
        itself = False
        if self_ref:
            r = self.condition_roles(tree, target, self.src_alias, to_many=True, path=path)
            if r == "itself":
                itself = True
                columns = list(tree.find_all(exp.Column))
                roles = {0: _JOINED, 1: _CURRENT} if len(columns) == 2 else {}
            else:
                assert isinstance(r, dict)
                roles = r
        mapping = {self.src.lower(): self.src_alias}
        if not self_ref:
            mapping[target.lower()] = sub_alias
        role_alias = {i: (sub_alias if role == _JOINED else self.src_alias) for i, role in roles.items()}
        names = _Names(mapping, None, None, (sub_alias, self.src_alias))
        where = self.render_tree(tree, path, "join condition", names, role_alias)
        if self_ref and roles and not itself:
            self.note(
                path,
                f"join_condition '{text}' compares {target} with itself: read as {where.replace('`', '')} "
                f"({sub_alias} = the related rows, whose foreign key points at the current row)",
            )
        return where, itself

    # -- attribute values ----------------------------------------------------------------------------------

    def source_names(self) -> _Names:
        return _Names({self.src.lower(): self.src_alias}, self.src_alias)

    def source_column(self, attr: Attribute) -> str:
        cols = attr.source_columns
        if not cols:
            raise ContractError(
                f"attribute '{attr.name}' has no source_column",
                path=f"{attr.path}.source_column",
                table=self.table.name,
                hint="name the column the value comes from",
            )
        if len(cols) > 1:
            raise ContractError(
                f"attribute '{attr.name}' lists several source columns but says nothing about combining them",
                path=f"{attr.path}.source_column",
                table=self.table.name,
                hint='use a string-format transformation, e.g. "format": "{'
                + cols[0]
                + "}#{"
                + cols[1]
                + '}"',
            )
        col = cols[0]
        m = _QUALIFIED_REF.match(col)
        if m:
            if m.group(1).lower() != self.src.lower():
                raise ContractError(
                    f"source_column '{col}' is not a column of the source table {self.src}",
                    path=f"{attr.path}.source_column",
                    table=self.table.name,
                    hint=f"use a foreign-key join to reach {m.group(1)}",
                )
            col = m.group(2)
        self.check_column(self.src_alias, col, f"{attr.path}.source_column")
        return self.value_col(self.src_alias, col)

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
            return self.d.to_text(sql)
        return sql

    # transformations

    def transformation_value(self, attr: Attribute, t: Transformation) -> str:
        if t.type in ("string-format", "template"):
            return self.string_format(t.format or "", attr, t.path)
        if t.type == "static":
            return self.static_literal(t.value, attr)
        if t.type == "json-parse":
            # the column holds JSON text; the item encoder parses it (and rejects invalid JSON with a reason)
            return self.source_column(attr)
        if t.type == "date-format":
            column = self.source_column(attr)
            src = self.read_source_date(attr, t, column) if t.source_format else column
            value = f"DATE_FORMAT({src}, {self.d.literal(date_format_spec(t.format or ''))})"
            self.probe_value(attr, "transformation", t.path, [column], value)
            return value
        if t.type == "number-format":
            column = self.source_column(attr)
            value = self.number_format(column, t.format or "", attr, t.path)
            info = self.column_info(self.src_alias, attr.source_columns[0].split(".")[-1].strip("` "))
            if info is None or not info.is_numeric:
                # text that is not a number would be formatted as 0 (MySQL reads 'abc' as 0): NULL
                # instead, which preflight counts (value_lost)
                value = f"CASE WHEN TRIM(CAST({column} AS CHAR)) REGEXP {self.d.literal(_NUMBER_TEXT)} THEN {value} END"
            self.probe_value(attr, "transformation", t.path, [column], value)
            return value
        raise SqlGenError(f"unsupported transformation '{t.type}'", path=t.path, table=self.table.name)

    def read_source_date(self, attr: Attribute, t: Transformation, src: str) -> str:
        """The column read per ``source_format`` (sqlgen/dates.py); a DATE/DATETIME/TIMESTAMP column
        is a date already, so the source_format is not needed (certain, noted)."""
        source_format = t.source_format or ""
        problem = source_format_problem(source_format)
        if problem is not None:
            raise ContractError(
                problem[0], path=f"{t.path}.source_format", table=self.table.name, hint=problem[1]
            )
        info = self.column_info(self.src_alias, attr.source_columns[0].split(".")[-1].strip("` "))
        if info is not None and info.data_type in ("date", "datetime", "timestamp"):
            self.note(
                f"{t.path}.source_format",
                f"source_format '{source_format}' not applied: column {self.src}.{info.name} is "
                f"{info.data_type.upper()}, a date already",
            )
            return src
        return read_date_sql(src, source_format, self.d.literal, date_format_spec)

    def string_format(self, fmt: str, attr: Attribute, path: str) -> str:
        parts: list[str] = []
        literal = ""
        i = 0
        while i < len(fmt):
            ch = fmt[i]
            if fmt.startswith("{{", i) or fmt.startswith("}}", i):
                literal += ch
                i += 2
                continue
            if ch == "{":
                end = fmt.find("}", i)
                if end < 0:
                    raise ContractError(
                        f"unclosed '{{' in format {fmt!r}",
                        path=f"{path}.format",
                        table=self.table.name,
                        hint="close the placeholder, or write '{{' for a literal brace",
                    )
                name = fmt[i + 1 : end].strip()
                m = _QUALIFIED_REF.match(name)
                if m:
                    if m.group(1).lower() != self.src.lower():
                        raise ContractError(
                            f"placeholder '{{{name}}}' names table {m.group(1)}; placeholders name columns of "
                            f"the source row ({self.src})",
                            path=f"{path}.format",
                            table=self.table.name,
                            hint="join the other table in a separate attribute, or use a chain join",
                        )
                    name = m.group(2)
                if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$ ]*", name):
                    raise ContractError(
                        f"placeholder '{{{name}}}' in format {fmt!r} is not a column name",
                        path=f"{path}.format",
                        table=self.table.name,
                        hint="placeholders name columns of the source row, e.g. {id}",
                    )
                self.check_column(self.src_alias, name, f"{path}.format")
                if literal:
                    parts.append(self.d.literal(literal))
                    literal = ""
                parts.append(self.d.to_text(self.value_col(self.src_alias, name)))
                i = end + 1
                continue
            literal += ch
            i += 1
        if literal:
            parts.append(self.d.literal(literal))
        if not parts:
            return self.d.literal("")
        if len(parts) == 1:
            return parts[0]
        # CONCAT gives NULL when a placeholder is NULL: a key built from a NULL column is rejected with a
        # reason rather than written with a hole in it.
        return f"CONCAT({', '.join(parts)})"

    def static_literal(self, value: Any, attr: Attribute) -> str:
        if value is None:
            return "NULL"
        if isinstance(value, bool):
            if attr.type == "BOOL":
                return "1" if value else "0"
            return self.d.literal("true" if value else "false")
        if isinstance(value, int | float):
            return self.d.literal(json.dumps(value))
        if isinstance(value, dict | list):
            return self.d.literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        return self.d.literal(str(value))

    def number_format(self, src: str, fmt: str, attr: Attribute, path: str) -> str:
        m = _NUMBER_FORMAT.match(fmt.strip())
        if not m:
            raise ContractError(
                f"unsupported number format {fmt!r}",
                path=f"{path}.format",
                table=self.table.name,
                hint="use zeros: '000000' (integer padded to 6 digits) or '0.00' (2 decimals)",
            )
        width = len(m.group(1))
        decimals = len(m.group(2) or "")
        rounded = f"ROUND({src}, {decimals})"
        digits = self.d.to_text(f"CAST(ABS({rounded}) AS DECIMAL(65,{decimals}))")
        if width > 1:
            # pad to the width, never truncate (LPAD cuts longer values): GREATEST(width, length). A negative
            # number keeps its sign in front of the padded digits ('-0042'); such keys do not sort
            # numerically (docs/views.md). A NULL source gives NULL (CONCAT).
            total = width + (decimals + 1 if decimals else 0)
            digits = f"LPAD({digits}, GREATEST({total}, CHAR_LENGTH({digits})), '0')"
        return f"CONCAT(CASE WHEN {rounded} < 0 THEN '-' ELSE '' END, {digits})"

    # joins

    def join_value(self, attr: Attribute, j: Join) -> str:
        scope = {self.src.lower(): self.src_alias}
        if j.type in ("foreign-key", "lookup-table", "multi-column", "self-join", "conditional"):
            target = j.target_table or self.src
            if j.type == "self-join":
                target = j.target_table or self.src
                if not j.join_alias:
                    raise ContractError(
                        "a self-join needs 'join_alias'",
                        path=f"{j.path}.join_alias",
                        table=self.table.name,
                        hint='name the second copy of the table, e.g. "join_alias": "parent"',
                    )
            if j.type == "multi-column":
                conds = [(c, f"{j.path}.join_conditions[{i}]") for i, c in enumerate(j.join_conditions)]
            else:
                conds = [(j.join_condition or "", f"{j.path}.join_condition")]
            undeclared = None
            if j.type == "conditional" and isinstance(j.else_value, str):
                m = _QUALIFIED_REF.match(j.else_value)
                if m and m.group(1).lower() not in (self.src.lower(), target.lower()):
                    undeclared = m.group(1)
            declared = j.join_alias if j.type == "self-join" else None
            alias, matched = self.add_to_one_join(target, conds, undeclared, declared, scope, j.path)
            self.probe_join(attr, j.path, target, alias, matched)
            joined = alias if alias is not None else self.src_alias
            sel_map = dict(scope)
            if declared is None or target.lower() not in scope:
                sel_map[target.lower()] = joined
            if declared:
                sel_map[declared.lower()] = joined
            self_ref = target.lower() == self.src.lower() and declared is None and alias is not None
            if self_ref and _mentions_table(j.select_column or "", target):
                self.note(
                    f"{j.path}.select_column",
                    f"'{j.select_column}' read as a column of the joined row {alias} (not of the current row)",
                )
            sel_names = _Names(sel_map, joined, alias if undeclared else None)
            value = self.render(j.select_column or "", f"{j.path}.select_column", "select_column", sel_names)
            if j.type == "self-join" and j.null_value is not None:
                null_sql = self.static_literal(j.null_value, attr)
                if matched:
                    return f"CASE WHEN {matched[0]} IS NULL THEN {null_sql} ELSE {value} END"
                self.note(
                    j.path,
                    "null_value applied with COALESCE (no equality in join_condition to test for a match)",
                )
                return f"COALESCE({value}, {null_sql})"
            if j.type == "conditional":
                cond_map = dict(scope)
                if target.lower() not in scope:
                    cond_map[target.lower()] = joined
                if self_ref and _mentions_table(j.condition or "", target):
                    self.note(
                        f"{j.path}.condition", f"'{j.condition}' read over the current row ({self.src})"
                    )
                cond = self.render(
                    j.condition or "",
                    f"{j.path}.condition",
                    "condition",
                    _Names(cond_map, self.src_alias, alias if undeclared else None),
                )
                else_sql = self.else_value(j, sel_names, attr)
                return f"CASE WHEN {cond} THEN {value} ELSE {else_sql} END"
            if (
                alias is not None
                and matched
                and not (value.startswith(f"{self.q(alias)}.") and _BARE_COLUMN.fullmatch(value))
            ):
                # no matching row leaves the attribute absent, also when select_column gives a value over
                # the all-NULL row (a constant, COALESCE): found by the differential tests
                return f"CASE WHEN {matched[0]} IS NULL THEN NULL ELSE {value} END"
            return value
        if j.type == "chain":
            return self.chain_value(attr, j, scope)
        if j.type == "json-construction":
            return self.json_construction(attr, j)
        raise SqlGenError(f"unsupported join type '{j.type}'", path=j.path, table=self.table.name)

    def else_value(self, j: Join, names: _Names, attr: Attribute) -> str:
        ev = j.else_value
        path = f"{j.path}.else_value"
        if isinstance(ev, str) and _QUALIFIED_REF.match(ev):
            return self.render(ev, path, "else_value", names)
        if isinstance(ev, str) and len(ev) >= 2 and ev[0] == ev[-1] == "'":
            tree = parse_fragment(ev, path, "else_value", table=self.table.name, copy=False)
            if isinstance(tree, exp.Literal) and tree.is_string:
                self.note(
                    path, f"else_value {ev!r} is written as an SQL string: read as the text {tree.this!r}"
                )
                return self.d.literal(tree.this)
        if ev is None:
            return "NULL"
        return self.static_literal(ev, attr)

    def chain_value(self, attr: Attribute, j: Join, scope: dict[str, str]) -> str:
        chain_scope = dict(scope)
        values: list[str] = []
        for step in j.joins:
            alias, matched = self.add_to_one_join(
                step.target_table,
                [(step.join_condition, f"{step.path}.join_condition")],
                None,
                None,
                chain_scope,
                step.path,
            )
            self.probe_join(attr, step.path, step.target_table, alias, matched)
            joined = (
                alias if alias is not None else chain_scope.get(step.target_table.lower(), self.src_alias)
            )
            chain_scope[step.target_table.lower()] = joined
            names = _Names(dict(chain_scope), joined)
            values.append(
                self.render(step.select_column, f"{step.path}.select_column", "select_column", names)
            )
        if j.chain_separator is not None:
            # CONCAT_WS skips NULLs: a missing link leaves it out instead of blanking the whole value
            return _concat_skipping_nulls(self.d.literal(j.chain_separator), values)
        return values[-1]

    def json_construction(self, attr: Attribute, j: Join) -> str:
        c = j.construction
        target = j.target_table or self.src
        assert c is not None
        sub = self.allocate_alias(target)
        self.alias_tables[sub.lower()] = target
        where, itself = self.to_many_where(target, j.join_condition or "", f"{j.path}.join_condition", sub)
        self_ref = target.lower() == self.src.lower()
        if itself and c.type == "object":
            self.note(
                f"{j.path}.join_condition",
                f"'{j.join_condition}' matches the row itself: the object is built from the current row",
            )
            sub = self.src_alias
        names = _Names(
            {self.src.lower(): self.src_alias} if not self_ref else {},
            sub,
        )
        names.mapping[target.lower()] = sub
        pairs = []
        for key, col_text in c.select_columns:
            cpath = f"{c.path}.select_columns.{key}"
            tree = parse_fragment(col_text, cpath, "select column", table=self.table.name)
            seen: list[tuple[str, str]] = []
            value = self.render_tree(tree, cpath, "select column", names, copy=False, seen=seen)
            if isinstance(tree, exp.Column):  # one column (of the related rows or of the current row)
                value = self.json_member(value, *seen[0])
            pairs.append(f"{self.d.literal(key)}, {value}")
        element = f"JSON_OBJECT({', '.join(pairs)})"
        order_sql = None
        if c.order_by:
            items = parse_order_by(c.order_by, f"{c.path}.order_by", table=self.table.name)
            order_sql = ", ".join(
                self.render_tree(it, f"{c.path}.order_by", "order_by", names, copy=False) for it in items
            )
        elif not itself:
            info = self.table_info(target)
            if info is not None and info.primary_key:
                # a stable element order keeps the item (and its fingerprint) identical between reads
                order_sql = ", ".join(self.col(sub, k) for k in info.primary_key)
                self.note(
                    c.path,
                    f"no order_by: elements ordered by the primary key of {target} ({', '.join(info.primary_key)}) "
                    "so that the value is the same on every read",
                )
        from_sql = f"{self.q(target)} AS {self.q(sub)}"
        if c.type == "object":
            if itself:
                return element
            tail = f" ORDER BY {order_sql}" if order_sql else ""
            return f"(SELECT {element} FROM {from_sql} WHERE {where}{tail} LIMIT 1)"
        return self.d.json_array_subquery(element, from_sql, where, order_sql, c.limit)

    def json_member(self, value_sql: str, alias: str, column: str) -> str:
        """Keep JSON members the same on both servers: temporal values as text, JSON columns as JSON.
        ``alias``.``column`` is the member's column as resolved (a related row's or the current row's)."""
        info = self.column_info(alias, column)
        if info is None:
            return value_sql
        if info.is_temporal:
            # MySQL renders DATETIME inside JSON with microseconds, MariaDB as printed: use the text
            return self.d.to_text(value_sql)
        if info.data_type == "json":
            return self.d.json_document(value_sql)
        return value_sql

    # calculations

    def calculation_value(self, attr: Attribute, c: Calculation) -> str:
        if c.type == "aggregate":
            target = c.target_table or self.src
            sub = self.allocate_alias(target)
            self.alias_tables[sub.lower()] = target
            where, _ = self.to_many_where(target, c.join_condition or "", f"{c.path}.join_condition", sub)
            op = (c.operation or "").upper()
            if op not in ("SUM", "COUNT", "AVG", "MIN", "MAX"):
                raise ContractError(
                    f"unknown aggregate operation {c.operation!r}",
                    path=f"{c.path}.operation",
                    table=self.table.name,
                    hint="use one of SUM, COUNT, AVG, MIN, MAX",
                )
            sel_text = (c.select_column or "").strip()
            distinct = ""
            m = re.match(r"(?i)^DISTINCT\s+(.+)$", sel_text)
            if m:
                distinct, sel_text = "DISTINCT ", m.group(1)
            if sel_text == "*":
                if op != "COUNT":
                    raise ContractError(
                        f"{op}(*) is not valid SQL", path=f"{c.path}.select_column", hint="name a column"
                    )
                sel = "*"
            else:
                self_ref = target.lower() == self.src.lower()
                names = _Names({} if self_ref else {self.src.lower(): self.src_alias}, sub)
                names.mapping[target.lower()] = sub
                sel = self.render(sel_text, f"{c.path}.select_column", "select_column", names)
            # a scalar subquery without GROUP BY always returns one row: COUNT of nothing is 0, the others NULL
            return f"(SELECT {op}({distinct}{sel}) FROM {self.q(target)} AS {self.q(sub)} WHERE {where})"
        names = self.source_names()
        if c.type == "case":
            parts = []
            for case in c.cases:
                w = self.render(case.when, f"{case.path}.when", "when", names)
                t = self.case_result(case.then, f"{case.path}.then", names)
                parts.append(f"WHEN {w} THEN {t}")
            else_sql = (
                self.case_result(c.else_value, f"{c.path}.else", names)
                if c.else_value is not None
                else "NULL"
            )
            return f"CASE {' '.join(parts)} ELSE {else_sql} END"
        if c.type == "concat":
            parts = [
                self.render(p, f"{c.path}.parts[{i}]", "concat part", names) for i, p in enumerate(c.parts)
            ]
            return _concat_skipping_nulls(self.d.literal(c.separator), parts)
        if c.type == "date-math":
            m = _INTERVAL.match(c.interval or "")
            if not m:
                raise ContractError(
                    f"unsupported interval {c.interval!r}",
                    path=f"{c.path}.interval",
                    table=self.table.name,
                    hint="write '<integer> <unit>', e.g. '30 DAY' or '-1 MONTH'",
                )
            base = self.render(c.expression or "", f"{c.path}.expression", "expression", names)
            value = f"DATE_ADD({base}, INTERVAL {int(m.group(1))} {m.group(2).upper()})"
            if c.date_format:
                value = f"DATE_FORMAT({value}, {self.d.literal(date_format_spec(c.date_format))})"
            self.probe_value(attr, "calculation", c.path, [f"({base})"], value)
            return value
        raise SqlGenError(f"unsupported calculation '{c.type}'", path=c.path, table=self.table.name)

    def case_result(self, text: str | None, path: str, names: _Names) -> str:
        if text is None:
            return "NULL"
        tree = parse_fragment(text, path, "case result", table=self.table.name, copy=False)
        if isinstance(tree, exp.Column) and not tree.table and self.schema is not None:
            info = self.table_info(self.src)
            if info is not None and info.columns and info.column(tree.name) is None:
                self.note(path, f"'{text}' is not a column of {self.src}: read as the text {text!r}")
                return self.d.literal(text)
        return self.render_tree(tree, path, "case result", names)

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


def _concat_skipping_nulls(separator_sql: str, parts: list[str]) -> str:
    """Parts joined by the separator, NULL parts skipped (CONCAT_WS); NULL when every part is NULL (an
    absent attribute rather than an empty string)."""
    joined = f"CONCAT_WS({separator_sql}, {', '.join(parts)})"
    return f"CASE WHEN COALESCE({', '.join(parts)}) IS NULL THEN NULL ELSE {joined} END"


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


def _mentions_table(text: str, table: str) -> bool:
    """Does ``text`` refer to ``table`` by name, or hold an unqualified column?"""
    try:
        tree = parse_fragment(text, copy=False)
    except SqlGenError:
        return False
    return any(not c.table or c.table.lower() == table.lower() for c in tree.find_all(exp.Column))


def date_format_spec(fmt: str) -> str:
    """Contract date tokens (YYYY MM DD HH mm ss) -> MySQL DATE_FORMAT specifiers; '%' is escaped."""
    out = []
    i = 0
    while i < len(fmt):
        for token, spec in _DATE_TOKENS:
            if fmt.startswith(token, i):
                out.append(spec)
                i += len(token)
                break
        else:
            out.append("%%" if fmt[i] == "%" else fmt[i])
            i += 1
    return "".join(out)


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


def _table_names(contract: Contract | None, schema: SchemaInfo | None) -> frozenset[str]:
    names: set[str] = set()
    if schema is not None:
        names |= {t.lower() for t in schema.tables}
    for table in contract.tables if contract is not None else ():
        for entity in table.entities:
            names.add(entity.source_table.lower())
            for attr in entity.attributes:
                for spec in (attr.join, attr.calculation):
                    target = getattr(spec, "target_table", None)
                    if target:
                        names.add(target.lower())
                if attr.join is not None:
                    names |= {step.target_table.lower() for step in attr.join.joins}
    return frozenset(names)


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
    known_tables: frozenset[str] | None = None,
) -> ViewStatement:
    """The CREATE OR REPLACE VIEW statement of one DynamoDB table."""
    if known_tables is None:
        known_tables = _table_names(Contract(tables=(table,)), schema)
    d = get_dialect(dialect)
    _check_names(table)
    notes: list[str] = []
    columns = table.attribute_names
    keys = key_plan(table, schema)
    selects = []
    for entity in table.entities:
        _observe_duplicates(table, entity, notes)
        builder = _EntityBuilder(table, entity, d, schema, notes, known_tables)
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
    known = _table_names(contract, schema)
    for table in contract.select(list(tables) if tables else None):
        stmt = generate_table_view(table, dialect, schema, check, known)
        if on_statement is not None:
            on_statement(stmt)
        out.append(stmt)
    return out
