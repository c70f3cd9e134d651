"""The writer's behaviour pinned with hand-written expectations, fast (an in-memory DynamoDB).

Every write mode and strategy, the outcome of every condition, DynamoDB's refusals (one item, a whole
request, the table), retries and their counters, lost answers, duplicate keys in a batch, races with
an application between the writer's read and its write, the single-item helpers and the sinks.
``tests/unit/_fake_dynamodb.py`` answers like DynamoDB (see its docstring); the integration tests
(test_writer_modes.py, test_sync.py) run the same promises against DynamoDB Local. These are the tests
``scripts/mutation.sh writer`` runs first (docs/testing.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from _fake_dynamodb import FakeDynamoDB, Fault, client_error
from botocore.exceptions import ConnectionClosedError

from dynamigrate.contract.load import parse_contract
from dynamigrate.contract.model import Table
from dynamigrate.errors import ConfigError, TargetError, TransientTargetError
from dynamigrate.runstate import RunDir
from dynamigrate.target.encode import Encoded, ItemEncoder, fingerprint
from dynamigrate.target.retry import RetryPolicy
from dynamigrate.target.single_item import DeleteOutcome, delete_if_marker, remove_marker_if_unchanged
from dynamigrate.target.sinks import BatchResult, MemorySink, NullSink, RunDirSink
from dynamigrate.target.writer import TableWriter, WriteMode, WriterOptions

T = "Orders"
M = "_dm_marker"

CONTRACT_TABLE = {
    "table": T,
    "type": "single-entity",
    "source_table": "orders",
    "pk": "PK",
    "sk": "SK",
    "gsis": [{"index_name": "ByStatus", "pk": "status", "sk": "PK", "projection": "ALL"}],
    "attributes": [
        {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"},
        {"name": "SK", "type": "S", "source_table": "orders", "source_column": "sk"},
        {"name": "status", "type": "S", "source_table": "orders", "source_column": "status"},
        {"name": "version", "type": "N", "source_table": "orders", "source_column": "version"},
        {"name": "doc", "type": "L", "source_table": "orders", "source_column": "doc"},
    ],
}

ZERO = {
    "written": 0,
    "skipped": 0,
    "conflicts": 0,
    "rejected": 0,
    "unchanged": 0,
    "retries": 0,
    "throttles": 0,
    "retried_batches": 0,
    "transaction_retries": 0,
    "omitted_gsi_keys": 0,
}
NO_RETRIES = {"retries": 0, "throttles": 0, "transient_errors": 0, "gave_up": 0, "by_code": {}}
DEEP = "[" * 40 + "1" + "]" * 40  # DynamoDB refuses documents nested deeper than 32 levels


@pytest.fixture(scope="module")
def table() -> Table:
    contract, problems = parse_contract({"tables": [CONTRACT_TABLE]})
    assert contract is not None, [str(p) for p in problems]
    return contract.tables[0]


@pytest.fixture
def ddb() -> FakeDynamoDB:
    return FakeDynamoDB(**{T: ("PK", "SK")})


def row(i: int, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "PK": f"O#{i}",
        "SK": "A",
        "status": "NEW",
        "version": "1",
        "doc": "[1]",
        "_dm_entity": "orders",
        "_dm_rowid": i,
    }
    base.update(over)
    return base


def key(i: int) -> dict[str, Any]:
    return {"PK": {"S": f"O#{i}"}, "SK": {"S": "A"}}


def plain(i: int, status: str = "NEW", version: str = "1") -> dict[str, Any]:
    """The item row(i) becomes, without marker (hand-written)."""
    return {**key(i), "status": {"S": status}, "version": {"N": version}, "doc": {"L": [{"N": "1"}]}}


def marked(item: dict[str, Any], run_id: str = "run1") -> dict[str, Any]:
    return {**item, M: {"S": f"{run_id}:{fingerprint(item)}"}}


def counts(**over: int) -> dict[str, int]:
    return {**ZERO, **over}


def writer(ddb: Any, table: Table, sink: Any = None, name: str = T, **opts: Any) -> TableWriter:
    opts.setdefault("run_id", "run1")
    opts.setdefault("base_delay", 0.0001)
    opts.setdefault("max_delay", 0.0002)
    opts.setdefault("concurrency", 2)
    return TableWriter(ddb, name, table, WriterOptions(**opts), sink if sink is not None else MemorySink())


def write(
    ddb: Any, table: Table, rows: list[dict[str, Any]], **opts: Any
) -> tuple[dict[str, int], MemorySink, dict[str, Any]]:
    sink = MemorySink()
    marker = opts.get("marker_attribute", M)
    encoder = ItemEncoder(table, marker)
    with writer(ddb, table, sink, **opts) as w:
        result = w.write_batch([encoder.encode(r) for r in rows])
        return result.as_dict(), sink, w.policy.stats.as_dict()


def stats(**over: Any) -> dict[str, Any]:
    return {**NO_RETRIES, **over}


# -- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("opts", "message", "hint"),
    [
        ({"mode": "upsert"}, "unknown write mode 'upsert'", "use insert, sync, newer or overwrite"),
        ({"strategy": "batch"}, "unknown write strategy 'batch'", "use put or transact"),
        (
            {"mode": "sync", "marker_attribute": None},
            "sync mode needs markers (it only rewrites items the migration wrote and nobody changed)",
            "drop --no-marker, or use insert/newer/overwrite",
        ),
        (
            {"mode": "sync", "marker_attribute": ""},
            "sync mode needs markers (it only rewrites items the migration wrote and nobody changed)",
            "drop --no-marker, or use insert/newer/overwrite",
        ),
        ({"mode": "newer"}, "newer mode needs a version attribute", "pass --version-attribute NAME"),
        (
            {"mode": "newer", "version_attribute": ""},
            "newer mode needs a version attribute",
            "pass --version-attribute NAME",
        ),
        (
            {"transact_size": 0},
            "transact_size must be 1..100, not 0",
            "DynamoDB takes at most 100 items per transaction",
        ),
        (
            {"transact_size": 101},
            "transact_size must be 1..100, not 101",
            "DynamoDB takes at most 100 items per transaction",
        ),
        ({"concurrency": 0}, "concurrency must be >= 1, not 0", "e.g. 16 concurrent writes"),
    ],
)
def test_impossible_options_are_refused_with_the_fix(opts: dict[str, Any], message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        WriterOptions(**opts).validated()
    assert (err.value.message, err.value.hint) == (message, hint)


@pytest.mark.parametrize("mode", ["insert", "sync", "newer", "overwrite"])
def test_options_at_their_limits_are_accepted(mode: str) -> None:
    for transact_size, concurrency in ((1, 1), (100, 1)):
        opts = WriterOptions(
            mode=mode, version_attribute="version", transact_size=transact_size, concurrency=concurrency
        ).validated()
        assert opts.mode is WriteMode(mode)
        assert (opts.transact_size, opts.concurrency, opts.version_attribute) == (
            transact_size,
            concurrency,
            "version",
        )
    transact = WriterOptions(mode=WriteMode.SYNC, strategy="transact").validated()
    assert (transact.mode, transact.strategy) == (WriteMode.SYNC, "transact")


# -- insert ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_insert_writes_absent_items_and_skips_existing_ones(
    ddb: FakeDynamoDB, table: Table, strategy: str
) -> None:
    app = {**key(2), "status": {"S": "APP"}}
    ddb.put(T, app)
    result, sink, retry = write(ddb, table, [row(i) for i in range(1, 5)], strategy=strategy)
    assert result == counts(written=3, skipped=1)
    assert ddb.all(T) == [marked(plain(1)), app, marked(plain(3)), marked(plain(4))]
    assert sorted(sink.written, key=str) == sorted(
        [(key(i), f"run1:{fingerprint(plain(i))}") for i in (1, 3, 4)], key=str
    )
    assert sink.skipped == [(key(2), "exists")]
    assert (sink.conflicts, sink.rejected, sink.old_images, sink.retries) == ([], [], [], {})
    assert retry == NO_RETRIES


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_without_marker_the_items_are_written_as_encoded(
    ddb: FakeDynamoDB, table: Table, strategy: str
) -> None:
    result, sink, _ = write(ddb, table, [row(1), row(2)], strategy=strategy, marker_attribute=None)
    assert result == counts(written=2)
    assert ddb.all(T) == [plain(1), plain(2)]
    assert sorted(sink.written, key=str) == [(key(1), None), (key(2), None)]


def test_insert_of_a_table_with_a_pk_only(table: Table) -> None:
    raw = {**CONTRACT_TABLE, "sk": None, "gsis": []}
    contract, problems = parse_contract({"tables": [raw]})
    assert contract is not None, [str(p) for p in problems]
    ddb = FakeDynamoDB(**{T: ("PK",)})
    ddb.put(T, {"PK": {"S": "O#1"}, "status": {"S": "APP"}})
    result, sink, _ = write(ddb, contract.tables[0], [row(1), row(2)])
    assert result == counts(written=1, skipped=1)
    assert sink.skipped == [({"PK": {"S": "O#1"}}, "exists")]
    assert ddb.all(T)[0] == {"PK": {"S": "O#1"}, "status": {"S": "APP"}}


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_many_items_in_small_groups_all_land(ddb: FakeDynamoDB, table: Table, strategy: str) -> None:
    rows = [row(i) for i in range(230)]
    result, sink, _ = write(ddb, table, rows, strategy=strategy, concurrency=3, transact_size=7)
    assert result == counts(written=230)
    assert len(ddb.all(T)) == 230 and len(sink.written) == 230
    assert ddb.get(T, key(229)) == marked(plain(229))


# -- rows the writer does not send, and rows DynamoDB refuses ----------------------------------------


@pytest.mark.parametrize("mode", ["insert", "sync", "newer", "overwrite"])
def test_rows_the_encoder_rejected_are_counted_not_sent(ddb: FakeDynamoDB, table: Table, mode: str) -> None:
    rows = [row(1, PK=None), row(2, version="12abc"), row(3, status=""), row(4)]
    result, sink, _ = write(ddb, table, rows, mode=mode, version_attribute="version")
    assert result == counts(written=2, rejected=2, omitted_gsi_keys=1)
    assert [(r["code"], r["message"]) for r in sink.rejected] == [("null_key", None), ("bad_number", None)]
    assert sink.rejected[0]["reason"].startswith("key attribute 'PK'")
    assert "'version'" in sink.rejected[1]["reason"]
    assert sink.rejected[1]["key"] == key(2)
    item3 = {k: v for k, v in plain(3).items() if k != "status"}  # the GSI key left out, not ""
    assert ddb.all(T) == [marked(item3), marked(plain(4))]


def test_a_rejected_encoding_without_reason_or_code_is_still_rejected(
    ddb: FakeDynamoDB, table: Table
) -> None:
    sink = MemorySink()
    bare = Encoded(item=None, key=key(1))  # no item, no reason (a caller's bug): never sent, counted
    coded = Encoded(item=None, key=key(2), reject_code="too_large")
    with writer(ddb, table, sink) as w:
        result = w.write_batch([bare, coded])
    assert result.as_dict() == counts(rejected=2)
    assert sink.rejected == [
        {"key": key(1), "reason": "rejected", "code": "rejected", "message": None},
        {"key": key(2), "reason": "rejected", "code": "too_large", "message": None},
    ]
    assert ddb.all(T) == []


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_newer_rejects_rows_without_the_version(ddb: FakeDynamoDB, table: Table, strategy: str) -> None:
    result, sink, _ = write(
        ddb,
        table,
        [row(1, version=None), row(2)],
        mode="newer",
        version_attribute="version",
        strategy=strategy,
    )
    assert result == counts(written=1, rejected=1)
    assert sink.rejected == [
        {
            "key": key(1),
            "reason": "version attribute 'version' is absent (NULL) in the row",
            "code": "missing_version",
            "message": None,
        }
    ]
    assert ddb.all(T) == [marked(plain(2))]


@pytest.mark.parametrize(
    ("mode", "strategy", "keep"),
    [
        ("insert", "put", False),
        ("insert", "transact", False),
        ("newer", "put", False),
        ("newer", "transact", False),
        ("sync", "put", False),
        ("sync", "transact", False),
        ("overwrite", "put", False),
        ("overwrite", "put", True),
    ],
)
def test_an_item_dynamodb_refuses_is_a_rejected_row_with_its_message(
    ddb: FakeDynamoDB, table: Table, mode: str, strategy: str, keep: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the encoder rejects documents nested deeper than DynamoDB keeps (test_encode.py); lifted here so
    # that DynamoDB's own refusal of one item is what the writer has to record
    monkeypatch.setattr("dynamigrate.target.encode.MAX_NESTING", 100)
    rows = [row(1), row(2, doc=DEEP), row(3)]
    result, sink, retry = write(
        ddb, table, rows, mode=mode, strategy=strategy, version_attribute="version", keep_old_images=keep
    )
    assert result == counts(written=2, rejected=1)
    assert sink.rejected == [
        {
            "key": key(2),
            "reason": "DynamoDB refused the item (ValidationException)",
            "code": "write_failed",
            "message": "Nesting Levels have exceeded supported limits: "
            "Attributes in the item have nested levels beyond supported limit",
        }
    ]
    assert ddb.all(T) == [marked(plain(1)), marked(plain(3))]
    assert sorted(sink.written, key=str) == [(key(i), f"run1:{fingerprint(plain(i))}") for i in (1, 3)]
    assert retry == NO_RETRIES


@pytest.mark.parametrize(
    ("mode", "strategy"),
    [("insert", "put"), ("insert", "transact"), ("sync", "put"), ("overwrite", "put"), ("newer", "transact")],
)
def test_a_missing_table_fails_the_table_not_a_row(table: Table, mode: str, strategy: str) -> None:
    ddb = FakeDynamoDB(Other=("PK", "SK"))
    sink = MemorySink()
    encoder = ItemEncoder(table, M)
    w = writer(ddb, table, sink, mode=mode, strategy=strategy, version_attribute="version")
    with w, pytest.raises(TargetError) as err:
        w.write_batch([encoder.encode(row(1)), encoder.encode(row(2))])
    assert err.value.code == "DM530"
    assert (
        err.value.message
        == "DynamoDB refused the table: ResourceNotFoundException: Requested resource not found"
    )
    assert err.value.where == {"table": T}
    assert err.value.hint is not None and err.value.hint.startswith(f"{T} does not exist")
    assert (sink.rejected, sink.written) == ([], [])


def test_a_terminal_error_reading_images_names_dynamodb_s_answer(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script(
        "BatchGetItem", Fault(error=client_error("BatchGetItem", "ValidationException", "bad projection"))
    )
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, mode="sync") as w, pytest.raises(TargetError) as err:
        w.write_batch([encoder.encode(row(1))])
    assert not isinstance(err.value, TransientTargetError)
    assert err.value.message == "DynamoDB refused the request: ValidationException: bad projection"
    assert err.value.where == {"table": T}
    assert ddb.all(T) == []


# -- retries -------------------------------------------------------------------------------------------


def throttle(op: str) -> Fault:
    return Fault(error=client_error(op, "ProvisionedThroughputExceededException", "slow down"))


def error500(op: str) -> Fault:
    return Fault(error=client_error(op, "InternalServerError", "oops", 500))


@pytest.mark.parametrize("mode", ["insert", "newer", "sync"])
def test_put_retries_throttling_and_server_errors_counted(ddb: FakeDynamoDB, table: Table, mode: str) -> None:
    ddb.script("PutItem", throttle("PutItem"), error500("PutItem"), throttle("PutItem"))
    result, sink, retry = write(ddb, table, [row(1)], mode=mode, version_attribute="version")
    assert result == counts(written=1, retries=3, throttles=2)
    assert sink.retries == {"throttle": 2, "transient": 1}
    assert retry == stats(
        retries=3,
        throttles=2,
        transient_errors=1,
        by_code={"ProvisionedThroughputExceededException": 2, "InternalServerError": 1},
    )
    assert ddb.all(T) == [marked(plain(1))]


def test_put_gives_up_after_max_attempts(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("PutItem", *[throttle("PutItem")] * 3)
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, max_attempts=3) as w:
        with pytest.raises(TransientTargetError) as err:
            w.write_batch([encoder.encode(row(1))])
        assert w.policy.stats.as_dict() == stats(
            retries=2, throttles=2, gave_up=1, by_code={"ProvisionedThroughputExceededException": 2}
        )
    assert err.value.message == (
        f"PutItem on {T} still failing after 3 attempts: ProvisionedThroughputExceededException: slow down"
    )
    assert ddb.all(T) == []


@pytest.mark.parametrize(
    ("mode", "old"),
    [("insert", None), ("newer", None), ("sync", "read"), ("overwrite", None)],
)
def test_a_lost_answer_counts_the_item_written_once(
    ddb: FakeDynamoDB, table: Table, mode: str, old: str | None
) -> None:
    """The put is applied, its answer lost (500); the retry meets our own item: written, once."""
    before = marked(plain(1, version="0"), run_id="run0")
    if mode in ("sync", "newer"):
        ddb.put(T, before)
    ddb.script("PutItem", Fault(lose_answer=True))
    keep = mode == "overwrite"
    result, sink, retry = write(
        ddb, table, [row(1)], mode=mode, version_attribute="version", keep_old_images=keep
    )
    assert result == counts(written=1, retries=1)
    assert sink.written == [(key(1), f"run1:{fingerprint(plain(1))}")]
    assert (sink.skipped, sink.conflicts) == ([], [])
    # sync knows the image it replaced (read first); newer/put only learns it from the lost answer;
    # overwrite's second put returns our own first write (rollback skips images carrying the run's marker)
    if old == "read":
        assert sink.old_images == [(key(1), before)]
    elif mode == "overwrite":
        assert sink.old_images == [(key(1), marked(plain(1)))]
    else:
        assert sink.old_images == []
    assert ddb.all(T) == [marked(plain(1))]
    assert retry == stats(retries=1, transient_errors=1, by_code={"InternalServerError": 1})


def test_an_item_equal_to_ours_but_from_another_row_is_not_ours(ddb: FakeDynamoDB, table: Table) -> None:
    """Same content, other marker (another run) or same marker, other content: skipped, not written."""
    other_run = marked(plain(1), run_id="run0")
    ddb.put(T, other_run)
    ours_changed = {**marked(plain(2)), "status": {"S": "APP"}}
    ddb.put(T, ours_changed)
    result, sink, _ = write(ddb, table, [row(1), row(2)])
    assert result == counts(skipped=2)
    assert sorted(sink.skipped, key=str) == [(key(1), "exists"), (key(2), "exists")]
    assert ddb.all(T) == [other_run, ours_changed]


def test_a_resumed_batch_counts_our_earlier_items_written(ddb: FakeDynamoDB, table: Table) -> None:
    for i in (1, 2):
        ddb.put(T, marked(plain(i)))
    for strategy in ("put", "transact"):
        result, sink, _ = write(
            ddb, table, [row(1), row(2), row(3 if strategy == "put" else 4)], strategy=strategy
        )
        assert result == counts(written=3)
        assert sink.skipped == []
    assert ddb.all(T) == [marked(plain(i)) for i in (1, 2, 3, 4)]


# -- duplicate keys in one batch ----------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_a_key_repeated_in_a_batch_keeps_the_first_row(
    ddb: FakeDynamoDB, table: Table, strategy: str
) -> None:
    rows = [row(1), row(1, status="SECOND"), row(2), row(1, status="THIRD")]
    result, sink, _ = write(ddb, table, rows, strategy=strategy)
    assert result == counts(written=2, skipped=2)
    assert sink.skipped == [(key(1), "duplicate_key"), (key(1), "duplicate_key")]
    assert ddb.all(T) == [marked(plain(1)), marked(plain(2))]


def test_a_repeated_key_meeting_someone_elses_item_is_a_duplicate_too(
    ddb: FakeDynamoDB, table: Table
) -> None:
    ddb.put(T, {**key(1), "status": {"S": "APP"}})
    result, sink, _ = write(ddb, table, [row(1), row(1, status="SECOND")])
    assert result == counts(skipped=2)
    assert sink.skipped == [(key(1), "exists"), (key(1), "duplicate_key")]


def test_overwrite_with_a_repeated_key_keeps_the_last_row(ddb: FakeDynamoDB, table: Table) -> None:
    rows = [row(1), row(1, status="SECOND"), row(2)]
    result, sink, _ = write(ddb, table, rows, mode="overwrite")
    assert result == counts(written=3)
    assert ddb.all(T) == [marked(plain(1, status="SECOND")), marked(plain(2))]
    assert [m for k, m in sink.written if k == key(1)] == [
        f"run1:{fingerprint(plain(1))}",
        f"run1:{fingerprint(plain(1, status='SECOND'))}",
    ]


def test_sync_with_a_repeated_key_ends_with_the_last_row(ddb: FakeDynamoDB, table: Table) -> None:
    rows = [row(1), row(1, status="SECOND")]
    result, sink, _ = write(ddb, table, rows, mode="sync")
    assert result == counts(written=2)
    assert ddb.all(T) == [marked(plain(1, status="SECOND"))]
    assert sink.old_images == [(key(1), marked(plain(1)))]


# -- newer ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_newer_replaces_only_older_versions(ddb: FakeDynamoDB, table: Table, strategy: str) -> None:
    older = {**key(1), "version": {"N": "1"}, "status": {"S": "OLD"}}
    same = {**key(2), "version": {"N": "2"}, "status": {"S": "SAME"}}
    newer = {**key(3), "version": {"N": "10"}, "status": {"S": "NEWER"}}
    unversioned = {**key(4), "status": {"S": "APP"}}
    for item in (older, same, newer, unversioned):
        ddb.put(T, item)
    rows = [row(i, version="2") for i in range(1, 6)]
    result, sink, _ = write(ddb, table, rows, mode="newer", version_attribute="version", strategy=strategy)
    assert result == counts(written=2, skipped=3)
    assert sorted(sink.skipped, key=str) == [(key(i), "not_newer") for i in (2, 3, 4)]
    assert ddb.all(T) == [
        marked(plain(1, version="2")),
        same,
        newer,
        unversioned,
        marked(plain(5, version="2")),
    ]
    assert sink.old_images == [(key(1), older)]
    assert sink.conflicts == []


# -- sync ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_sync_decides_per_item(ddb: FakeDynamoDB, table: Table, strategy: str) -> None:
    ours_unchanged = marked(plain(2))
    ours_old = marked(plain(3, status="OLD"), run_id="run0")
    app = {**key(4), "status": {"S": "APP"}}
    ours_then_changed = {**marked(plain(5, status="OLD")), "status": {"S": "APP CHANGED"}}
    for item in (ours_unchanged, ours_old, app, ours_then_changed):
        ddb.put(T, item)
    result, sink, _ = write(ddb, table, [row(i) for i in range(1, 6)], mode="sync", strategy=strategy)
    assert result == counts(written=2, skipped=1, unchanged=1, conflicts=2)
    assert sink.skipped == [(key(2), "unchanged")]
    assert sorted(sink.conflicts, key=str) == [
        (key(4), "not_written_by_migration"),
        (key(5), "changed_since_migration_wrote_it"),
    ]
    assert sorted(sink.written, key=str) == sorted(
        [(key(1), f"run1:{fingerprint(plain(1))}"), (key(3), f"run1:{fingerprint(plain(3))}")], key=str
    )
    assert sink.old_images == [(key(3), ours_old)]
    assert ddb.all(T) == [marked(plain(1)), ours_unchanged, marked(plain(3)), app, ours_then_changed]


def test_sync_reads_more_keys_than_one_request_takes(ddb: FakeDynamoDB, table: Table) -> None:
    for i in range(0, 250, 2):
        ddb.put(T, marked(plain(i)))  # every other item is ours, unchanged
    result, _, _ = write(ddb, table, [row(i) for i in range(250)], mode="sync", concurrency=3)
    assert result == counts(written=125, skipped=125, unchanged=125)
    assert ddb.all(T) == [marked(plain(i)) for i in sorted(range(250), key=lambda i: f"O#{i}")]


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_sync_racing_with_the_application_is_a_conflict(
    ddb: FakeDynamoDB, table: Table, strategy: str
) -> None:
    ours_old = marked(plain(2, status="OLD"), run_id="run0")
    ddb.put(T, ours_old)
    app1 = {**key(1), "status": {"S": "APP CREATED"}}
    app2 = {**key(2), "status": {"S": "APP CHANGED"}, M: {"S": "app:x"}}

    def application() -> None:  # between the writer's read and its write
        ddb.put(T, app1)
        ddb.put(T, app2)

    op = "TransactWriteItems" if strategy == "transact" else "PutItem"
    ddb.script(op, Fault(before=application))
    result, sink, _ = write(ddb, table, [row(1), row(2)], mode="sync", strategy=strategy, concurrency=1)
    assert result == counts(conflicts=2)
    assert sorted(sink.conflicts, key=str) == [
        (key(1), "created_concurrently"),
        (key(2), "changed_concurrently"),
    ]
    assert ddb.all(T) == [app1, app2]
    assert (sink.written, sink.old_images) == ([], [])


def test_sync_detects_a_rewrite_that_kept_our_marker_after_the_fact(ddb: FakeDynamoDB, table: Table) -> None:
    ours_old = marked(plain(1, status="OLD"), run_id="run0")
    ddb.put(T, ours_old)
    rewritten = {**ours_old, "status": {"S": "APP REWROTE"}}  # the marker kept
    ddb.script("PutItem", Fault(before=lambda: ddb.put(T, rewritten)))
    result, sink, _ = write(ddb, table, [row(1)], mode="sync")
    assert result == counts(written=1, conflicts=1)
    assert sink.conflicts == [(key(1), "overwrote_concurrent_change (old image kept)")]
    assert sink.old_images == [(key(1), rewritten)]
    assert ddb.all(T) == [marked(plain(1))]


def test_sync_old_image_without_marker_attribute_is_a_concurrent_change(
    ddb: FakeDynamoDB, table: Table
) -> None:
    ours_old = marked(plain(1, status="OLD"), run_id="run0")
    ddb.put(T, ours_old)
    # the application rewrote the item with our marker value but dropped nothing else: fingerprint differs
    rewritten_same_marker = {**ours_old, "version": {"N": "7"}}
    ddb.script("PutItem", Fault(before=lambda: ddb.put(T, rewritten_same_marker)))
    result, sink, _ = write(ddb, table, [row(1)], mode="sync")
    assert result == counts(written=1, conflicts=1)
    assert sink.old_images == [(key(1), rewritten_same_marker)]


def test_sync_unprocessed_keys_are_read_again_and_counted(ddb: FakeDynamoDB, table: Table) -> None:
    for i in (1, 2, 3):
        ddb.put(T, marked(plain(i)))
    ddb.script("BatchGetItem", Fault(unprocessed=2), Fault(unprocessed=1))
    result, sink, retry = write(ddb, table, [row(i) for i in (1, 2, 3)], mode="sync")
    assert result == counts(skipped=3, unchanged=3, retries=2, throttles=2)
    assert sink.retries == {"throttle": 2}
    assert retry == stats(retries=2, throttles=2, by_code={"UnprocessedKeys": 2})


def test_sync_gives_up_on_keys_left_unprocessed(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("BatchGetItem", Fault(unprocessed=2), Fault(unprocessed=2))
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, mode="sync", max_attempts=2) as w, pytest.raises(TransientTargetError) as err:
        w.write_batch([encoder.encode(row(i)) for i in (1, 2, 3)])
    assert err.value.message == f"BatchGetItem on {T}: 2 keys still unprocessed after 2 attempts"
    assert err.value.hint == "DynamoDB is throttling reads; raise capacity or lower --concurrency"
    assert ddb.all(T) == []


def test_sync_read_throttled_is_retried_and_counted(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("BatchGetItem", throttle("BatchGetItem"))
    result, _sink, retry = write(ddb, table, [row(1)], mode="sync")
    assert result == counts(written=1, retries=1, throttles=1)
    assert retry == stats(retries=1, throttles=1, by_code={"ProvisionedThroughputExceededException": 1})


def test_newer_transact_reads_old_images_consistently(ddb: FakeDynamoDB, table: Table) -> None:
    older = {**key(1), "version": {"N": "1"}}
    ddb.put(T, older)
    ddb.script("BatchGetItem", Fault(unprocessed=1))
    result, sink, _ = write(
        ddb,
        table,
        [row(1, version="5"), row(2, version="5")],
        mode="newer",
        version_attribute="version",
        strategy="transact",
    )
    assert result == counts(written=2, retries=1, throttles=1)
    assert sink.old_images == [(key(1), older)]


# -- overwrite -----------------------------------------------------------------------------------------


def test_overwrite_replaces_everything_in_batches(ddb: FakeDynamoDB, table: Table) -> None:
    app = {**key(3), "status": {"S": "APP"}}
    ddb.put(T, app)
    result, sink, retry = write(ddb, table, [row(i) for i in range(60)], mode="overwrite", concurrency=2)
    assert result == counts(written=60)
    assert len(sink.written) == 60 and len({json.dumps(k, sort_keys=True) for k, _ in sink.written}) == 60
    assert ddb.get(T, key(3)) == marked(plain(3))
    assert sink.old_images == []
    assert retry == NO_RETRIES


def test_overwrite_keep_old_images(ddb: FakeDynamoDB, table: Table) -> None:
    app = {**key(3), "status": {"S": "APP"}}
    ddb.put(T, app)
    result, sink, _ = write(ddb, table, [row(i) for i in range(1, 5)], mode="overwrite", keep_old_images=True)
    assert result == counts(written=4)
    assert sink.old_images == [(key(3), app)]
    assert ddb.all(T) == [marked(plain(i)) for i in range(1, 5)]


def test_overwrite_unprocessed_items_are_sent_again_and_counted(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("BatchWriteItem", Fault(unprocessed=3), Fault(unprocessed=1))
    result, sink, retry = write(ddb, table, [row(i) for i in range(10)], mode="overwrite")
    assert result == counts(written=10, retries=2, throttles=2, retried_batches=2)
    assert len(sink.written) == 10 and len({json.dumps(k, sort_keys=True) for k, _ in sink.written}) == 10
    assert sink.retries == {"throttle": 2}
    assert retry == stats(retries=2, throttles=2, by_code={"UnprocessedItems": 2})
    assert ddb.all(T) == sorted((marked(plain(i)) for i in range(10)), key=lambda it: it["PK"]["S"])


def test_overwrite_gives_up_on_items_left_unprocessed(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("BatchWriteItem", Fault(unprocessed=3), Fault(unprocessed=3))
    sink = MemorySink()
    encoder = ItemEncoder(table, M)
    w = writer(ddb, table, sink, mode="overwrite", max_attempts=2)
    with w, pytest.raises(TransientTargetError) as err:
        w.write_batch([encoder.encode(row(i)) for i in range(5)])
    assert err.value.code == "DM520"
    assert err.value.message == f"BatchWriteItem on {T}: 3 items still unprocessed after 2 attempts"
    assert err.value.hint == (
        "DynamoDB is throttling writes; raise capacity or lower --concurrency; the run can be resumed"
    )
    assert len(ddb.all(T)) == 2 and len(sink.written) == 2  # what was written is recorded


def test_overwrite_throttled_request_is_retried_and_counted(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("BatchWriteItem", throttle("BatchWriteItem"), error500("BatchWriteItem"))
    result, sink, _retry = write(ddb, table, [row(1), row(2)], mode="overwrite")
    assert result == counts(written=2, retries=2, throttles=1, retried_batches=2)
    assert sink.retries == {"throttle": 1, "transient": 1}


# -- transactions --------------------------------------------------------------------------------------


def cancel(**reasons: dict[str, Any]) -> Fault:
    return Fault(reasons={int(i.lstrip("_")): r for i, r in reasons.items()})


def test_transaction_reasons_retry_reject_or_skip_per_item(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.put(T, {**key(3), "status": {"S": "APP"}})
    ddb.script(
        "TransactWriteItems",
        cancel(
            _1={"Code": "ThrottlingError", "Message": "slow"},
            _4={"Code": "ValidationException", "Message": "bad item"},
        ),
        cancel(_0={"Code": "TransactionConflict"}, _2={"Code": "ItemCollectionSizeLimitExceeded"}),
    )
    result, sink, retry = write(ddb, table, [row(i) for i in range(6)], strategy="transact")
    # round 1: 1 throttled (retry), 3 exists (skip), 4 refused; 0, 2, 5 innocent -> retried
    # round 2 (0, 1, 2, 5): 0 conflict (retry), 2 refused without message; 1, 5 innocent -> retried
    assert result == counts(written=3, skipped=1, rejected=2, retries=2, throttles=1, transaction_retries=2)
    assert sink.skipped == [(key(3), "exists")]
    assert sink.rejected == [
        {
            "key": key(4),
            "reason": "DynamoDB refused the item (ValidationException)",
            "code": "write_failed",
            "message": "bad item",
        },
        {
            "key": key(2),
            "reason": "DynamoDB refused the item (ItemCollectionSizeLimitExceeded)",
            "code": "write_failed",
            "message": "ItemCollectionSizeLimitExceeded",
        },
    ]
    assert retry == stats(retries=2, throttles=1, transient_errors=1, by_code={"TransactionCanceled": 2})
    assert sink.retries == {"throttle": 1, "transient": 1}
    assert [it["PK"]["S"] for it in ddb.all(T)] == ["O#0", "O#1", "O#3", "O#5"]


def test_transaction_reason_about_the_table_fails_the_table(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script(
        "TransactWriteItems",
        cancel(_1={"Code": "ValidationException", "Message": "Type mismatch for key PK"}),
    )
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, strategy="transact") as w, pytest.raises(TargetError) as err:
        w.write_batch([encoder.encode(row(i)) for i in range(3)])
    assert err.value.code == "DM530"
    assert err.value.message == "DynamoDB refused the table: ValidationException: Type mismatch for key PK"
    assert err.value.where == {"table": T}


def test_transaction_reason_code_about_the_table_without_message(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("TransactWriteItems", cancel(_0={"Code": "AccessDeniedException"}))
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, strategy="transact") as w, pytest.raises(TargetError) as err:
        w.write_batch([encoder.encode(row(1))])
    assert err.value.message == "DynamoDB refused the table: AccessDeniedException: AccessDeniedException"


def test_a_cancellation_without_reasons_is_resolved_item_by_item(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.put(T, {**key(1), "status": {"S": "APP"}})
    ddb.script(
        "TransactWriteItems",
        Fault(error=client_error("TransactWriteItems", "TransactionCanceledException", "cancelled")),
    )
    result, sink, retry = write(ddb, table, [row(i) for i in range(3)], strategy="transact")
    assert result == counts(written=2, skipped=1)
    assert sink.skipped == [(key(1), "exists")]
    assert retry == NO_RETRIES


def test_transaction_cancelled_with_only_innocent_reasons_is_a_counted_retry(
    ddb: FakeDynamoDB, table: Table
) -> None:
    ddb.script("TransactWriteItems", cancel(), cancel())  # every reason "None"
    result, sink, retry = write(ddb, table, [row(1), row(2)], strategy="transact")
    assert result == counts(written=2, retries=2, transaction_retries=2)
    assert sink.retries == {"transient": 2}
    assert retry == stats(retries=2, transient_errors=2, by_code={"TransactionCanceled": 2})


def cancelled_all_none() -> Fault:
    return Fault(
        error=client_error(
            "TransactWriteItems",
            "TransactionCanceledException",
            "Transaction cancelled",
            CancellationReasons=[{"Code": "None"}],
        )
    )


def test_transaction_cancelled_again_and_again_gives_up(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("TransactWriteItems", *[cancelled_all_none() for _ in range(3)])
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, strategy="transact", max_attempts=3) as w:
        with pytest.raises(TransientTargetError) as err:
            w.write_batch([encoder.encode(row(1))])
        assert w.policy.stats.as_dict() == stats(
            retries=2, transient_errors=2, gave_up=1, by_code={"TransactionCanceled": 2}
        )
    assert err.value.message == (
        f"TransactWriteItems on {T} still failing after 3 attempts: TransactionCanceledException: "
        "Transaction cancelled"
    )
    assert ddb.all(T) == []


@pytest.mark.parametrize(
    ("fault", "kind", "code", "last_error"),
    [
        (
            throttle("TransactWriteItems"),
            "throttle",
            "ProvisionedThroughputExceededException",
            "ProvisionedThroughputExceededException: slow down",
        ),
        (error500("TransactWriteItems"), "transient", "InternalServerError", "InternalServerError: oops"),
        (
            Fault(error=client_error("TransactWriteItems", "", "busy", 503)),  # a 5xx without error code
            "transient",
            "ClientError",
            "ClientError: busy",
        ),
        (
            Fault(error=ConnectionClosedError(endpoint_url="http://x")),
            "transient",
            "ConnectionClosedError",
            "ConnectionClosedError: Connection was closed before we received a valid response from endpoint "
            'URL: "http://x".',
        ),
    ],
)
def test_transaction_errors_are_retried_counted_and_capped(
    ddb: FakeDynamoDB, table: Table, fault: Fault, kind: str, code: str, last_error: str
) -> None:
    ddb.script("TransactWriteItems", fault, fault)
    result, sink, retry = write(ddb, table, [row(1), row(2)], strategy="transact")
    throttles = 2 if kind == "throttle" else 0
    assert result == counts(written=2, retries=2, throttles=throttles, transaction_retries=2)
    assert sink.retries == {kind: 2}
    assert retry == stats(retries=2, throttles=throttles, transient_errors=2 - throttles, by_code={code: 2})
    ddb.script("TransactWriteItems", fault, fault)
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, strategy="transact", max_attempts=2) as w:
        with pytest.raises(TransientTargetError) as err:
            w.write_batch([encoder.encode(row(3))])
        assert w.policy.stats.gave_up == 1
    assert err.value.message == f"TransactWriteItems on {T} still failing after 2 attempts: {last_error}"
    assert ddb.get(T, key(3)) is None


def test_an_unexpected_exception_in_a_transaction_propagates(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("TransactWriteItems", Fault(error=RuntimeError("bug")))
    encoder = ItemEncoder(table, M)
    w = writer(ddb, table, strategy="transact")
    with w, pytest.raises(RuntimeError, match="bug"):
        w.write_batch([encoder.encode(row(1))])
    assert w.policy.stats.as_dict() == NO_RETRIES


def test_transaction_lost_answer_is_our_own_write(ddb: FakeDynamoDB, table: Table) -> None:
    """A transaction applied whose answer was lost: the retry's conditions fail on our own items."""
    state: dict[str, Any] = {}

    def apply_then_lose() -> None:
        encoder = ItemEncoder(table, M)
        for i in (1, 2):
            e = encoder.encode(row(i))
            ddb.put(T, {**(e.item or {}), M: {"S": f"run1:{e.fingerprint}"}})
        state["done"] = True

    ddb.script(
        "TransactWriteItems", Fault(before=apply_then_lose, error=error500("TransactWriteItems").error)
    )
    result, sink, _ = write(ddb, table, [row(1), row(2)], strategy="transact")
    assert state == {"done": True}
    assert result == counts(written=2, retries=1, transaction_retries=1)
    assert sink.skipped == []
    assert ddb.all(T) == [marked(plain(1)), marked(plain(2))]


