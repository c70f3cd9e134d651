"""Every source row accounted for: the equation each table's load must satisfy, per entity and table.

The source is counted apart from the reader, with a plain ``COUNT(*)`` of each entity's base table
(and, when the entity has a ``filter``, the rows the filter keeps, so that the rows it excludes are
*filtered*), once before the load and once after it::

    source rows = written + skipped + conflicts + rejected + filtered

``skipped`` (insert: the item existed; newer: not newer; sync: *unchanged*, the item already held that
content, shown apart but counted in skipped), ``conflicts`` (an item the migration does not own) and
``rejected`` (a row-level problem, in rejected.jsonl) are all outcomes of one source row each. When the two counts differ, rows
were inserted or deleted in the source during the load: the equation holds if the rows accounted for
lie between the two counts, and the change is reported as such. Anything else — fewer rows than the
source holds (rows lost on the way) or more (a join that multiplies rows) — fails the table.

A source without a base table in the schema (a hand-written view as ``source_table``) is counted
through the view (``basis: view``), which is weaker and said so.

Pure logic plus :func:`count_sources` (one query per entity).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dynamigrate.contract.model import ENTITY_COLUMN
from dynamigrate.sqlgen.dialects import quote_ident

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import TableResult
    from dynamigrate.runstate import RunDir
    from dynamigrate.source.schema import SchemaInfo

log = logging.getLogger(__name__)

#: per-entity counters kept by the engines (and in checkpoints)
ENTITY_COUNTERS = ("read", "written", "skipped", "unchanged", "conflicts", "rejected")
#: the outcomes that account for a source row (``unchanged`` is a kind of ``skipped``: not added)
OUTCOMES = ("written", "skipped", "conflicts", "rejected")


@dataclass(frozen=True)
class SourceCount:
    """One entity's source rows at one moment."""

    entity: str
    source_table: str
    basis: str  # "base table" | "view"
    rows: int  # every row of the source table
    filtered: int = 0  # rows the entity's filter excludes
    #: information_schema UPDATE_TIME of the base table (InnoDB: the last committed change), as text
    updated: str | None = None

    @property
    def kept(self) -> int:
        return self.rows - self.filtered


def count_sources(conn: Any, table: Table, schema: SchemaInfo | None) -> dict[str, SourceCount]:
    """COUNT(*) of every entity's base table (and of the rows its filter keeps), apart from the reader."""
    from dynamigrate.sqlgen.filters import filter_sql

    out: dict[str, SourceCount] = {}
    with conn.cursor() as cur:
        for entity in table.entities:
            info = schema.table(entity.source_table) if schema is not None else None
            if info is None:
                cur.execute(
                    f"SELECT COUNT(*) FROM {quote_ident(table.view_name)} WHERE {quote_ident(ENTITY_COLUMN)} = %s",
                    (entity.entity_type,),
                )
                (n,) = cur.fetchone()
                cur.fetchall()
                out[entity.entity_type] = SourceCount(entity.entity_type, entity.source_table, "view", int(n))
                continue
            # the schema's spelling of the name (table names are case-sensitive on most servers)
            cond = filter_sql(entity, qualifier=info.name, table=table.name)
            if cond:
                cur.execute(
                    f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) "
                    f"FROM {quote_ident(info.name)}"
                )
                total, kept = cur.fetchone()
                filtered = int(total) - int(kept)
            else:
                cur.execute(f"SELECT COUNT(*) FROM {quote_ident(info.name)}")
                (total,) = cur.fetchone()
                filtered = 0
            cur.fetchall()
            cur.execute(
                "SELECT UPDATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                (info.name,),
            )
            row = cur.fetchone()
            cur.fetchall()
            updated = str(row[0]) if row and row[0] is not None else None
            basis = "source view" if info.is_view else "base table"
            out[entity.entity_type] = SourceCount(
                entity.entity_type, entity.source_table, basis, int(total), filtered, updated
            )
    return out


