"""Every source row accounted for: the equation fails a table that lost rows, a table-level DynamoDB error
fails the table (never rejected rows), and --resume loads such tables completely; SIGKILL mid-way through
a composite-key table resumes exact.

Expected items are computed here from the source rows (plain SELECTs), never through the reader.
"""

from __future__ import annotations

import html
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest
from _etl_expect import compare, expected_tags, make_config, scan_items, write_contract
from test_resume import CHUNK, _kill_when, _resume

from dynamigrate.cli import main
from dynamigrate.etl.local import LocalEngine
from dynamigrate.runstate import RunDir, read_jsonl
from dynamigrate.sample import load_sample
from dynamigrate.source.reader import ViewReader

pytestmark = pytest.mark.integration

LINKS = 240  # rows of the composite-key table
SMALL = 30  # rows of the other table


def _setup(conn: Any) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE links (item_id INT NOT NULL, tag VARCHAR(20) NOT NULL, weight INT NULL,"
            " PRIMARY KEY (item_id, tag))"
        )
        cur.executemany(
            "INSERT INTO links VALUES (%s, %s, %s)",
            [(i // 4 + 1, f"tag-{i % 4}-é", None if i % 7 == 0 else i) for i in range(LINKS)],
        )
        cur.execute("CREATE TABLE plain (id INT NOT NULL PRIMARY KEY, v VARCHAR(10) NULL)")
        cur.executemany("INSERT INTO plain VALUES (%s, %s)", [(i, f"v{i}") for i in range(1, SMALL + 1)])


def _contract(tmp: Path, prefix: str) -> Path:
    def attr(name: str, typ: str, table: str, col: Any, **kw: Any) -> dict[str, Any]:
        return {"name": name, "type": typ, "source_table": table, "source_column": col, **kw}

    tables = [
        {
            "table": f"{prefix}Plain",
            "type": "single-entity",
            "source_table": "plain",
            "pk": "PK",
            "attributes": [attr("PK", "N", "plain", "id"), attr("v", "S", "plain", "v")],
        },
        {
            "table": f"{prefix}Links",
            "type": "single-entity",
            "source_table": "links",
            "pk": "PK",
            "sk": "SK",
            "attributes": [
                attr(
                    "PK",
                    "S",
                    "links",
                    "item_id",
                    transformation={"type": "string-format", "format": "I#{item_id}"},
                ),
                attr("SK", "S", "links", "tag"),
                attr("weight", "N", "links", "weight"),
            ],
        },
    ]
    path = tmp / "contract.json"
    path.write_text(json.dumps({"tables": tables}), encoding="utf-8")
    return path


def _expected_links(conn: Any) -> dict[tuple[Any, ...], dict[str, Any]]:
    from decimal import Decimal

    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    with conn.cursor() as cur:
        cur.execute("SELECT item_id, tag, weight FROM links")
        for item_id, tag, weight in cur.fetchall():
            item: dict[str, Any] = {"PK": f"I#{item_id}", "SK": tag}
            if weight is not None:
                item["weight"] = Decimal(weight)
            out[(item["PK"], tag)] = item
    return out


def _without_marker(items: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {k: {a: v for a, v in item.items() if a != "_dm_marker"} for k, item in items.items()}


def _argv(config: Path, *extra: str) -> list[str]:
    return ["-q", "migrate", "--config", str(config), "--progress", "quiet", *extra]


def _only_run(tmp: Path) -> RunDir:
    (run_dir,) = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
    return RunDir.open(run_dir)


def test_a_reader_that_loses_rows_fails_the_table_with_the_equation_and_resume_reloads_it(
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setup(mysql_conn)
    _, config = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, ddb_prefix), chunk_rows=20, inflight_chunks=1
    )
    links = f"{ddb_prefix}Links"
    view = f"ddb_{links.lower()}_view"

    # fault injection: the reader silently drops 3 rows of the Links view (one of each of 3 windows)
    original = ViewReader._stream
    dropped: list[dict[str, Any]] = []

    def lossy(self: ViewReader, sql: str, params: Any) -> Any:
        for rows in original(self, sql, params):
            if self.view == view and rows and len(dropped) < 3:
                dropped.append(rows[0])
                rows = rows[1:]
            yield rows

    monkeypatch.setattr(ViewReader, "_stream", lossy)
    assert main(_argv(config, "--skip-validation")) == 1, "migrate exits non-zero"
    monkeypatch.undo()

    run = _only_run(tmp_path)
    state = run.state()
    t = state["tables"][links]
    assert t["status"] == "failed"
    assert t["read"] == t["written"] == LINKS - 3
    acc = t["accounting"]
    assert acc["status"] == "mismatch"
    assert acc["table"]["source_rows_before"] == acc["table"]["source_rows_after"] == LINKS
    assert acc["table"]["missing"] == 3 and acc["table"]["basis"] == "base table"
    assert acc["equation"] == (
        f"{LINKS} source rows != written {LINKS - 3} + skipped 0 + conflicts 0 + rejected 0 "
        "+ filtered 0: 3 source row(s) NOT accounted for"
    )
    (ent,) = acc["entities"]
    assert (ent["entity"], ent["source_rows_before"], ent["written"], ent["missing"]) == (
        "links",
        LINKS,
        LINKS - 3,
        3,
    )
    assert "do not add up" in t["error"] and "--resume" in t["error"]
    assert state["tables"][f"{ddb_prefix}Plain"]["status"] == "done"
    assert state["tables"][f"{ddb_prefix}Plain"]["accounting"]["status"] == "ok"
    ckpt = json.loads(run.file(f"checkpoints/{links}.json").read_text())
    assert ckpt["status"] == "failed" and ckpt["reload"]
    report = json.loads(run.file("report.json").read_text())
    (rt,) = [x for x in report["tables"] if x["name"] == links]
    assert rt["accounting"]["equation"] == acc["equation"]
    md = run.file("report.md").read_text()
    assert "DOES NOT ADD UP" in md and acc["equation"] in md
    page = run.file("report.html").read_text()
    assert "DOES NOT ADD UP" in page and html.escape(acc["equation"]) in page

    # resume without the fault: the table is loaded again from its start, completely, and validated
    assert main(_argv(config, "--resume", run.run_id)) == 0
    state = run.state()
    t = state["tables"][links]
    assert t["status"] == "done" and t["accounting"]["status"] == "ok"
    assert "reloaded" in t["extra"]
    assert (t["read"], t["written"], t["rejected_total"]) == (LINKS, LINKS, 0)
    items = _without_marker(scan_items(ddb_client, links))
    assert items == _expected_links(mysql_conn)
    assert len(dropped) == 3 and all((r["PK"], r["SK"]) in items for r in dropped)  # the lost rows landed
    keys = [json.dumps(r["key"], sort_keys=True) for r in read_jsonl(run.file(f"written/{links}.jsonl"))]
    assert len(keys) == len(set(keys)) == LINKS


def test_target_table_deleted_mid_load_fails_the_table_not_its_rows_and_resume_reloads_it(
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setup(mysql_conn)
    _, config = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, ddb_prefix), chunk_rows=20, inflight_chunks=1
    )
    links = f"{ddb_prefix}Links"

    # the Links table disappears after its 3rd chunk is written (checkpointed at 60 rows)
    original = LocalEngine._complete
    completed: list[int] = []

    def complete_then_delete(self: LocalEngine, ctx: Any, table: Any, result: Any, *args: Any) -> None:
        original(self, ctx, table, result, *args)
        if table.name == links:
            completed.append(result.read)
            if len(completed) == 3:
                ddb_client.delete_table(TableName=links)
                ddb_client.get_waiter("table_not_exists").wait(TableName=links)

    monkeypatch.setattr(LocalEngine, "_complete", complete_then_delete)
    assert main(_argv(config, "--strategy", "put")) == 1
    monkeypatch.undo()

    run = _only_run(tmp_path)
    t = run.state()["tables"][links]
    assert t["status"] == "failed"
    assert "ResourceNotFoundException" in t["error"] and "--resume" in t["error"]
    assert t["rejected_total"] == 0 and t["rejected"] == {}
    rejected = list(read_jsonl(run.file("rejected.jsonl"))) if run.file("rejected.jsonl").exists() else []
    assert [r for r in rejected if r["table"] == links] == []
    ckpt = json.loads(run.file(f"checkpoints/{links}.json").read_text())
    assert ckpt["status"] == "running" and ckpt["counters"]["written"] == 60
    assert run.state()["tables"][f"{ddb_prefix}Plain"]["status"] == "done"

    # the finished Plain table loses its data too (an endpoint restarted in memory)
    plain = f"{ddb_prefix}Plain"
    ddb_client.delete_table(TableName=plain)
    ddb_client.get_waiter("table_not_exists").wait(TableName=plain)

    # resume: the tables phase creates both again (empty); the checkpoints say rows are in them, the
    # sampled written keys are gone: both are loaded from their start, completely
    assert main(_argv(config, "--resume", run.run_id)) == 0
    t = run.state()["tables"][links]
    assert t["status"] == "done" and "lost its data" in t["extra"]["reloaded"]
    assert (t["read"], t["written"]) == (LINKS, LINKS)
    assert _without_marker(scan_items(ddb_client, links)) == _expected_links(mysql_conn)
    p = run.state()["tables"][plain]
    assert p["status"] == "done" and "lost its data" in p["extra"]["reloaded"]
    assert _without_marker(scan_items(ddb_client, plain)) == {
        (Decimal(i), None): {"PK": Decimal(i), "v": f"v{i}"} for i in range(1, SMALL + 1)
    }


def test_sigkill_in_a_composite_key_entity_then_resume_is_exact(
    mysql_settings: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    """The sample shop's Tags table: TAG (VARCHAR key), then PRODUCT_TAG (product_id + tag_code)."""
    counts = load_sample(mysql_settings.connect_kwargs(), mysql_db, 600)
    total = counts["tags"] + counts["product_tags"]
    assert counts["product_tags"] > 20 * CHUNK
    table = f"{ddb_prefix}Tags"
    contract = write_contract(tmp_path, ddb_prefix, tables=("Tags",))
    _, config = make_config(tmp_path, mysql_db, ddb_endpoint, contract, chunk_rows=CHUNK, inflight_chunks=1)
    env = dict(os.environ)

    def in_links(c: dict[str, Any]) -> bool:
        return c.get("entity") == "PRODUCT_TAG" and c["counters"]["read"] >= counts["tags"] + 8 * CHUNK

    run_dir, ckpt = _kill_when(config, env, tmp_path / "runs", table, in_links)
    assert ckpt["entities_done"] == ["TAG"]
    product_id, tag_code = ckpt["after_key"]  # the composite key of the last window, as JSON
    assert isinstance(product_id, int) and isinstance(tag_code, str)
    at_kill = len(scan_items(ddb_client, table))
    assert ckpt["counters"]["written"] <= at_kill <= ckpt["counters"]["written"] + CHUNK

    summary = _resume(config, env, run_dir)
    (result,) = summary["tables"]
    assert result["resumed_from"]["after_key"] == ckpt["after_key"]
    assert result["accounting"]["status"] == "ok"
    conn = pymysql.connect(**{**mysql_settings.connect_kwargs(), "database": mysql_db})
    try:
        expected = expected_tags(conn)
    finally:
        conn.close()
    items = scan_items(ddb_client, table)
    assert len(items) == len(expected) == total
    assert compare(items, expected) == []
    assert (result["read"], result["written"], result["rejected_total"]) == (total, total, 0)
    keys = [json.dumps(r["key"], sort_keys=True) for r in read_jsonl(run_dir / f"written/{table}.jsonl")]
    assert len(keys) == len(set(keys)) == total


def test_rows_an_entity_filter_excludes_are_counted_as_filtered(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    _setup(mysql_conn)
    path = _contract(tmp_path, ddb_prefix)
    data = json.loads(path.read_text())
    data["tables"][1]["filter"] = "weight IS NOT NULL AND tag <> 'tag-0-é'"
    path.write_text(json.dumps(data), encoding="utf-8")
    with mysql_conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM links WHERE weight IS NOT NULL AND tag <> 'tag-0-é'")
        (kept,) = cur.fetchone()
    assert 0 < kept < LINKS
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, path, chunk_rows=20)
    from dynamigrate.pipeline import MigrateOptions, migrate

    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", skip_validation=True))
    assert summary.status == "ok", summary.render_text()
    (links,) = [t for t in summary.tables if t.table == f"{ddb_prefix}Links"]
    assert links.accounting is not None
    assert links.accounting["equation"] == (
        f"{LINKS} source rows = written {kept} + skipped 0 + conflicts 0 + rejected 0 + filtered {LINKS - kept}"
    )
    expected = {k: v for k, v in _expected_links(mysql_conn).items() if "weight" in v and k[1] != "tag-0-é"}
    assert _without_marker(scan_items(ddb_client, f"{ddb_prefix}Links")) == expected


def test_rows_inserted_during_the_load_are_reported_as_a_changing_source(
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _setup(mysql_conn)
    _, config = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, ddb_prefix), chunk_rows=20, inflight_chunks=1
    )
    links = f"{ddb_prefix}Links"
    original = LocalEngine._complete
    seen: list[int] = []

    def complete_then_insert(self: LocalEngine, ctx: Any, table: Any, result: Any, *args: Any) -> None:
        original(self, ctx, table, result, *args)
        if table.name == links:
            seen.append(result.read)
            if len(seen) == 2:  # the application inserts two rows above the keys read so far
                with mysql_conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO links VALUES (%s, %s, %s)", [(1000, "new-a", 1), (1000, "new-b", 2)]
                    )

    monkeypatch.setattr(LocalEngine, "_complete", complete_then_insert)
    assert main(_argv(config, "--skip-validation")) == 0
    t = _only_run(tmp_path).state()["tables"][links]
    acc = t["accounting"]["table"]
    assert t["status"] == "done" and acc["status"] == "changed"
    assert (acc["source_rows_before"], acc["source_rows_after"], acc["written"]) == (
        LINKS,
        LINKS + 2,
        LINKS + 2,
    )
    assert acc["source_modified_during_load"] is True
    assert acc["equation"] == (
        f"{LINKS}->{LINKS + 2} source rows = written {LINKS + 2} + skipped 0 + conflicts 0 + rejected 0 + "
        f"filtered 0 (the source was written to during the load: +2 rows net; the load saw {LINKS + 2})"
    )
    assert _without_marker(scan_items(ddb_client, links)) == _expected_links(mysql_conn)


