"""What the names of a contract fragment refer to, for the builder of one entity's SELECT.

:class:`_Scope` is the base of the view builder (:class:`dynamigrate.sqlgen.generate._EntityBuilder`):
the entity's aliases and the joined tables they stand for, every column reference of a fragment rewritten
to a known alias (:meth:`_Scope.render`, checked against the schema when one is given), the reading of a
condition that compares a table with itself (the primary-key rule), the WHERE of a correlated subquery
over related rows, an attribute's own source column, and the preflight probes (:class:`Probe`).
The values are built on top of it (sqlgen/values.py), then the joins (sqlgen/joins.py).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from dynamigrate.contract.model import HELPER_PREFIX, Attribute, Entity, Table
from dynamigrate.errors import ContractError, SqlGenError
from dynamigrate.source.schema import SchemaInfo, TableInfo
from dynamigrate.sqlgen.dialects import MySQL8Dialect
from dynamigrate.sqlgen.safety import parse_fragment, render_sql

log = logging.getLogger("dynamigrate.sqlgen.generate")

#: MySQL/MariaDB limit for identifiers (columns, views, aliases).
MAX_IDENTIFIER = 64
#: declared text length of a FLOAT/DOUBLE value (MariaDB declares 22, prints up to 24: see to_text)
DOUBLE_TEXT_WIDTH = 64

_QUALIFIED_REF = re.compile(r"^\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*\.\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*$")

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


class _Scope:
    """An entity's aliases, fragments rendered over them, self-reference readings, probes."""

    def __init__(
        self,
        table: Table,
        entity: Entity,
        dialect: MySQL8Dialect,
        schema: SchemaInfo | None,
        notes: list[str],
    ):
        self.table = table
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

    def read_as(self, alias: str, column: str) -> str | None:
        """The type a column is read as in an expression: FLOAT widened to DOUBLE (see value_col), BIT
        as its number (UNSIGNED: as text it is raw bytes, inside JSON not even valid JSON), else None."""
        info = self.column_info(alias, column)
        if info is None:
            return None
        return {"float": "DOUBLE", "bit": "UNSIGNED"}.get(info.data_type)

    def is_double(self, alias: str, column: str) -> bool:
        """Is the column a FLOAT or DOUBLE per the schema (its text needs DOUBLE_TEXT_WIDTH)?"""
        info = self.column_info(alias, column)
        return info is not None and info.data_type in ("float", "double")

    def text_col(self, alias: str, column: str) -> str:
        """A column read as a value, as text (a FLOAT/DOUBLE declared wide enough, see to_text)."""
        width = DOUBLE_TEXT_WIDTH if self.is_double(alias, column) else None
        return self.d.to_text(self.value_col(alias, column), width)

    def value_col(self, alias: str, column: str) -> str:
        """A column read as a value: FLOAT widened to DOUBLE. The server prints a FLOAT (as text, in
        JSON) with 6 significant digits (16777216 -> 16777200); the DOUBLE holding the same binary value
        prints the shortest digits that read back exactly (docs/views.md, "FLOAT and DOUBLE")."""
        sql = self.col(alias, column)
        if self.is_float(alias, column):
            return f"CAST({sql} AS DOUBLE)"
        info = self.column_info(alias, column)
        if info is not None and info.data_type == "bit":
            # a BIT(n) is its number (b'10100101' -> 165); as text it would be one raw byte
            return f"CAST({sql} AS UNSIGNED)"
        return sql

    def allocate_alias(self, preferred: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_$]", "_", preferred)[: MAX_IDENTIFIER - 4] or "j"
        if base.lower().startswith(
            HELPER_PREFIX
        ):  # the generator's own aliases (_dm_arr...): never one of them
            base = "t" + base[: MAX_IDENTIFIER - 5]
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

    def render(self, text: str, path: str, what: str, names: _Names) -> str:
        """Parse ``text``, rewrite every column reference to a known alias, render it (quoted)."""
        tree = parse_fragment(text, path, what, table=self.table.name)
        return self.render_tree(tree, path, what, names, copy=False)

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
            cast = self.read_as(alias, column.name)
            if cast is not None:
                widened = exp.Cast(this=column.copy(), to=exp.DataType.build(cast, dialect="mysql"))
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

    def to_many_where(self, target: str, text: str, path: str, sub_alias: str) -> tuple[str, bool]:
        """The WHERE of a correlated subquery over ``target`` AS ``sub_alias``; (sql, is the row itself)."""
        tree = parse_fragment(text, path, "join condition", table=self.table.name, copy=False)
        self_ref = target.lower() == self.src.lower()
        roles: dict[int, str] = {}
        itself = False
        if self_ref:
            r = self.condition_roles(tree, target, to_many=True, path=path)
            if r == "itself":
                itself = True
                roles = {0: _JOINED, 1: _CURRENT}  # 'itself' is one equality of two columns
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
