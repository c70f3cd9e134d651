"""Rollback and clean-up against MariaDB, DynamoDB Local and a moto server (Glue, S3).

Rollback must restore the pre-run state exactly, even when the application wrote other items (and
changed or deleted migrated ones) in between; clean-up removes exactly what the manifest lists."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
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
    scan_all,
)

from dynamigrate.cleanup import cleanup_run
from dynamigrate.cli import main
from dynamigrate.config import load_config
from dynamigrate.rollback import rollback_run
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration

WRITTEN = N_USERS + N_ORDERS - 1


def _k(pk: str, sk: str = "#META") -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": sk}}


def _sk(key: dict[str, Any]) -> str:
    return json.dumps(key, sort_keys=True)


@pytest.fixture
def setup(
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
    cf = tmp_path / "contract.json"
    cf.write_text(json.dumps(contract_dict(name)))
    cfg = make_config(tmp_path, mysql_settings, mysql_db, ddb_endpoint, cf)
    create_source(mysql_conn, table)
    create_table(ddb_client, name)
    return {"cfg": cfg, "table": table, "name": name}


def test_rollback_restores_pre_run_state_exactly(setup: dict[str, Any], ddb_client: Any) -> None:
    name, cfg, table = setup["name"], setup["cfg"], setup["table"]
    # before the run: an application item the run does not produce, and one it will replace
    ddb_client.put_item(TableName=name, Item={**_k("app@example.com"), "name": {"S": "app item"}})
    ddb_client.put_item(
        TableName=name, Item={**_k("user2@example.com"), "name": {"S": "legacy"}, "v": {"N": "1"}}
    )
    # an item an earlier run wrote whose source row is gone: this run (sync --delete-missing) deletes it
    orphan = {
        **_k("orphan@example.com"),
        "name": {"S": "old"},
        "_dm_marker": {"S": "20250101T000000Z-0000:ab"},
    }
    ddb_client.put_item(TableName=name, Item=orphan)
    pre = scan_all(ddb_client, name)
    run = RunDir.create(cfg.migration.output_dir, meta={"marker_attribute": "_dm_marker", "tables": [name]})
    assert load_table(cfg, table, ddb_client, run, record_old=True)["written"] == WRITTEN
    ddb_client.delete_item(TableName=name, Key=_k("orphan@example.com"))
    run.append(run.old_images_file(name), {"key": _k("orphan@example.com"), "old": orphan, "deleted": True})

    # in between, the application writes a new item, changes a migrated one and deletes another
    ddb_client.put_item(TableName=name, Item={**_k("new@example.com"), "name": {"S": "after the run"}})
    ddb_client.update_item(
        TableName=name,
        Key=_k("user6@example.com"),
        UpdateExpression="SET #n = :v",
        ExpressionAttributeNames={"#n": "name"},
        ExpressionAttributeValues={":v": {"S": "changed by app"}},
    )
    ddb_client.delete_item(TableName=name, Key=_k("user8@example.com"))
    between = scan_all(ddb_client, name)

    dry = rollback_run(lambda: ddb_client, run, dry_run=True)
    t = dry.table(name)
    assert (t.keys, t.deleted, t.restored, t.changed, t.gone) == (WRITTEN, WRITTEN - 3, 1, 1, 1)
    assert scan_all(ddb_client, name) == between  # a dry run changes nothing
    assert (run.path / "rollback-dry-run.json").exists()

    assert (t.deleted_by_run, t.undeleted) == (1, 1)
    report = rollback_run(lambda: ddb_client, run)
    t = report.table(name)
    assert (t.deleted, t.restored, t.changed, t.gone, t.errors) == (WRITTEN - 3, 1, 1, 1, 0)
    assert (t.deleted_by_run, t.undeleted) == (1, 1)
    assert [c["key"] for c in t.changed_keys] == [_k("user6@example.com")]
    assert t.changed_keys[0]["marker_now"].startswith(run.run_id + ":")
    assert [g["key"] for g in t.gone_keys] == [_k("user8@example.com")]

    after = scan_all(ddb_client, name)
    expected = dict(pre)  # the pre-run state (user2's legacy image restored) ...
    expected[_sk(_k("new@example.com"))] = between[_sk(_k("new@example.com"))]  # ... + the app's writes
    expected[_sk(_k("user6@example.com"))] = between[_sk(_k("user6@example.com"))]
    assert after == expected
    assert after[_sk(_k("user2@example.com"))]["name"] == {"S": "legacy"}
    saved = json.loads((run.path / "rollback.json").read_text())
    assert saved["tables"][0]["deleted"] == WRITTEN - 3
    assert run.state()["rollback"]["restored"] == 1

    # a second rollback finds nothing left to undo and touches nothing
    again = rollback_run(lambda: ddb_client, run).table(name)
    # user6 (changed by the app) and the orphan (back in place: re-created since, as far as it knows)
    assert (again.deleted, again.restored, again.already_restored, again.changed) == (0, 0, 1, 2)
    assert again.undeleted == 0
    assert scan_all(ddb_client, name) == expected


def test_rollback_cli(setup: dict[str, Any], ddb_client: Any, capsys: Any) -> None:
    name, cfg, table = setup["name"], setup["cfg"], setup["table"]
    run = RunDir.create(cfg.migration.output_dir, meta={"tables": [name]})
    load_table(cfg, table, ddb_client, run)
    assert main(["rollback", run.run_id, "--config", str(cfg.source_path), "--dry-run"]) == 0
    assert f"would delete {WRITTEN}" in capsys.readouterr().out
    assert len(scan_all(ddb_client, name)) == WRITTEN
    assert main(["rollback", run.run_id, "--config", str(cfg.source_path), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tables"][0]["deleted"] == WRITTEN
    assert scan_all(ddb_client, name) == {}


# -- clean-up with a moto server for Glue and S3 -------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ}
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cleanup_removes_exactly_what_the_run_created(
    setup: dict[str, Any], ddb_client: Any, mysql_conn: Any, mysql_db: str, moto_endpoint: str, tmp_path: Path
) -> None:
    name, table = setup["name"], setup["table"]
    raw = json.loads(Path(str(setup["cfg"].source_path)).read_text())
    raw["aws"]["endpoint_url"] = moto_endpoint  # Glue and S3 go to moto, DynamoDB stays on DynamoDB Local
    cfg_path = tmp_path / "config-moto.json"
    cfg_path.write_text(json.dumps(raw))
    cfg = load_config(cfg_path)
    kw = {
        "region_name": "us-east-1",
        "endpoint_url": moto_endpoint,
        "aws_access_key_id": "x",
        "aws_secret_access_key": "x",
    }
    glue, s3 = boto3.client("glue", **kw), boto3.client("s3", **kw)
    s3.create_bucket(Bucket="scripts")
    s3.put_object(Bucket="scripts", Key="etl-scripts/job.py", Body=b"print(1)")
    s3.put_object(Bucket="scripts", Key="etl-scripts/keep.py", Body=b"print(2)")
    for job in ("dm-job", "existing-job"):
        glue.create_job(
            Name=job,
            Role="arn:aws:iam::123456789012:role/g",
            Command={"Name": "glueetl", "ScriptLocation": "s3://scripts/x.py"},
        )
    with mysql_conn.cursor() as cur:
        cur.execute("CREATE VIEW other_view AS SELECT 1 AS x")

    run = RunDir.create(cfg.migration.output_dir)
    run.record_created("views", {"name": table.view_name, "database": mysql_db, "table": name})
    run.record_created("glue_jobs", {"job_name": "dm-job", "table": name, "created": True})
    run.record_created("glue_jobs", {"job_name": "existing-job", "table": name, "created": False})
    run.record_created("s3_objects", {"bucket": "scripts", "key": "etl-scripts/job.py"})
    run.record_created("tables", {"name": name, "region": "us-east-1"})

    dry = cleanup_run(cfg, run, dry_run=True)
    assert {a["outcome"] for a in dry.actions} == {"would drop", "would delete", "kept"}

    report = cleanup_run(cfg, run)
    outcomes = {(a["kind"], a["outcome"]) for a in report.actions}
    assert ("view", "dropped") in outcomes and ("glue job", "deleted") in outcomes
    assert ("s3 object", "deleted") in outcomes and ("table", "kept") in outcomes
    with mysql_conn.cursor() as cur:
        cur.execute("SHOW FULL TABLES WHERE Table_type = 'VIEW'")
        assert [r[0] for r in cur.fetchall()] == ["other_view"]  # the run's view only
    assert [j for j in glue.list_jobs()["JobNames"]] == ["existing-job"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="scripts")["Contents"]] == ["etl-scripts/keep.py"]
    assert name in ddb_client.list_tables()["TableNames"]

    refused = cleanup_run(cfg, run, drop_tables=True, confirm=lambda q: False)
    assert ("table", "kept") in {(a["kind"], a["outcome"]) for a in refused.actions}
    assert name in ddb_client.list_tables()["TableNames"]
    assert main(["cleanup", run.run_id, "--config", str(cfg_path), "--drop-tables", "--yes"]) == 0
    assert name not in ddb_client.list_tables()["TableNames"]
    assert json.loads((run.path / "cleanup.json").read_text())["ok"] is True
