"""Contract entity -> evaluation plan: which rows to fetch (slots) and how each attribute is computed.

A *slot* is one kind of row the evaluator fetches with a plain single-table SELECT (``FROM t AS _t``):

* ``src``: the entity's source rows (keyset over the base table);
* a to-one slot per distinct join (foreign-key, lookup-table, multi-column, self-join, conditional,
  chain step): the rows of the target whose columns equal the current row's (``pairs``);
* a to-many slot per aggregate / json-construction: the related rows, grouped per source row in
  Python, ordered (``order_by``, then the target's primary key) and limited in Python.

Each slot carries the scalar expressions (contract fragments rewritten to ``_t``) evaluated over its
rows in the same SELECT. The structure (which row is joined, how rows relate, NULL handling, order,
limits, aggregation) is decided here and in :mod:`.engine`, in Python; the server only evaluates the
contract's own scalar expressions over one row at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from sqlglot import exp

from dynamigrate.contract.model import Attribute, Calculation, Entity, Join, Table, Transformation
from dynamigrate.evaluate import nodes as N
from dynamigrate.evaluate.fragments import (
    ROW_ALIAS,
    ColumnRef,
    EvaluationUnsupported,
    Fragment,
    order_items,
    parse,
    split_and,
    subfragment,
)
from dynamigrate.evaluate.schema import BaseTable, Catalog
from dynamigrate.evaluate.slots import (
    OTHER_ALIAS,
    SOURCE,
    AttrPlan,
    Cross,
    Pair,
    Plan,
    Scope,
    Slot,
    common_collation,
    is_json_column,
    sql_text,
    static_text,
)

_QUALIFIED = re.compile(r"^\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*\.\s*`?([A-Za-z_][A-Za-z0-9_$]*)`?\s*$")
_NUMBER_FORMAT = re.compile(r"^(0+)(?:\.(0+))?$")
_INTERVAL = re.compile(
    r"^\s*([+-]?\d+)\s+(MICROSECOND|SECOND|MINUTE|HOUR|DAY|WEEK|MONTH|QUARTER|YEAR)S?\s*$", re.IGNORECASE
)


class Planner:
    def __init__(self, catalog: Catalog, table: Table, entity: Entity, div_precision: int = 4):
        self.catalog = catalog
        self.table = table
        self.entity = entity
        self.div_precision = div_precision
        self.src_name = entity.source_table
        self.src = self.catalog.table(self.src_name)
        self.slots: dict[str, Slot] = {SOURCE: Slot(SOURCE, self.src, "source")}
        self.notes: list[str] = []

    # -- helpers ------------------------------------------------------------------------------------

    def err(self, message: str, path: str, hint: str | None = None) -> EvaluationUnsupported:
        return EvaluationUnsupported(message, path=path, table=self.table.name, hint=hint)

    def new_slot(self, table: str, kind: str, signature: str = "") -> Slot:
        if signature:
            for slot in self.slots.values():
                if slot.signature == signature:
                    return slot
        sid = f"{kind}{len(self.slots)}"
        slot = Slot(sid, self.catalog.table(table), kind, signature=signature)
        self.slots[sid] = slot
        return slot

    def slot_of(self, ref: ColumnRef, scope: Scope, path: str) -> str:
        if ref.qualifier is not None:
            sid = scope.mapping.get(ref.qualifier.lower())
            if sid is not None:
                return sid
            if scope.undeclared is not None:
                self.notes.append(f"{path}: '{ref.qualifier}.{ref.name}' read as the joined row")
                return scope.undeclared
            raise self.err(
                f"'{ref.qualifier}.{ref.name}' refers to '{ref.qualifier}', which is not in scope here",
                path,
                hint=f"usable here: {', '.join(sorted(scope.mapping))}",
            )
        if scope.default is not None:
            return scope.default
        having = [s for s in scope.candidates if self.slots[s].table.column(ref.name) is not None]
        having = list(dict.fromkeys(having))
        if len(having) == 1:
            return having[0]
        tables = [self.slots[s].table.name for s in having]
        raise self.err(
            f"unqualified column '{ref.name}' "
            + (f"exists in {' and '.join(tables)}" if having else "is in none of the tables in scope"),
            path,
            hint=f"qualify it, e.g. table.{ref.name}",
        )

    def register(self, frag: Fragment, scope: Scope, home: str) -> tuple[str, int]:
        """Put a one-row fragment on the slot whose columns it uses (``home`` when it uses none)."""
        sids = {self.slot_of(ref, scope, frag.path) for ref in frag.columns}
        if len(sids) > 1:
            tables = sorted(self.slots[s].table.name for s in sids)
            raise self.err(
                f"'{frag.text}' mixes columns of several rows ({', '.join(tables)}); the evaluator computes "
                "expressions over one row at a time",
                frag.path,
            )
        sid = sids.pop() if sids else home
        slot = self.slots[sid]
        for ref in frag.columns:
            if slot.table.column(ref.name) is None:
                raise self.err(f"table '{slot.table.name}' has no column '{ref.name}'", frag.path)
        return sid, slot.add(frag.render(lambda _ref: ROW_ALIAS, _is_float_in(slot.table)))

    def source_scope(self) -> Scope:
        return Scope({self.src_name.lower(): SOURCE}, SOURCE)

    def source_expr(self, text: str, path: str) -> N.Expr:
        sid, idx = self.register(parse(text, path), self.source_scope(), SOURCE)
        return N.Expr(sid, idx)

    def source_column(self, attr: Attribute) -> N.Expr:
        cols = attr.source_columns
        if len(cols) != 1:
            raise self.err(
                f"attribute '{attr.name}' needs exactly one source_column here (got {len(cols)})",
                f"{attr.path}.source_column",
            )
        col = cols[0]
        m = _QUALIFIED.match(col)
        if m:
            if m.group(1).lower() != self.src_name.lower():
                raise self.err(
                    f"source_column '{col}' is not a column of {self.src_name}", f"{attr.path}.source_column"
                )
            col = m.group(2)
        if self.src.column(col) is None:
            raise self.err(f"table '{self.src_name}' has no column '{col}'", f"{attr.path}.source_column")
        return N.Expr(SOURCE, self.slots[SOURCE].column(self.src.column(col).name))  # type: ignore[union-attr]

    # -- conditions ---------------------------------------------------------------------------------

    def pk(self, table: BaseTable, path: str) -> str:
        if len(table.primary_key) != 1:
            raise self.err(
                f"table '{table.name}' has no single-column primary key; a condition that compares it with "
                "itself cannot be read by the primary key rule",
                path,
                hint="declare an alias (self-join with join_alias) and qualify both sides",
            )
        return table.primary_key[0]

    def self_reference_pairs(self, frag: Fragment, target: Slot, current: str, to_many: bool) -> list[Pair]:
        """``t.a = t.b`` on the same table: the primary key decides which side is which."""
        tree = frag.tree
        while isinstance(tree, exp.Paren):
            tree = tree.this
        pk = self.pk(target.table, frag.path)
        if not (
            isinstance(tree, exp.EQ)
            and isinstance(tree.this, exp.Column)
            and isinstance(tree.expression, exp.Column)
        ):
            raise self.err(
                f"the condition '{frag.text}' compares {target.table.name} with itself and is not one equality",
                frag.path,
                hint='declare an alias, e.g. {"type": "self-join", "join_alias": "parent", ...}',
            )
        a, b = tree.this.name, tree.expression.name
        if a.lower() == b.lower() == pk.lower():
            self.notes.append(f"{frag.path}: '{frag.text}' is the row itself")
            return [Pair(current, self.slots[current].column(pk), pk, pk)]
        if pk.lower() not in (a.lower(), b.lower()) or a.lower() == b.lower():
            raise self.err(
                f"the condition '{frag.text}' compares {target.table.name} with itself and no reading is "
                f"certain (primary key {pk})",
                frag.path,
                hint="declare an alias for the joined row and qualify both sides",
            )
        other = b if a.lower() == pk.lower() else a
        if to_many:
            # the related rows are the ones whose foreign key points at the current row
            return [Pair(current, self.slots[current].column(pk), other, pk)]
        # the joined row is the one whose primary key is compared
        return [Pair(current, self.slots[current].column(other), pk, other)]

    def condition(self, text: str, path: str, target: Slot, scope: Scope) -> None:
        """Equalities between the target and another row become pairs; conjuncts over the target alone
        filter its rows; conjuncts over another row alone gate the match."""
        frag = parse(text, path)
        for node in split_and(frag):
            part = subfragment(frag, node) if node is not frag.tree else frag
            sids = [self.slot_of(ref, scope, path) for ref in part.columns]
            tree = part.tree
            while isinstance(tree, exp.Paren):
                tree = tree.this
            if (
                isinstance(tree, exp.EQ)
                and isinstance(tree.this, exp.Column)
                and isinstance(tree.expression, exp.Column)
                and len(set(sids)) == 2
                and target.id in sids
            ):
                mine = sids.index(target.id)
                other = 1 - mine
                other_ref = part.columns[other]
                col = target.table.column(part.columns[mine].name)
                other_table = self.slots[sids[other]].table
                other_col = other_table.column(other_ref.name)
                if col is None or other_col is None:
                    missing = part.columns[mine].name if col is None else other_ref.name
                    raise self.err(f"the join condition names an unknown column '{missing}'", path)
                target.pairs.append(
                    Pair(
                        sids[other], self.slots[sids[other]].column(other_col.name), col.name, other_col.name
                    )
                )
                continue
            distinct = set(sids)
            if not distinct or distinct == {target.id}:
                for ref in part.columns:
                    if target.table.column(ref.name) is None:
                        raise self.err(f"table '{target.table.name}' has no column '{ref.name}'", path)
                target.where.append(part.render(lambda _r: ROW_ALIAS))
            elif len(distinct) == 1:
                sid, idx = self.register(part, scope, target.id)
                gate = self.slots[sid].add(f"(CASE WHEN {self.slots[sid].exprs[idx]} THEN 1 ELSE 0 END)")
                target.gates.append((sid, gate))
            elif len(distinct) == 2 and target.id in distinct:
                target.cross.append(self.cross(part, sids, target, path))
            else:
                names = ", ".join(self.slots[sid].table.name for sid in dict.fromkeys(sids))
                shape = (
                    f"relates rows of {len(distinct)} tables ({names})"
                    if target.id in distinct
                    else f"relates rows of {names} but none of the joined table {target.table.name}"
                )
                raise self.err(
                    f"the join condition part '{part.text}' {shape}; the evaluator resolves a part over the "
                    "joined row alone, or over it and one other row",
                    path,
                )
        if not target.pairs:
            raise self.err(
                f"the join condition '{text}' has no equality between the joined and the current row", path
            )

    def cross(self, part: Fragment, sids: list[str], target: Slot, path: str) -> Cross:
        other_id = next(sid for sid in sids if sid != target.id)
        other = self.slots[other_id]
        okey = other.table.row_key
        tkey = target.table.primary_key
        if not okey or not tkey:
            raise self.err(
                f"the join condition part '{part.text}' compares the rows by something other than an equality; "
                f"the evaluator needs a key on {other.table.name} and a primary key on {target.table.name} to "
                "evaluate it row by row",
                path,
            )
        for ref, sid in zip(part.columns, sids, strict=True):
            if self.slots[sid].table.column(ref.name) is None:
                raise self.err(f"table '{self.slots[sid].table.name}' has no column '{ref.name}'", path)
        alias = {
            ref: (ROW_ALIAS if sid == target.id else OTHER_ALIAS)
            for ref, sid in zip(part.columns, sids, strict=True)
        }
        return Cross(
            other=other_id,
            sql=f"(CASE WHEN {part.render(lambda r: alias[r])} THEN 1 ELSE 0 END)",
            other_keys=[other.column(k) for k in okey],
            other_key_columns=okey,
            target_keys=[target.column(k) for k in tkey],
        )

    # -- to-one joins -------------------------------------------------------------------------------

    def to_one(
        self,
        target_name: str,
        conditions: list[tuple[str, str]],
        declared_alias: str | None,
        scope_map: dict[str, str],
    ) -> Slot:
        """The slot of a to-one join (shared by joins to the same table under the same condition)."""
        self_ref = declared_alias is None and target_name.lower() in scope_map
        signature = json.dumps(
            [target_name.lower(), [c for c, _ in conditions], declared_alias, sorted(scope_map.items())]
        )
        existing = next((s for s in self.slots.values() if s.signature == signature), None)
        if existing is not None:
            return existing
        slot = self.new_slot(target_name, "one", signature)
        for text, path in conditions:
            if self_ref:
                frag = parse(text, path)
                current = scope_map[target_name.lower()]
                slot.pairs += self.self_reference_pairs(frag, slot, current, to_many=False)
                continue
            mapping = dict(scope_map)
            if declared_alias:
                mapping[declared_alias.lower()] = slot.id
            if target_name.lower() not in scope_map:
                mapping[target_name.lower()] = slot.id
            self.condition(
                text, path, slot, Scope(mapping, None, (slot.id, *dict.fromkeys(scope_map.values())))
            )
        return slot

    def join_value(self, attr: Attribute, j: Join) -> N.Node:
        scope_map = {self.src_name.lower(): SOURCE}
        if j.type == "chain":
            return self.chain(j, scope_map)
        if j.type == "json-construction":
            return self.construction(attr, j)
        if j.type not in ("foreign-key", "lookup-table", "multi-column", "self-join", "conditional"):
            raise self.err(f"join type '{j.type}' is not known to the evaluator", j.path)
        target = j.target_table or self.src_name
        if j.type == "self-join" and not j.join_alias:
            raise self.err("a self-join needs 'join_alias'", f"{j.path}.join_alias")
        if j.type == "multi-column":
            conds = [(c, f"{j.path}.join_conditions[{i}]") for i, c in enumerate(j.join_conditions)]
        else:
            conds = [(j.join_condition or "", f"{j.path}.join_condition")]
        declared = j.join_alias if j.type == "self-join" else None
        slot = self.to_one(target, conds, declared, scope_map)
        undeclared = None
        if j.type == "conditional" and isinstance(j.else_value, str):
            m = _QUALIFIED.match(j.else_value)
            if m and m.group(1).lower() not in (self.src_name.lower(), target.lower()):
                undeclared = slot.id
        sel_map = dict(scope_map)
        if declared is None or target.lower() not in scope_map:
            sel_map[target.lower()] = slot.id  # for a self-reference, table.x means the joined row
        if declared:
            sel_map[declared.lower()] = slot.id
        sel_scope = Scope(sel_map, slot.id, undeclared=undeclared)
        sel_frag = parse(j.select_column or "", f"{j.path}.select_column")
        sid, idx = self.register(sel_frag, sel_scope, slot.id)
        if j.type in ("foreign-key", "lookup-table", "multi-column"):
            # no matching row: the attribute is absent (even for a constant select_column)
            return N.Expr(sid, idx, absent_when_missing=(sid == slot.id))
        value = N.Expr(sid, idx)
        if j.type == "self-join":
            if j.null_value is None:
                return N.Expr(sid, idx, absent_when_missing=(sid == slot.id))
            return N.IfElse(N.Matched(slot.id), value, N.Const(static_text(j.null_value, attr.type)))
        # conditional: CASE WHEN condition THEN select_column ELSE else_value END
        cond_map = dict(scope_map)
        if target.lower() not in scope_map:
            cond_map[target.lower()] = slot.id
        cond_frag = parse(j.condition or "", f"{j.path}.condition")
        csid, cidx = self.register(cond_frag, Scope(cond_map, SOURCE, undeclared=undeclared), SOURCE)
        cslot = self.slots[csid]
        truth = cslot.add(f"(CASE WHEN {cslot.exprs[cidx]} THEN 1 ELSE 0 END)")
        return N.IfElse(N.Expr(csid, truth), value, self.else_value(j, sel_scope, attr, slot.id))

    def else_value(self, j: Join, scope: Scope, attr: Attribute, home: str) -> N.Node:
        ev = j.else_value
        path = f"{j.path}.else_value"
        if isinstance(ev, str) and _QUALIFIED.match(ev):
            sid, idx = self.register(parse(ev, path), scope, home)
            return N.Expr(sid, idx)
        if isinstance(ev, str) and len(ev) >= 2 and ev[0] == ev[-1] == "'":
            tree = parse(ev, path).tree
            if isinstance(tree, exp.Literal) and tree.is_string:
                return N.Const(tree.this)
        if ev is None:
            return N.Const(None)
        return N.Const(static_text(ev, attr.type))

    def chain(self, j: Join, scope_map: dict[str, str]) -> N.Node:
        scope = dict(scope_map)
        values: list[N.Node] = []
        for step in j.joins:
            slot = self.to_one(
                step.target_table, [(step.join_condition, f"{step.path}.join_condition")], None, scope
            )
            scope[step.target_table.lower()] = slot.id
            frag = parse(step.select_column, f"{step.path}.select_column")
            sid, idx = self.register(frag, Scope(dict(scope), slot.id), slot.id)
            values.append(N.Expr(sid, idx))
        if not values:
            raise self.err("a chain needs at least one join", f"{j.path}.joins")
        if j.chain_separator is not None:
            return N.Join(tuple(values), j.chain_separator)
        return values[-1]

    # -- to-many ------------------------------------------------------------------------------------

    def to_many(self, target_name: str, text: str, path: str) -> tuple[Slot, Scope]:
        slot = self.new_slot(target_name, "many")
        self_ref = target_name.lower() == self.src_name.lower()
        if self_ref:
            slot.pairs += self.self_reference_pairs(parse(text, path), slot, SOURCE, to_many=True)
            inner = Scope({target_name.lower(): slot.id}, slot.id)
        else:
            mapping = {self.src_name.lower(): SOURCE, target_name.lower(): slot.id}
            self.condition(text, path, slot, Scope(mapping, None, (slot.id, SOURCE)))
            inner = Scope(dict(mapping), slot.id)
        return slot, inner

    def order_and_limit(
        self, slot: Slot, scope: Scope, order_by: str | None, limit: int | None, path: str
    ) -> None:
        if order_by:
            for frag, desc in order_items(order_by, f"{path}.order_by"):
                sid, idx = self.register(frag, scope, slot.id)
                if sid != slot.id:
                    continue  # ordering by a value of the current row: the same for every related row
                slot.order.append((idx, desc))
        slot.limit = limit

    def construction(self, attr: Attribute, j: Join) -> N.Node:
        c = j.construction
        if c is None:
            raise self.err("json-construction without 'construction'", j.path)
        slot, scope = self.to_many(
            j.target_table or self.src_name, j.join_condition or "", f"{j.path}.join_condition"
        )
        members = []
        for key, text in c.select_columns:
            frag = parse(text, f"{c.path}.select_columns.{key}")
            sid, idx = self.register(frag, scope, slot.id)
            if sid != slot.id:
                raise self.err(f"select column '{text}' is not over the related rows", frag.path)
            members.append(N.Member(key, idx, is_json_column(slot, frag)))
        self.order_and_limit(slot, scope, c.order_by, c.limit if c.type == "array" else 1, c.path)
        if c.type not in ("array", "object"):
            raise self.err(f"construction type '{c.type}' is not array or object", f"{c.path}.type")
        return N.Construct(slot.id, c.type, tuple(members))

    def aggregate(self, c: Calculation) -> N.Node:
        op = (c.operation or "").upper()
        if op not in ("SUM", "COUNT", "AVG", "MIN", "MAX"):
            raise self.err(f"unknown aggregate operation {c.operation!r}", f"{c.path}.operation")
        slot, scope = self.to_many(
            c.target_table or self.src_name, c.join_condition or "", f"{c.path}.join_condition"
        )
        text = (c.select_column or "").strip()
        distinct = False
        m = re.match(r"(?i)^DISTINCT\s+(.+)$", text)
        if m:
            distinct, text = True, m.group(1)
        if text == "*":
            if op != "COUNT":
                raise self.err(f"{op}(*) is not valid SQL", f"{c.path}.select_column")
            slot.aggregate = N.Aggregate(slot.id, op, None, distinct, self.div_precision)
            return slot.aggregate
        frag = parse(text, f"{c.path}.select_column")
        sid, idx = self.register(frag, scope, slot.id)
        if sid != slot.id:
            raise self.err(f"aggregate select_column '{text}' is not over the related rows", frag.path)
        slot.aggregate = N.Aggregate(slot.id, op, idx, distinct, self.div_precision)
        return slot.aggregate

    # -- calculations and transformations -----------------------------------------------------------

    def calculation(self, attr: Attribute, c: Calculation) -> N.Node:
        if c.type == "aggregate":
            return self.aggregate(c)
        if c.type == "case":
            parts = []
            for case in c.cases:
                when = parse(case.when, f"{case.path}.when")
                parts.append(
                    f"WHEN {self._source_sql(when)} THEN {self._case_result(case.then, f'{case.path}.then')}"
                )
            other = self._case_result(c.else_value, f"{c.path}.else") if c.else_value is not None else "NULL"
            sql = f"(CASE {' '.join(parts)} ELSE {other} END)"
            return N.Expr(SOURCE, self.slots[SOURCE].add(sql))
        if c.type == "concat":
            return N.Join(
                tuple(self.source_expr(p, f"{c.path}.parts[{i}]") for i, p in enumerate(c.parts)), c.separator
            )
        if c.type == "date-math":
            m = _INTERVAL.match(c.interval or "")
            if not m:
                raise self.err(f"unsupported interval {c.interval!r}", f"{c.path}.interval")
            base = self.source_expr(c.expression or "", f"{c.path}.expression")
            return N.DateMath(base, int(m.group(1)), m.group(2).upper(), c.date_format)
        raise self.err(f"calculation type '{c.type}' is not known to the evaluator", c.path)

    def _source_sql(self, frag: Fragment) -> str:
        scope = self.source_scope()
        for ref in frag.columns:
            self.slot_of(ref, scope, frag.path)
        return frag.render(
            lambda _r: ROW_ALIAS,
            lambda r: _is_float_in(self.slots[self.slot_of(r, scope, frag.path)].table)(r),
        )

    def _case_result(self, text: str | None, path: str) -> str:
        if text is None:
            return "NULL"
        frag = parse(text, path)
        if (
            isinstance(frag.tree, exp.Column)
            and not frag.tree.table
            and self.src.column(frag.tree.name) is None
        ):
            # a bare word that is not a column of the source row is the text itself
            return sql_text(text)
        return self._source_sql(frag)

    def transformation(self, attr: Attribute, t: Transformation) -> N.Node:
        if t.type in ("string-format", "template"):
            return self.string_format(t.format or "", t.path)
        if t.type == "static":
            return N.Const(static_text(t.value, attr.type))
        if t.type == "json-parse":
            return self.source_column(attr)
        if t.type == "date-format":
            # a DATE/DATETIME/TIMESTAMP value is a date already (source_format is then not needed); text
            # is read per source_format, or as the server reads date text without one
            return N.DateFormat(self.source_column(attr), t.format or "", t.source_format)
        if t.type == "number-format":
            m = _NUMBER_FORMAT.match((t.format or "").strip())
            if not m:
                raise self.err(f"unsupported number format {t.format!r}", f"{t.path}.format")
            return N.NumberFormat(self.source_column(attr), len(m.group(1)), len(m.group(2) or ""))
        raise self.err(f"transformation type '{t.type}' is not known to the evaluator", t.path)

    def string_format(self, fmt: str, path: str) -> N.Node:
        parts: list[str | N.Node] = []
        literal = ""
        i = 0
        while i < len(fmt):
            if fmt.startswith("{{", i) or fmt.startswith("}}", i):
                literal += fmt[i]
                i += 2
                continue
            if fmt[i] == "{":
                end = fmt.find("}", i)
                if end < 0:
                    raise self.err(f"unclosed '{{' in format {fmt!r}", f"{path}.format")
                name = fmt[i + 1 : end].strip()
                m = _QUALIFIED.match(name)
                if m:
                    if m.group(1).lower() != self.src_name.lower():
                        raise self.err(f"placeholder '{{{name}}}' names another table", f"{path}.format")
                    name = m.group(2)
                col = self.src.column(name)
                if col is None:
                    raise self.err(
                        f"placeholder '{{{name}}}' is not a column of {self.src_name}", f"{path}.format"
                    )
                if literal:
                    parts.append(literal)
                    literal = ""
                parts.append(N.Expr(SOURCE, self.slots[SOURCE].column(col.name)))
                i = end + 1
                continue
            literal += fmt[i]
            i += 1
        if literal:
            parts.append(literal)
        return N.Format(tuple(parts))

    # -- the plan -----------------------------------------------------------------------------------

    def value(self, attr: Attribute) -> N.Node:
        if attr.join is not None:
            return self.join_value(attr, attr.join)
        if attr.calculation is not None:
            return self.calculation(attr, attr.calculation)
        if attr.transformation is not None:
            return self.transformation(attr, attr.transformation)
        if attr.type == "NULL" and not attr.source_columns:
            return N.Const(None)
        return self.source_column(attr)

    def add_weights(self) -> None:
        """Text is compared, ordered and deduplicated by the server's collation weights (fetched with the
        rows), never by a Python approximation of the collation."""
        for slot in list(self.slots.values()):
            for p in slot.pairs:
                col = slot.table.column(p.column)
                other = self.slots[p.other].table.column(p.other_column) if p.other_column else None
                if col is not None and other is not None and col.text and other.text:
                    p.collation = common_collation(col.collation, other.collation)
                    p.weight_index = self.slots[p.other].weight(p.index, p.collation)
            slot.order_weights = [slot.weight(idx) for idx, _ in slot.order]
            agg = slot.aggregate
            if agg is not None and agg.index is not None and (agg.distinct or agg.op in ("MIN", "MAX")):
                agg.weight_index = slot.weight(agg.index)

    def plan(self) -> Plan:
        src = self.slots[SOURCE]
        for col in self.src.row_key or tuple(c.name for c in self.src.columns.values()):
            src.column(col)  # the key comes first in every source fetch
        attrs = [AttrPlan(attr, self.value(attr)) for attr in self.entity.attributes]
        self.add_weights()
        filter_sql = None
        if self.entity.filter:
            frag = parse(self.entity.filter, f"{self.entity.path}.filter")
            filter_sql = self._source_sql(frag)
        return Plan(self.table, self.entity, self.slots, attrs, filter_sql, self.notes)


def _is_float_in(table: BaseTable) -> Callable[[ColumnRef], str | None]:
    """The type a reference to a column of ``table`` is fetched as (see Fragment.render): a FLOAT
    widened to DOUBLE, a BIT as its number (UNSIGNED), as the views read them; else None."""

    def widen(ref: ColumnRef) -> str | None:
        col = table.column(ref.name)
        return {"float": "DOUBLE", "bit": "UNSIGNED"}.get(col.data_type) if col is not None else None

    return widen