# -- sinks ---------------------------------------------------------------------------------------------


def test_write_batch_flushes_written_records_to_the_run_dir(
    ddb: FakeDynamoDB, table: Table, tmp_path: Path
) -> None:
    run = RunDir.create(tmp_path, run_id="run1")
    sink = RunDirSink(run, T)
    encoder = ItemEncoder(table, M)
    with writer(ddb, table, sink) as w:
        w.write_batch([encoder.encode(row(1))])
        # a batch that fails half-way: what was written before the failure is on disk too
        ddb.script("PutItem", *[throttle("PutItem")] * 10)
        with pytest.raises(TransientTargetError):
            w.write_batch([encoder.encode(row(2))])
    assert list(run.read_lines(run.written_file(T))) == [
        {"key": {"PK": {"S": "O#1"}, "SK": {"S": "A"}}, "marker": f"run1:{fingerprint(plain(1))}"}
    ]
    assert sink.counters == {"written": 1, "retries": 9, "throttles": 9}


def test_write_batch_flush_after_a_failure_keeps_earlier_items(
    ddb: FakeDynamoDB, table: Table, tmp_path: Path
) -> None:
    run = RunDir.create(tmp_path, run_id="run1")
    sink = RunDirSink(run, T)
    encoder = ItemEncoder(table, M)
    ddb.script("PutItem", Fault(), *[throttle("PutItem")] * 2)
    with writer(ddb, table, sink, concurrency=1, max_attempts=2) as w, pytest.raises(TransientTargetError):
        w.write_batch([encoder.encode(row(1)), encoder.encode(row(2))])
    assert [r["key"]["PK"]["S"] for r in run.read_lines(run.written_file(T))] == ["O#1"]


