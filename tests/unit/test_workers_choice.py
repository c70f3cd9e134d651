"""How many writer processes the local engine starts, and the reason it gives (pure logic)."""

from __future__ import annotations

from dynamigrate.etl.local_workers import MIN_ROWS_PER_WORKER, choose_workers


def test_conditional_writes_against_dynamodb_local_use_one_process() -> None:
    for strategy in ("transact", "put"):
        c = choose_workers(None, strategy=strategy, local_endpoint=True, rows=10**7, cpus=16)
        assert c.count == 1 and "SQLite" in c.why and strategy in c.why


def test_batch_and_aws_use_one_process_per_core_when_the_table_is_big_enough() -> None:
    big = 10**7
    # DynamoDB Local runs on this host: it keeps a core (2 cores: 1 process, measured faster there)
    local2 = choose_workers(None, strategy="batch", local_endpoint=True, rows=big, cpus=2)
    assert local2.count == 1 and "DynamoDB Local needs" in local2.why
    assert choose_workers(None, strategy="batch", local_endpoint=True, rows=big, cpus=4).count == 3
    assert choose_workers(None, strategy="put", local_endpoint=False, rows=big, cpus=4).count == 4
    assert choose_workers(None, strategy="put", local_endpoint=False, rows=big, cpus=64).count == 8
    # each process gets MIN_ROWS_PER_WORKER rows or the table stays in one process
    assert (
        choose_workers(
            None, strategy="batch", local_endpoint=True, rows=3 * MIN_ROWS_PER_WORKER, cpus=8
        ).count
        == 3
    )
    small = choose_workers(None, strategy="batch", local_endpoint=True, rows=MIN_ROWS_PER_WORKER, cpus=8)
    assert small.count == 1 and f"{MIN_ROWS_PER_WORKER:,}" in small.why


def test_an_explicit_count_wins_unless_the_client_cannot_travel() -> None:
    c = choose_workers(3, strategy="transact", local_endpoint=True, rows=5, cpus=1)
    assert (c.count, c.why) == (3, "--workers 3")
    assert choose_workers(0, strategy="put", local_endpoint=False, rows=None).count == 1
    injected = choose_workers(4, strategy="batch", local_endpoint=True, rows=10**7, portable_client=False)
    assert injected.count == 1 and "handed in" in injected.why
    assert (
        choose_workers(None, strategy="put", local_endpoint=False, rows=10**7, portable_client=False).count
        == 1
    )


def test_the_reasons_and_the_edges_of_the_choice() -> None:
    """Hand-written reasons; one core on AWS; two processes cut to one by the table's size; --workers 1
    with a client that cannot travel is simply --workers 1."""
    assert choose_workers(None, strategy="put", local_endpoint=False, rows=None, cpus=1).count == 1
    assert choose_workers(None, strategy="put", local_endpoint=False, rows=None, cpus=2).count == 2
    cut = choose_workers(None, strategy="put", local_endpoint=False, rows=60_000, cpus=2)
    assert (cut.count, cut.why) == (1, "60,000 source rows: fewer than 100,000, not worth a second process")
    assert choose_workers(
        1, strategy="put", local_endpoint=False, rows=None, portable_client=False
    ).to_dict() == {
        "count": 1,
        "why": "--workers 1",
    }
    handed = choose_workers(None, strategy="put", local_endpoint=False, rows=None, portable_client=False)
    assert (handed.count, handed.why) == (1, "the DynamoDB client was handed in by the caller: 1 process")
