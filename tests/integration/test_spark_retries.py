"""Retries of the Spark engine per table, from the writer's counters in each task: throttling and
unprocessed items injected into every task's client (the engine's task client factory, the same
seam as the other Spark fault tests) are counted as retries, throttles and BatchWriteItem calls sent
again, and every row still lands. One small Spark run (local[1]) from MariaDB into DynamoDB Local."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config

from dynamigrate.contract.load import load_contract
from dynamigrate.etl.base import EtlContext, EtlOptions
from dynamigrate.runstate import RunDir

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROWS = 40


@pytest.fixture(scope="module")
def spark() -> Any:
    from pyspark import cloudpickle

    from dynamigrate.etl.spark import spark_session

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the factory travels by value
    session = spark_session(None, "local[1]")
    yield session
    session.stop()


@dataclass(frozen=True)
class ThrottlingClient:
    """Each task's DynamoDB client, throttled and answering with unprocessed items now and then."""

    endpoint: str

    def __call__(self) -> Any:
        from dynamigrate.config import AwsSettings
        from dynamigrate.target.client import dynamodb_client
        from dynamigrate.target.faults import FaultInjector

        client = dynamodb_client(AwsSettings(region="us-east-1", dynamodb_endpoint_url=self.endpoint))
        FaultInjector(client, throttle_rate=0.3, unprocessed_rate=0.3, seed=1).attach()
        return client


def test_spark_counts_the_retries_of_its_tasks(
    spark: Any,
    mysql_conn: Any,
    mysql_db: str,
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
        cur.executemany(
            "INSERT INTO notes VALUES (%s, %s)", [(f"n{i:03d}", f"note {i}") for i in range(ROWS)]
        )
    table = f"{ddb_prefix}Notes"
    contract_file = tmp_path / "contract.json"
    attrs = [{"name": c, "type": "S", "source_table": "notes", "source_column": c} for c in ("code", "body")]
    contract_file.write_text(
        json.dumps(
            {
                "tables": [
                    {
                        "table": table,
                        "type": "single-entity",
                        "source_table": "notes",
                        "pk": "code",
                        "attributes": attrs,
                    }
                ]
            }
        )
    )
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, contract_file)
    import dataclasses

    cfg = dataclasses.replace(cfg, raw={**cfg.raw, "spark": {"partition_rows": 10, "chunk_rows": 5}})
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
        options=EtlOptions(write_mode="overwrite"),  # BatchWriteItem
        database=mysql_db,
        schema=schema,
    )
    result = SparkEngine(task_client_factory=ThrottlingClient(ddb_endpoint)).run_table(
        ctx, contract.tables[0]
    )
    assert result.status == "done", result.error
    items = ddb_client.scan(TableName=table, ConsistentRead=True)["Items"]
    assert result.written == ROWS
    assert sorted(i["code"]["S"] for i in items) == [f"n{i:03d}" for i in range(ROWS)]
    # every retry was a BatchWriteItem sent again because of a throttle or unprocessed items
    # (a shared DynamoDB Local may add a transient error of its own: counted as a retry, not a throttle)
    assert result.retries == result.retried_batches >= result.throttles > 0
    assert result.transaction_retries == 0
    saved = run.state()["tables"][table]
    assert (saved["retries"], saved["retried_batches"]) == (result.retries, result.retries)