class _TaskBuffer:
    """A stand-in for a RunDir without shared writers (a Spark task's buffer)."""

    def __init__(self) -> None:
        self.files: dict[str, list[Any]] = {}

    def append(self, name: str, obj: Any) -> None:
        self.files.setdefault(name, []).append(obj)

    def written_file(self, table: str) -> str:
        return f"written/{table}.jsonl"

    def old_images_file(self, table: str) -> str:
        return f"old_images/{table}.jsonl"


def test_run_dir_sink_on_a_task_buffer_and_its_counters() -> None:
    buf = _TaskBuffer()
    sink = RunDirSink(buf, T)
    sink.flush()
    assert buf.files == {}  # nothing buffered: nothing appended
    sink.on_written(key(1), "run1:a")
    sink.on_written(key(2), None)
    assert buf.files == {}  # buffered until flushed
    sink.flush()
    sink.flush()
    assert buf.files == {
        "written/Orders.jsonl": [{"key": key(1), "marker": "run1:a"}, {"key": key(2), "marker": None}]
    }
    sink.on_old_image(key(1), {**key(1), "b": {"B": b"\x01"}})
    (old,) = buf.files["old_images/Orders.jsonl"]
    assert (old["key"], old["old"]) == (key(1), {**key(1), "b": {"B": "AQ=="}})
    assert isinstance(old["ts"], float) and old["ts"] > 1.7e9
    sink.on_conflict(key(2), "created_concurrently")
    assert buf.files["conflicts.jsonl"] == [{"table": T, "key": key(2), "reason": "created_concurrently"}]
    sink.on_rejected(key(3), "DynamoDB refused the item (X)", "write_failed", "msg")
    assert buf.files["rejected.jsonl"] == [
        {
            "table": T,
            "entity": None,
            "key": key(3),
            "reason": "DynamoDB refused the item (X)",
            "code": "write_failed",
            "message": "msg",
            "row": None,
        }
    ]
    sink.on_skipped(key(4), "exists")
    sink.on_skipped(key(5), "exists")
    sink.on_retry("throttle", "batch")
    sink.on_retry("transient", "transaction")
    sink.on_retry("transient")
    assert sink.counters == {
        "written": 2,
        "old_images": 1,
        "conflicts": 1,
        "rejected": 1,
        "rejected:write_failed": 1,
        "skipped": 2,
        "skipped:exists": 2,
        "retries": 3,
        "throttles": 1,
        "retried_batches": 1,
        "transaction_retries": 1,
    }


