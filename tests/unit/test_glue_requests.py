"""Glue request builders, MCP argument shapes and region helpers (pure, no AWS)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dynamigrate.config import load_config
from dynamigrate.errors import ConfigError, EngineError
from dynamigrate.etl import glue as g
from dynamigrate.regions import RegionReport, RegionRow, bucket_region, region_from_arn


def _cfg(tmp_path: Path, **glue: Any) -> Any:
    raw = {
        "aws": {
            "region": "us-west-2",
            "s3_bucket": "b",
            "glue_role": "arn:aws:iam::1:role/R",
            "glue_connection": "conn",
        },
        "mysql": {"database": "shop", "password": "pw-secret"},
        "migration": {"s3_script_prefix": "etl-scripts"},
        "glue": glue,
    }
    p = tmp_path / "c.json"
    p.write_text(json.dumps(raw))
    return load_config(p)


def _files(tmp_path: Path) -> dict[str, Path]:
    out = {}
    for name in ("script", "package", "contract"):
        f = tmp_path / name
        f.write_text(name)
        out[name] = f
    return out


def test_plan_creates_then_starts_and_updates_existing_jobs(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, workers=5, worker_type="G.2X")
    opts = g.GlueOptions.from_config(cfg)
    dep = g.plan_deployment(
        cfg,
        [("Users", "ddb_users_view"), ("Orders", "ddb_orders_view")],
        run_id="R1",
        opts=opts,
        files=_files(tmp_path),
        existing_jobs=["dynamigrate-Orders"],
    )
    ops = [(s, o) for s, o, _ in dep.requests]
    assert ops == [("s3", "put_object")] * 3 + [
        ("glue", "create_job"),
        ("glue", "update_job"),
        ("glue", "start_job_run"),
        ("glue", "start_job_run"),
    ]
    create = dep.requests[3][2]
    assert create["Name"] == "dynamigrate-Users"
    assert create["Command"]["ScriptLocation"] == "s3://b/etl-scripts/dynamigrate/R1/spark_job.py"
    assert (
        create["GlueVersion"] == "5.0" and create["WorkerType"] == "G.2X" and create["NumberOfWorkers"] == 5
    )
    assert create["Connections"] == {"Connections": ["conn"]}
    assert (
        create["DefaultArguments"]["--extra-py-files"] == "s3://b/etl-scripts/dynamigrate/R1/dynamigrate.zip"
    )
    update = dep.requests[4][2]
    assert update["JobName"] == "dynamigrate-Orders" and "Name" not in update["JobUpdate"]
    assert "Tags" not in update["JobUpdate"]
    assert dep.requests[5][2] == {"JobName": "dynamigrate-Users"}  # no Arguments: DefaultArguments rule
    assert "pw-secret" not in json.dumps(dep.requests, default=str)


def test_plan_refuses_missing_settings(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    from dataclasses import replace

    with pytest.raises(ConfigError, match="glue_role"):
        g.plan_deployment(
            replace(cfg, aws=replace(cfg.aws, glue_role="<CF GLUE ROLE>")),
            [("T", "v")],
            run_id="R",
            opts=g.GlueOptions(),
            files=_files(tmp_path),
        )
    with pytest.raises(ConfigError, match="s3_bucket"):
        g.s3_layout(replace(cfg, aws=replace(cfg.aws, s3_bucket=None)), "R")


def test_cli_overrides_win_over_config(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, workers=5)
    assert g.GlueOptions.from_config(cfg, workers=9, worker_type=None).workers == 9
    with pytest.raises(ConfigError):
        g.GlueOptions.from_config(cfg, via="carrier-pigeon")


def test_dry_run_lines_hide_file_bodies(tmp_path: Path) -> None:
    line = g.describe_request(
        "s3", "put_object", {"Bucket": "b", "Key": "k", "Body": "/x/y", "ContentLength": 3}
    )
    assert line.startswith("s3.put_object(") and "<file /x/y (3 bytes)>" in line


def test_mcp_adapter_sends_the_documented_shapes() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def call_tool(name: str, args: dict[str, Any]) -> dict[str, Any]:
        calls.append((name, args))
        if args["operation"] == "start-job-run":
            return {"isError": False, "job_run_id": "jr_1"}
        if args["operation"] == "get-job-run":
            return {"isError": False, "job_run_details": {"JobRunState": "RUNNING"}}
        if args["operation"] == "get-job":
            return {"isError": True, "content": [{"type": "text", "text": "not found"}]}
        return {"isError": False}

    api = g.McpGlue(call_tool)
    assert api.job_exists("j") is False
    api.create_job({"Name": "j", "Role": "r", "Command": {"Name": "glueetl"}})
    api.update_job({"JobName": "j", "JobUpdate": {"Role": "r"}})
    assert api.start_job_run({"JobName": "j"}) == "jr_1"
    assert api.get_job_run("j", "jr_1") == {"JobRunState": "RUNNING"}
    ops = [a for _, a in calls]
    assert all(n == "manage_aws_glue_jobs" for n, _ in calls)
    assert ops[1] == {
        "operation": "create-job",
        "job_name": "j",
        "job_definition": {"Role": "r", "Command": {"Name": "glueetl"}},
    }
    assert ops[2] == {"operation": "update-job", "job_name": "j", "job_definition": {"Role": "r"}}
    assert ops[3] == {"operation": "start-job-run", "job_name": "j"}  # never job_arguments
    api2 = g.McpGlue(
        lambda n, a: {"isError": True, "content": [{"type": "text", "text": "no --allow-write"}]}
    )
    with pytest.raises(EngineError, match="allow-write"):
        api2.create_job({"Name": "j"})


def test_region_helpers() -> None:
    assert region_from_arn("arn:aws:dynamodb:eu-west-1:1:table/T") == "eu-west-1"
    assert region_from_arn("arn:aws:dynamodb:ddblocal:000000000000:table/T") == "ddblocal"
    assert region_from_arn(None) is None
    assert bucket_region(None) == "us-east-1" and bucket_region("EU") == "eu-west-1"
    assert bucket_region("ap-south-1") == "ap-south-1"


def test_region_report_table_marks_disagreement() -> None:
    rep = RegionReport(
        expected="us-west-2",
        rows=[
            RegionRow("configured region", "config", "us-west-2", "flag", compared=False),
            RegionRow("S3 bucket b", "s3", "eu-west-1", "GetBucketLocation", fix="use a bucket in us-west-2"),
            RegionRow("DynamoDB table T", "dynamodb", "ddblocal", "local", compared=False),
        ],
    )
    assert [r.resource for r in rep.mismatches] == ["S3 bucket b"]
    text = rep.table_text()
    assert "eu-west-1" in text and "<-- differs" in text and "(not compared)" in text
    assert rep.to_dict()["rows"][1]["differs"] is True


def test_region_check_with_dynamodb_local_only_informs(tmp_path: Path) -> None:
    """DynamoDB Local and no Glue: a different credentials region is shown, not a stop."""
    from dynamigrate.regions import check_regions

    p = tmp_path / "c.json"
    p.write_text(
        json.dumps({"aws": {"region": "us-east-1", "dynamodb_endpoint_url": "http://127.0.0.1:8000"}})
    )
    cfg = load_config(p)

    class FakeDdb:
        def describe_table(self, TableName: str) -> dict[str, Any]:
            return {"Table": {"TableArn": f"arn:aws:dynamodb:ddblocal:000000000000:table/{TableName}"}}

    report = check_regions(
        cfg, ["T"], client_factory=lambda service, region: FakeDdb(), credentials_region="eu-central-1"
    )
    assert report.ok
    rows = {r.resource: r for r in report.rows}
    assert rows["DynamoDB table T"].region == "ddblocal" and not rows["DynamoDB table T"].compared
    assert rows["credentials' default region"].region == "eu-central-1"


def test_ctrl_c_stops_watching_not_the_runs() -> None:
    class Api:
        def get_job_run(self, job_name: str, run_id: str) -> dict[str, Any]:
            return {"JobRunState": "RUNNING"}

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    out: list[str] = []
    watch = g.RunWatch("T", "dynamigrate-T", "jr_1")
    with pytest.raises(KeyboardInterrupt):
        g.monitor_runs(
            Api(),  # type: ignore[arg-type]
            [watch],
            timeout_seconds=3600,
            out=out.append,
            resume_hint="dynamigrate status R1",
            sleep=interrupt,
        )
    text = "\n".join(out)
    assert "RUNNING" in text and "keep going" in text and "dynamigrate status R1" in text
    assert watch.state == "RUNNING" and not watch.done


def test_secret_named_extra_arguments_are_refused(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, extra_arguments={"--jdbc_password": "x", "--enable-glue-datacatalog": "true"})
    with pytest.raises(ConfigError) as info:
        g.GlueOptions.from_config(cfg)
    assert "--jdbc_password" in str(info.value)
    assert "--enable-glue-datacatalog" not in info.value.message
    assert info.value.hint


def test_job_arguments_never_hold_the_mysql_password(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    opts = g.GlueOptions.from_config(cfg)
    dep = g.plan_deployment(
        cfg, [("Users", "ddb_users_view")], run_id="R1", opts=opts, files=_files(tmp_path)
    )
    assert "pw-secret" not in json.dumps(dep.requests, default=str)
