"""``--glue-via mcp`` through the real ``awslabs.aws-dataprocessing-mcp-server`` (0.2.2, from PyPI).

The server runs unchanged in its own virtualenv (scripts/mcp-venv.sh awslabs-glue) and drives Glue
through boto3 against moto in server mode (``AWS_ENDPOINT_URL``); everything checked is read back from
moto directly. moto's job runs only go STARTING -> RUNNING -> SUCCEEDED and carry no ErrorMessage, so
the failed-run test turns one run to FAILED in moto's backend (as test_glue_moto.py does).
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from _awslabs_mysql import server_exe
from test_glue_moto import (
    ACCOUNT,
    CONTRACT,
    REGION,
    client,
    factory,
    make_config,
    set_job_run_progression,
    setup_aws,
)

from dynamigrate.config import load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.errors import RegionMismatchError
from dynamigrate.etl import glue as g
from dynamigrate.runstate import RunDir

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    import logging
    import socket

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
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


@pytest.fixture(scope="module")
def dataprocessing_exe() -> str:
    return server_exe("awslabs-glue")


def _with_server(tmp_path: Path, url: str, exe: str, *flags: str, config: Path | None = None) -> Path:
    path = config or tmp_path / "config.json"
    raw = json.loads(path.read_text())
    raw["mcpServers"] = {
        "aws-dataprocessing": {
            "command": exe,
            "args": ["--allow-write", *flags],
            "env": {"AWS_REGION": REGION, "AWS_ENDPOINT_URL": url, "FASTMCP_LOG_LEVEL": "ERROR"},
        }
    }
    path.write_text(json.dumps(raw))
    return path


def test_glue_job_created_started_and_watched_through_the_real_server(
    tmp_path: Path, aws_env: str, dataprocessing_exe: str
) -> None:
    url = aws_env
    setup_aws(url)
    make_config(tmp_path, url)
    cfg = load_config(_with_server(tmp_path, url, dataprocessing_exe))
    run = RunDir.create(cfg.migration.output_dir)
    lines: list[str] = []
    result = g.run_glue(
        cfg,
        load_contract(CONTRACT),
        run=run,
        client_factory=factory(url),
        out=lines.append,
        tables=["Categories"],
        opts=g.GlueOptions.from_config(cfg, via="mcp"),
    )
    assert result.ok, "\n".join(lines)
    gl = client(url, "glue")
    job = gl.get_job(JobName="dynamigrate-Categories")["Job"]
    # the job carries its arguments (runs are started with the job name only)
    assert job["DefaultArguments"]["--view"] == "ddb_categories_view"
    assert job["GlueVersion"] == "5.0" and job["WorkerType"] == "G.2X" and job["NumberOfWorkers"] == 3
    assert job["Connections"] == {"Connections": ["shop-mysql"]}
    # the server tagged it as its own (what lets it update the job on a later run)
    tags = gl.get_tags(ResourceArn=f"arn:aws:glue:{REGION}:{ACCOUNT}:job/dynamigrate-Categories")["Tags"]
    assert tags.get("ManagedBy") == "DataprocessingMcpServer", tags
    (w,) = result.watches
    runs = gl.get_job_runs(JobName="dynamigrate-Categories")["JobRuns"]
    assert [r["Id"] for r in runs] == [w.run_id] and w.state == "SUCCEEDED"
    assert runs[0]["JobRunState"] == "SUCCEEDED"

    # (a second run would update the job: moto 5.2 does not implement Glue UpdateJob, so not here)

    # a server in another region is refused before anything is sent
    raw = json.loads((tmp_path / "config.json").read_text())
    raw["mcpServers"]["aws-dataprocessing"]["env"]["AWS_REGION"] = "eu-west-1"
    (tmp_path / "config.json").write_text(json.dumps(raw))
    cfg2 = load_config(tmp_path / "config.json")
    with pytest.raises(RegionMismatchError, match="eu-west-1"):
        g.run_glue(
            cfg2,
            load_contract(CONTRACT),
            run=RunDir.create(cfg2.migration.output_dir),
            client_factory=factory(url),
            out=lines.append,
            tables=["Products"],
            opts=g.GlueOptions.from_config(cfg2, via="mcp"),
        )
    with pytest.raises(gl.exceptions.EntityNotFoundException):
        gl.get_job(JobName="dynamigrate-Products")


def _fail_run(url: str, job_name: str, run_id: str, monkeypatch: pytest.MonkeyPatch, message: str) -> None:
    from moto.glue import models as glue_models

    backend = glue_models.glue_backends[ACCOUNT][REGION]
    fake_run = next(r for r in backend.jobs[job_name].job_runs if r.job_run_id == run_id)
    fake_run.status = "FAILED"
    original = glue_models.FakeJobRun.as_dict
    monkeypatch.setattr(
        glue_models.FakeJobRun, "as_dict", lambda self: {**original(self), "ErrorMessage": message}
    )


@pytest.mark.parametrize("sensitive", [True, False], ids=["sensitive-data-access", "default"])
def test_failed_run_error_surfaced_through_the_real_server(
    tmp_path: Path, aws_env: str, dataprocessing_exe: str, monkeypatch: pytest.MonkeyPatch, sensitive: bool
) -> None:
    url = aws_env
    setup_aws(url)
    make_config(tmp_path, url)
    flags = ["--allow-sensitive-data-access"] if sensitive else []
    cfg = load_config(_with_server(tmp_path, url, dataprocessing_exe, *flags))
    set_job_run_progression(url, {"progression": "manual", "times": 1000})  # runs stay STARTING
    try:
        result = g.run_glue(
            cfg,
            load_contract(CONTRACT),
            run=RunDir.create(cfg.migration.output_dir),
            client_factory=factory(url),
            out=lambda s: None,
            tables=["Products"],
            wait=False,
            opts=g.GlueOptions.from_config(cfg, via="mcp"),
        )
        (w,) = result.watches
        message = "An error occurred while calling o105.load. Communications link failure"
        _fail_run(url, w.job_name, w.run_id, monkeypatch, message)
        api, session = g.mcp_glue(cfg)
        out: list[str] = []
        try:
            g.monitor_runs(api, result.watches, timeout_seconds=60, poll_seconds=0.01, out=out.append)
        finally:
            session.close()
    finally:
        set_job_run_progression(url, {"progression": "immediate"})
    text = "\n".join(out)
    assert w.state == "FAILED" and "FAILED dynamigrate-Products" in text
    if sensitive:
        assert w.error == message and message in text
        assert "troubleshooting: Glue cannot reach MySQL" in text
    else:
        # the server withholds ErrorMessage without its flag: dynamigrate says how to get it
        assert message not in text
        assert "withheld its ErrorMessage" in (w.error or "") and "--allow-sensitive-data-access" in text


def test_create_glue_and_run_tool_via_the_real_server(
    tmp_path: Path, aws_env: str, dataprocessing_exe: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = aws_env
    setup_aws(url)
    cfg_path = tmp_path / "config.json"
    make_config(tmp_path, url)
    raw = json.loads(cfg_path.read_text())
    raw["mysql"].update({"host": "127.0.0.1", "port": 1})  # no MySQL here: the plan is skipped
    cfg_path.write_text(json.dumps(raw))
    _with_server(tmp_path, url, dataprocessing_exe)
    tool = Path(__file__).resolve().parents[2] / "tools" / "create_glue_and_run.py"
    spec = importlib.util.spec_from_file_location("create_glue_and_run", tool)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    started = time.time()
    code = module.main(
        ["--config", str(cfg_path), "--tables", "Categories", "--workers", "4", "--glue-via", "mcp"]
    )
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    assert "SUCCEEDED" in out.out
    gl = client(url, "glue")
    job = gl.get_job(JobName="dynamigrate-Categories")["Job"]
    assert job["NumberOfWorkers"] == 4 and job["DefaultArguments"]["--view"] == "ddb_categories_view"
    (run,) = gl.get_job_runs(JobName="dynamigrate-Categories")["JobRuns"]
    assert run["JobRunState"] == "SUCCEEDED" and run["StartedOn"].timestamp() >= started - 5


def test_migrate_glue_engine_via_the_real_server(
    tmp_path: Path,
    aws_env: str,
    dataprocessing_exe: str,
    mysql_conn: Any,
    mysql_db: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `migrate --engine glue --glue-via mcp` runs per table (GlueEngine, --glue-via through the
    environment as the CLI sets it): the job made and run through the server, its counters (the job's
    summary in S3, which moto's runs never write: put there as the script would) checked against the
    base tables."""
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
    make_config(tmp_path, url)
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
    cfg = load_config(_with_server(tmp_path, url, dataprocessing_exe))
    monkeypatch.setenv("DYNAMIGRATE_GLUE_VIA", "mcp")  # what `migrate --glue-via mcp` sets
    contract = load_contract(contract_path)
    (table,) = contract.tables
    run = RunDir.create(cfg.migration.output_dir)
    n = len(S_COMP)
    summary = {
        "counters": {"read": n, "written": n, "partitions": 2},
        "rejected": {},
        "resumed_counters": {},
        "total_rows": n,
        "entities": {
            "s_comp": {"read": n, "written": n, "skipped": 0, "unchanged": 0, "conflicts": 0, "rejected": 0}
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
    assert result.status == "done", result.error
    assert result.accounting is not None and result.accounting["table"]["source_rows_before"] == n
    gl = client(url, "glue")
    (job,) = gl.get_jobs()["Jobs"]
    # made by the MCP server (its tags), with dynamigrate's arguments; one run, SUCCEEDED
    tags = gl.get_tags(ResourceArn=f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{job['Name']}")["Tags"]
    assert tags.get("ManagedBy") == "DataprocessingMcpServer"
    assert job["DefaultArguments"]["--view"] == table.view_name
    (jr,) = gl.get_job_runs(JobName=job["Name"])["JobRuns"]
    assert jr["JobRunState"] == "SUCCEEDED"


def test_migrate_cli_engine_glue_via_mcp(
    tmp_path: Path,
    aws_env: str,
    dataprocessing_exe: str,
    mysql_conn: Any,
    mysql_db: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`dynamigrate migrate --engine glue --glue-via mcp` end to end against moto: views on MariaDB,
    the DynamoDB table provisioned, the job made and run through the server. moto's runs never execute
    the script, so the job's summary is put in S3 (as the script would) as soon as the run exists, and
    validation is skipped (no item was written by anyone)."""
    import threading

    from _shapes_scenario import S_COMP, contract_dict, create_source

    from dynamigrate import cli

    url = aws_env
    setup_aws(url)
    create_source(mysql_conn)
    data = contract_dict("")
    data["tables"] = [t for t in data["tables"] if t["table"] == "ShComp"]
    contract_path = tmp_path / "shapes.json"
    contract_path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    make_config(tmp_path, url)
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
    config = _with_server(tmp_path, url, dataprocessing_exe)
    n = len(S_COMP)
    summary = {
        "counters": {"read": n, "written": n, "partitions": 2},
        "rejected": {},
        "resumed_counters": {},
        "total_rows": n,
        "entities": {
            "s_comp": {"read": n, "written": n, "skipped": 0, "unchanged": 0, "conflicts": 0, "rejected": 0}
        },
    }
    runs = tmp_path / "runs"
    stop = threading.Event()

    def put_summary() -> None:  # the job script's last act, for the run migrate creates
        while not stop.is_set():
            found = [p for p in runs.iterdir() if p.is_dir()] if runs.exists() else []
            if found:
                client(url, "s3").put_object(
                    Bucket="dm-scripts",
                    Key=f"etl/dynamigrate/{found[0].name}/output/spark-summary/ShComp.json",
                    Body=json.dumps(summary).encode(),
                )
                return
            time.sleep(0.05)

    # the CLI passes --glue-via on in the process environment: undone after the test
    monkeypatch.setenv("DYNAMIGRATE_GLUE_VIA", "direct")
    helper = threading.Thread(target=put_summary, daemon=True)
    helper.start()
    logger = __import__("logging").getLogger("dynamigrate")
    saved = (logger.handlers[:], logger.propagate, logger.level)
    try:
        code = cli.main(
            [
                "migrate",
                "--config",
                str(config),
                "--engine",
                "glue",
                "--glue-via",
                "mcp",
                "--via",
                "direct",
                "--skip-validation",
                "--progress",
                "quiet",
            ]
        )
    finally:
        stop.set()
        logger.handlers[:], logger.propagate, logger.level = saved
    out = capsys.readouterr()
    assert code == 0, out.out + out.err
    gl = client(url, "glue")
    (job,) = gl.get_jobs()["Jobs"]
    tags = gl.get_tags(ResourceArn=f"arn:aws:glue:{REGION}:{ACCOUNT}:job/{job['Name']}")["Tags"]
    assert tags.get("ManagedBy") == "DataprocessingMcpServer"
    (jr,) = gl.get_job_runs(JobName=job["Name"])["JobRuns"]
    assert jr["JobRunState"] == "SUCCEEDED"
    assert "ShComp" in client(url, "dynamodb").list_tables()["TableNames"]