def test_memory_and_null_sinks_and_batch_result() -> None:
    sink = MemorySink()
    sink.on_retry("throttle", "batch")
    sink.on_retry("throttle")
    sink.on_retry("transient")
    sink.on_old_image(key(1), {"a": {"S": "x"}})
    sink.on_conflict(key(1), "r")
    sink.on_skipped(key(2), "s")
    sink.on_written(key(3), "m")
    assert sink.retries == {"throttle": 2, "transient": 1}
    assert (sink.old_images, sink.conflicts, sink.skipped, sink.written) == (
        [(key(1), {"a": {"S": "x"}})],
        [(key(1), "r")],
        [(key(2), "s")],
        [(key(3), "m")],
    )
    null = NullSink()
    for call in (
        lambda: null.on_written(key(1), None),
        lambda: null.on_skipped(key(1), "x"),
        lambda: null.on_conflict(key(1), "x"),
        lambda: null.on_rejected(key(1), "x", "y", None),
        lambda: null.on_old_image(key(1), {}),
        lambda: null.on_retry("throttle"),
    ):
        assert call() is None
    a = BatchResult(**{name: i + 1 for i, name in enumerate(ZERO)})
    b = BatchResult(**{name: 10 * (i + 1) for i, name in enumerate(ZERO)})
    a.add(b)
    assert a.as_dict() == {name: 11 * (i + 1) for i, name in enumerate(ZERO)}
    assert list(a.as_dict()) == list(ZERO)


