"""The Glue flow end to end against moto in server mode (S3, Glue, IAM, CloudWatch Logs, DynamoDB).

moto runs as a real HTTP server (``ThreadedMotoServer``, the same WSGI app as ``moto_server``) on a
free port; every boto3 client talks to it over HTTP. Running it in-process lets the failed-run test
turn a job run to FAILED: moto's job runs only go STARTING -> RUNNING -> SUCCEEDED and carry no
``ErrorMessage``, so that one state change is injected into moto's backend (documented below).
"""

from __future__ import annotations

import io
import json
import socket
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from dynamigrate.config import load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.errors import RegionMismatchError
from dynamigrate.etl import glue as g
from dynamigrate.regions import check_regions
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration

CONTRACT = Path("/work/shared/reference/workshop-migrationContract.json")
if not CONTRACT.exists():  # the repo's copy, when the shared folder is not mounted
    CONTRACT = Path(__file__).resolve().parents[1] / "data" / "workshop-migrationContract.json"
REGION = "us-west-2"
ACCOUNT = "123456789012"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, moto_url: str) -> str:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    for name in ("AWS_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_DYNAMODB"):
        monkeypatch.delenv(name, raising=False)
    requests.post(f"{moto_url}/moto-api/reset", timeout=10)
    return moto_url


def client(url: str, service: str, region: str = REGION) -> Any:
    return boto3.client(service, region_name=region, endpoint_url=url)


def factory(url: str):  # type: ignore[no-untyped-def]
    return lambda service, region: client(url, service, region)


def make_config(tmp_path: Path, url: str, **aws: Any) -> Any:
    raw = {
        "aws": {
            "region": REGION,
            "account_id": ACCOUNT,
            "s3_bucket": "dm-scripts",
            "glue_role": f"arn:aws:iam::{ACCOUNT}:role/GlueMigrationRole",
            "glue_connection": "shop-mysql",
            "endpoint_url": url,
            **aws,
        },
        "mysql": {
            "host": "10.0.0.5",
            "port": 3306,
            "user": "admin",
            "password": "s3cret!",
            "database": "shop",
        },
        "migration": {
            "contract_file": str(CONTRACT),
            "output_dir": str(tmp_path / "runs"),
            "s3_script_prefix": "etl/",
        },
        "glue": {"worker_type": "G.2X", "workers": 3, "timeout_minutes": 30, "poll_seconds": 0.05},
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(raw))
    return load_config(path)


def setup_aws(url: str, bucket_region: str = REGION) -> None:
    s3 = client(url, "s3", bucket_region)
    if bucket_region == "us-east-1":
        s3.create_bucket(Bucket="dm-scripts")
    else:
        s3.create_bucket(Bucket="dm-scripts", CreateBucketConfiguration={"LocationConstraint": bucket_region})
    iam = client(url, "iam")
    iam.create_role(
        RoleName="GlueMigrationRole",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "glue.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    client(url, "glue").create_connection(
        ConnectionInput={
            "Name": "shop-mysql",
            "ConnectionType": "JDBC",
            "ConnectionProperties": {
                "JDBC_CONNECTION_URL": "jdbc:mysql://10.0.0.5:3306/shop",
                "USERNAME": "admin",
                "PASSWORD": "s3cret!",
            },
        }
    )


def set_job_run_progression(url: str, progression: dict[str, Any]) -> None:
    resp = requests.post(
        f"{url}/moto-api/state-manager/set-transition",
        data=json.dumps({"model_name": "glue::job_run", "transition": progression}),
        timeout=10,
    )
    resp.raise_for_status()


