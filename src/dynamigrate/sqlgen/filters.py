"""An entity's ``filter`` (dynamigrate's extension of the contract format) as SQL.

A filter is one SQL condition over the entity's source row (``deleted_at IS NULL``). It is checked like
every other contract fragment (:func:`~dynamigrate.sqlgen.safety.parse_fragment`: one expression, no
statement, subquery, comment or variable) and may name columns of the source table only, unqualified
or qualified by the source table's name. The views apply it as the ``WHERE`` of the entity's SELECT;
the engines count the rows it excludes as *filtered* with :func:`filter_sql` over the base table.

A row is kept when the condition is true; false **and NULL** exclude it (SQL ``WHERE``), so a filtered
count is ``COUNT(*) - SUM(condition is true)``, never ``SUM(NOT condition)``.
"""

from __future__ import annotations

from sqlglot import exp

from dynamigrate.contract.model import Entity
from dynamigrate.errors import ContractError
from dynamigrate.sqlgen.safety import parse_fragment, render_sql


def filter_path(entity: Entity) -> str:
    """The JSON path of the entity's filter (a single-entity table's filter sits on the table)."""
    return f"{entity.path}.filter"


def filter_tree(entity: Entity, qualifier: str | None = None, table: str | None = None) -> exp.Expression:
    """The checked expression tree of ``entity.filter`` (a fresh copy), every column qualified by
    ``qualifier`` (default: the source table's name). Raises :class:`UnsafeSqlError` for text that is
    not one plain expression and :class:`ContractError` for a column of another table."""
    assert entity.filter is not None
    path = filter_path(entity)
    tree = parse_fragment(entity.filter, path, "filter", table=table)
    src = entity.source_table
    for column in tree.find_all(exp.Column):
        if column.args.get("db") is not None or column.args.get("catalog") is not None:
            raise ContractError(
                f"the filter names a database ('{column.sql('mysql')}'): a filter is a condition over the "
                f"source row of {src}",
                path=path,
                table=table,
                hint=f"name the columns of {src} only, e.g. {column.name} IS NULL",
            )
        if column.table and column.table.lower() != src.lower():
            raise ContractError(
                f"the filter refers to '{column.table}.{column.name}': a filter is a condition over the source "
                f"row of {src} and cannot read other tables",
                path=path,
                table=table,
                hint=f"name the columns of {src} only (e.g. {src}.{column.name} or {column.name}); to leave out "
                "rows by a related table, give the source table a column that says so",
            )
        column.set("table", exp.to_identifier(qualifier or src, quoted=True))
    return tree


def filter_columns(entity: Entity) -> list[str]:
    """The source columns the filter reads (each once, in order)."""
    if entity.filter is None:
        return []
    tree = filter_tree(entity)
    return list(dict.fromkeys(c.name for c in tree.find_all(exp.Column)))


def filter_sql(entity: Entity, qualifier: str | None = None, table: str | None = None) -> str | None:
    """The filter as MySQL text (identifiers quoted, columns qualified by ``qualifier`` or the source
    table), or None when the entity has no filter. For counting::

        SELECT COUNT(*), SUM(CASE WHEN {filter_sql(e)} THEN 1 ELSE 0 END) FROM `src`
        -- filtered rows = first - second (a NULL condition filters the row, as WHERE does)
    """
    if entity.filter is None:
        return None
    return render_sql(filter_tree(entity, qualifier, table))