def test_a_writer_without_sink_still_counts(ddb: FakeDynamoDB, table: Table) -> None:
    encoder = ItemEncoder(table, M)
    with TableWriter(ddb, T, table, WriterOptions(run_id="run1")) as w:
        result = w.write_batch([encoder.encode(row(1)), encoder.encode(row(1, status="X"))])
    assert result.as_dict() == counts(written=1, skipped=1)
    assert ddb.all(T) == [marked(plain(1))]


# -- single-item helpers -------------------------------------------------------------------------------


def test_delete_if_marker_deletes_only_our_item(ddb: FakeDynamoDB) -> None:
    ours = {**key(1), "status": {"S": "X"}, "_m": {"S": "run1:aa"}}
    theirs = {**key(2), "status": {"S": "Y"}, "_m": {"S": "app"}}
    ddb.put(T, ours)
    ddb.put(T, theirs)
    policy = RetryPolicy(3, 0.0001, 0.0002)
    ddb.script("DeleteItem", throttle("DeleteItem"))
    deleted = delete_if_marker(ddb, T, key(1), "run1:aa", "_m", policy=policy)
    assert bool(deleted) is True
    assert tuple(deleted) == ("deleted", ours)
    assert (deleted[0], deleted[1]) == ("deleted", ours)
    assert policy.stats.as_dict() == stats(
        retries=1, throttles=1, by_code={"ProvisionedThroughputExceededException": 1}
    )
    conflict = delete_if_marker(ddb, T, key(2), "run1:bb", "_m")
    assert bool(conflict) is False and tuple(conflict) == ("conflict", theirs)
    absent = delete_if_marker(ddb, T, key(3), "run1:cc", "_m")
    assert bool(absent) is False and tuple(absent) == ("absent", None)
    assert ddb.all(T) == [theirs]
    assert delete_if_marker(ddb, T, key(2), "app", "_m").outcome == "deleted"
    # the default marker attribute
    ddb.put(T, {**key(4), M: {"S": "run1:dd"}})
    assert delete_if_marker(ddb, T, key(4), "run1:dd").outcome == "deleted"
    assert ddb.all(T) == []


