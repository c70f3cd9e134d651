"""Validation on real engine output: a small library database migrated with the generated views and the
local engine, then validated against the contract (counts from the base tables, items from the
reference evaluator), with the views and DynamoDB damaged the way a view bug damages them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _migrated_library import (
    N_AUTHORS,
    N_BOOKS,
    create_source,
    damage_view,
    make_config,
    run_migrate,
)

from dynamigrate.cli import main
from dynamigrate.contract.load import load_contract
from dynamigrate.report import write_reports
from dynamigrate.runstate import RunDir
from dynamigrate.validate.post import validate_run

pytestmark = pytest.mark.integration

ITEMS = N_AUTHORS + N_BOOKS


@pytest.fixture
def library(
    tmp_path: Path,
    mysql_settings: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
) -> dict[str, Any]:
    name = f"{ddb_prefix}Library"
    create_source(mysql_conn)
    cfg, cfg_path = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, name)
    contract = load_contract(cfg.migration.contract_file)
    return {"cfg": cfg, "cfg_path": str(cfg_path), "contract": contract, "name": name, "conn": mysql_conn}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _book_count(conn: Any, author: int) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM books WHERE author_id = %s", (author,))
        return int(cur.fetchone()[0])


def test_migrate_validates_with_counts_keys_and_a_sample(library: dict[str, Any], ddb_client: Any) -> None:
    summary = run_migrate(library["cfg"])
    report = summary.validation
    assert report is not None and report.passed, report.render_text()
    t = report.table(library["name"])
    # counts come from the base tables, the keys from the load's own record, values from the evaluator
    assert (t.source_rows, t.rejected, t.expected, t.load_rows) == (ITEMS, 0, ITEMS, ITEMS)
    assert (t.recorded_keys, t.ddb_count, t.missing, t.extra) == (ITEMS, ITEMS, 0, 0)
    assert t.sampled == ITEMS and t.compared == ITEMS and t.mismatched == 0  # fewer rows than 1,000: all
    assert t.basis == f"counts + keys + {ITEMS} sampled items" and t.score == 1.0
    assert t.entities["AUTHOR"].source_rows == N_AUTHORS and t.entities["BOOK"].source_rows == N_BOOKS
    run = RunDir.open(summary.run_dir)
    saved = json.loads(run.file("validation.json").read_text())
    assert saved["basis"] == t.basis and saved["status"] == "passed" and saved["origin"] == "migrate"
    doc = json.loads(run.file("report.json").read_text())
    assert doc["validation"]["headline"] == f"PASSED, integrity 100.00% ({t.basis})"
    assert t.basis in run.file("report.md").read_text()
    assert t.basis in run.file("report.html").read_text()


def test_counts_only_never_shows_an_integrity_score(library: dict[str, Any]) -> None:
    summary = run_migrate(library["cfg"], skip_validation=True)
    run = RunDir.open(summary.run_dir)
    report = validate_run(library["cfg"], library["contract"], run, mode="counts", origin="validate")
    t = report.table(library["name"])
    assert report.passed and t.score is None and report.score is None
    assert (t.source_rows, t.load_rows, t.ddb_count) == (ITEMS, ITEMS, ITEMS)
    assert report.headline() == "PASSED (counts only, no integrity score)"
    assert "integrity" not in report.render_text().split("\n")[0].replace("no integrity score", "")


def test_a_view_bug_copied_into_dynamodb_is_found(library: dict[str, Any], ddb_client: Any) -> None:
    """The measurement of issue 11: the view drops one row and adds 1 to an aggregate, DynamoDB holds
    the same damage. The views and the load agree with each other; only the contract disagrees."""
    summary = run_migrate(library["cfg"], skip_validation=True)
    conn, name = library["conn"], library["name"]
    view = library["contract"].tables[0].view_name
    dropped = "978-000004"
    damage_view(
        conn,
        view,
        where=f"NOT (`_dm_entity` = 'BOOK' AND `SK` = 'BOOK#{dropped}')",
        replace={"book_count": "`book_count` + 1"},
    )
    ddb_client.delete_item(TableName=name, Key=_key("AUTHOR#5", f"BOOK#{dropped}"))
    for a in range(1, N_AUTHORS + 1):
        ddb_client.update_item(
            TableName=name,
            Key=_key(f"AUTHOR#{a}", "#META"),
            UpdateExpression="SET book_count = book_count + :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    run = RunDir.open(summary.run_dir)

    full = validate_run(library["cfg"], library["contract"], run, mode="full", origin="validate")
    t = full.table(name)
    assert full.status == "failed" and t.basis == "every item", full.render_text()
    assert [m["key"] for m in t.missing_keys] == [_key("AUTHOR#5", f"BOOK#{dropped}")]
    assert t.missing_keys[0]["entity"] == "BOOK"
    assert {d.attribute for d in t.differences} == {"book_count"} and t.mismatched == N_AUTHORS
    d = next(d for d in t.differences if d.key == _key("AUTHOR#5", "#META"))
    assert d.expected == {"N": str(_book_count(conn, 5))} and d.actual == {"N": str(_book_count(conn, 5) + 1)}
    assert d.view_agrees is True  # the load copied the view: the finding belongs to the view
    # reported apart: the view does not match the contract (the dropped row, every aggregate)
    kinds = {(m.kind, m.attribute) for m in t.view_mismatches}
    assert kinds == {("missing_row", None), ("changed", "book_count")}
    assert t.view_mismatched == N_AUTHORS + 1
    assert t.ddb_as_view == N_AUTHORS + 1  # DynamoDB holds exactly what the view computes: the view's fault
    text = full.render_text()
    assert f"BOOK#{dropped}" in text and "book_count" in text and "view does not match the contract" in text

    sample = validate_run(
        library["cfg"], library["contract"], run, mode="sample", sample=5, seed=3, origin="validate"
    )
    s = sample.table(name)
    assert s.sampled == 5 and s.basis == "counts + keys + 5 sampled items"
    assert s.missing == 1  # the load recorded the key, the key scan does not find it
    assert sample.status == "failed"
    sampled_authors = s.entities["AUTHOR"].compared
    assert s.mismatched == sampled_authors  # every sampled author shows the aggregate damage
    big = validate_run(
        library["cfg"], library["contract"], run, mode="sample", sample=1000, origin="validate"
    )
    b = big.table(name)
    assert b.mismatched == N_AUTHORS and {d.attribute for d in b.differences} == {"book_count"}
    assert b.view_mismatched >= N_AUTHORS

    # a later validation never rewrites the run's own outcome or times
    state = run.state()
    assert state["status"] == "ok" and state["summary"]["finished"] == summary.finished


def test_a_view_bug_during_the_load_fails_the_default_validation(
    library: dict[str, Any], ddb_client: Any
) -> None:
    """The view is damaged BEFORE the load (a generator bug): the load copies it faithfully; the lost
    row already fails the load's accounting (base-table count vs outcomes), and validation, run on the
    same run, shows what the base tables and the contract say."""
    from dynamigrate.pipeline import MigrateOptions, migrate
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen import generate_views

    cfg, conn = library["cfg"], library["conn"]
    schema = introspect(conn, cfg.mysql.database)
    views = generate_views(library["contract"], dialect="mariadb", schema=schema)
    with conn.cursor() as cur:
        for stmt in views.statements:
            cur.execute(stmt.sql)
    view = library["contract"].tables[0].view_name
    damage_view(
        conn,
        view,
        where="NOT (`_dm_entity` = 'AUTHOR' AND `PK` = 'AUTHOR#2')",
        replace={"book_count": "`book_count` * 2"},
    )
    # preflight would see the lost row; the aggregate damage it cannot see, so skip it to let both through
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", skip_views=True, skip_preflight=True))
    assert summary.status == "failed"
    (loaded,) = summary.tables
    assert loaded.status == "failed" and loaded.accounting is not None
    assert loaded.accounting["table"]["missing"] == 1, loaded.accounting
    from dynamigrate.runstate import RunDir
    from dynamigrate.validate.post import validate_run

    report = validate_run(cfg, library["contract"], RunDir.open(summary.run_dir), [library["name"]])
    t = report.table(library["name"])
    assert report.status == "failed", report.render_text()
    assert (t.source_rows, t.load_rows) == (ITEMS, ITEMS - 1)
    assert any("the base tables hold" in p for p in t.problems)
    assert (
        f"entity AUTHOR: authors holds {N_AUTHORS} row(s), the load accounted for {N_AUTHORS - 1}"
        in t.problems
    )
    # all rows sampled: the author's item is missing, and the view has no row for it
    assert [m["key"] for m in t.missing_keys] == [_key("AUTHOR#2", "#META")]
    rows = [(m.kind, m.key) for m in t.view_mismatches if m.kind != "changed"]
    assert rows == [("missing_row", _key("AUTHOR#2", "#META"))]
    assert {m.attribute for m in t.view_mismatches if m.kind == "changed"} == {"book_count"}
    # the doubled aggregates: in DynamoDB, and in the view (authors with books only: 0 * 2 == 0)
    doubled = {d.key["PK"]["S"] for d in t.differences if d.attribute == "book_count"}
    assert doubled == {f"AUTHOR#{a}" for a in range(1, N_AUTHORS) if a != 2}
    assert all(d.view_agrees for d in t.differences)
    assert t.view_mismatched == len(doubled) + 1
    assert t.score is not None and t.score < 1.0
    # the report's source rows are the base tables', the view's rows are shown apart
    (doc_table,) = json.loads(RunDir.open(summary.run_dir).file("report.json").read_text())["tables"]
    assert (doc_table["source_rows"], doc_table["view_rows"]) == (ITEMS, ITEMS - 1)


def test_validation_that_cannot_run_is_not_validated(
    library: dict[str, Any], ddb_client: Any, capsys: Any
) -> None:
    summary = run_migrate(library["cfg"], skip_validation=True)
    run = RunDir.open(summary.run_dir)
    report = validate_run(
        library["cfg"],
        library["contract"],
        run,
        mode="counts",
        table_names={library["name"]: library["name"] + "_nope"},
        origin="validate",
    )
    t = report.table(library["name"])
    assert report.status == "not validated" and not report.passed and t.status == "not validated"
    assert t.error is not None and "not found" in t.error["message"] and t.score is None
    assert not t.problems  # nothing was found wrong
    assert report.headline() == "NOT VALIDATED (nothing validated)"

    ddb_client.delete_table(TableName=library["name"])
    code = main(["validate", "--config", library["cfg_path"], "--run", run.run_id])
    assert code == 4
    out = capsys.readouterr().out
    assert "NOT VALIDATED" in out and "not found" in out
    doc = json.loads(run.file("report.json").read_text())
    assert doc["outcome"] == "succeeded" and doc["validation"]["status"] == "not validated"
    assert doc["finished_at"] == run.state()["summary"]["finished"]


def test_validate_cli_exit_codes(library: dict[str, Any], ddb_client: Any, capsys: Any) -> None:
    summary = run_migrate(library["cfg"], skip_validation=True)
    run_id = summary.run_id
    assert main(["validate", "--config", library["cfg_path"], "--run", run_id, "--full"]) == 0
    out = capsys.readouterr().out
    assert "PASSED, integrity 100.00% (every item)" in out
    ddb_client.delete_item(TableName=library["name"], Key=_key("AUTHOR#1", "#META"))
    assert main(["validate", "--config", library["cfg_path"], "--run", run_id]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "AUTHOR#1" in out and "counts + keys + " in out
    run = RunDir.open(summary.run_dir)
    saved = json.loads(run.file("validation.json").read_text())
    assert saved["passed"] is False and saved["tables"][0]["missing"] == 1
    doc = json.loads(run.file("report.json").read_text())
    assert doc["validation"]["status"] == "failed" and doc["validation"]["origin"] == "validate"
    assert doc["outcome"] == "succeeded"  # the run itself succeeded; the later validation is beside it
    assert main(["validate", "--config", library["cfg_path"], "--run", run_id, "--full", "--json"]) == 1
    printed = json.loads(capsys.readouterr().out)
    (t,) = printed["tables"]
    assert printed["basis"] == "every item" and printed["status"] == "failed"
    assert (
        t["missing_keys"][0]["key"] == _key("AUTHOR#1", "#META")
        and t["missing_keys"][0]["entity"] == "AUTHOR"
    )
    assert t["view_mismatched"] == 0 and t["view_checked"] == ITEMS


def test_dynamodb_damage_is_told_apart_from_the_view(library: dict[str, Any], ddb_client: Any) -> None:
    """The application changes items after a clean load: the view still agrees with the contract, so
    every finding is a DynamoDB difference, none is blamed on the view."""
    summary = run_migrate(library["cfg"], skip_validation=True)
    name = library["name"]
    book, author = _key("AUTHOR#4", "BOOK#978-000003"), _key("AUTHOR#4", "#META")
    ddb_client.update_item(
        TableName=name,
        Key=book,
        UpdateExpression="SET title = :t",
        ExpressionAttributeValues={":t": {"S": "Mallory"}},
    )
    ddb_client.update_item(TableName=name, Key=author, UpdateExpression="REMOVE GSI1PK")  # out of GSI1
    ddb_client.put_item(TableName=name, Item={**_key("APP#1", "x"), "note": {"S": "the application's"}})
    run = RunDir.open(summary.run_dir)

    report = validate_run(library["cfg"], library["contract"], run, mode="full", gsi_sample=100)
    t = report.table(name)
    assert report.status == "failed"
    diffs = sorted((d.key["SK"]["S"], d.attribute, d.kind, d.expected, d.actual) for d in t.differences)
    assert diffs == [
        ("#META", "GSI1PK", "missing_attribute", {"S": "DE"}, None),
        ("BOOK#978-000003", "title", "changed", {"S": "Book 3 📚"}, {"S": "Mallory"}),
    ]
    assert all(d.view_agrees is False for d in t.differences)
    assert t.view_mismatched == 0 and t.view_checked == ITEMS and not t.view_mismatches and t.ddb_as_view == 0
    assert [e["key"] for e in t.extra_keys] == [_key("APP#1", "x")] and (
        t.extra_marked,
        t.extra_unmarked,
    ) == (0, 1)
    assert [(p.index, p.kind, p.key) for p in t.gsi_problems] == [("GSI1", "missing_entry", author)]
    assert t.entities["BOOK"].mismatched == 1 and t.entities["AUTHOR"].mismatched == 1
    assert t.exact == ITEMS - 2 and t.score == pytest.approx((ITEMS - 2) / ITEMS)
    lines = (run.path / "validation" / f"{name}.differences.jsonl").read_text().splitlines()
    assert len(lines) == 2
    gsi = t.gsis[0]
    # author 3 has no country (not indexed), books have no GSI1 keys: only authors are indexed
    assert (gsi.checked, gsi.found, gsi.missing, gsi.not_indexed) == (
        N_AUTHORS - 1,
        N_AUTHORS - 2,
        1,
        N_BOOKS + 1,
    )


def test_counts_apply_the_entity_filter(
    tmp_path: Path, mysql_settings: Any, mysql_db: str, mysql_conn: Any, ddb_prefix: str, ddb_endpoint: str
) -> None:
    """Books without a price are filtered out: the base-table count applies the same filter, and the
    rows it excludes are reported as filtered, not as missing."""
    create_source(mysql_conn)
    name = f"{ddb_prefix}Library"
    cfg, _ = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, name, "books.price IS NOT NULL")
    summary = run_migrate(cfg)
    t = summary.validation.table(name)
    no_price = N_BOOKS // 5
    assert summary.validation.passed, summary.validation.render_text()
    assert (t.source_rows, t.filtered, t.expected, t.load_rows) == (
        ITEMS - no_price,
        no_price,
        ITEMS - no_price,
        ITEMS - no_price,
    )
    assert (t.entities["BOOK"].source_rows, t.entities["BOOK"].filtered) == (N_BOOKS - no_price, no_price)
    assert t.sampled == ITEMS - no_price and t.mismatched == 0 and t.missing == 0


def test_validate_without_the_load_record_says_so_in_its_basis(
    library: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    """A validation in a fresh run directory has no written-keys log: no key comparison is claimed."""
    run_migrate(library["cfg"], skip_validation=True)
    elsewhere = tmp_path / "elsewhere"
    code = main(["validate", "--config", library["cfg_path"], "--output-dir", str(elsewhere)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"PASSED, integrity 100.00% (counts + {ITEMS} sampled items)" in out
    (run_dir,) = elsewhere.iterdir()
    saved = json.loads((run_dir / "validation.json").read_text())
    (t,) = saved["tables"]
    assert t["recorded_keys"] is None and t["load_rows"] is None and t["ddb_count"] == ITEMS


def test_full_compares_the_whole_view_with_the_contract(library: dict[str, Any], ddb_client: Any) -> None:
    """The view goes wrong after a clean load (regenerated by a buggy generator, say): DynamoDB is
    right, and --full still says the view does not match the contract, naming the items."""
    summary = run_migrate(library["cfg"], skip_validation=True)
    damage_view(
        library["conn"],
        library["contract"].tables[0].view_name,
        where="NOT (`SK` = 'BOOK#978-000002')",
        replace={
            "title": "CASE WHEN `SK` = 'BOOK#978-000005' THEN 'wrong' ELSE `title` END",
            "PK": "CASE WHEN `SK` = 'BOOK#978-000007' THEN 'AUTHOR#77' ELSE `PK` END",
        },
    )
    run = RunDir.open(summary.run_dir)
    report = validate_run(library["cfg"], library["contract"], run, mode="full", origin="validate")
    t = report.table(library["name"])
    assert (t.missing, t.mismatched, t.extra) == (0, 0, 0), report.render_text()  # DynamoDB is right
    assert report.status == "failed" and t.view_checked == ITEMS + 1
    assert t.view_mismatched == 3 + 1  # three contract items wrong in the view, one row it should not have
    found = sorted((m.kind, m.key["PK"]["S"], m.key["SK"]["S"], m.attribute) for m in t.view_mismatches)
    assert found == [
        ("changed", "AUTHOR#6", "BOOK#978-000005", "title"),
        ("missing_row", "AUTHOR#1", "BOOK#978-000007", None),
        ("missing_row", "AUTHOR#3", "BOOK#978-000002", None),
        ("unexpected_row", "AUTHOR#77", "BOOK#978-000007", None),
    ]
    assert any("the view does not match the contract for 4 of 24" in p for p in t.problems)
    write_reports(run, report)
    assert (
        "the view does not match the contract for 4 of 24 item(s) looked up"
        in run.file("report.md").read_text()
    )


def test_a_second_sync_run_that_changes_nothing_validates(library: dict[str, Any]) -> None:
    """Every item unchanged (counted in skipped, shown apart as unchanged): the load accounted for each
    source row once, and the items it did not write carry the first run's marker."""
    run_migrate(library["cfg"], write_mode="sync")
    again = run_migrate(library["cfg"], write_mode="sync")
    t = again.validation.table(library["name"])
    assert again.validation.passed, again.validation.render_text()
    assert (t.source_rows, t.load_rows, t.recorded_keys, t.extra, t.extra_earlier) == (
        ITEMS,
        ITEMS,
        0,
        0,
        ITEMS,
    )
    assert t.mismatched == 0 and t.sampled == ITEMS and t.score == 1.0 and not t.warnings
    assert t.basis == f"counts + keys + {ITEMS} sampled items"