def test_connection_lost_after_the_retries_fails_the_table_not_its_rows(
    mysql_conn: Any, mysql_db: str, ddb_client: Any, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    from dynamigrate.pipeline import MigrateOptions, migrate
    from dynamigrate.target.client import dynamodb_client
    from dynamigrate.target.faults import FaultInjector

    _setup(mysql_conn)
    cfg, config = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, ddb_prefix), chunk_rows=20, inflight_chunks=1
    )
    links = f"{ddb_prefix}Links"
    clients: list[Any] = []

    def unreachable() -> Any:  # every write meets a closed connection, retried until the policy gives up
        if not clients:
            client = dynamodb_client(cfg.aws, max_pool_connections=32)
            FaultInjector(client, connection_rate=1.0, seed=1).attach()
            clients.append(client)
        return clients[0]

    options = MigrateOptions(
        tables=(links,), progress_mode="quiet", skip_validation=True, strategy="transact"
    )
    summary = migrate(cfg, options, client_factory=unreachable)
    assert summary.status == "failed" and summary.exit_code() == 1
    (t,) = summary.tables
    assert t.status == "failed" and "still failing after" in (t.error or "")
    assert t.rejected_total == 0 and t.written == 0
    run = RunDir.open(summary.run_dir)
    assert not run.file("rejected.jsonl").exists()
    assert not run.file(f"checkpoints/{links}.json").exists()  # nothing was checkpointed, least of all done

    assert main(_argv(config, "--resume", summary.run_id or "", "--skip-validation")) == 0
    assert _without_marker(scan_items(ddb_client, links)) == _expected_links(mysql_conn)
