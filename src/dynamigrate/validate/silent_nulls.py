"""Preflight's count of silent NULLs: computed values that vanish although their input is there.

For every entity, one pass of the generator's probe query (:mod:`dynamigrate.sqlgen.probes`) over the
source table with the view's joins and filter counts, per probe,

* ``value_lost`` (P160, error): a transformation (date-format, number-format) or a date-math
  calculation whose value is NULL while its input column is not: a ``source_format`` that does not fit
  the text, a value MySQL cannot read as a date. Without this count the attribute would simply be
  missing from those items;
* ``join_unmatched`` (P161, warning): a to-one join whose key on the current row is not NULL but matches
  no row of its target (an orphaned reference): the attribute is absent from those items.

Attributes computed by the same join share one finding. Up to five example keys per finding.
"""

from __future__ import annotations

import re
from typing import Any

from dynamigrate.contract.model import ROWID_COLUMN, Contract, Table
from dynamigrate.source.schema import SchemaInfo
from dynamigrate.sqlgen.dialects import quote_ident as qi
from dynamigrate.sqlgen.probes import PROBE_COLUMN, entity_probes
from dynamigrate.validate.preflight import EXAMPLES, Finding, _finding, _plain, _query

_COLUMN_REF = re.compile(r"^\s*`?\w+`?\s*\.\s*`?\w+`?\s*$")


def silent_null_findings(conn: Any, contract: Contract, table: Table, schema: SchemaInfo) -> list[Finding]:
    findings: list[Finding] = []
    for ep in entity_probes(contract, table, schema.dialect, schema):
        sub = f"({ep.sql}) AS p"
        sums = ", ".join(f"COALESCE(SUM({qi(PROBE_COLUMN.format(i))}), 0)" for i in range(len(ep.probes)))
        counts = [int(v) for v in _query(conn, f"SELECT {sums} FROM {sub}")[0]]
        # probes with the same condition (several attributes of one join) become one finding
        groups: dict[tuple[str, str], list[int]] = {}
        for i, probe in enumerate(ep.probes):
            groups.setdefault((probe.kind, probe.condition), []).append(i)
        entity = ep.entity if table.multi_entity else None
        for (kind, _cond), indexes in groups.items():
            count = counts[indexes[0]]
            if not count:
                continue
            probes = [ep.probes[i] for i in indexes]
            first = probes[0]
            names = ", ".join(dict.fromkeys(p.attribute for p in probes))
            cols = [*ep.key_names, ROWID_COLUMN]
            order = ", ".join(qi(c) for c in (ROWID_COLUMN, *ep.key_names))
            rows = _query(
                conn,
                f"SELECT {', '.join(qi(c) for c in cols)} FROM {sub} "
                f"WHERE {qi(PROBE_COLUMN.format(indexes[0]))} = 1 ORDER BY {order} LIMIT {EXAMPLES}",
            )
            # a NULL _dm_rowid (VARCHAR, BINARY, composite or no key) is noise: the item key names the row
            examples = [
                {c: _plain(v) for c, v in zip(cols, r, strict=True) if not (c == ROWID_COLUMN and v is None)}
                for r in rows
            ]
            inputs = ", ".join(first.inputs)
            if kind == "join":
                findings.append(
                    _finding(
                        "join_unmatched",
                        table,
                        entity,
                        names,
                        count,
                        examples,
                        f"{count} row(s) have a join key ({inputs}) that matches no row of {first.target}: "
                        f"{_unmatched_outcome(table, ep.entity, list(dict.fromkeys(p.attribute for p in probes)))} "
                        f"({first.path})",
                        f"fix the references that point nowhere (orphaned {inputs}), or accept that the "
                        "attribute is absent from these items",
                    )
                )
            else:
                findings.append(
                    _finding(
                        "value_lost",
                        table,
                        entity,
                        names,
                        count,
                        examples,
                        f"'{names}' is NULL in {count} row(s) whose input ({inputs}) is not NULL: the {kind} "
                        f"at {first.path} cannot read these values, the attribute would silently be missing",
                        "set source_format to how the column is written (docs/contract-checks.md lists the "
                        "names and tokens), or fix these rows; accept knowingly with --accept value_lost",
                    )
                )
    return findings


def _unmatched_outcome(table: Table, entity_type: str, names: list[str]) -> str:
    """What the items get where the join matches nothing: absent, or the join's null_value."""
    entity = next((e for e in table.entities if e.entity_type == entity_type), None)
    absent: list[str] = []
    fallback: list[str] = []
    for name in names:
        attr = entity.attribute(name) if entity is not None else None
        join = attr.join if attr is not None else None
        null_value = join.null_value if join is not None else None
        if join is not None and join.type == "conditional" and join.else_value is not None:
            # no joined row: the condition is not true, the CASE gives its ELSE
            ev = join.else_value
            what = f"the value of {ev}" if isinstance(ev, str) and _COLUMN_REF.match(ev) else repr(ev)
            fallback.append(f"'{name}' gets its else_value {what}")
        elif null_value is None:
            absent.append(name)
        else:
            fallback.append(f"'{name}' gets its null_value {null_value!r}")
    parts = [f"'{', '.join(absent)}' will be absent from their items"] if absent else []
    return "; ".join([*parts, *fallback])
