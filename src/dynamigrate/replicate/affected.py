"""Which items a row change affects, read from the contract (pure logic: SQL text, no I/O).

For a changed row of source table ``T``:

* every entity whose ``source_table`` is ``T`` owns an item for the row itself (:class:`OwnLink`);
* every attribute that takes a value from a row of ``T`` (a join, chain step, conditional,
  aggregate or json-construction whose ``target_table`` is ``T``) makes the items whose source rows
  are related to it dependent (:class:`DepLink`). They are found by the contract's own join
  condition with the changed row's values put in place of ``T``'s columns::

      SELECT DISTINCT `products`.`id` FROM `products` WHERE %s = products.category_id   -- categories.id

  A chain step deeper than the first joins the earlier steps' tables. Run with the row's before image
  and with its after image, both sides of a change are found (a product moving from category 7 to 8
  changes both categories' counts).

Self-references that name the table on both sides (``categories.id = categories.parent_id``) give one
query per occurrence of the table's name (each occurrence in turn is the changed row): a superset of
the related rows whichever reading is meant. Recomputing an item that did not change is harmless (the
write finds it unchanged).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.contract.model import Attribute, Contract, Entity, Table


@dataclass(frozen=True)
class Step:
    target: str  # base table joined
    qualifier: str  # how the condition names it (alias or table name)
    condition: str


@dataclass(frozen=True)
class OwnLink:
    table: Table
    entity: Entity


@dataclass(frozen=True)
class DepLink:
    table: Table
    entity: Entity
    attribute: str
    steps: tuple[Step, ...]  # the path from the entity's source row; the last step names the changed table
    key_attribute: bool  # the attribute is part of the item's key (a change moves the item)


@dataclass
class Dependencies:
    own: dict[str, list[OwnLink]] = field(default_factory=dict)
    deps: dict[str, list[DepLink]] = field(default_factory=dict)

    def tables(self) -> set[str]:
        return set(self.own) | set(self.deps)


def _low(name: str) -> str:
    return name.lower()


def _paths(attr: Attribute) -> Iterator[tuple[Step, ...]]:
    """Every path of joined tables an attribute reads, each as its steps from the source row."""
    j = attr.join
    if j is not None:
        if j.type == "chain":
            steps: list[Step] = []
            for s in j.joins:
                steps.append(Step(s.target_table, s.target_table, s.join_condition))
                yield tuple(steps)
        elif j.target_table:
            cond = j.join_condition or " AND ".join(f"({c})" for c in j.join_conditions)
            if cond:
                yield (Step(j.target_table, j.join_alias or j.target_table, cond),)
    c = attr.calculation
    if c is not None and c.target_table and c.join_condition:
        yield (Step(c.target_table, c.target_table, c.join_condition),)


def dependencies(contract: Contract, tables: tuple[Table, ...] | None = None) -> Dependencies:
    out = Dependencies()
    for table in tables or contract.tables:
        keys = set(table.key_names)
        for entity in table.entities:
            out.own.setdefault(_low(entity.source_table), []).append(OwnLink(table, entity))
            for attr in entity.attributes:
                for steps in _paths(attr):
                    out.deps.setdefault(_low(steps[-1].target), []).append(
                        DepLink(table, entity, attr.name, steps, attr.name in keys)
                    )
    return out


# -- SQL ------------------------------------------------------------------------------------------

_IDENT = r"(?:`((?:[^`]|``)+)`|([A-Za-z_][\w$]*))"
_REF = re.compile(_IDENT + r"\s*\.\s*" + _IDENT)


def quote(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _segments(sql: str) -> Iterator[tuple[bool, str]]:
    """(is_code, text) pieces: quoted string literals apart from the code around them."""
    i, start, n = 0, 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch in ("'", '"'):
            if start < i:
                yield True, sql[start:i]
            j = i + 1
            while j < n:
                if sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            yield False, sql[i : j + 1]
            i = start = j + 1
            continue
        i += 1
    if start < n:
        yield True, sql[start:]


def refs(sql: str) -> list[tuple[str, str]]:
    """The qualified column references (qualifier, column) of an SQL fragment, in order."""
    out = []
    for code, text in _segments(sql):
        if code:
            for m in _REF.finditer(text):
                out.append(((m.group(1) or m.group(2)), (m.group(3) or m.group(4))))
    return out


def substitute(
    sql: str, qualifiers: set[str], image: Mapping[str, Any], only: int | None = None
) -> tuple[str, list[Any]]:
    """``sql`` with the references to ``qualifiers`` replaced by ``%s`` (values from ``image``, by
    column name, case-insensitively); with ``only``, just that occurrence (0-based) of them.
    Percent signs elsewhere are doubled for the driver's paramstyle."""
    lowered = {k.lower(): v for k, v in image.items()}
    quals = {q.lower() for q in qualifiers}
    params: list[Any] = []
    parts: list[str] = []
    seen = 0
    for code, text in _segments(sql):
        if not code:
            parts.append(text.replace("%", "%%"))
            continue
        pos = 0
        for m in _REF.finditer(text):
            qual = (m.group(1) or m.group(2)).lower()
            if qual not in quals:
                continue
            hit = only is None or seen == only
            seen += 1
            if not hit:
                continue
            parts.append(text[pos : m.start()].replace("%", "%%"))
            parts.append("%s")
            params.append(_value(lowered.get((m.group(3) or m.group(4)).lower())))
            pos = m.end()
        parts.append(text[pos:].replace("%", "%%"))
    return "".join(parts), params


def _value(v: Any) -> Any:
    if isinstance(v, (set, frozenset)):  # a SET column as the binlog library decodes it
        return ",".join(sorted(str(x) for x in v))
    return v


def related_queries(
    link: DepLink, key_columns: tuple[str, ...], image: Mapping[str, Any]
) -> list[tuple[str, list[Any]]]:
    """SELECTs of the source keys (of ``link.entity``) related to a row of the changed table."""
    source = link.entity.source_table
    last = link.steps[-1]
    head = f"SELECT DISTINCT {', '.join(f'{quote(source)}.{quote(c)}' for c in key_columns)} FROM {quote(source)}"
    earlier = {_low(source)} | {_low(s.qualifier) for s in link.steps[:-1]}
    for s in link.steps[:-1]:
        alias = f" AS {quote(s.qualifier)}" if s.qualifier != s.target else ""
        head += f" JOIN {quote(s.target)}{alias} ON {s.condition.replace('%', '%%')}"
    # an alias the contract never declared (``parent.id`` with no join_alias) names the changed row
    unknown = {q for q, _ in refs(last.condition) if _low(q) not in earlier}
    quals = {last.qualifier} | unknown
    out: list[tuple[str, list[Any]]] = []
    if _low(last.qualifier) in earlier and not unknown:
        # the same name on both sides: each occurrence in turn is the changed row
        n = sum(1 for q, _ in refs(last.condition) if _low(q) == _low(last.qualifier))
        for i in range(n):
            where, params = substitute(last.condition, {last.qualifier}, image, only=i)
            out.append((f"{head} WHERE {where}", params))
        return out
    if _low(last.qualifier) in earlier:
        quals = unknown  # the table's own name is the source row; the other name is the changed row
    where, params = substitute(last.condition, quals, image)
    out.append((f"{head} WHERE {where}", params))
    return out
