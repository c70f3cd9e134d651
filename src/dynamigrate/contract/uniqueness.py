"""To-one joins that may match several rows: error **C302** (acceptable), with the live schema only.

A to-one join (foreign-key, lookup-table, multi-column, self-join, conditional, a chain step) is a
LEFT JOIN in the view: when the joined table holds several rows equal on the compared columns, the
view emits one row per match, and a source row becomes several items (or one of them, arbitrarily).
One source row must be one item. With the schema known, the columns of the joined row that the join
condition fixes (``joined.col = <source column or constant>``, AND-ed) must include a primary key or a
UNIQUE key of the joined table; otherwise the reading stops with C302 at the join's JSON path and the
fix (join on a unique column, or json-construction / aggregate for to-many). ``--accept C302``
generates it as written; the load's accounting equation then fails the table if a row multiplies.

A join whose joined row cannot be told apart from the source row by its qualifier (a self-reference
without ``join_alias``) is resolved by the primary key in the generator and is not checked here.
Pure: the schema is data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from dynamigrate.contract.model import Attribute, Entity
from dynamigrate.contract.problems import ProblemList
from dynamigrate.source.schema import SchemaInfo, TableInfo

CODE = "C302"
TO_ONE = ("foreign-key", "lookup-table", "multi-column", "self-join", "conditional")


@dataclass(frozen=True)
class _ToOne:
    path: str
    attribute: str
    join_type: str
    conditions: tuple[str, ...]
    target: str  # the joined table
    joined: str  # lower-case qualifier of the joined row
    others: tuple[str, ...]  # real tables of the other rows in scope (source, earlier chain steps)


def _to_one_joins(entity: Entity, attr: Attribute) -> Iterator[_ToOne]:
    j = attr.join
    if j is None:
        return
    src = entity.source_table
    if j.type == "chain":
        seen = [src]
        for step in j.joins:
            if all(step.target_table.lower() != s.lower() for s in seen):
                yield _ToOne(
                    step.path,
                    attr.name,
                    "chain step",
                    (step.join_condition,),
                    step.target_table,
                    step.target_table.lower(),
                    tuple(seen),
                )
            seen.append(step.target_table)
        return
    if j.type not in TO_ONE:
        return
    target = j.target_table or src
    if j.join_alias:
        joined = j.join_alias.lower()
    elif target.lower() != src.lower():
        joined = target.lower()
    else:
        return  # a self-reference without alias: the generator takes the row whose primary key is compared
    conditions = j.join_conditions if j.type == "multi-column" else (j.join_condition or "",)
    yield _ToOne(j.path, attr.name, j.type, tuple(conditions), target, joined, (src,))


def _conjuncts(tree: exp.Expression) -> Iterator[exp.Expression]:
    while isinstance(tree, exp.Paren):
        tree = tree.this
    if isinstance(tree, exp.And):
        yield from _conjuncts(tree.this)
        yield from _conjuncts(tree.expression)
    else:
        yield tree


def _is_joined(col: exp.Column, join: _ToOne, target: TableInfo, schema: SchemaInfo) -> bool:
    if col.table:
        return col.table.lower() == join.joined
    # unqualified: the joined row's when only the joined table has such a column
    if target.column(col.name) is None:
        return False
    return not any((t := schema.table(o)) is not None and t.column(col.name) is not None for o in join.others)


def _ambiguous(col: exp.Column, join: _ToOne, target: TableInfo, schema: SchemaInfo) -> bool:
    if col.table or target.column(col.name) is None:
        return False
    return any((t := schema.table(o)) is not None and t.column(col.name) is not None for o in join.others)


def _fixed_columns(join: _ToOne, target: TableInfo, schema: SchemaInfo) -> set[str] | None:
    """Lower-case columns of the joined row an AND-ed equality fixes to a value of the other rows (or a
    constant); None when a condition cannot be read (reported by the fragment checks)."""
    from dynamigrate.errors import DynamigrateError
    from dynamigrate.sqlgen.safety import parse_fragment

    fixed: set[str] = set()
    for text in join.conditions:
        try:
            tree = parse_fragment(text, copy=False)
        except DynamigrateError:
            return None
        if any(_ambiguous(c, join, target, schema) for c in tree.find_all(exp.Column)):
            return None  # the generator refuses it, naming both tables
        for part in _conjuncts(tree):
            if not isinstance(part, exp.EQ):
                continue
            for mine, other in ((part.this, part.expression), (part.expression, part.this)):
                if not isinstance(mine, exp.Column) or not _is_joined(mine, join, target, schema):
                    continue
                cols = [other] if isinstance(other, exp.Column) else list(other.find_all(exp.Column))
                if not any(_is_joined(c, join, target, schema) for c in cols):
                    fixed.add(mine.name.lower())
    return fixed


def _keys(target: TableInfo) -> list[tuple[str, ...]]:
    keys = [target.primary_key] if target.primary_key else []
    return keys + [k for k in target.unique_keys if k]


def uniqueness_problems(entity: Entity, attr: Attribute, schema: SchemaInfo, problems: ProblemList) -> None:
    """C302 for every to-one join of ``attr`` whose compared columns are no key of the joined table."""
    for join in _to_one_joins(entity, attr):
        target = schema.table(join.target)
        if target is None or target.is_view:
            continue  # an unknown table is the lint's (C2xx); a view has no keys to rely on
        fixed = _fixed_columns(join, target, schema)
        if fixed is None:
            continue
        keys = _keys(target)
        if any(all(c.lower() in fixed for c in key) for key in keys):
            continue
        compared = ", ".join(sorted(fixed)) or "no column by equality"
        shown_keys = "; ".join("(" + ", ".join(k) + ")" for k in keys) or "none"
        problems.error(
            join.path,
            f"attribute '{join.attribute}': the {join.join_type} join to {target.name} compares {compared}, "
            f"which is not a primary or unique key of {target.name} (its keys: {shown_keys}): a source row "
            f"with several matching {target.name} rows would become several rows of the view, one source "
            "row must be one item",
            f"join on a unique column of {target.name} (e.g. its primary key), or, for several rows, use a "
            '"json-construction" (array) or an "aggregate" calculation; if the column is unique in '
            f"practice, add a UNIQUE key to {target.name}, or proceed knowingly with --accept {CODE} (a "
            "row that multiplies then fails its table in the load's accounting)",
            code=CODE,
        )
