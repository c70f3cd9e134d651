"""Post-migration validation against MariaDB and DynamoDB Local: each kind of damage is reported
exactly (key, attribute, expected, actual), a clean table scores 100%."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _validate_scenario import (
    N_ORDERS,
    N_USERS,
    contract_dict,
    create_source,
    create_table,
    load_table,
    make_config,
    make_contract,
)

from dynamigrate.cli import main
from dynamigrate.runstate import RunDir
from dynamigrate.validate.post import validate_run

pytestmark = pytest.mark.integration

EXPECTED = N_USERS + N_ORDERS - 1  # order 13 has no user: NULL key, rejected


@pytest.fixture
def shop(
    tmp_path: Path,
    mysql_settings: Any,
    mysql_db: str,
    mysql_conn: Any,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
) -> dict[str, Any]:
    name = f"{ddb_prefix}Shop"
    contract = make_contract(name)
    table = contract.tables[0]
    contract_file = tmp_path / "contract.json"
    contract_file.write_text(json.dumps(contract_dict(name)))
    cfg = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, contract_file)
    create_source(mysql_conn, table)
    create_table(ddb_client, name)
    run = RunDir.create(cfg.migration.output_dir)
    figures = load_table(cfg, table, ddb_client, run)
    return {
        "cfg": cfg,
        "contract": contract,
        "table": table,
        "run": run,
        "name": name,
        "figures": figures,
        "contract_file": contract_file,
    }


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def test_clean_run_scores_100_percent(shop: dict[str, Any], ddb_client: Any) -> None:
    assert shop["figures"] == {"written": EXPECTED, "rejected": 1}
    report = validate_run(
        shop["cfg"], shop["contract"], shop["run"], mode="full", gsi_sample=100, client=ddb_client
    )
    t = report.table(shop["name"])
    assert report.passed and t.passed, report.render_text()
    assert report.verdict == "passed with warnings"  # the rejected row is a warning
    assert t.score == 1.0 and report.score == 1.0
    assert (t.source_rows, t.rejected, t.expected, t.ddb_count) == (N_USERS + N_ORDERS, 1, EXPECTED, EXPECTED)
    assert (t.missing, t.extra, t.compared, t.mismatched) == (0, 0, EXPECTED, 0)
    assert t.rejected_by_code == {"null_key": 1}
    assert t.run_rejected == 1
    assert t.entities["USER"].expected == N_USERS and t.entities["USER"].present == N_USERS
    assert t.entities["ORDER"].rejected == 1 and t.entities["ORDER"].exact == N_ORDERS - 1
    gsi = t.gsis[0]
    # user 7 has no status: expected absent from GSI1, every other item is found with its attributes
    assert (gsi.index, gsi.checked, gsi.found, gsi.missing, gsi.not_indexed) == (
        "GSI1",
        EXPECTED - 1,
        EXPECTED - 1,
        0,
        1,
    )
    assert gsi.projection_mismatches == 0
    saved = json.loads((shop["run"].path / "validation.json").read_text())
    assert saved["passed"] is True and saved["tables"][0]["score"] == 1.0
    assert t.item_size_max and t.item_size_avg and t.item_size_max >= t.item_size_avg


def test_each_kind_of_damage_is_reported_exactly(shop: dict[str, Any], ddb_client: Any) -> None:
    name = shop["name"]
    deleted = _key("user3@example.com", "#META")
    changed = _key("user5@example.com", "#META")
    unindexed = _key("user4@example.com", "#META")
    extra = _key("someone@example.com", "#META")
    ddb_client.delete_item(TableName=name, Key=deleted)
    ddb_client.update_item(
        TableName=name,
        Key=changed,
        UpdateExpression="SET #n = :v",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":v": {"S": "Mallory"}},
    )
    # the application removed the GSI key: the item drops out of GSI1
    ddb_client.update_item(TableName=name, Key=unindexed, UpdateExpression="REMOVE GSI1PK")
    ddb_client.put_item(TableName=name, Item={**extra, "name": {"S": "app write"}})

    report = validate_run(
        shop["cfg"], shop["contract"], shop["run"], mode="full", gsi_sample=100, client=ddb_client
    )
    t = report.table(name)
    assert not report.passed and report.verdict == "failed"
    assert [m["key"] for m in t.missing_keys] == [deleted] and t.missing == 1
    assert t.missing_keys[0]["entity"] == "USER" and t.missing_keys[0]["rowid"] == "3"
    assert [e["key"] for e in t.extra_keys] == [extra] and (t.extra_marked, t.extra_unmarked) == (0, 1)
    diffs = sorted((d.key["PK"]["S"], d.attribute, d.kind, d.expected, d.actual) for d in t.differences)
    assert diffs == [
        ("user4@example.com", "GSI1PK", "missing_attribute", {"S": "basic"}, None),
        ("user5@example.com", "name", "changed", {"S": "User 5 😀"}, {"S": "Mallory"}),
    ]
    assert t.differences_total == 2 and t.mismatched == 2 and t.compared == EXPECTED - 1
    problems = [(p.index, p.kind, p.key) for p in t.gsi_problems]
    assert problems == [("GSI1", "missing_entry", unindexed)]
    assert t.gsi_problems[0].index_key == {"GSI1PK": {"S": "basic"}, "GSI1SK": {"S": "USER#4"}}
    # exact items: all expected minus the missing one and the two that differ
    assert t.exact == EXPECTED - 3
    assert t.score == pytest.approx((EXPECTED - 3) / EXPECTED)
    assert t.entities["USER"].missing == 1 and t.entities["USER"].mismatched == 2
    assert t.entities["ORDER"].mismatched == 0 and t.entities["ORDER"].missing == 0
    text = report.render_text()
    assert "FAILED" in text and "Mallory" in text and "someone@example.com" in text
    # every difference is also on disk, one JSON line each
    lines = (shop["run"].path / "validation" / f"{name}.differences.jsonl").read_text().splitlines()
    assert len(lines) == 2

    # counts mode sees the missing and the extra item, not the values
    counts = validate_run(shop["cfg"], shop["contract"], None, mode="counts", gsi_sample=0, client=ddb_client)
    c = counts.table(name)
    assert (c.missing, c.extra, c.compared, c.score_basis) == (1, 1, 0, "keys only (values not compared)")
    assert c.score == pytest.approx((EXPECTED - 1) / EXPECTED)
    # keysets off: the Select=COUNT scan only
    only = validate_run(
        shop["cfg"], shop["contract"], None, mode="counts", gsi_sample=0, keysets=False, client=ddb_client
    )
    assert only.table(name).ddb_count == EXPECTED and only.table(name).missing is None


def test_sample_mode_compares_n_random_rows(shop: dict[str, Any], ddb_client: Any) -> None:
    name = shop["name"]
    # change every user's balance: any sample of users sees it
    for i in range(1, N_USERS + 1):
        ddb_client.update_item(
            TableName=name,
            Key=_key(f"user{i}@example.com", "#META"),
            UpdateExpression="SET balance = :b",
            ExpressionAttributeValues={":b": {"N": "0"}},
        )
    report = validate_run(
        shop["cfg"],
        shop["contract"],
        shop["run"],
        mode="sample",
        sample=10,
        gsi_sample=5,
        client=ddb_client,
        seed=7,
    )
    t = report.table(name)
    assert t.compared == 10
    assert t.mismatched == sum(1 for d in t.differences if d.attribute == "balance")
    assert all(d.attribute == "balance" and d.actual == {"N": "0"} for d in t.differences)
    assert (t.mismatched > 0) == (not t.passed)
    assert t.score == pytest.approx((t.compared - t.mismatched) / t.compared)


def test_missing_table_or_view_fails_with_guidance(
    shop: dict[str, Any], ddb_client: Any, mysql_conn: Any
) -> None:
    report = validate_run(
        shop["cfg"],
        shop["contract"],
        None,
        mode="counts",
        client=ddb_client,
        table_names={shop["name"]: shop["name"] + "_nope"},
    )
    t = report.table(shop["name"])
    assert not report.passed and t.error is not None
    assert "not found" in t.error["message"]
    assert t.error.get("guidance") == "ddb-resource-not-found"
    with mysql_conn.cursor() as cur:
        cur.execute(f"DROP VIEW {shop['table'].view_name}")
    report = validate_run(shop["cfg"], shop["contract"], None, mode="counts", client=ddb_client)
    t = report.table(shop["name"])
    assert not report.passed and t.error is not None and t.error.get("guidance") == "mysql-1146"
    assert "cannot validate" in t.problems[0]


def test_validate_cli_exit_codes(shop: dict[str, Any], ddb_client: Any, capsys: Any) -> None:
    cfg_path = shop["cfg"].source_path
    run_id = shop["run"].run_id
    assert main(["validate", "--config", cfg_path, "--run", run_id, "--full", "--gsi-sample", "100"]) == 0
    out = capsys.readouterr().out
    assert "PASSED" in out
    ddb_client.delete_item(TableName=shop["name"], Key=_key("user1@example.com", "#META"))
    assert main(["validate", "--config", cfg_path, "--run", run_id]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "user1@example.com" in out
    saved = json.loads((shop["run"].path / "validation.json").read_text())
    assert saved["passed"] is False and saved["tables"][0]["missing"] == 1
    # the reports were refreshed with the validation result
    report = json.loads((shop["run"].path / "report.json").read_text())
    assert report["validation"]["passed"] is False
