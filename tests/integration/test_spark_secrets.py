"""The Spark engine's own files (the tasks' rejected rows, written keys and checkpoints under
spark-parts/ and spark-checkpoints/, merged into the run's files) mask secrets by value like every
other file of a run: a distinctive MySQL password, which is also the data of a rejected row, appears
in no byte the engine writes. One small Spark run (local[1]) from MariaDB into DynamoDB Local; the
password reaches the executor processes only through the job's configuration."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pymysql
import pytest

from dynamigrate.config import load_config
from dynamigrate.contract.load import load_contract
from dynamigrate.etl.base import EtlContext, EtlOptions
from dynamigrate.runstate import RunDir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

TAG = uuid.uuid4().hex[:8]
PASSWORD = f"SparkPw-{TAG}-x9Q"
ROWS = 12


@pytest.fixture(scope="module")
def spark() -> Any:
    from dynamigrate.etl.spark import spark_session

    session = spark_session(None, "local[1]")
    yield session
    session.stop()


@pytest.fixture
def secret_user(mysql_settings: Any, mysql_db: str) -> Any:
    user = f"dmspk_{TAG}"
    admin = pymysql.connect(**mysql_settings.connect_kwargs(), autocommit=True)
    try:
        with admin.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"CREATE USER '{user}'@'{host}' IDENTIFIED BY %s", (PASSWORD,))
                cur.execute(f"GRANT ALL PRIVILEGES ON `{mysql_db}`.* TO '{user}'@'{host}'")
        yield user
    finally:
        with admin.cursor() as cur:
            for host in ("localhost", "127.0.0.1"):
                cur.execute(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.close()


def test_no_secret_in_any_file_the_spark_engine_writes(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
    secret_user: str,
    ddb_endpoint: str,
    ddb_client: Any,
    ddb_prefix: str,
    tmp_path: Path,
) -> None:
    from dynamigrate.etl.spark import SparkEngine
    from dynamigrate.source.introspect import introspect
    from dynamigrate.sqlgen.generate import generate_statements
    from dynamigrate.target.provision import ensure_table

    with mysql_conn.cursor() as cur:
        cur.execute("CREATE TABLE notes (code VARCHAR(40) NOT NULL PRIMARY KEY, body VARCHAR(200) NULL)")
        rows = [(f"n{i:03d}", f"note {i} 📝") for i in range(1, ROWS)]
        rows.append(("", f"the password is {PASSWORD}"))  # an empty key: rejected, the secret as its data
        cur.executemany("INSERT INTO notes VALUES (%s, %s)", rows)
    table = f"{ddb_prefix}Notes"
    contract_file = tmp_path / "contract.json"
    contract_file.write_text(
        json.dumps(
            {
                "tables": [
                    {
                        "table": table,
                        "type": "single-entity",
                        "source_table": "notes",
                        "pk": "code",
                        "attributes": [
                            {"name": "code", "type": "S", "source_table": "notes", "source_column": "code"},
                            {"name": "body", "type": "S", "source_table": "notes", "source_column": "body"},
                        ],
                    }
                ]
            }
        )
    )
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps(
            {
                "aws": {"region": "us-east-1", "dynamodb_endpoint_url": ddb_endpoint},
                "mysql": {
                    "host": "127.0.0.1",
                    "port": 3306,
                    "user": secret_user,
                    "password": PASSWORD,
                    "database": mysql_db,
                },
                "migration": {"contract_file": str(contract_file), "output_dir": str(tmp_path / "runs")},
                "spark": {"partition_rows": 4, "chunk_rows": 3},
            }
        )
    )
    cfg = load_config(config)
    contract = load_contract(contract_file)
    schema = introspect(mysql_conn, mysql_db)
    with mysql_conn.cursor() as cur:
        for stmt in generate_statements(contract, dialect="mariadb", schema=schema):
            cur.execute(stmt.sql)
    for t in contract.tables:
        ensure_table(ddb_client, t)

    run = RunDir.create(cfg.migration.output_dir)
    ctx = EtlContext(
        config=cfg,
        contract=contract,
        run=run,
        options=EtlOptions(write_mode="insert"),
        database=mysql_db,
        schema=schema,
    )
    result = SparkEngine().run_table(ctx, contract.tables[0])
    assert result.status == "done", result.error
    assert (result.written, result.rejected_total) == (ROWS - 1, 1)
    # the rejected row went through the tasks' files and into rejected.jsonl, its secret masked
    (rejected,) = [json.loads(line) for line in run.file("rejected.jsonl").read_text().splitlines()]
    assert rejected["row"]["body"] == "the password is ***"
    task_files = [p for p in (run.path / "spark-parts").rglob("*") if p.is_file()]
    assert any(p.name == "rejected.jsonl" for p in task_files), task_files
    assert list((run.path / "spark-checkpoints").rglob("*.done"))
    files = [p for p in run.path.rglob("*") if p.is_file()]
    for path in files:
        blob = path.read_bytes()
        assert PASSWORD.encode() not in blob, f"the password appears in {path.relative_to(run.path)}"
        assert TAG.encode() not in blob.replace(secret_user.encode(), b""), path
