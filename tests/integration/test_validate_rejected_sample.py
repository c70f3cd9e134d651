"""Sample validation (what `migrate` runs) and the sampled source rows the contract REJECTS.

A rejected row has no item, so comparing sampled items never looked at it: an item the load wrote for a
row the contract rejects (views and encoder accepting what the contract forbids) passed the default
validation; only --full saw it. Now the evaluator keeps the key of a row rejected by a non-key
attribute and validation looks it up: an item this run wrote there fails the table, naming the key; an
item the run did not write (no marker, an earlier run's) is a warning; a row the run itself recorded
as rejected is the expected case."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.cli import main
from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration

# (code, amount): amount is TEXT in MySQL, N in the contract; code is the partition key (composite
# with a numeric sort key) so the rejected row's key is computable
ROWS = [
    ("a-1", "10.50"),
    ("b-2", "-3"),
    ("c-3", "abc"),  # rejected by the contract: bad_number (a non-key attribute)
    ("d-4", "7"),
    ("e-5", None),
    ("f-😀", "1e3"),
]


def _setup(mysql_conn: Any, mysql_db: str, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path) -> Any:
    with mysql_conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE acct (id INT PRIMARY KEY, code VARCHAR(20) NOT NULL, amount TEXT NULL) "
            "CHARACTER SET utf8mb4"
        )
        cur.executemany(
            "INSERT INTO acct VALUES (%s, %s, %s)", [(i + 1, c, a) for i, (c, a) in enumerate(ROWS)]
        )
    mysql_conn.commit()
    table = f"{ddb_prefix}Acct"
    attrs = [
        {"name": "code", "type": "S", "source_table": "acct", "source_column": "code"},
        {"name": "amount", "type": "N", "source_table": "acct", "source_column": "amount"},
        {"name": "id", "type": "N", "source_table": "acct", "source_column": "id"},
    ]
    doc = {
        "table": table,
        "type": "single-entity",
        "source_table": "acct",
        "pk": "code",
        "sk": "id",
        "attributes": attrs,
    }
    path = tmp_path / "contract.json"
    path.write_text(json.dumps({"tables": [doc]}), encoding="utf-8")
    cfg, cfg_path = make_config(tmp_path, mysql_db, ddb_endpoint, path)
    return table, cfg, cfg_path


def _validate(cfg_path: Path, run_id: str, capsys: Any) -> tuple[int, str, dict[str, Any]]:
    capsys.readouterr()
    code = main(["validate", "--config", str(cfg_path), "--run", run_id, "--sample", "100"])
    out = capsys.readouterr().out
    (t,) = json.loads(RunDir.open(_run_path(cfg_path, run_id)).file("validation.json").read_text())["tables"]
    return code, out, t


def _run_path(cfg_path: Path, run_id: str) -> Path:
    return cfg_path.parent / "runs" / run_id


def test_an_item_this_run_wrote_for_a_row_the_contract_rejects_fails_sample_validation(
    mysql_conn: Any,
    mysql_db: str,
    ddb_client: Any,
    ddb_prefix: str,
    ddb_endpoint: str,
    tmp_path: Path,
    capsys: Any,
) -> None:
    table, cfg, cfg_path = _setup(mysql_conn, mysql_db, ddb_prefix, ddb_endpoint, tmp_path)
    summary = migrate(cfg, MigrateOptions(progress_mode="quiet", accept=("not_numeric",)))
    assert summary.status == "ok", summary.render_text()
    run = RunDir.open(summary.run_dir or "")
    rejected = [json.loads(x) for x in run.file("rejected.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["row"]["id"], r["code"]) for r in rejected] == [("3", "bad_number")]
    (t,) = json.loads(run.file("validation.json").read_text())["tables"]
    # no false positive: the row the run rejected has no item, the contract rejects it too
    assert t["status"] == "passed" and t["score"] == 1.0
    assert (t["sampled"], t["sampled_rejected"], t["sampled_rejected_by_run"]) == (len(ROWS), 1, 1)
    assert (t["rejected_written"], t["rejected_present_other"], t["sampled_rejected_unverifiable"]) == (
        0,
        0,
        0,
    )

    # the source row changes after the load to a value the contract rejects: from here on DynamoDB
    # holds an item THIS run wrote for a row the contract rejects, and the run never rejected it
    # (exactly what a view/encoder bug leaves behind)
    key = {"code": {"S": "d-4"}, "id": {"N": "4"}}
    written = ddb_client.get_item(TableName=table, Key=key)["Item"]
    with mysql_conn.cursor() as cur:
        cur.execute("UPDATE acct SET amount = 'twelve' WHERE id = 4")
    mysql_conn.commit()
    code, out, t = _validate(cfg_path, run.run_id, capsys)
    assert code == 1, out
    assert t["status"] == "failed" and t["rejected_written"] == 1
    assert t["rejected_written_keys"][0]["key"] == {"code": {"S": "d-4"}, "id": {"N": "4"}}
    assert t["rejected_written_keys"][0]["code"] == "bad_number"
    assert t["score"] < 1.0
    assert "FAILED" in out and "d-4" in out
    assert "the contract rejects this row (attribute 'amount' (N)" in out
    assert "but DynamoDB holds an item this run wrote for its key" in out
    diffs = [
        json.loads(x)
        for x in run.file(f"validation/{table}.differences.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert [(d["kind"], d["key"]) for d in diffs] == [
        ("rejected_row_written", {"code": {"S": "d-4"}, "id": {"N": "4"}})
    ]

    # the same item without a migration marker: the application's, not this run's: a warning
    ddb_client.put_item(TableName=table, Item={**key, "amount": {"N": "7"}})
    code, out, t = _validate(cfg_path, run.run_id, capsys)
    assert code == 0, out
    assert (t["status"], t["rejected_written"], t["rejected_present_other"]) == ("passed", 0, 1)
    assert "have an item in DynamoDB this run did not write" in out

    # written by an earlier run (another run id in the marker): not this run's either
    marker = f"20200101T000000Z-0000:{'0' * 16}"
    ddb_client.put_item(TableName=table, Item={**key, "amount": {"N": "7"}, "_dm_marker": {"S": marker}})
    code, out, t = _validate(cfg_path, run.run_id, capsys)
    assert (code, t["rejected_written"], t["rejected_present_other"]) == (0, 0, 1), out

    # the run's own rejected row with an item carrying this run's marker at its key (what another
    # source row with the same key would leave): the run rejected this row, so the item is not its
    ddb_client.put_item(TableName=table, Item=written)
    with mysql_conn.cursor() as cur:
        cur.execute("UPDATE acct SET amount = '7' WHERE id = 4")
    mysql_conn.commit()
    ddb_client.put_item(
        TableName=table,
        Item={
            "code": {"S": "c-3"},
            "id": {"N": "3"},
            "amount": {"N": "0"},
            "_dm_marker": written["_dm_marker"],
        },
    )
    code, out, t = _validate(cfg_path, run.run_id, capsys)
    assert (code, t["status"], t["sampled_rejected_by_run"], t["rejected_written"]) == (0, "passed", 1, 0), (
        out
    )