@dataclass
class Account:
    """The equation of one entity, or of the whole table (``entity`` None)."""

    entity: str | None
    source_table: str | None
    basis: str
    before: int  # source rows counted before the load
    after: int  # ... and after it
    filtered_before: int
    filtered_after: int
    counters: dict[str, int] = field(default_factory=dict)
    #: the source was written to during the load (count or UPDATE_TIME moved)
    modified: bool = False

    @property
    def accounted(self) -> int:
        return sum(int(self.counters.get(k, 0)) for k in OUTCOMES)

    @property
    def expected_range(self) -> tuple[int, int]:
        a, b = self.before - self.filtered_before, self.after - self.filtered_after
        return (min(a, b), max(a, b))

    @property
    def changed(self) -> int:
        """Net rows inserted (+) or deleted (-) in the source during the load."""
        return self.after - self.before

    @property
    def status(self) -> str:
        lo, hi = self.expected_range
        if not lo <= self.accounted <= hi:
            return "mismatch"
        return (
            "changed"
            if self.modified or self.changed or self.filtered_after != self.filtered_before
            else "ok"
        )

    @property
    def missing(self) -> int:
        """Rows not accounted for (negative: more outcomes than source rows)."""
        lo, hi = self.expected_range
        if self.accounted < lo:
            return lo - self.accounted
        if self.accounted > hi:
            return hi - self.accounted
        return 0

    def equation(self) -> str:
        c = self.counters
        filtered = self.filtered_after
        what = (
            f"{self.before} source rows" if not self.changed else f"{self.before}->{self.after} source rows"
        )
        unchanged = f" (unchanged {c['unchanged']})" if c.get("unchanged") else ""
        rhs = (
            f"written {c.get('written', 0)} + skipped {c.get('skipped', 0)}{unchanged} "
            f"+ conflicts {c.get('conflicts', 0)} + rejected {c.get('rejected', 0)} + filtered {filtered}"
        )
        status = self.status
        if status == "ok":
            tail = ""
        elif status == "changed":
            tail = (
                f" (the source was written to during the load: {self.changed:+d} rows net; the load saw "
                f"{self.accounted})"
            )
        elif self.missing > 0:
            tail = f": {self.missing} source row(s) NOT accounted for"
        else:
            tail = f": {-self.missing} outcome(s) MORE than source rows (a join that multiplies rows?)"
        sign = "=" if status != "mismatch" else "!="
        return f"{what} {sign} {rhs}{tail}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "entity": self.entity,
            "source_table": self.source_table,
            "basis": self.basis,
            "source_rows_before": self.before,
            "source_rows_after": self.after,
            "filtered": self.filtered_after,
            "filtered_before": self.filtered_before,
            **{k: int(self.counters.get(k, 0)) for k in ENTITY_COUNTERS},
            "accounted": self.accounted,
            "changed_during_load": self.changed,
            "source_modified_during_load": self.modified,
            "missing": self.missing,
            "status": self.status,
            "equation": self.equation(),
        }


@dataclass
class TableAccount:
    table: Account
    entities: list[Account]

    @property
    def ok(self) -> bool:
        return self.table.status != "mismatch" and all(e.status != "mismatch" for e in self.entities)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "mismatch" if not self.ok else self.table.status,
            "equation": self.table.equation(),
            "table": self.table.to_dict(),
            "entities": [e.to_dict() for e in self.entities],
        }

    def failure_message(self, table: str) -> str:
        lines = [f"table {table}: the source rows do not add up: {self.table.equation()}"]
        for e in self.entities:
            if e.status == "mismatch":
                lines.append(f"  entity {e.entity} ({e.source_table}): {e.equation()}")
        if self.table.modified:
            lines.append(
                "  the source was written to during the load: rows inserted and deleted meanwhile may "
                "explain part of the difference (validate --full and sync compare key by key)"
            )
        return "\n".join(lines)


def account(
    table_counters: Mapping[str, int],
    entity_counters: Mapping[str, Mapping[str, int]],
    before: Mapping[str, SourceCount],
    after: Mapping[str, SourceCount],
) -> TableAccount:
    """The equation per entity (when the engine kept per-entity counters) and for the table."""
    entities: list[Account] = []
    for name, b in before.items():
        a = after.get(name, b)
        if name in entity_counters:
            entities.append(
                Account(
                    name,
                    b.source_table,
                    b.basis,
                    b.rows,
                    a.rows,
                    b.filtered,
                    a.filtered,
                    {k: int(v) for k, v in entity_counters[name].items()},
                    _modified(b, a),
                )
            )
    basis = ", ".join(sorted({b.basis for b in before.values()})) or "base table"
    total = Account(
        None,
        None,
        basis,
        sum(b.rows for b in before.values()),
        sum(a.rows for a in after.values()),
        sum(b.filtered for b in before.values()),
        sum(a.filtered for a in after.values()),
        {k: int(table_counters.get(k, 0)) for k in ENTITY_COUNTERS},
        any(_modified(b, after.get(n, b)) for n, b in before.items()),
    )
    return TableAccount(total, entities)


def settle(
    run: RunDir,
    table: str,
    result: TableResult,
    before: Mapping[str, SourceCount],
    after: Mapping[str, SourceCount],
) -> TableAccount:
    """The equation of an engine's finished table: the result's counters against the source counts
    taken before and after the load, recorded in the result and the run's events; a source written to
    during the load is said. What a table whose numbers do not add up becomes is the engine's call."""
    table_counters = {
        "read": result.read,
        "written": result.written,
        "skipped": result.skipped,
        "unchanged": result.unchanged,
        "conflicts": result.conflicts,
        "rejected": result.rejected_total,
    }
    entity_counters = result.entities if set(result.entities) <= set(before) else {}
    acc = account(table_counters, entity_counters, before, after)
    result.accounting = acc.to_dict()
    run.event("accounting", table=table, accounting=result.accounting)
    if acc.ok and acc.table.status == "changed":
        log.warning("table %s: %s", table, acc.table.equation(), extra={"fields": {"table": table}})
    return acc


def _modified(before: SourceCount, after: SourceCount) -> bool:
    return before.rows != after.rows or before.filtered != after.filtered or before.updated != after.updated
