"""Read the live schema from information_schema into :class:`SchemaInfo` (one round trip per query)."""

from __future__ import annotations

from typing import Any

from dynamigrate.source.schema import ColumnInfo, SchemaInfo, TableInfo


def introspect(conn: Any, database: str) -> SchemaInfo:
    """Describe every table and view of ``database`` through a DB-API connection."""
    with conn.cursor() as cur:
        cur.execute("SELECT VERSION()")
        version = str(cur.fetchone()[0])
        cur.execute(
            "SELECT TABLE_NAME, TABLE_TYPE, TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
            (database,),
        )
        kinds = {r[0]: (r[1] == "VIEW", r[2]) for r in cur.fetchall()}
        cur.execute(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_MAXIMUM_LENGTH,"
            " NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, COLLATION_NAME"
            " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (database,),
        )
        columns: dict[str, dict[str, ColumnInfo]] = {}
        for t, c, dt, ct, nullable, maxlen, prec, scale, dtp, coll in cur.fetchall():
            columns.setdefault(t, {})[c] = ColumnInfo(
                name=c,
                data_type=str(dt).lower(),
                column_type=str(ct).lower(),
                nullable=nullable == "YES",
                max_length=int(maxlen) if maxlen is not None else None,
                numeric_precision=int(prec) if prec is not None else None,
                numeric_scale=int(scale) if scale is not None else None,
                datetime_precision=int(dtp) if dtp is not None else None,
                collation=str(coll) if coll is not None else None,
            )
        cur.execute(
            "SELECT TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX, COLUMN_NAME, NON_UNIQUE FROM information_schema.STATISTICS"
            " WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (database,),
        )
        pks: dict[str, list[str]] = {}
        indexed: dict[str, set[str]] = {}
        uniques: dict[str, dict[str, list[str]]] = {}
        for t, index, seq, col, non_unique in cur.fetchall():
            if index == "PRIMARY":
                pks.setdefault(t, []).append(col)
            elif not int(non_unique):
                uniques.setdefault(t, {}).setdefault(index, []).append(col)
            if int(seq) == 1:
                indexed.setdefault(t, set()).add(col)
        # declared foreign keys, single-column ones only (the join-certainty check reads them)
        cur.execute(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME, REFERENCED_COLUMN_NAME"
            " FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s"
            " AND REFERENCED_TABLE_NAME IS NOT NULL ORDER BY TABLE_NAME, CONSTRAINT_NAME, ORDINAL_POSITION",
            (database,),
        )
        fk_parts: dict[tuple[str, str], list[tuple[str, str, str]]] = {}
        for t, name, col, ref_t, ref_c in cur.fetchall():
            fk_parts.setdefault((t, name), []).append((col, ref_t, ref_c))
        fks: dict[str, dict[str, tuple[str, str]]] = {}
        for (t, _name), parts in fk_parts.items():
            if len(parts) == 1:
                col, ref_t, ref_c = parts[0]
                fks.setdefault(t, {})[col] = (ref_t, ref_c)
    tables = {
        name: TableInfo(
            name=name,
            columns=columns.get(name, {}),
            primary_key=tuple(pks.get(name, ())),
            is_view=is_view,
            row_estimate=int(rows) if rows is not None else None,
            indexed_columns=frozenset(indexed.get(name, ())),
            unique_keys=tuple(tuple(cols) for _, cols in sorted(uniques.get(name, {}).items())),
            foreign_keys=fks.get(name, {}),
        )
        for name, (is_view, rows) in kinds.items()
    }
    return SchemaInfo(database=database, tables=tables, version=version)
