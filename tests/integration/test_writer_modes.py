"""Write modes, strategies, retries and rejected rows against DynamoDB Local."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dynamigrate.config import AwsSettings
from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.model import Table
from dynamigrate.errors import ConfigError, TransientTargetError
from dynamigrate.runstate import RunDir
from dynamigrate.target.client import dynamodb_client
from dynamigrate.target.encode import ItemEncoder, fingerprint, parse_marker
from dynamigrate.target.faults import FaultInjector
from dynamigrate.target.markers import remove_markers
from dynamigrate.target.provision import ensure_table
from dynamigrate.target.writer import (
    MemorySink,
    RunDirSink,
    TableWriter,
    WriteMode,
    WriterOptions,
    delete_if_marker,
)

pytestmark = pytest.mark.integration

MARKER = "_dm_marker"

CONTRACT_TABLE = {
    "table": "Orders",
    "type": "single-entity",
    "source_table": "orders",
    "pk": "PK",
    "sk": "SK",
    "gsis": [{"index_name": "ByStatus", "pk": "status", "sk": "PK", "projection": "ALL"}],
    "attributes": [
        {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"},
        {"name": "SK", "type": "S", "source_table": "orders", "source_column": "id"},
        {"name": "status", "type": "S", "source_table": "orders", "source_column": "status"},
        {"name": "total", "type": "N", "source_table": "orders", "source_column": "total"},
        {"name": "version", "type": "N", "source_table": "orders", "source_column": "version"},
        {"name": "lines", "type": "L", "source_table": "orders", "source_column": "lines"},
    ],
}


@pytest.fixture(scope="module")
def table() -> Table:
    contract, problems = parse_contract({"tables": [CONTRACT_TABLE]})
    assert contract is not None, [str(p) for p in problems]
    return contract.tables[0]


@pytest.fixture
def client(ddb_endpoint: str) -> Any:
    # our own client: botocore retries off, so injected faults reach our retry policy
    return dynamodb_client(
        AwsSettings(endpoint_url=ddb_endpoint, region="us-east-1"), max_pool_connections=32
    )


@pytest.fixture
def tname(client: Any, ddb_prefix: str, table: Table) -> str:
    name = f"{ddb_prefix}Orders"
    ensure_table(client, table, table_name=name)
    return name


def row(i: int, **over: Any) -> dict[str, Any]:
    base = {
        "PK": f"ORDER#{i:04d}",
        "SK": "#META",
        "status": "NEW",
        "total": f"{i}.50",
        "version": "1",
        "lines": json.dumps([{"sku": f"S{i}", "qty": 1, "price": 9.90}]),
        "_dm_entity": "orders",
        "_dm_rowid": i,
    }
    base.update(over)
    return base


def key(i: int) -> dict[str, Any]:
    return {"PK": {"S": f"ORDER#{i:04d}"}, "SK": {"S": "#META"}}


def get(client: Any, tname: str, i: int) -> dict[str, Any] | None:
    return client.get_item(TableName=tname, Key=key(i), ConsistentRead=True).get("Item")


def count(client: Any, tname: str) -> int:
    return client.scan(TableName=tname, Select="COUNT", ConsistentRead=True)["Count"]


def write(client: Any, tname: str, table: Table, rows: list[dict[str, Any]], sink: Any = None, **opts: Any):
    opts.setdefault("base_delay", 0.001)
    opts.setdefault("max_delay", 0.01)
    options = WriterOptions(**opts)
    encoder = ItemEncoder(table, options.marker_attribute)
    sink = sink if sink is not None else MemorySink()
    with TableWriter(client, tname, table, options, sink) as writer:
        result = writer.write_batch([encoder.encode(r) for r in rows])
    return result, sink


APP_ITEM = {"PK": {"S": "ORDER#0003"}, "SK": {"S": "#META"}, "status": {"S": "WRITTEN BY APP"}}


# -- insert ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_insert_leaves_preexisting_items_untouched(
    client: Any, tname: str, table: Table, strategy: str
) -> None:
    client.put_item(TableName=tname, Item=APP_ITEM)
    result, sink = write(client, tname, table, [row(i) for i in range(10)], run_id="run1", strategy=strategy)
    assert (result.written, result.skipped, result.conflicts, result.rejected) == (9, 1, 0, 0)
    assert sink.skipped == [(key(3), "exists")]
    assert get(client, tname, 3) == APP_ITEM
    item = get(client, tname, 5)
    assert item["total"] == {"N": "5.5"}
    assert item["lines"] == {"L": [{"M": {"sku": {"S": "S5"}, "qty": {"N": "1"}, "price": {"N": "9.9"}}}]}
    run_id, fp = parse_marker(item[MARKER])
    assert run_id == "run1"
    assert fingerprint(item, MARKER) == fp  # the stored content hashes to the marker's fingerprint
    assert count(client, tname) == 10


def test_insert_rerun_skips_everything(client: Any, tname: str, table: Table) -> None:
    write(client, tname, table, [row(i) for i in range(5)], run_id="run1")
    result, _ = write(client, tname, table, [row(i, status="CHANGED") for i in range(5)], run_id="run2")
    assert (result.written, result.skipped) == (0, 5)
    assert get(client, tname, 1)["status"] == {"S": "NEW"}
    assert parse_marker(get(client, tname, 1)[MARKER])[0] == "run1"


def test_transact_insert_with_many_failing_conditions(client: Any, tname: str, table: Table) -> None:
    for i in range(0, 250, 10):
        client.put_item(TableName=tname, Item={**key(i), "status": {"S": "APP"}})
    result, sink = write(
        client, tname, table, [row(i) for i in range(250)], run_id="run1", strategy="transact", concurrency=4
    )
    assert (result.written, result.skipped, result.rejected) == (225, 25, 0)
    assert {r for _, r in sink.skipped} == {"exists"}
    assert count(client, tname) == 250
    assert get(client, tname, 20)["status"] == {"S": "APP"}
    assert MARKER in get(client, tname, 21)


def test_no_marker_option(client: Any, tname: str, table: Table) -> None:
    result, sink = write(client, tname, table, [row(1)], run_id="run1", marker_attribute=None)
    assert result.written == 1
    assert MARKER not in get(client, tname, 1)
    assert sink.written == [(key(1), None)]
    with pytest.raises(ConfigError, match="sync mode needs markers"):
        WriterOptions(mode="sync", marker_attribute=None).validated()


# -- sync -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_sync_rewrites_only_migration_owned_changed_items(
    client: Any, tname: str, table: Table, strategy: str, tmp_path: Any
) -> None:
    write(client, tname, table, [row(i) for i in range(10)], run_id="run1")
    # the application changes things meanwhile
    app_plain = {**key(4), "status": {"S": "APP REWROTE (no marker)"}}
    client.put_item(TableName=tname, Item=app_plain)
    rmw = get(client, tname, 5)  # read-modify-write that keeps our marker but changes content
    rmw["status"] = {"S": "APP EDITED"}
    client.put_item(TableName=tname, Item=rmw)
    before_2 = get(client, tname, 2)

    # the source changes: row 2 content, row 4 and 5 too (but the app owns them now), row 11 new
    rows = [row(i) for i in range(10)] + [row(11)]
    rows[2] = row(2, status="SHIPPED", total="99.99")
    rows[4] = row(4, status="SHIPPED")
    rows[5] = row(5, status="SHIPPED")

    run = RunDir.create(tmp_path, run_id="run2")
    sink = RunDirSink(run, tname)
    result, _ = write(client, tname, table, rows, sink=sink, run_id="run2", mode="sync", strategy=strategy)
    run.close()

    assert (result.written, result.unchanged, result.conflicts, result.rejected) == (2, 7, 2, 0)
    assert result.skipped == 7
    item2 = get(client, tname, 2)
    assert item2["status"] == {"S": "SHIPPED"} and item2["total"] == {"N": "99.99"}
    assert parse_marker(item2[MARKER])[0] == "run2"
    assert fingerprint(item2, MARKER) == parse_marker(item2[MARKER])[1]
    assert get(client, tname, 4) == app_plain
    assert get(client, tname, 5) == rmw
    assert get(client, tname, 11)["status"] == {"S": "NEW"}
    # unchanged items were not rewritten: still run1's marker
    assert parse_marker(get(client, tname, 7)[MARKER])[0] == "run1"

    conflicts = list(run.read_lines("conflicts.jsonl"))
    assert {(c["key"]["PK"]["S"], c["reason"]) for c in conflicts} == {
        ("ORDER#0004", "not_written_by_migration"),
        ("ORDER#0005", "changed_since_migration_wrote_it"),
    }
    old = list(run.read_lines(run.old_images_file(tname)))
    assert len(old) == 1
    assert old[0]["key"]["PK"] == {"S": "ORDER#0002"}
    assert old[0]["old"]["status"] == {"S": "NEW"}
    assert old[0]["old"][MARKER] == before_2[MARKER]
    written = list(run.read_lines(run.written_file(tname)))
    assert sorted(w["key"]["PK"]["S"] for w in written) == ["ORDER#0002", "ORDER#0011"]
    assert all(w["marker"].startswith("run2:") for w in written)
    assert sink.counters["conflicts"] == 2


def test_sync_second_run_is_a_no_op(client: Any, tname: str, table: Table) -> None:
    rows = [row(i) for i in range(20)]
    first, _ = write(client, tname, table, rows, run_id="run1", mode="sync")
    assert first.written == 20
    second, _ = write(client, tname, table, rows, run_id="run2", mode="sync")
    assert (second.written, second.unchanged, second.conflicts) == (0, 20, 0)


def test_sync_write_racing_with_application_is_a_conflict(client: Any, tname: str, table: Table) -> None:
    write(client, tname, table, [row(1)], run_id="run1")
    options = WriterOptions(mode="sync", run_id="run2", base_delay=0.001)
    encoder = ItemEncoder(table)
    sink = MemorySink()
    with TableWriter(client, tname, table, options, sink) as writer:
        original = writer._read_images

        def read_then_app_writes(keys: Any, tally: Any) -> Any:
            images = original(keys, tally)
            client.put_item(TableName=tname, Item={**key(1), "status": {"S": "APP RACED"}})
            return images

        writer._read_images = read_then_app_writes  # type: ignore[method-assign]
        result = writer.write_batch([encoder.encode(row(1, status="SHIPPED"))])
    assert (result.written, result.conflicts) == (0, 1)
    assert sink.conflicts == [(key(1), "changed_concurrently")]
    assert get(client, tname, 1)["status"] == {"S": "APP RACED"}


def test_delete_if_marker(client: Any, tname: str, table: Table) -> None:
    _, sink = write(client, tname, table, [row(1), row(2)], run_id="run1")
    markers = {k["PK"]["S"]: m for k, m in sink.written}
    client.put_item(TableName=tname, Item={**key(2), "status": {"S": "APP"}})
    deleted = delete_if_marker(client, tname, key(1), markers["ORDER#0001"])
    assert deleted and deleted.outcome == "deleted"
    assert deleted.old_item["status"] == {"S": "NEW"}
    outcome, current = delete_if_marker(client, tname, key(2), markers["ORDER#0002"])
    assert outcome == "conflict" and current["status"] == {"S": "APP"}
    assert not delete_if_marker(client, tname, key(2), markers["ORDER#0002"])
    assert delete_if_marker(client, tname, key(9), "run1:0000")[0] == "absent"
    assert get(client, tname, 1) is None
    assert get(client, tname, 2) is not None


# -- newer ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_newer_replaces_only_older_versions(client: Any, tname: str, table: Table, strategy: str) -> None:
    client.put_item(TableName=tname, Item={**key(1), "status": {"S": "APP v5"}, "version": {"N": "5"}})
    client.put_item(TableName=tname, Item={**key(2), "status": {"S": "APP v1"}, "version": {"N": "1"}})
    client.put_item(TableName=tname, Item={**key(3), "status": {"S": "APP v3"}, "version": {"N": "3"}})
    rows = [
        row(1, version="3"),
        row(2, version="3"),
        row(3, version="3"),
        row(4, version="3"),
        row(5, version=None),
    ]
    result, sink = write(
        client,
        tname,
        table,
        rows,
        run_id="run1",
        mode="newer",
        version_attribute="version",
        strategy=strategy,
    )
    assert (result.written, result.skipped, result.rejected) == (2, 2, 1)
    assert get(client, tname, 1)["status"] == {"S": "APP v5"}
    assert get(client, tname, 2)["status"] == {"S": "NEW"}
    assert get(client, tname, 3)["status"] == {"S": "APP v3"}
    assert get(client, tname, 4)["version"] == {"N": "3"}
    assert get(client, tname, 5) is None
    assert sorted(r for _, r in sink.skipped) == ["not_newer", "not_newer"]
    assert sink.rejected[0]["code"] == "missing_version"
    assert [(k["PK"]["S"], old["status"]["S"]) for k, old in sink.old_images] == [("ORDER#0002", "APP v1")]


# -- overwrite ------------------------------------------------------------------------------------


def test_overwrite_replaces_everything(client: Any, tname: str, table: Table) -> None:
    client.put_item(TableName=tname, Item=APP_ITEM)
    result, sink = write(client, tname, table, [row(i) for i in range(60)], run_id="run1", mode="overwrite")
    assert (result.written, result.skipped, result.conflicts) == (60, 0, 0)
    assert get(client, tname, 3)["status"] == {"S": "NEW"}
    assert sink.old_images == []
    assert count(client, tname) == 60


def test_overwrite_keep_old_images(client: Any, tname: str, table: Table) -> None:
    client.put_item(TableName=tname, Item=APP_ITEM)
    result, sink = write(
        client,
        tname,
        table,
        [row(i) for i in range(5)],
        run_id="run1",
        mode="overwrite",
        keep_old_images=True,
    )
    assert result.written == 5
    assert sink.old_images == [(key(3), APP_ITEM)]


def test_duplicate_keys_in_one_batch_are_written_in_order(client: Any, tname: str, table: Table) -> None:
    rows = [row(1, status="FIRST"), row(2), row(1, status="SECOND")]
    result, _ = write(client, tname, table, rows, run_id="run1", mode="overwrite")
    assert result.written == 3
    assert get(client, tname, 1)["status"] == {"S": "SECOND"}
    result, _ = write(client, tname, table, [row(5, status="A"), row(5, status="B")], run_id="run1")
    assert (result.written, result.skipped) == (1, 1)
    assert get(client, tname, 5)["status"] == {"S": "A"}


# -- faults and retries -----------------------------------------------------------------------------


FAULTS = {
    "throttle_rate": 0.12,
    "error_rate": 0.06,
    "connection_rate": 0.04,
    "lost_ack_rate": 0.05,
    "unprocessed_rate": 0.2,
}


@pytest.mark.parametrize(
    ("mode", "strategy"), [("insert", "put"), ("insert", "transact"), ("overwrite", "put"), ("sync", "put")]
)
def test_injected_faults_recover_with_nothing_lost(
    client: Any, tname: str, table: Table, mode: str, strategy: str
) -> None:
    rows = [row(i) for i in range(300)]
    encoder = ItemEncoder(table)
    options = WriterOptions(
        mode=mode,
        strategy=strategy,
        run_id="run1",
        base_delay=0.001,
        max_delay=0.01,
        max_attempts=30,
        seed=1,
        transact_size=10,  # more transactions, more chances for faults
    )
    sink = MemorySink()
    with (
        FaultInjector(client, seed=11, operations=None, **FAULTS) as faults,
        TableWriter(client, tname, table, options, sink) as w,
    ):
        result = w.write_batch([encoder.encode(r) for r in rows[:150]])
        result.add(w.write_batch([encoder.encode(r) for r in rows[150:]]))
    assert faults.total > 5
    assert result.written == 300, result
    assert (result.skipped, result.conflicts, result.rejected) == (0, 0, 0)
    # every injected fault cost exactly one counted retry
    assert result.retries == faults.total
    assert result.throttles == faults.injected.get("throttle", 0) + faults.injected.get("unprocessed", 0)
    assert sum(sink.retries.values()) == result.retries
    assert count(client, tname) == 300
    for i in (0, 77, 299):
        item = get(client, tname, i)
        assert item["total"] == {"N": f"{i}.5"}
        assert fingerprint(item, MARKER) == parse_marker(item[MARKER])[1]


def test_retries_are_bounded(client: Any, tname: str, table: Table) -> None:
    encoder = ItemEncoder(table)
    options = WriterOptions(run_id="run1", base_delay=0.001, max_delay=0.002, max_attempts=3)
    with (
        FaultInjector(client, throttle_rate=1.0) as faults,
        TableWriter(client, tname, table, options) as w,
        pytest.raises(TransientTargetError, match="after 3 attempts"),
    ):
        w.write_batch([encoder.encode(row(1))])
    assert faults.injected["throttle"] == 3


# -- rejected rows ----------------------------------------------------------------------------------


def test_a_key_schema_mismatch_fails_the_table_never_a_rejected_row(
    client: Any, ddb_prefix: str, table: Table, tmp_path: Any
) -> None:
    """The table's GSI key type disagrees with the contract: every row carrying the attribute would be
    refused, so it is an error of the table (TargetError DM530), not thousands of rejected rows."""
    from dynamigrate.errors import TargetError

    name = f"{ddb_prefix}Mismatch"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    run = RunDir.create(tmp_path, run_id="runK")
    sink = RunDirSink(run, name)
    for strategy, mode in (("put", "overwrite"), ("transact", "insert"), ("put", "insert")):
        with pytest.raises(TargetError) as info:
            write(
                client,
                name,
                table,
                [row(4, status="SHIPPED")],
                sink=sink,
                run_id="runK",
                strategy=strategy,
                mode=mode,
            )
        assert info.value.code == "DM530" and "Type mismatch" in str(info.value)
        assert "key schema" in (info.value.hint or "")
    run.close()
    assert not run.file("rejected.jsonl").exists()
    assert sink.counters.get("rejected", 0) == 0


def test_rejected_rows_recorded_with_reason_and_dynamodb_message(
    client: Any, ddb_prefix: str, table: Table, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the encoder rejects documents nested deeper than DynamoDB keeps (bad_json, test_encode.py); here
    # it lets them through so that DynamoDB's own refusal of one item is what gets recorded
    monkeypatch.setattr("dynamigrate.target.encode.MAX_NESTING", 100)
    # a table whose GSI key type disagrees with the contract: DynamoDB refuses those items
    name = f"{ddb_prefix}Mismatch"
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "status", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "ByStatus",
                "KeySchema": [{"AttributeName": "status", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    run = RunDir.create(tmp_path, run_id="runR")
    sink = RunDirSink(run, name)
    rows = [
        row(1, status=None),  # fine: no GSI key
        row(2, PK=None),  # null key
        row(3, total="12abc"),  # bad number
        row(4, lines="[" * 40 + "1" + "]" * 40),  # DynamoDB refuses this one item: nested too deep
        row(5, SK=""),  # empty key
    ]
    for strategy in ("put", "transact"):
        result, _ = write(
            client,
            name,
            table,
            rows,
            sink=sink,
            run_id="runR",
            strategy=strategy,
            mode="overwrite" if strategy == "put" else "insert",
        )
        assert result.rejected == 4, result
    run.close()
    rejected = list(run.read_lines("rejected.jsonl"))
    assert len(rejected) == 8
    by_code = {r["code"]: r for r in rejected}
    assert set(by_code) == {"null_key", "bad_number", "write_failed", "empty_key"}
    assert by_code["null_key"]["reason"] == "key attribute 'PK' is NULL"
    assert by_code["null_key"]["row"]["_dm_rowid"] == 2
    assert by_code["bad_number"]["key"] == {"PK": {"S": "ORDER#0003"}, "SK": {"S": "#META"}}
    assert "'total'" in by_code["bad_number"]["reason"]
    failed = by_code["write_failed"]
    assert failed["table"] == name and failed["entity"] == "orders"
    assert failed["key"]["PK"] == {"S": "ORDER#0004"}
    assert "Validation" in failed["reason"]
    assert "Nesting Levels" in failed["message"], failed["message"]
    assert failed["row"]["lines"].startswith("[[[")
    assert by_code["empty_key"]["reason"] == "key attribute 'SK' is empty"
    assert client.get_item(TableName=name, Key=key(1)).get("Item") is not None


# -- markers --------------------------------------------------------------------------------------


def test_remove_markers_only_from_unchanged_items(client: Any, tname: str, table: Table) -> None:
    write(client, tname, table, [row(i) for i in range(6)], run_id="run1")
    edited = get(client, tname, 2)
    edited["status"] = {"S": "APP EDITED"}
    client.put_item(TableName=tname, Item=edited)
    dry = remove_markers(client, tname, table.key_names, MARKER, dry_run=True)
    assert (dry.would_remove, dry.changed, dry.removed) == (5, 1, 0)
    assert MARKER in get(client, tname, 1)
    other = remove_markers(client, tname, table.key_names, MARKER, run="someone-else")
    assert (other.removed, other.skipped_other_runs) == (0, 6)
    out = remove_markers(client, tname, table.key_names, MARKER, run="run1")
    assert (out.removed, out.changed) == (5, 1)
    assert out.changed_keys == [key(2)]
    assert MARKER not in get(client, tname, 1)
    assert MARKER in get(client, tname, 2)


def test_write_mode_enum_accepts_text() -> None:
    assert WriterOptions(mode="newer", version_attribute="v").validated().mode is WriteMode.NEWER
    with pytest.raises(ConfigError):
        WriterOptions(mode="upsert").validated()
    with pytest.raises(ConfigError, match="version attribute"):
        WriterOptions(mode="newer").validated()


def test_markers_remove_cli(
    client: Any, ddb_endpoint: str, ddb_prefix: str, tmp_path: Any, capsys: Any
) -> None:
    from dynamigrate.cli import main

    raw = {**CONTRACT_TABLE, "table": f"{ddb_prefix}Cli"}
    contract_file = tmp_path / "contract.json"
    contract_file.write_text(json.dumps({"tables": [raw]}))
    config_file = tmp_path / "config.json"
    config_file.write_text(
        json.dumps(
            {
                "aws": {"region": "us-east-1", "endpoint_url": ddb_endpoint},
                "migration": {"contract_file": "contract.json"},
            }
        )
    )
    contract, _ = parse_contract({"tables": [raw]})
    assert contract is not None
    table = contract.tables[0]
    ensure_table(client, table)
    write(client, table.name, table, [row(i) for i in range(4)], run_id="run1")
    edited = get(client, table.name, 1)
    edited["status"] = {"S": "APP"}
    client.put_item(TableName=table.name, Item=edited)

    assert main(["markers", "remove", "--config", str(config_file), "--dry-run"]) == 1
    assert "would remove 3 marker(s); 1 item(s) changed" in capsys.readouterr().out
    assert MARKER in get(client, table.name, 0)
    assert main(["markers", "remove", "--config", str(config_file), "--json"]) == 1
    counts = json.loads(capsys.readouterr().out)
    assert counts[0]["removed"] == 3 and counts[0]["changed"] == 1
    assert MARKER not in get(client, table.name, 0)
    assert MARKER in get(client, table.name, 1)

    # a table of the contract that does not exist (another endpoint or region): named, not a traceback
    client.delete_table(TableName=table.name)
    assert main(["markers", "remove", "--config", str(config_file), "--dry-run"]) == 1
    err = capsys.readouterr().err
    assert (
        f"error: table {table.name} does not exist ({ddb_endpoint}, region us-east-1): no marker removed"
        in err
    )
    assert "internal error" not in err and "--tables" in err
