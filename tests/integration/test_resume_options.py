"""A resumed run keeps the options it started with: `--resume RUN` (what the resume hint prints)
must not quietly drop --delete-missing, --version-attribute or --no-marker."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.errors import ConfigError
from dynamigrate.pipeline import MigrateOptions, migrate

pytestmark = pytest.mark.integration

QUIET: dict[str, Any] = {"progress_mode": "quiet", "skip_validation": True}


def _contract(tmp: Path, table: str) -> Path:
    def attr(name: str, typ: str, col: str, **kw: Any) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": "ev", "source_column": col, **kw}

    doc = {
        "tables": [
            {
                "table": table,
                "type": "single-entity",
                "source_table": "ev",
                "pk": "tenant",
                "sk": "ts",
                "attributes": [
                    attr("tenant", "S", "tenant"),
                    attr("ts", "S", "ts"),
                    attr("v", "N", "v"),
                    attr("doc", "M", "doc", transformation={"type": "json-parse"}),
                ],
            }
        ]
    }
    path = tmp / "contract.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _source(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE ev (tenant VARCHAR(20) NOT NULL, ts DATETIME(6) NOT NULL, v INT NOT NULL, "
            "doc TEXT NULL, PRIMARY KEY (tenant, ts))"
        )
        cur.executemany(
            "INSERT INTO ev VALUES (%s, %s, %s, %s)",
            [("é🙂", f"2024-01-0{d} 10:00:00.00000{d}", 1, json.dumps({"d": d})) for d in range(1, 6)],
        )
    conn.commit()


def _keys(client: Any, table: str) -> dict[tuple[str, str], dict[str, Any]]:
    items = client.scan(TableName=table, ConsistentRead=True)["Items"]
    return {(i["tenant"]["S"], i["ts"]["S"]): i for i in items}


def _bad_row_then_resume(cfg: Any, conn: Any, first: MigrateOptions) -> Any:
    """A row the contract cannot take stops the run at preflight; the user resumes it accepting
    the check, with the command the run printed (no other flags)."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO ev VALUES ('é🙂', '2024-02-01 00:00:00.000001', 1, '[1]')")
    conn.commit()
    stopped = migrate(cfg, first)
    assert stopped.status != "ok" and stopped.exit_code() != 0
    resumed = migrate(cfg, MigrateOptions(resume=stopped.run_id, accept=("invalid_json",), **QUIET))
    assert resumed.exit_code() == 0, resumed.render_text()
    return resumed


def test_resumed_sync_keeps_delete_missing(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    table = f"{ddb_prefix}Ev"
    _source(mysql_conn)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, table))
    assert migrate(cfg, MigrateOptions(**QUIET)).exit_code() == 0
    with mysql_conn.cursor() as cur:
        cur.execute("DELETE FROM ev WHERE ts = '2024-01-02 10:00:00.000002'")
    mysql_conn.commit()

    _bad_row_then_resume(cfg, mysql_conn, MigrateOptions(write_mode="sync", delete_missing=True, **QUIET))

    keys = set(_keys(ddb_client, table))
    assert ("é🙂", "2024-01-02 10:00:00.000002") not in keys  # deleted, as --delete-missing asked
    assert len(keys) == 4  # 5 - 1 deleted; the '[1]' row rejected


def test_resumed_newer_run_keeps_version_attribute_and_no_marker(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    table = f"{ddb_prefix}Ev"
    _source(mysql_conn)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, table))
    first = MigrateOptions(write_mode="newer", version_attribute="v", no_marker=True, **QUIET)
    resumed = _bad_row_then_resume(cfg, mysql_conn, first)

    assert resumed.write_mode == "newer"
    items = _keys(ddb_client, table)
    assert len(items) == 5
    assert not [k for k, i in items.items() if "_dm_marker" in i]  # the run said --no-marker


def test_newer_refuses_a_table_without_the_version_attribute(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """`--write-mode newer --version-attribute v` over a table whose contract has no 'v': every row was
    rejected (missing_version) and the run still ended OK with exit 0. Now refused before any write,
    naming the table and the tables that do have it."""
    _source(mysql_conn)
    contract = _contract(tmp_path, f"{ddb_prefix}Ev")
    doc = json.loads(contract.read_text(encoding="utf-8"))
    other = json.loads(json.dumps(doc["tables"][0]))
    other["table"] = f"{ddb_prefix}NoVersion"
    other["attributes"] = [a for a in other["attributes"] if a["name"] != "v"]
    doc["tables"].append(other)
    contract.write_text(json.dumps(doc), encoding="utf-8")
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract)

    with pytest.raises(ConfigError) as err:
        migrate(cfg, MigrateOptions(write_mode="newer", version_attribute="v", **QUIET))
    assert f"not produced by {ddb_prefix}NoVersion;" in str(err.value)
    assert f"--tables {ddb_prefix}Ev" in (err.value.hint or "")
    tables = ddb_client.list_tables()["TableNames"]
    assert not [t for t in tables if t.startswith(ddb_prefix)]  # nothing created

    only = migrate(
        cfg, MigrateOptions(write_mode="newer", version_attribute="v", tables=(f"{ddb_prefix}Ev",), **QUIET)
    )
    assert only.exit_code() == 0 and len(_keys(ddb_client, f"{ddb_prefix}Ev")) == 5


def test_resume_with_another_write_mode_is_refused(
    mysql_db: str, mysql_conn: Any, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """`migrate --resume --write-mode sync` on an insert run: the finished tables were skipped, nothing
    was synced, and the run ended OK. Now refused, saying how to get either."""
    table = f"{ddb_prefix}Ev"
    _source(mysql_conn)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, table))
    first = migrate(cfg, MigrateOptions(**QUIET))
    assert first.exit_code() == 0
    with pytest.raises(ConfigError) as err:
        migrate(cfg, MigrateOptions(resume=first.run_id, write_mode="sync", delete_missing=True, **QUIET))
    assert f"run {first.run_id} was started with write mode 'insert'" in str(err.value)
    assert "start a new sync run (drop --resume)" in (err.value.hint or "")
    again = migrate(cfg, MigrateOptions(resume=first.run_id, write_mode="insert", **QUIET))
    assert again.exit_code() == 0 and again.run_id == first.run_id


def test_the_dry_run_plan_says_delete_missing(
    mysql_db: str, mysql_conn: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """`migrate --dry-run --write-mode sync --delete-missing`: the plan showed 'write mode: sync' only,
    hiding that the run will delete items."""
    from rich.console import Console

    from dynamigrate.cli._summary import render_plan

    _source(mysql_conn)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, f"{ddb_prefix}Ev"))
    plan = migrate(cfg, MigrateOptions(write_mode="sync", delete_missing=True, dry_run=True, **QUIET))
    assert "write mode: sync --delete-missing   marker: _dm_marker" in plan.render_text()
    console = Console(width=200, record=True)
    console.print(render_plan(plan.plan or {}))
    assert "write mode sync --delete-missing, marker _dm_marker" in console.export_text()
    plain = migrate(cfg, MigrateOptions(write_mode="sync", dry_run=True, **QUIET))
    assert "write mode: sync   marker" in plain.render_text()