def test_delete_if_marker_errors(ddb: FakeDynamoDB) -> None:
    ddb.script("DeleteItem", Fault(error=client_error("DeleteItem", "ValidationException", "no")))
    with pytest.raises(Exception) as err:
        delete_if_marker(ddb, T, key(1), "run1:aa")
    assert getattr(err.value, "response", {})["Error"]["Code"] == "ValidationException"
    ddb.script("DeleteItem", *[throttle("DeleteItem")] * 2)
    with pytest.raises(TransientTargetError) as gave_up:
        delete_if_marker(ddb, T, key(1), "run1:aa", policy=RetryPolicy(2, 0.0001, 0.0002))
    assert gave_up.value.message.startswith(f"DeleteItem on {T} still failing after 2 attempts")
    with pytest.raises(TransientTargetError):  # the default policy retries too (10 attempts)
        ddb.script("DeleteItem", *[throttle("DeleteItem")] * 10)
        delete_if_marker(ddb, T, key(1), "run1:aa", policy=RetryPolicy(10, 0.0001, 0.0002))
    ddb.script("DeleteItem", throttle("DeleteItem"))
    assert tuple(delete_if_marker(ddb, T, key(1), "run1:aa")) == ("absent", None)


def test_remove_marker_if_unchanged(ddb: FakeDynamoDB) -> None:
    ddb.put(T, {**key(1), "status": {"S": "X"}, "_m": {"S": "run1:aa"}})
    ddb.put(T, {**key(2), "status": {"S": "Y"}, "_m": {"S": "app"}})
    ddb.script("UpdateItem", throttle("UpdateItem"))
    assert remove_marker_if_unchanged(ddb, T, key(1), "run1:aa", "_m") == "removed"
    assert remove_marker_if_unchanged(ddb, T, key(2), "run1:bb", "_m") == "changed"
    assert remove_marker_if_unchanged(ddb, T, key(3), "run1:cc", "_m") == "changed"
    assert ddb.all(T) == [
        {**key(1), "status": {"S": "X"}},
        {**key(2), "status": {"S": "Y"}, "_m": {"S": "app"}},
    ]
    ddb.put(T, {**key(4), M: {"S": "run1:dd"}})
    assert remove_marker_if_unchanged(ddb, T, key(4), "run1:dd") == "removed"
    assert ddb.get(T, key(4)) == key(4)
    ddb.script("UpdateItem", Fault(error=client_error("UpdateItem", "ValidationException", "no")))
    with pytest.raises(Exception) as err:
        remove_marker_if_unchanged(ddb, T, key(1), "run1:aa")
    assert getattr(err.value, "response", {})["Error"]["Code"] == "ValidationException"
    ddb.script("UpdateItem", *[throttle("UpdateItem")] * 2)
    with pytest.raises(TransientTargetError) as gave_up:
        remove_marker_if_unchanged(ddb, T, key(1), "run1:aa", policy=RetryPolicy(2, 0.0001, 0.0002))
    assert gave_up.value.message.startswith(f"UpdateItem on {T} still failing after 2 attempts")