def test_glue_flow_uploads_creates_jobs_starts_and_watches(tmp_path: Path, aws_env: str) -> None:
    url = aws_env
    setup_aws(url)
    cfg = make_config(tmp_path, url)
    contract = load_contract(CONTRACT)
    run = RunDir.create(cfg.migration.output_dir)
    # each run is STARTING, then RUNNING, then SUCCEEDED, one step per two polls
    set_job_run_progression(url, {"progression": "manual", "times": 2})
    lines: list[str] = []
    try:
        result = g.run_glue(
            cfg,
            contract,
            run=run,
            client_factory=factory(url),
            out=lines.append,
            tables=["Users", "Products"],
        )
    finally:
        set_job_run_progression(url, {"progression": "immediate"})
    text = "\n".join(lines)
    assert result.ok, text

    # S3: script, package zip (importable dynamigrate with the job), contract
    s3 = client(url, "s3")
    base = f"etl/dynamigrate/{run.run_id}/"
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="dm-scripts")["Contents"]}
    assert keys == {base + "spark_job.py", base + "dynamigrate.zip", base + "contract.json"}
    script = s3.get_object(Bucket="dm-scripts", Key=base + "spark_job.py")["Body"].read().decode()
    assert "def main(" in script
    zbytes = s3.get_object(Bucket="dm-scripts", Key=base + "dynamigrate.zip")["Body"].read()
    names = zipfile.ZipFile(io.BytesIO(zbytes)).namelist()
    assert "dynamigrate/etl/spark_job.py" in names and "dynamigrate/contract/model.py" in names
    assert not any("__pycache__" in n for n in names)
    uploaded_contract = s3.get_object(Bucket="dm-scripts", Key=base + "contract.json")["Body"].read()
    assert uploaded_contract == CONTRACT.read_bytes()

    # Glue job definitions
    gl = client(url, "glue")
    job = gl.get_job(JobName="dynamigrate-Users")["Job"]
    assert job["GlueVersion"] == "5.0"
    assert job["Command"] == {
        "Name": "glueetl",
        "ScriptLocation": f"s3://dm-scripts/{base}spark_job.py",
        "PythonVersion": "3",
    }
    assert job["Connections"] == {"Connections": ["shop-mysql"]}
    assert job["WorkerType"] == "G.2X" and job["NumberOfWorkers"] == 3 and job["Timeout"] == 30
    assert job["Role"] == f"arn:aws:iam::{ACCOUNT}:role/GlueMigrationRole"
    args = job["DefaultArguments"]
    assert args["--extra-py-files"] == f"s3://dm-scripts/{base}dynamigrate.zip"
    assert args["--table"] == "Users" and args["--view"] == "ddb_users_view"
    assert args["--connection_name"] == "shop-mysql" and args["--database"] == "shop"
    assert args["--write_mode"] == cfg.migration.write_mode and args["--run_id"] == run.run_id
    assert args["--contract_s3"] == f"s3://dm-scripts/{base}contract.json"
    assert args["--enable-continuous-cloudwatch-log"] == "true"
    # credentials come from the Glue connection inside the job, never from the job definition
    assert "s3cret!" not in json.dumps(job, default=str) and "s3cret!" not in script
    assert (
        gl.get_job(JobName="dynamigrate-Products")["Job"]["DefaultArguments"]["--view"] == "ddb_products_view"
    )
    with pytest.raises(gl.exceptions.EntityNotFoundException):
        gl.get_job(JobName="dynamigrate-Categories")

    # start/poll loop: each run seen in STARTING, RUNNING and SUCCEEDED, with elapsed time
    assert [w.state for w in result.watches] == ["SUCCEEDED", "SUCCEEDED"]
    for w in result.watches:
        states = [ln.split()[2] for ln in lines if ln.strip().startswith(w.table) and w.job_name in ln]
        assert states == ["RUNNING", "SUCCEEDED"] or states == ["STARTING", "RUNNING", "SUCCEEDED"], text
        runs = gl.get_job_runs(JobName=w.job_name)["JobRuns"]
        assert [r["Id"] for r in runs] == [w.run_id]

    # the run directory knows what was created and the live status section reads it back
    manifest = run.manifest()
    assert {j["job_name"] for j in manifest["glue_jobs"]} == {"dynamigrate-Users", "dynamigrate-Products"}
    assert {o["key"] for o in manifest["s3_objects"]} == keys
    state = run.state()
    assert state["tables"]["Users"]["status"] == "succeeded"
    status = g.glue_status_lines(run, cfg, glue=g.DirectGlue(gl))
    assert status[0] == "Glue job runs:" and all("SUCCEEDED" in ln for ln in status[1:]) and len(status) == 3

    # what a job leaves in S3 (written by spark_job on Glue) reaches the run directory
    layout = result.deployment.layout
    out = f"{base}output/"
    part = "spark-parts/Users/part-00000-k1-a1/"
    failed_part = "spark-parts/Users/part-00000-k1-a0/"
    rejected = {"table": "Users", "key": {"PK": ""}, "code": "empty_key", "reason": "empty PK"}
    written = {"key": {"PK": "a@x", "SK": "#META"}, "marker": f"{run.run_id}:0123456789abcdef"}
    objects = {
        part + "rejected.jsonl": json.dumps(rejected) + "\n",
        part + "written.jsonl": json.dumps(written) + "\n",
        failed_part + "rejected.jsonl": json.dumps(rejected) + "\n",  # the failed attempt's copy
        failed_part + "written.jsonl": json.dumps({**written, "key": {"PK": "b@x", "SK": "#META"}}) + "\n",
        "spark-checkpoints/Users/k1.done": json.dumps({"files": part, "counters": {"read": 2}}),
        "spark-summary/Users.json": json.dumps(
            {
                "counters": {"read": 2, "written": 1},
                "rejected": {"empty_key": 1},
                "resumed_counters": {},
                "total_rows": 2,
            }
        ),
    }
    for key, body in objects.items():
        s3.put_object(Bucket="dm-scripts", Key=out + key, Body=body.encode())
    users_watch = [w for w in result.watches if w.table == "Users"]
    summaries = g.collect_outputs(run, layout, s3, users_watch)
    assert summaries["Users"]["counters"]["written"] == 1
    assert [r["code"] for r in run.read_lines("rejected.jsonl")] == ["empty_key"]  # once, not per attempt
    assert {r["key"]["PK"] for r in run.read_lines(run.written_file("Users"))} == {"a@x", "b@x"}
    g.collect_outputs(run, layout, s3, users_watch)  # idempotent
    assert len(list(run.read_lines("rejected.jsonl"))) == 1
    assert run.state()["tables"]["Users"]["summary"]["total_rows"] == 2


