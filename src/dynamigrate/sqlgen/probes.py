"""Queries that count silent NULLs before a migration (preflight, docs/contract-checks.md).

For every entity, one SELECT over the source table with the view's joins and filter, holding the table
key values, ``_dm_rowid`` and one 0/1 column per probe (:class:`~dynamigrate.sqlgen.generate.Probe`):

* a transformation (date-format, number-format) or a date-math calculation whose value is NULL while
  its input column is not (``source_format`` that does not fit the text, a value MySQL cannot read);
* a to-one join (foreign-key, lookup, multi-column, self-join, conditional, chain step) whose key
  columns on the current row are all non-NULL but that matches no row of its target (an orphaned
  reference: the attribute is absent from the item).

The SQL is the generator's own (same builder, same joins), so it counts exactly what the view does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dynamigrate.contract.model import ROWID_COLUMN, Contract, Table
from dynamigrate.source.schema import SchemaInfo
from dynamigrate.sqlgen.dialects import MySQL8Dialect, get_dialect
from dynamigrate.sqlgen.generate import Probe, _EntityBuilder

#: the 0/1 column of probe ``i`` in a probe query
PROBE_COLUMN = "_dm_probe_{}"


@dataclass
class EntityProbe:
    table: str
    entity: str
    sql: str  # SELECT <key attributes>, _dm_rowid, _dm_probe_0, ... FROM ... (no ';')
    key_names: list[str]
    probes: list[Probe] = field(default_factory=list)


def entity_probes(
    contract: Contract,
    table: Table,
    dialect: str | MySQL8Dialect = "mysql",
    schema: SchemaInfo | None = None,
) -> list[EntityProbe]:
    """The probe query of every entity of ``table`` that computes something worth counting."""
    d = get_dialect(dialect)
    out: list[EntityProbe] = []
    for entity in table.entities:
        builder = _EntityBuilder(table, entity, d, schema, [])
        builder.select(table.attribute_names)
        if not builder.probes:
            continue
        lines = [f"{builder.values.get(k, 'NULL')} AS {d.quote(k)}" for k in table.key_names]
        lines.append(f"{builder.rowid()} AS {d.quote(ROWID_COLUMN)}")
        for i, probe in enumerate(builder.probes):
            lines.append(
                f"CASE WHEN {probe.condition} THEN 1 ELSE 0 END AS {d.quote(PROBE_COLUMN.format(i))}"
            )
        sql = "SELECT " + ", ".join(lines) + "\n" + builder.from_clause()
        out.append(EntityProbe(table.name, entity.entity_type, sql, list(table.key_names), builder.probes))
    return out