@pytest.mark.parametrize("mode", ["sample", "full"])
def test_a_contract_the_evaluator_cannot_compute_keeps_counts_and_keys(
    library: dict[str, Any], ddb_client: Any, mode: str
) -> None:
    """Values are not validated (no score), but the counts and the load's keys still prove what they
    can, and still fail the table when DynamoDB lost an item."""
    from dynamigrate.evaluate import EvaluationUnsupported

    def cannot(*_args: Any) -> Any:
        raise EvaluationUnsupported("join condition mixes columns of two rows: books.price > authors.id")

    summary = run_migrate(library["cfg"], skip_validation=True)
    run = RunDir.open(summary.run_dir)
    report = validate_run(
        library["cfg"], library["contract"], run, mode=mode, expected_factory=cannot, origin="validate"
    )
    t = report.table(library["name"])
    assert report.status == "not validated" and t.status == "not validated" and t.score is None
    assert t.basis == "counts + keys; values not validated" and t.values_error is not None
    assert (t.source_rows, t.load_rows, t.recorded_keys, t.missing, t.rejected) == (ITEMS, ITEMS, ITEMS, 0, 0)
    assert report.headline() == "NOT VALIDATED (counts + keys; values not validated)"
    assert "values not validated: join condition mixes columns" in report.render_text()

    ddb_client.delete_item(TableName=library["name"], Key=_key("AUTHOR#2", "#META"))
    again = validate_run(library["cfg"], library["contract"], run, mode=mode, expected_factory=cannot)
    assert again.status == "failed" and again.table(library["name"]).missing == 1