def test_failed_run_shows_error_log_tail_and_guidance(
    tmp_path: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = aws_env
    setup_aws(url)
    cfg = make_config(tmp_path, url)
    contract = load_contract(CONTRACT)
    run = RunDir.create(cfg.migration.output_dir)
    set_job_run_progression(url, {"progression": "manual", "times": 1000})  # runs stay STARTING
    try:
        result = g.run_glue(
            cfg,
            contract,
            run=run,
            client_factory=factory(url),
            out=lambda s: None,
            tables=["Products"],
            wait=False,
        )
    finally:
        set_job_run_progression(url, {"progression": "immediate"})
    (w,) = result.watches

    # moto cannot fail a run by itself: turn this run to FAILED with an ErrorMessage in its backend
    from moto.glue import models as glue_models

    backend = glue_models.glue_backends[ACCOUNT][REGION]
    fake_run = next(r for r in backend.jobs[w.job_name].job_runs if r.job_run_id == w.run_id)
    fake_run.status = "FAILED"
    message = "An error occurred while calling o105.load. Communications link failure"
    original = glue_models.FakeJobRun.as_dict
    monkeypatch.setattr(
        glue_models.FakeJobRun, "as_dict", lambda self: {**original(self), "ErrorMessage": message}
    )
    set_job_run_progression(url, {"progression": "manual", "times": 1000})
    # the job's error log, as Glue writes it: group /aws-glue/jobs/error, stream = the run id
    logs = client(url, "logs")
    logs.create_log_group(logGroupName=g.ERROR_LOG_GROUP)
    logs.create_log_stream(logGroupName=g.ERROR_LOG_GROUP, logStreamName=w.run_id)
    lines_in = [f"line {i}" for i in range(40)] + [
        "py4j.protocol.Py4JJavaError: com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure"
    ]
    now_ms = int(time.time() * 1000)  # CloudWatch refuses events older than 14 days
    logs.put_log_events(
        logGroupName=g.ERROR_LOG_GROUP,
        logStreamName=w.run_id,
        logEvents=[{"timestamp": now_ms - 1000 + i, "message": m} for i, m in enumerate(lines_in)],
    )

    out: list[str] = []
    try:
        g.monitor_runs(
            g.DirectGlue(client(url, "glue")),
            result.watches,
            logs_client=logs,
            timeout_seconds=30,
            poll_seconds=0.01,
            out=out.append,
        )
    finally:
        set_job_run_progression(url, {"progression": "immediate"})
    text = "\n".join(out)
    assert w.state == "FAILED" and w.error == message
    assert w.log_tail[-1].endswith("Communications link failure") and len(w.log_tail) == 30
    assert w.log_tail[0] == "line 11"
    assert "FAILED dynamigrate-Products" in text and message in text
    assert "| line 39" in text
    assert "troubleshooting: Glue cannot reach MySQL" in text and "security group" in text


def test_monitor_waits_for_the_job_timeout_not_five_minutes(aws_env: str) -> None:
    """The monitor keeps polling a long run; it gives up only at the timeout it is given."""
    url = aws_env
    gl = client(url, "glue")
    gl.create_job(
        Name="long", Role="r", Command={"Name": "glueetl", "ScriptLocation": "s3://b/k"}, Timeout=120
    )
    set_job_run_progression(url, {"progression": "manual", "times": 1000})
    try:
        run_id = gl.start_job_run(JobName="long")["JobRunId"]
        clock = {"t": 0.0}
        polls: list[float] = []

        def fake_sleep(seconds: float) -> None:
            polls.append(seconds)
            clock["t"] += seconds

        import dynamigrate.etl.glue as mod

        real = mod.time.monotonic
        mod.time.monotonic = lambda: clock["t"]  # type: ignore[assignment]
        try:
            watches = g.monitor_runs(
                g.DirectGlue(gl),
                [g.RunWatch("T", "long", run_id, started=0.0)],
                timeout_seconds=120 * 60,
                poll_seconds=60,
                out=lambda s: None,
                sleep=fake_sleep,
            )
        finally:
            mod.time.monotonic = real  # type: ignore[assignment]
    finally:
        set_job_run_progression(url, {"progression": "immediate"})
    assert not watches[0].done
    assert sum(polls) >= 120 * 60 - 60  # two hours of simulated watching (the job's timeout), not 5 minutes


def test_dry_run_prints_every_request_and_creates_nothing(tmp_path: Path, aws_env: str) -> None:
    url = aws_env
    setup_aws(url)
    cfg = make_config(tmp_path, url)
    run = RunDir.create(cfg.migration.output_dir)
    out: list[str] = []
    result = g.run_glue(
        cfg, load_contract(CONTRACT), run=run, client_factory=factory(url), out=out.append, dry_run=True
    )
    text = "\n".join(out)
    assert result.dry_run and result.ok
    assert text.count("s3.put_object(") == 3
    assert text.count("glue.create_job(") == 3 and text.count("glue.start_job_run(") == 3
    assert '"GlueVersion": "5.0"' in text and "s3cret" not in text
    assert client(url, "glue").get_jobs()["Jobs"] == []
    assert "Contents" not in client(url, "s3").list_objects_v2(Bucket="dm-scripts")


def test_region_check_stops_on_bucket_in_another_region(tmp_path: Path, aws_env: str) -> None:
    url = aws_env
    setup_aws(url, bucket_region="eu-west-1")
    cfg = make_config(tmp_path, url)
    run = RunDir.create(cfg.migration.output_dir)
    with pytest.raises(RegionMismatchError) as info:
        g.run_glue(cfg, load_contract(CONTRACT), run=run, client_factory=factory(url), out=lambda s: None)
    text = str(info.value)
    assert "S3 bucket dm-scripts" in text and "eu-west-1" in text and "<-- differs" in text
    assert "use a bucket in us-west-2" in text
    # nothing was created
    assert client(url, "glue").get_jobs()["Jobs"] == []
    assert "Contents" not in client(url, "s3", "eu-west-1").list_objects_v2(Bucket="dm-scripts")


def test_region_check_finds_table_in_another_region(tmp_path: Path, aws_env: str) -> None:
    url = aws_env
    setup_aws(url)
    # the Users table was created in us-east-1 (e.g. by a CLI whose profile said so)
    client(url, "dynamodb", "us-east-1").create_table(
        TableName="Users",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client(url, "dynamodb", REGION).create_table(
        TableName="Products",
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    cfg = make_config(tmp_path, url)
    # credentials default to us-east-1 too: two rows disagree with the configured us-west-2
    report = check_regions(
        cfg,
        ["Users", "Products", "Categories"],
        engine="glue",
        client_factory=factory(url),
        credentials_region="us-east-1",
        raise_on_mismatch=False,
    )
    rows = {r.resource: r for r in report.rows}
    assert rows["DynamoDB table Users"].region == "us-east-1"
    assert (
        rows["DynamoDB table Products"].region == REGION
        and rows["DynamoDB table Products"].how == "table ARN"
    )
    assert rows["DynamoDB table Categories"].region == REGION  # absent: will be created there
    assert rows["S3 bucket dm-scripts"].region == REGION
    assert rows["Glue connection shop-mysql"].region == REGION
    assert {r.resource for r in report.mismatches} == {"DynamoDB table Users", "credentials' default region"}
    with pytest.raises(RegionMismatchError) as info:
        report.raise_for_mismatch()
    text = str(info.value)
    assert "DynamoDB table Users" in text and "export AWS_DEFAULT_REGION=us-west-2" in text
    assert "the table exists in us-east-1 but not in us-west-2" in text


def test_region_check_passes_when_everything_agrees(tmp_path: Path, aws_env: str) -> None:
    url = aws_env
    setup_aws(url)
    cfg = make_config(tmp_path, url)
    report = check_regions(
        cfg, ["Users"], engine="glue", client_factory=factory(url), credentials_region=REGION
    )
    assert report.ok and not report.mismatches
    assert "configured region" in report.table_text()


def test_create_glue_and_run_tool_end_to_end(
    tmp_path: Path, aws_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The workshop's script, as users run it, against moto (endpoint from the config)."""
    import importlib.util

    url = aws_env
    setup_aws(url)
    cfg_path = tmp_path / "config.json"
    make_config(tmp_path, url)  # writes config.json
    raw = json.loads(cfg_path.read_text())
    raw["aws"].pop("glue_connection")
    raw["aws"]["glue_connection_name"] = "shop-mysql"  # the workshop's key
    raw["mysql"].update({"host": "127.0.0.1", "port": 1})  # no MySQL here: the plan is skipped
    cfg_path.write_text(json.dumps(raw))
    tool = Path(__file__).resolve().parents[2] / "tools" / "create_glue_and_run.py"
    spec = importlib.util.spec_from_file_location("create_glue_and_run", tool)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    assert module.main(["--config", str(cfg_path), "--tables", "Categories", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "load plan skipped" in out and "glue.create_job(" in out and "region check:" in out
    assert client(url, "glue").get_jobs()["Jobs"] == []

    assert module.main(["--config", str(cfg_path), "--tables", "Categories", "--workers", "4"]) == 0
    out = capsys.readouterr().out
    assert "created Glue job dynamigrate-Categories" in out and "SUCCEEDED" in out
    job = client(url, "glue").get_job(JobName="dynamigrate-Categories")["Job"]
    assert job["NumberOfWorkers"] == 4 and job["Connections"] == {"Connections": ["shop-mysql"]}

    # a bucket in another region stops the tool before anything is created (exit code 1)
    raw["aws"]["s3_bucket"] = "other-bucket"
    cfg_path.write_text(json.dumps(raw))
    client(url, "s3", "eu-west-1").create_bucket(
        Bucket="other-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    assert module.main(["--config", str(cfg_path), "--tables", "Products"]) == 1
    err = capsys.readouterr().err
    assert "S3 bucket other-bucket" in err and "<-- differs" in err
    with pytest.raises(client(url, "glue").exceptions.EntityNotFoundException):
        client(url, "glue").get_job(JobName="dynamigrate-Products")


@pytest.mark.parametrize("lost", [0, 3])
def test_glue_engine_checks_the_accounting_equation_against_the_base_tables(
    lost: int, tmp_path: Path, aws_env: str, mysql_conn: Any, mysql_db: str
) -> None:
    """GlueEngine in migrate: the job's counters (its summary in S3) must add up to the source rows the
    driver counts in the base tables; 3 rows short: the table FAILS with the equation."""
    from _shapes_scenario import S_COMP, contract_dict, create_source

    from dynamigrate.etl.base import EtlContext, EtlOptions
    from dynamigrate.source.introspect import introspect

    url = aws_env
    setup_aws(url)
    create_source(mysql_conn)
    data = contract_dict("")
    data["tables"] = [t for t in data["tables"] if t["table"] == "ShComp"]
    contract_path = tmp_path / "shapes.json"
    contract_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    cfg = make_config(tmp_path, url)
    raw = json.loads((tmp_path / "config.json").read_text())
    raw["mysql"] = {
        "host": "127.0.0.1",
        "port": 3306,
        "user": "dynamigrate",
        "password": "dynamigrate",
        "database": mysql_db,
    }
    raw["migration"]["contract_file"] = str(contract_path)
    (tmp_path / "config.json").write_text(json.dumps(raw))
    cfg = load_config(tmp_path / "config.json")
    contract = load_contract(contract_path)
    (table,) = contract.tables
    run = RunDir.create(cfg.migration.output_dir)
    n = len(S_COMP)
    written = n - lost
    summary = {
        "counters": {"read": written, "written": written, "partitions": 2},
        "rejected": {},
        "resumed_counters": {},
        "total_rows": written,
        "entities": {
            "s_comp": {
                "read": written,
                "written": written,
                "skipped": 0,
                "unchanged": 0,
                "conflicts": 0,
                "rejected": 0,
            }
        },
    }
    client(url, "s3").put_object(
        Bucket="dm-scripts",
        Key=f"etl/dynamigrate/{run.run_id}/output/spark-summary/ShComp.json",
        Body=json.dumps(summary).encode(),
    )
    ctx = EtlContext(
        config=cfg,
        contract=contract,
        run=run,
        options=EtlOptions(),
        schema=introspect(mysql_conn, mysql_db),
        database=mysql_db,
    )
    result = g.GlueEngine(client_factory=factory(url)).run_table(ctx, table)

    acc = result.accounting
    assert acc is not None and acc["table"]["source_rows_before"] == n and acc["table"]["written"] == written
    if lost:
        assert result.status == "failed" and acc["status"] == "mismatch" and acc["table"]["missing"] == lost
        assert f"{lost} source row(s) NOT accounted for" in str(result.error)
    else:
        assert result.status == "done" and acc["status"] == "ok"
    assert run.state()["tables"]["ShComp"]["status"] == result.status
