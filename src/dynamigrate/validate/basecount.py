"""Source row counts from the BASE tables: ``COUNT(*)`` per entity, with the entity's ``filter``.

The contract format never multiplies rows (one source row is one item or one rejected row), so the
number of rows an entity must account for is the row count of its source table, minus the rows its
``filter`` excludes. These figures never come from the views or the ETL's reader: a view that drops
rows, or a reader that skips a table, cannot make them agree with themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dynamigrate.contract.model import Entity, Table


@dataclass(frozen=True)
class BaseCount:
    entity: str
    source_table: str
    rows: int  # rows the entity must account for (filter applied)
    filtered: int  # rows its filter excludes (0 without a filter)


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _table_ref(name: str) -> str:
    """``db.table`` or ``table`` quoted part by part."""
    return ".".join(_ident(p) for p in name.split("."))


def count_sql(entity: Entity) -> tuple[str, str | None]:
    """(total count SQL, filtered count SQL or None). The table is not aliased, so a filter may name
    its columns bare or qualified by the table name, as it does in the view."""
    ref = _table_ref(entity.source_table)
    total = f"SELECT COUNT(*) FROM {ref}"
    if not entity.filter:
        return total, None
    return total, f"{total} WHERE ({entity.filter})"


def count_entities(conn: Any, table: Table) -> dict[str, BaseCount]:
    """COUNT(*) per entity of ``table`` (one or two queries per entity) on a pymysql connection."""
    out: dict[str, BaseCount] = {}
    with conn.cursor() as cur:
        for entity in table.entities:
            total_sql, kept_sql = count_sql(entity)
            cur.execute(total_sql)
            total = int(cur.fetchone()[0])
            kept = total
            if kept_sql is not None:
                cur.execute(kept_sql)
                kept = int(cur.fetchone()[0])
            out[entity.entity_type] = BaseCount(entity.entity_type, entity.source_table, kept, total - kept)
    return out
