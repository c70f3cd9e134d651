"""`dynamigrate migrate --dry-run`: the plan (source rows per table, read mode, write capacity,
duration and cost estimates) computed without creating anything."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.errors import DynamigrateError
from dynamigrate.etl.base import EtlOptions
from dynamigrate.pipeline_summary import PHASES, MigrateOptions


def build_plan(
    cfg: Config,
    contract: Contract,
    contract_path: Path,
    tables: tuple[Table, ...],
    engine_name: str,
    etl: EtlOptions,
    options: MigrateOptions,
) -> dict[str, Any]:
    notes: list[str] = []
    rows: dict[str, int | None] = {}
    source_rows: dict[str, int] = {}
    reads: dict[str, dict[str, str]] = {}
    try:
        from dynamigrate.source.connect import connect
        from dynamigrate.source.introspect import introspect

        conn = connect(cfg.mysql, cfg.mysql.database)
        try:
            schema = introspect(conn, cfg.mysql.database)
            with conn.cursor() as cur:
                for t in tables:
                    # rows the entity filters keep (what the load reads) and all source rows
                    kept, total = 0, 0
                    for e in t.entities:
                        info = schema.table(e.source_table)
                        if info is None:
                            kept = -1
                            break
                        n_all, n_kept = _count_entity(cur, e, info.name, t.name)
                        total, kept = total + n_all, kept + n_kept
                    rows[t.name] = kept if kept >= 0 else None
                    if kept >= 0:
                        source_rows[t.name] = total
                    reads[t.name] = _read_modes(t, schema)
        finally:
            conn.close()
    except DynamigrateError as exc:
        notes.append(f"MySQL not reachable, row counts unknown: {exc.message}")
    if etl.write_mode == "overwrite":
        notes.append("overwrite replaces items unconditionally, including items the application changed")
    if options.skip_views:
        notes.append("--skip-views: the views already in the database are used")
    if options.skip_preflight:
        notes.append("--skip-preflight: data problems show up as rejected rows only")
    if engine_name == "glue":
        from dynamigrate.workshop_config import glue_connection_warning, workshop_key_warnings

        notes += workshop_key_warnings(cfg)
        no_connection = glue_connection_warning(cfg)
        if no_connection:
            notes.append(no_connection)
    endpoint = cfg.aws.dynamodb_endpoint
    return {
        "contract": str(contract_path),
        "contract_sha256": contract.sha256,
        "source": f"{cfg.mysql.user}@{cfg.mysql.host}:{cfg.mysql.port}/{cfg.mysql.database}",
        "target": f"DynamoDB {endpoint or 'AWS'} region {cfg.aws.region or '(default)'}",
        "engine": engine_name,
        "write_mode": etl.write_mode,
        "delete_missing": bool(etl.delete_missing),
        "version_attribute": etl.version_attribute,
        "marker_attribute": etl.marker_attribute,
        "phases": [p for p in PHASES if not (p == "views" and options.skip_views)],
        "tables": [
            {
                "table": t.name,
                "view": t.view_name,
                "rows": rows.get(t.name),  # rows to migrate: what the filters keep
                "source_rows": source_rows.get(t.name),
                "filtered": (source_rows[t.name] - (rows.get(t.name) or 0))
                if t.name in source_rows
                else None,
                "key": list(t.key_names),
                "gsis": [g.index_name for g in t.gsis],
                "entities": [e.entity_type for e in t.entities],
                "reads": reads.get(t.name),
            }
            for t in tables
        ],
        "notes": notes,
    }


def _count_entity(cur: Any, entity: Any, source_name: str, table_name: str) -> tuple[int, int]:
    """(all rows, rows the entity's filter keeps) of an entity's source table."""
    from dynamigrate.sqlgen.dialects import quote_ident
    from dynamigrate.sqlgen.filters import filter_sql

    cond = filter_sql(entity, qualifier=source_name, table=table_name)
    if cond:
        cur.execute(
            f"SELECT COUNT(*), COALESCE(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) FROM {quote_ident(source_name)}"
        )
        n_all, n_kept = cur.fetchone()
        return int(n_all), int(n_kept)
    cur.execute(f"SELECT COUNT(*) FROM {quote_ident(source_name)}")
    (n_all,) = cur.fetchone()
    return int(n_all), int(n_all)


def _read_modes(table: Table, schema: Any) -> dict[str, str]:
    """How each entity will be read: key windows (chunked, resumable) or one pass (no row key)."""
    from dynamigrate.source.keys import key_plan

    plan = key_plan(table, schema)
    out = {}
    for e in table.entities:
        key = plan.entity(e.entity_type)
        out[e.entity_type] = (
            f"in key windows on {key.source_table}({', '.join(key.columns)}), resumable"
            if key is not None
            else f"in one pass ({e.source_table} has no primary key and no unique NOT NULL key: "
            "re-read from its start on resume)"
        )
    return out
