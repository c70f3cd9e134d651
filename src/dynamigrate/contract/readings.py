"""Readings of a contract that are not certain: they stop, with the corrected snippet (docs/views.md).

A join condition such as ``cat_hierarchy.id = products.category_id`` in a self-join of ``products``
compares ``products.category_id`` — a column that references ``categories`` — with a row of
``products``. Generated as written it lands some product's name in every item, silently. Such a
reading stops with error **C301**, a snippet that joins the referenced table, and a way to proceed
knowingly (``--accept C301``).

A column references table X when the schema declares a single-column foreign key to X, or, failing
that, when it is named after X's key: ``category_id`` -> ``categories.id`` (``<stem>_id`` with the
table ``<stem>``, ``<stem>s``, ``<stem>es`` or ``<stem minus y>ies`` whose primary key is ``id``).
Without a schema the name rule uses the tables the contract names. With a schema, a to-one join on
columns that are no key of the joined table stops with **C302** (contract/uniqueness.py). Pure: the
schema is data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from sqlglot import exp

from dynamigrate.contract.model import Attribute, Contract, Entity, Table
from dynamigrate.contract.problems import Problem, ProblemList
from dynamigrate.contract.uniqueness import uniqueness_problems
from dynamigrate.source.schema import SchemaInfo

#: codes of readings a user may accept knowingly (``--accept CODE``): code -> what it means
ACCEPTABLE: dict[str, str] = {
    "C301": "a join condition compares a column that references table X with a table other than X",
    "C302": "a to-one join compares columns that are not a primary or unique key of the joined table",
}


@dataclass(frozen=True)
class _Condition:
    path: str
    text: str
    scope: dict[str, str]  # lower-case qualifier -> real table
    select_column: str | None
    join_type: str
    null_value: object = None


def _known_tables(contract: Contract, schema: SchemaInfo | None) -> dict[str, str]:
    """lower-case name -> name of the tables the name rule may point at."""
    if schema is not None:
        return {t.lower(): t for t in schema.tables}
    names: dict[str, str] = {}
    for table in contract.tables:
        for entity in table.entities:
            names.setdefault(entity.source_table.lower(), entity.source_table)
            for attr in entity.attributes:
                for spec in (attr.join, attr.calculation):
                    target = getattr(spec, "target_table", None)
                    if target:
                        names.setdefault(target.lower(), target)
                if attr.join is not None:
                    for step in attr.join.joins:
                        names.setdefault(step.target_table.lower(), step.target_table)
    return names


def references(
    table: str, column: str, schema: SchemaInfo | None, known: dict[str, str]
) -> tuple[str, str, str] | None:
    """(referenced table, its column, how we know: 'foreign key' | 'name') for ``table.column``."""
    info = schema.table(table) if schema is not None else None
    if info is not None:
        declared = info.references(column)
        if declared is not None:
            return declared[0], declared[1], "foreign key"
    low = column.lower()
    if low.endswith("_id") and len(low) > 3:
        stem = low[:-3]
        candidates = [stem, stem + "s", stem + "es"]
        if stem.endswith("y"):
            candidates.append(stem[:-1] + "ies")
        for cand in candidates:
            target = known.get(cand)
            if target is None or target.lower() == table.lower():
                continue
            tinfo = schema.table(target) if schema is not None else None
            if tinfo is not None and tuple(k.lower() for k in tinfo.primary_key) != ("id",):
                continue
            return target, "id", "name"
    return None


def _conditions(entity: Entity, attr: Attribute) -> Iterator[_Condition]:
    src = entity.source_table
    j, c = attr.join, attr.calculation
    if j is not None:
        if j.type == "chain":
            scope = {src.lower(): src}
            for step in j.joins:
                scope = {**scope, step.target_table.lower(): step.target_table}
                yield _Condition(
                    f"{step.path}.join_condition",
                    step.join_condition,
                    dict(scope),
                    step.select_column,
                    "chain",
                )
            return
        target = j.target_table or src
        scope = {src.lower(): src, target.lower(): target}
        if j.join_alias:
            scope[j.join_alias.lower()] = target
        texts = (
            [(f"{j.path}.join_conditions[{i}]", t) for i, t in enumerate(j.join_conditions)]
            if j.type == "multi-column"
            else [(f"{j.path}.join_condition", j.join_condition or "")]
        )
        for path, text in texts:
            yield _Condition(path, text, scope, j.select_column, j.type, j.null_value)
    if c is not None and c.type == "aggregate" and c.join_condition:
        target = c.target_table or src
        yield _Condition(
            f"{c.path}.join_condition",
            c.join_condition,
            {src.lower(): src, target.lower(): target},
            None,
            "aggregate",
        )


def _equalities(text: str) -> list[tuple[exp.Column, exp.Column]]:
    from dynamigrate.errors import DynamigrateError
    from dynamigrate.sqlgen.safety import parse_fragment

    try:
        tree = parse_fragment(text, copy=False)
    except DynamigrateError:
        return []  # reported by the fragment checks
    eqs = (
        [tree]
        if isinstance(tree, exp.EQ)
        else list(tree.find_all(exp.EQ))
        if isinstance(tree, exp.And)
        else []
    )
    return [
        (eq.this, eq.expression)
        for eq in eqs
        if isinstance(eq.this, exp.Column) and isinstance(eq.expression, exp.Column)
    ]


def _snippet(cond: _Condition, fk: exp.Column, target: str, ref_col: str, other: exp.Column) -> str:
    fk_ref = f"{fk.table}.{fk.name}"
    select = cond.select_column or f"{target}.<column>"
    if other.table and select.strip().lower().startswith(other.table.lower() + "."):
        select = f"{target}.{select.strip()[len(other.table) + 1 :]}"
    join_type = (
        "foreign-key" if cond.join_type in ("self-join", "foreign-key", "lookup-table") else cond.join_type
    )
    snippet = {
        "type": join_type,
        "target_table": target,
        "join_condition": f"{target}.{ref_col} = {fk_ref}",
        "select_column": select,
    }
    text = json.dumps(snippet)
    if cond.null_value is not None and join_type == "foreign-key":
        text += (
            f" (a foreign-key join has no null_value: rows without a match get no attribute instead of "
            f"{json.dumps(cond.null_value)})"
        )
    return text


def reading_problems(
    contract: Contract, schema: SchemaInfo | None = None, tables: list[str] | tuple[str, ...] | None = None
) -> ProblemList:
    """Every reading that is not certain (errors with an acceptable code and the corrected snippet)."""
    problems = ProblemList()
    known = _known_tables(contract, schema)
    for table in contract.select(list(tables) if tables else None):
        for entity in table.entities:
            for attr in entity.attributes:
                for cond in _conditions(entity, attr):
                    _check_condition(table, cond, schema, known, problems)
                if schema is not None:
                    uniqueness_problems(entity, attr, schema, problems)
    return problems


def _check_condition(
    table: Table, cond: _Condition, schema: SchemaInfo | None, known: dict[str, str], problems: ProblemList
) -> None:
    for left, right in _equalities(cond.text):
        for fk, other in ((left, right), (right, left)):
            if not fk.table or not other.table:
                continue
            fk_table = cond.scope.get(fk.table.lower())
            other_table = cond.scope.get(other.table.lower())
            if fk_table is None or other_table is None:
                continue  # an unknown qualifier is reported by the fragment checks
            ref = references(fk_table, fk.name, schema, known)
            if ref is None or ref[0].lower() == other_table.lower():
                continue
            target, ref_col, how = ref
            shown = (
                other.table
                if other.table.lower() == other_table.lower()
                else f"{other.table} ({other_table})"
            )
            problems.error(
                cond.path,
                f"'{cond.text}' compares {fk.table}.{fk.name}, which references {target}.{ref_col} "
                f"({'declared foreign key' if how == 'foreign key' else 'by its name'}), with {shown}, a row of "
                f"{other_table}, not of {target}: every item would get a value from the wrong table",
                f"join {target}: {_snippet(cond, fk, target, ref_col, other)}; or, if {other_table} is "
                f"really meant, proceed knowingly with --accept C301",
                code="C301",
            )
            return


def split_accepted(
    problems: list[Problem], accept: tuple[str, ...] | list[str] | set[str]
) -> tuple[list[Problem], list[Problem]]:
    """(problems still in force, problems accepted knowingly by code)."""
    wanted = {a.strip().upper() for a in accept}
    kept, accepted = [], []
    for p in problems:
        if p.severity == "error" and p.code in ACCEPTABLE and p.code in wanted:
            accepted.append(p)
        else:
            kept.append(p)
    return kept, accepted
