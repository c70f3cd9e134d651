"""Attribute values read from other rows: to-one joins and JSON constructions of related rows.

:class:`_Joins` adds to the values (sqlgen/values.py) the LEFT JOINs of the to-one patterns
(foreign-key, lookup-table, multi-column, self-join, conditional, chain; joined once per entity and
condition), their ``null_value``/``else_value``, and the json-construction arrays and objects (correlated
scalar subqueries, ordered and limited per dialect).
"""

from __future__ import annotations

import re

from sqlglot import exp

from dynamigrate.contract.model import Attribute, Join
from dynamigrate.errors import ContractError, SqlGenError
from dynamigrate.sqlgen.safety import parse_fragment, parse_order_by
from dynamigrate.sqlgen.scope import _JOINED, _QUALIFIED_REF, _Names
from dynamigrate.sqlgen.values import _concat_skipping_nulls, _Values

_BARE_COLUMN = re.compile(r"`(?:[^`]|``)+`\.`(?:[^`]|``)+`")


class _Joins(_Values):
    """To-one joins and JSON constructions over the entity's scope."""

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
                r = self.condition_roles(tree, target, to_many=False, path=cpath)
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
                matched += self._joined_eq_columns(tree, mapping, join_alias, role_alias)
            return " AND ".join(f"({p})" if len(rendered_roles) > 1 else p for p in parts), matched

        placeholder = "_dm_join_placeholder"
        key_sql, _ = on_sql(placeholder)
        self.alias_tables.pop(placeholder.lower(), None)
        key = (target.lower(), key_sql)
        if key in self.join_keys:
            alias = self.join_keys[key]
            _, matched = on_sql(alias)  # join_inputs[alias]: the same condition, the same inputs
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

    def _joined_eq_columns(
        self,
        tree: exp.Expression,
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
        if itself and c.type == "object":
            self.note(
                f"{j.path}.join_condition",
                f"'{j.join_condition}' matches the row itself: the object is built from the current row",
            )
            sub = self.src_alias
        # the related rows' own name wins when they are the source table itself
        names = _Names({self.src.lower(): self.src_alias, target.lower(): sub}, sub)
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
            info = None if itself else self.table_info(target)
            if info is not None and info.primary_key:
                # rows equal in order_by come by primary key, as the reference evaluator orders them:
                # otherwise the server's order of ties changes the value between reads
                order_sql += ", " + ", ".join(self.col(sub, k) for k in info.primary_key)
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
        if info.is_binary:
            # raw bytes are no JSON text (the server wrote them as they are, '?' for what is not
            # UTF-8): base64, as DynamoDB's JSON writes B
            return self.d.base64(value_sql)
        return value_sql


def _mentions_table(text: str, table: str) -> bool:
    """Does ``text`` refer to ``table`` by name, or hold an unqualified column?"""
    try:
        tree = parse_fragment(text, copy=False)
    except SqlGenError:
        return False
    return any(not c.table or c.table.lower() == table.lower() for c in tree.find_all(exp.Column))
