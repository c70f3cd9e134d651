"""Retries per table, from the writer's counters, in the run's summary, state and reports: faults
injected into a real migrate against DynamoDB Local (throttling, unprocessed items, connections lost)
are each one retry, and a table that failed after its attempts shows the attempts it made."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _etl_expect import make_config
from test_accounting import LINKS, _contract, _setup

from dynamigrate.pipeline import MigrateOptions, migrate
from dynamigrate.runstate import RunDir
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.faults import FaultInjector
from dynamigrate.target.retry import RetryPolicy

pytestmark = pytest.mark.integration

RETRY_KEYS = ("retries", "throttles", "retried_batches", "transaction_retries")


def _migrate_with(cfg: Any, links: str, strategy: str, **faults: Any) -> tuple[Any, FaultInjector]:
    injectors: list[FaultInjector] = []
    clients: list[Any] = []

    def factory() -> Any:
        if not clients:
            client = dynamodb_client(cfg.aws, max_pool_connections=32, sdk_attempts=1)
            injectors.append(FaultInjector(client, seed=7, **faults).attach())
            clients.append(client)
        return clients[0]

    options = MigrateOptions(tables=(links,), progress_mode="quiet", skip_validation=True, strategy=strategy)
    return migrate(cfg, options, client_factory=factory), injectors[0]


def _reported(summary: Any, table: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    run = RunDir.open(summary.run_dir)
    state = run.state()["tables"][table]
    doc = json.loads(run.file("report.json").read_text())
    (t,) = [t for t in doc["tables"] if t["name"] == table]
    for key in RETRY_KEYS:
        assert t[key] == state[key], key
        assert doc["totals"][key] == t[key], key
    return t, state, run.file("report.md").read_text()


def test_throttles_and_unprocessed_items_are_counted_per_table(
    mysql_conn: Any, mysql_db: str, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    _setup(mysql_conn)
    cfg, _ = make_config(tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, ddb_prefix), chunk_rows=20)
    links = f"{ddb_prefix}Links"
    summary, faults = _migrate_with(cfg, links, "batch", throttle_rate=0.15, unprocessed_rate=0.15)
    assert summary.status == "ok", summary.render_text()
    (t,) = summary.tables
    assert t.written == LINKS
    injected = faults.injected
    assert injected.get("throttle", 0) > 0 and injected.get("unprocessed", 0) > 0, injected
    # every fault the injector counted is one request sent again, all of them BatchWriteItem calls
    assert t.retries == faults.total and t.retried_batches == faults.total and t.transaction_retries == 0
    assert t.throttles == injected["throttle"] + injected["unprocessed"]
    doc, _, md = _reported(summary, links)
    assert (doc["retries"], doc["throttles"], doc["retried_batches"]) == (
        faults.total,
        injected["throttle"] + injected["unprocessed"],
        faults.total,
    )
    assert f"- Retries {faults.total} (throttled {t.throttles}, batches sent again {faults.total}" in md
    text = summary.render_text()
    assert f"retries {faults.total}: {t.throttles} throttled, {faults.total} batch(es) sent again" in text


def test_a_table_that_gave_up_shows_the_retries_it_made(
    mysql_conn: Any, mysql_db: str, ddb_prefix: str, ddb_endpoint: str, tmp_path: Path
) -> None:
    _setup(mysql_conn)
    cfg, _ = make_config(
        tmp_path, mysql_db, ddb_endpoint, _contract(tmp_path, ddb_prefix), chunk_rows=20, inflight_chunks=1
    )
    links = f"{ddb_prefix}Links"
    summary, faults = _migrate_with(cfg, links, "transact", connection_rate=1.0)
    assert summary.status == "failed"
    (t,) = summary.tables
    assert t.status == "failed" and t.written == 0
    attempts = RetryPolicy().max_attempts
    # each transaction that gave up was sent max_attempts times: all but its last call were retries
    gave_up = faults.total - t.retries
    assert gave_up >= 1 and t.retries == gave_up * (attempts - 1), (faults.total, t.retries)
    assert t.transaction_retries == t.retries and t.throttles == 0 and t.retried_batches == 0
    doc, state, md = _reported(summary, links)
    assert doc["retries"] == t.retries and state["status"] == "failed"
    assert f"- Retries {t.retries} (throttled 0" in md
    assert f"retries {t.retries}: 0 throttled, {t.retries} transaction(s) sent again" in summary.render_text()