def test_delete_outcome_unpacks() -> None:
    outcome = DeleteOutcome("conflict", {"a": {"S": "x"}})
    what, old = outcome
    assert (what, old, bool(outcome)) == ("conflict", {"a": {"S": "x"}}, False)
    assert DeleteOutcome("deleted")[1] is None and bool(DeleteOutcome("deleted")) is True


# -- counters, limits and options that only show in numbers --------------------------------------------


def test_retry_counters_reach_the_run_dir_sink(ddb: FakeDynamoDB, table: Table) -> None:
    buf = _TaskBuffer()
    sink = RunDirSink(buf, T)
    encoder = ItemEncoder(table, M)
    ddb.script("BatchWriteItem", Fault(unprocessed=1))
    with writer(ddb, table, sink, mode="overwrite") as w:
        w.write_batch([encoder.encode(row(i)) for i in (1, 2)])
    ddb.script("TransactWriteItems", throttle("TransactWriteItems"))
    with writer(ddb, table, sink, mode="sync", strategy="transact") as w:
        w.write_batch([encoder.encode(row(3))])
    assert sink.counters == {
        "written": 3,
        "retries": 2,
        "throttles": 2,
        "retried_batches": 1,
        "transaction_retries": 1,
    }


@pytest.mark.parametrize("strategy", ["put", "transact"])
def test_newer_with_a_repeated_key_keeps_the_first_row(
    ddb: FakeDynamoDB, table: Table, strategy: str
) -> None:
    rows = [row(1, version="2"), row(1, version="2", status="SECOND")]
    result, sink, _ = write(ddb, table, rows, mode="newer", version_attribute="version", strategy=strategy)
    assert result == counts(written=1, skipped=1)
    assert sink.skipped == [(key(1), "duplicate_key")]
    assert ddb.all(T) == [marked(plain(1, version="2"))]


