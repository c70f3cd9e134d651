"""The local engine's writer choice (etl/local_strategy.py) and sync mode's missing-source check
(etl/local_sync.py), each on its own: a real run directory and DynamoDB Local, hand-written
expectations. Fast (no MySQL, no migrate): covering tests of `scripts/mutation.sh local`.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.model import Table
from dynamigrate.errors import TargetError
from dynamigrate.etl.base import EtlOptions, TableResult
from dynamigrate.etl.local_strategy import fresh_table_fast_path, make_writer, resolve_strategy
from dynamigrate.etl.local_sync import MISSING_EXAMPLES, check_missing, scan_pages
from dynamigrate.etl.local_writers import FreshTableWriter, SeenKeys, canonical_key
from dynamigrate.runstate import RunDir
from dynamigrate.target.writer import TableWriter

pytestmark = pytest.mark.integration

MARKER = "_mig"  # not the default marker attribute: every path must use the configured one


def _table(name: str, sk: bool = False) -> Table:
    attrs = [{"name": "PK", "type": "S", "source_table": "t", "source_column": "id"}]
    if sk:
        attrs.append({"name": "SK", "type": "N", "source_table": "t", "source_column": "n"})
    spec: dict[str, Any] = {
        "table": name,
        "type": "single-entity",
        "source_table": "t",
        "pk": "PK",
        "attributes": attrs,
    }
    if sk:
        spec["sk"] = "SK"
    contract, problems = parse_contract({"tables": [spec]})
    assert contract is not None, problems
    return contract.tables[0]


def _ctx(tmp_path: Path, **options: Any) -> Any:
    run = RunDir.create(tmp_path, run_id="run-1")
    return SimpleNamespace(options=EtlOptions(**options), run=run, run_id=run.run_id)


def _events(ctx: Any, kind: str) -> list[dict[str, Any]]:
    ctx.run.close()  # flushes the append-only files
    path = ctx.run.file("events.jsonl")
    lines = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
    return [{k: v for k, v in e.items() if k not in ("ts", "event")} for e in lines if e["event"] == kind]


# ------------------------------------------------------------------------------ strategy


@pytest.mark.parametrize(
    ("strategy", "endpoint", "expected"),
    [
        (None, "http://127.0.0.1:8000", "transact"),
        ("auto", "http://localhost:8000", "transact"),
        ("", "http://127.0.0.1:8000", "transact"),
        (None, None, "put"),
        ("auto", "https://dynamodb.eu-west-1.amazonaws.com", "put"),
        ("put", "http://127.0.0.1:8000", "put"),
        ("transact", None, "transact"),
        ("batch", None, "batch"),
    ],
)
def test_resolve_strategy(strategy: str | None, endpoint: str | None, expected: str) -> None:
    assert resolve_strategy(strategy, endpoint) == expected


@pytest.mark.parametrize(
    ("strategy", "mode", "created", "expected", "warns"),
    [
        ("batch", "insert", True, True, False),
        ("batch", "insert", False, False, True),
        ("batch", "overwrite", True, False, True),
        ("batch", "sync", True, False, True),
        ("put", "insert", True, False, False),
        (None, "insert", True, False, False),
    ],
)
def test_fresh_table_fast_path(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    strategy: str | None,
    mode: str,
    created: bool,
    expected: bool,
    warns: bool,
) -> None:
    ctx = _ctx(tmp_path, strategy=strategy, write_mode=mode)
    ctx.run.record_created("tables", {"name": "Other"})
    if created:
        ctx.run.record_created("tables", {"name": "Fresh"})
    with caplog.at_level(logging.WARNING, logger="dynamigrate.etl.local_strategy"):
        assert fresh_table_fast_path(ctx, _table("Fresh")) is expected
    assert [r.getMessage() for r in caplog.records] == (
        [
            "table Fresh: --strategy batch applies only to insert mode into a table this run created; "
            "using conditional writes"
        ]
        if warns
        else []
    )


def test_fresh_table_fast_path_without_tables_in_the_manifest(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path, strategy="batch")
    ctx.run.write_json("manifest.json", {"run_id": "run-1"})
    assert fresh_table_fast_path(ctx, _table("Fresh")) is False


def _options(writer: TableWriter) -> tuple[Any, ...]:
    o = writer.options
    return (
        str(o.mode.value if hasattr(o.mode, "value") else o.mode),
        o.strategy,
        o.concurrency,
        o.run_id,
        o.marker_attribute,
        o.version_attribute,
    )


@pytest.mark.parametrize(
    ("opts", "endpoint", "expected"),
    [
        # auto on DynamoDB Local: transactions, transact_concurrency
        (
            EtlOptions(marker_attribute=MARKER),
            "http://127.0.0.1:8000",
            ("insert", "transact", 8, "r1", MARKER, None),
        ),
        # auto on AWS: PutItem at `concurrency`
        (EtlOptions(concurrency=5), None, ("insert", "put", 5, "r1", "_dm_marker", None)),
        # transact without transact_concurrency: `concurrency`
        (
            EtlOptions(strategy="transact", transact_concurrency=None, concurrency=3),
            None,
            ("insert", "transact", 3, "r1", "_dm_marker", None),
        ),
        (
            EtlOptions(
                strategy="transact", transact_concurrency=2, write_mode="newer", version_attribute="v"
            ),
            None,
            ("newer", "transact", 2, "r1", "_dm_marker", "v"),
        ),
        (
            EtlOptions(strategy="put", write_mode="sync", concurrency=4),
            "http://127.0.0.1:8000",
            ("sync", "put", 4, "r1", "_dm_marker", None),
        ),
        # batch not allowed (not fresh): the conditional writer auto chooses
        (EtlOptions(strategy="batch", concurrency=6), None, ("insert", "put", 6, "r1", "_dm_marker", None)),
    ],
)
def test_make_writer_conditional(opts: EtlOptions, endpoint: str | None, expected: tuple[Any, ...]) -> None:
    client = object()
    writer = make_writer(opts, _table("T"), client, None, run_id="r1", endpoint=endpoint, fresh=False)
    try:
        assert type(writer) is TableWriter
        assert _options(writer) == expected
        assert (writer.client, writer.table_name) == (client, "T")
    finally:
        writer.close()


@pytest.mark.parametrize("resumed", [False, True, None])
def test_make_writer_fresh_table(resumed: bool | None) -> None:
    """A table this run created: the BatchWriteItem writer; it reads before writing only on a resume
    (``resumed``; not given: a first pass)."""
    opts = EtlOptions(strategy="batch", batch_concurrency=5, concurrency=7, marker_attribute=MARKER)
    sink, client = object(), object()
    more = {} if resumed is None else {"resumed": resumed}
    writer = make_writer(
        opts, _table("T"), client, sink, run_id="r2", endpoint="http://127.0.0.1:8000", fresh=True, **more
    )
    try:
        assert isinstance(writer, FreshTableWriter)
        assert (writer.check_existing, writer.run_id, writer.marker, writer.table.name) == (
            bool(resumed),
            "r2",
            MARKER,
            "T",
        )
        assert writer.sink is sink and writer.strict.sink is sink and writer.blind.sink is sink
        assert writer.client is client and writer.strict.client is client and writer.blind.client is client
        assert (writer.strict.table_name, writer.blind.table_name) == ("T", "T")
        # the strict writer for what must stay conditional, the blind one overwrites at batch_concurrency
        assert _options(writer.strict) == ("insert", "transact", 8, "r2", MARKER, None)
        assert _options(writer.blind) == ("overwrite", "put", 5, "r2", MARKER, None)
    finally:
        writer.close()


# ------------------------------------------------------------------------------ sync: missing source


def _create(ddb_client: Any, name: str, sk: bool = False) -> None:
    keys = [{"AttributeName": "PK", "KeyType": "HASH"}]
    defs = [{"AttributeName": "PK", "AttributeType": "S"}]
    if sk:
        keys.append({"AttributeName": "SK", "KeyType": "RANGE"})
        defs.append({"AttributeName": "SK", "AttributeType": "N"})
    ddb_client.create_table(
        TableName=name, KeySchema=keys, AttributeDefinitions=defs, BillingMode="PAY_PER_REQUEST"
    )


def _keys(ddb_client: Any, name: str) -> set[tuple[str, ...]]:
    items = ddb_client.scan(TableName=name, ConsistentRead=True)["Items"]
    return {(i["PK"]["S"], *([i["SK"]["N"]] if "SK" in i else [])) for i in items}


@pytest.mark.parametrize("delete", [False, True])
def test_check_missing_counts_and_deletes_only_owned_items_the_pass_did_not_produce(
    tmp_path: Path, ddb_client: Any, ddb_prefix: str, caplog: pytest.LogCaptureFixture, delete: bool
) -> None:
    name = f"{ddb_prefix}Sync"
    _create(ddb_client, name, sk=True)
    items = {
        ("a", "1"): {MARKER: {"S": "m1"}},  # produced by the pass
        ("a", "2"): {MARKER: {"S": "m1"}},  # owned, not produced: missing
        ("b", "1"): {},  # not ours (no marker): left alone
        ("c", "1"): {MARKER: {"S": "m-old"}, "x": {"S": "y"}},  # owned by an older run: missing
        ("d", "1"): {"_dm_marker": {"S": "m1"}},  # the default marker attribute, not the configured one
    }
    for (pk, sk), extra in items.items():
        ddb_client.put_item(TableName=name, Item={"PK": {"S": pk}, "SK": {"N": sk}, **extra})
    ctx = _ctx(tmp_path, write_mode="sync", marker_attribute=MARKER, delete_missing=delete)
    seen = SeenKeys(tmp_path / "seen.sqlite")
    seen.add_many([canonical_key({"PK": {"S": "a"}, "SK": {"N": "1"}})])
    result = TableResult(table=name, engine="local")
    with caplog.at_level(logging.WARNING, logger="dynamigrate.etl.local_sync"):
        check_missing(ctx, _table(name, sk=True), ddb_client, seen, result)
    seen.close()
    assert result.missing_source == 2
    assert sorted(result.missing_examples, key=lambda e: e["key"]["PK"]["S"]) == [
        {"key": {"PK": {"S": "a"}, "SK": {"N": "2"}}, "marker": "m1"},
        {"key": {"PK": {"S": "c"}, "SK": {"N": "1"}}, "marker": "m-old"},
    ]
    assert result.deleted_missing == (2 if delete else 0)
    left = {("a", "1"), ("b", "1"), ("d", "1")} | (set() if delete else {("a", "2"), ("c", "1")})
    assert _keys(ddb_client, name) == left
    what = "2 deleted (--delete-missing)" if delete else "kept; rerun with --delete-missing to delete them"
    assert [r.getMessage() for r in caplog.records] == [
        f"table {name}: 2 migration-owned item(s) have no source row any more: {what}"
    ]
    assert [r.fields for r in caplog.records] == [{"table": name, "missing_source": 2}]  # type: ignore[attr-defined]
    (event,) = _events(ctx, "missing_source")
    assert (event["table"], event["missing"], event["deleted"]) == (name, 2, 2 if delete else 0)
    assert sorted(e["marker"] for e in event["examples"]) == ["m-old", "m1"]


def test_check_missing_keeps_twenty_examples_and_is_silent_when_nothing_is_missing(
    tmp_path: Path, ddb_client: Any, ddb_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"{ddb_prefix}Many"
    _create(ddb_client, name)
    for i in range(MISSING_EXAMPLES + 3):
        ddb_client.put_item(TableName=name, Item={"PK": {"S": f"k{i:02d}"}, MARKER: {"S": "m"}})
    ctx = _ctx(tmp_path, write_mode="sync", marker_attribute=MARKER)
    seen = SeenKeys(tmp_path / "seen.sqlite")
    result = TableResult(table=name, engine="local")
    check_missing(ctx, _table(name), ddb_client, seen, result)
    assert (result.missing_source, len(result.missing_examples), result.deleted_missing) == (23, 20, 0)
    assert len({e["key"]["PK"]["S"] for e in result.missing_examples}) == 20
    (event,) = _events(ctx, "missing_source")
    assert (event["missing"], len(event["examples"])) == (23, 5)
    # every key produced: nothing missing, no warning, the event says 0
    seen.add_many([canonical_key({"PK": {"S": f"k{i:02d}"}}) for i in range(23)])
    again = TableResult(table=name, engine="local")
    ctx2 = _ctx(tmp_path / "2", write_mode="sync", marker_attribute=MARKER)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dynamigrate.etl.local_sync"):
        check_missing(ctx2, _table(name), ddb_client, seen, again)
    seen.close()
    assert (again.missing_source, again.missing_examples, again.deleted_missing) == (0, [], 0)
    assert caplog.records == []
    assert _events(ctx2, "missing_source") == [{"table": name, "missing": 0, "deleted": 0, "examples": []}]


def test_scan_pages_follows_every_page_and_names_the_table_on_errors(
    ddb_client: Any, ddb_prefix: str
) -> None:
    name = f"{ddb_prefix}Pages"
    _create(ddb_client, name)
    for i in range(7):
        ddb_client.put_item(TableName=name, Item={"PK": {"S": f"p{i}"}})
    pages = list(scan_pages(ddb_client, {"TableName": name, "Limit": 3, "ConsistentRead": True}))
    assert [len(p) for p in pages[:3]] == [3, 3, 1] and all(p == [] for p in pages[3:])
    assert sorted(i["PK"]["S"] for p in pages for i in p) == [f"p{i}" for i in range(7)]
    with pytest.raises(TargetError) as info:
        list(scan_pages(ddb_client, {"TableName": f"{ddb_prefix}Gone"}))
    assert info.value.where == {"table": f"{ddb_prefix}Gone"}
    assert info.value.message.startswith("DynamoDB refused the request: ResourceNotFoundException: ")