def test_the_last_allowed_attempt_may_succeed(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("BatchGetItem", Fault(unprocessed=1))
    result, _, _ = write(ddb, table, [row(1), row(2)], mode="sync", max_attempts=2)
    assert result == counts(written=2, retries=1, throttles=1)
    ddb.script("BatchWriteItem", Fault(unprocessed=1))
    result, _, _ = write(ddb, table, [row(3), row(4)], mode="overwrite", max_attempts=2)
    assert result == counts(written=2, retries=1, throttles=1, retried_batches=1)
    assert len(ddb.all(T)) == 4


@pytest.mark.parametrize(("mode", "op"), [("sync", "BatchGetItem"), ("overwrite", "BatchWriteItem")])
def test_batch_requests_throttled_to_the_end_name_the_request(
    ddb: FakeDynamoDB, table: Table, mode: str, op: str
) -> None:
    ddb.script(op, throttle(op), throttle(op))
    encoder = ItemEncoder(table, M)
    w = writer(ddb, table, mode=mode, max_attempts=2)
    with w, pytest.raises(TransientTargetError) as err:
        w.write_batch([encoder.encode(row(1))])
    assert err.value.message == (
        f"{op} on {T} still failing after 2 attempts: ProvisionedThroughputExceededException: slow down"
    )


@pytest.mark.parametrize(
    ("reason", "kind"),
    [({"Code": "ThrottlingError"}, "throttle"), ({"Code": "TransactionConflict"}, "transient")],
)
def test_a_transaction_reason_retries_as_its_kind(
    ddb: FakeDynamoDB, table: Table, reason: dict[str, Any], kind: str
) -> None:
    ddb.script("TransactWriteItems", Fault(reasons={0: reason}))
    result, sink, _ = write(ddb, table, [row(1)], strategy="transact")
    throttles = 1 if kind == "throttle" else 0
    assert result == counts(written=1, retries=1, throttles=throttles, transaction_retries=1)
    assert sink.retries == {kind: 1}


def test_a_reason_without_code_is_an_innocent_bystander(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script("TransactWriteItems", Fault(reasons={0: {}}))
    result, sink, _ = write(ddb, table, [row(1), row(2)], strategy="transact")
    assert result == counts(written=2, retries=1, transaction_retries=1)
    assert (sink.rejected, sink.retries) == ([], {"transient": 1})


def test_every_omitted_gsi_key_is_counted(ddb: FakeDynamoDB, table: Table) -> None:
    e = Encoded(item=plain(1), key=key(1), fingerprint=fingerprint(plain(1)), omitted_gsi_keys=("a", "b"))
    with writer(ddb, table) as w:
        result = w.write_batch([e])
    assert result.as_dict() == counts(written=1, omitted_gsi_keys=2)
    assert ddb.all(T) == [marked(plain(1))]


def test_backoff_follows_the_options(table: Table) -> None:
    ddb = FakeDynamoDB(**{T: ("PK", "SK")})
    a = writer(ddb, table, base_delay=0.001, max_delay=0.002, seed=7)
    b = writer(ddb, table, base_delay=0.001, max_delay=0.002, seed=7)
    with a, b:
        first = [a.policy.delay(n) for n in range(1, 40)]
        assert first == [b.policy.delay(n) for n in range(1, 40)]  # seeded: reproducible
        assert all(0 <= d <= 0.002 for d in first)  # capped by max_delay
        assert all(a.policy.delay(1) <= 0.001 for _ in range(50))  # the first retry within base_delay
        assert a.policy.max_attempts == 10


@pytest.mark.parametrize(("concurrency", "items"), [(2, 8), (4, 6)])
def test_concurrency_is_the_number_of_writes_in_flight(table: Table, concurrency: int, items: int) -> None:
    ddb = FakeDynamoDB(**{T: ("PK", "SK")})
    ddb.latency = 0.03
    result, _, _ = write(ddb, table, [row(i) for i in range(items)], concurrency=concurrency)
    assert result == counts(written=items)
    assert ddb.max_in_flight == concurrency


def test_the_first_failed_request_is_the_error_raised(ddb: FakeDynamoDB, table: Table) -> None:
    ddb.script(
        "BatchGetItem",
        Fault(error=client_error("BatchGetItem", "ValidationException", "first chunk")),
        Fault(error=client_error("BatchGetItem", "ValidationException", "second chunk")),
    )
    encoder = ItemEncoder(table, M)
    w = writer(ddb, table, mode="sync", concurrency=1)
    with w, pytest.raises(TargetError) as err:
        w.write_batch([encoder.encode(row(i)) for i in range(150)])
    assert err.value.message == "DynamoDB refused the request: ValidationException: first chunk"


@pytest.mark.parametrize(
    ("size", "n", "transact_size", "groups"),
    [
        (10, 7, 3, [3, 3, 1]),  # by count
        (10, 100, 100, [100]),
        (399_800, 21, 100, [10, 10, 1]),  # 10 x (399,800 + 200 bytes of request) = 4,000,000: fits
        (399_900, 10, 100, [9, 1]),  # 10 x 400,100 > 4,000,000
        (1_000, 3, 100, [3]),
    ],
)
def test_transactions_hold_at_most_transact_size_items_and_4_mb(
    ddb: FakeDynamoDB, table: Table, size: int, n: int, transact_size: int, groups: list[int]
) -> None:
    """The encoder's size estimate of each item plus 200 bytes of request, at most 4,000,000 per
    TransactWriteItems (DynamoDB's limit is 4 MB) and ``transact_size`` items."""
    encoded = [
        Encoded(item=plain(i), key=key(i), fingerprint=fingerprint(plain(i)), size=size) for i in range(n)
    ]
    with writer(ddb, table, strategy="transact", transact_size=transact_size, concurrency=1) as w:
        result = w.write_batch(encoded)
    assert result.as_dict() == counts(written=n)
    assert ddb.transaction_sizes == groups
