"""Pure parts of validation: score bases, headlines, verdicts, sample allocation, base-count SQL."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from dynamigrate.contract.model import Attribute, Entity
from dynamigrate.validate.basecount import count_sql
from dynamigrate.validate.compare import key_string
from dynamigrate.validate.expected import allocate
from dynamigrate.validate.keyset import KeySetStore
from dynamigrate.validate.results import TableValidation, ValidationReport, basis_text, headline
from dynamigrate.validate.verdict import decide


def _tv(**kw: object) -> TableValidation:
    t = TableValidation(table="T", ddb_table="T", view="v", mode=str(kw.pop("mode", "sample")))
    for k, v in kw.items():
        setattr(t, k, v)
    return t


def test_basis_names_the_evidence() -> None:
    assert basis_text("full", keys=True) == "every item"
    assert basis_text("counts", keys=False) == "counts only"
    assert basis_text("sample", keys=True, sampled=1000) == "counts + keys + 1,000 sampled items"
    assert basis_text("sample", keys=False, sampled=1) == "counts + 1 sampled item"


def test_headline_never_shows_integrity_from_counts_alone() -> None:
    assert headline("passed", 1.0, "counts only") == "PASSED (counts only, no integrity score)"
    assert headline("passed", 1.0, "every item") == "PASSED, integrity 100.00% (every item)"
    assert headline("failed", 0.5, "counts + keys + 10 sampled items") == (
        "FAILED, integrity 50.00% (counts + keys + 10 sampled items)"
    )
    assert headline(None, None, None) == "NOT VALIDATED"


def test_counts_mode_has_no_score_and_fails_on_rows_the_load_did_not_account_for() -> None:
    t = _tv(mode="counts", source_rows=10, expected=10, load_rows=9, ddb_count=9)
    decide(t, "counts", keys=False, sample=0)
    assert t.score is None and t.basis == "counts only" and not t.passed
    assert "the base tables hold 10 source row(s), the load accounted for 9" in t.problems[0]
    ok = _tv(mode="counts", source_rows=10, expected=10, load_rows=10, ddb_count=10)
    decide(ok, "counts", keys=False, sample=0)
    assert ok.passed and ok.score is None


def test_sample_score_rests_on_keys_and_the_sample() -> None:
    t = _tv(
        source_rows=100,
        expected=100,
        load_rows=100,
        recorded_keys=100,
        missing=2,
        sampled=10,
        compared=10,
        exact_compared=9,
        mismatched=1,
    )
    decide(t, "sample", keys=True, sample=10)
    assert t.basis == "counts + keys + 10 sampled items"
    assert t.score == pytest.approx(98 * 0.9 / 100) and not t.passed
    assert any("the load wrote are missing" in p for p in t.problems)


def test_view_mismatches_fail_apart_from_dynamodb_differences() -> None:
    t = _tv(mode="full", source_rows=5, expected=5, missing=0, compared=5, exact_compared=5)
    t.view_mismatched, t.view_checked = 1, 1
    decide(t, "full", keys=True, sample=0)
    assert not t.passed and t.score == 1.0
    assert t.problems == [
        "the view does not match the contract for 1 of 1 item(s) looked up (a view generator or SQL dialect "
        "bug: the load copies what the view says; see view_mismatches)"
    ]


def test_a_table_that_cannot_be_validated_is_neither_passed_nor_failed() -> None:
    bad = _tv(error={"message": "no such table"})
    decide(bad, "sample", keys=True, sample=10)
    good = _tv(source_rows=1, expected=1, load_rows=1, recorded_keys=1, missing=0, sampled=1, compared=1)
    good.exact_compared = 1
    decide(good, "sample", keys=True, sample=10)
    report = ValidationReport(run_id=None, mode="sample", sample=10, gsi_sample=0, started_at="x")
    report.tables = [bad, good]
    assert bad.status == "not validated" and bad.score is None and not bad.problems
    assert report.status == "not validated" and report.verdict == "not validated" and not report.passed
    assert report.basis == "counts + keys + 1 sampled item" and report.score == 1.0
    failing = _tv(mode="full", source_rows=1, expected=1, missing=1)
    decide(failing, "full", keys=True, sample=0)
    report.tables.append(failing)
    assert report.status == "failed"
    assert report.basis == "per table: counts + keys + 1 sampled item; every item"


def test_allocation_is_proportional_and_exact() -> None:
    gen = random.Random(11)
    for _ in range(500):
        sizes = {e: gen.choice([0, 1, 2, gen.randrange(5000)]) for e in "ABCDE"[: gen.randrange(1, 6)]}
        n = gen.choice([0, 1, 1000, gen.randrange(3000)])
        got = allocate(sizes, n, random.Random(1))
        assert all(0 <= got[e] <= sizes[e] for e in sizes), (sizes, n, got)
        assert sum(got.values()) == min(n, sum(sizes.values()))
        total = sum(sizes.values())
        if total > n:
            assert all(abs(got[e] - n * sizes[e] / total) < 1 for e in sizes)


def test_base_count_sql_applies_the_filter_to_the_unaliased_table() -> None:
    attrs = (Attribute(name="PK", type="S", source_table="shop.orders", source_column="id"),)
    plain = Entity("ORDER", "orders", attrs)
    assert count_sql(plain) == ("SELECT COUNT(*) FROM `orders`", None)
    filtered = Entity("ORDER", "shop.or`ders", attrs, filter="orders.deleted_at IS NULL")
    assert count_sql(filtered) == (
        "SELECT COUNT(*) FROM `shop`.`or``ders`",
        "SELECT COUNT(*) FROM `shop`.`or``ders` WHERE (orders.deleted_at IS NULL)",
    )


def test_recorded_keys_count_once(tmp_path: Path) -> None:
    store = KeySetStore(tmp_path / "k.sqlite")
    a, b = key_string({"PK": {"S": "a"}}), key_string({"PK": {"S": "b"}})
    store.add_recorded([a, a, b])
    store.add_target([(a, "r:1")])
    store.commit()
    assert store.source_count() == 2 and store.duplicate_rows() == 0 and store.missing_count() == 1
    store.close()


def test_item_digest_agrees_with_the_attribute_comparison() -> None:
    """Items compared through the key set (digests) must be equal exactly when compare_items says so."""
    from dynamigrate.validate.compare import compare_items, item_digest

    gen = random.Random(5)
    values = [
        {"N": "1.50"},
        {"N": "1.5"},
        {"N": "15E-1"},
        {"N": "2"},
        {"S": "x"},
        {"S": ""},
        {"S": "😀"},
        {"SS": ["b", "a"]},
        {"SS": ["a", "b"]},
        {"NS": ["1", "2.0"]},
        {"NS": ["2", "1"]},
        {"B": b"\x00\x01"},
        {"BOOL": True},
        {"L": [{"N": "1.0"}, {"S": "a"}]},
        {"L": [{"N": "1"}, {"S": "a"}]},
        {"M": {"a": {"N": "3"}, "b": {"NULL": True}}},
        {"M": {"b": {"NULL": True}, "a": {"N": "3.00"}}},
        {"S": '{"a": 1.50, "b": [1, 2]}'},
        {"S": '{"b":[1,2],"a":1.5}'},
    ]
    for _ in range(3000):
        names = gen.sample(["a", "b", "doc", "_dm_marker"], gen.randrange(0, 4))
        one = {n: gen.choice(values) for n in names}
        two = {n: gen.choice(values) for n in names if gen.random() < 0.9}
        same = not compare_items(one, two, {"_dm_marker"}, {"doc"})
        assert same == (
            item_digest(one, {"_dm_marker"}, {"doc"}) == item_digest(two, {"_dm_marker"}, {"doc"})
        ), (one, two)


def test_keys_from_the_load_still_count_the_items_an_earlier_run_left() -> None:
    # a re-run wrote nothing: every item is an earlier run's; one of them is gone
    t = _tv(source_rows=10, expected=10, load_rows=10, recorded_keys=0, missing=0, ddb_count=9, extra=0)
    t.extra_earlier, t.sampled, t.compared, t.exact_compared = 9, 9, 9, 9
    decide(t, "sample", keys=True, sample=10)
    assert not t.passed and t.score == pytest.approx(0.9)
    assert (
        "DynamoDB holds 9 migrated item(s) (written by this run or left by an earlier one), 10 expected"
        in t.problems
    )


def test_view_mismatch_texts_say_what_each_side_gives() -> None:
    from dynamigrate.validate.results import ViewMismatch

    key = {"PK": {"S": "ACCT#1"}, "SK": {"S": "#META"}}
    extra = ViewMismatch(key, "ACCOUNT", "unexpected_row")
    assert extra.text() == (
        "{'PK': 'ACCT#1', 'SK': '#META'} (ACCOUNT): the view gives this item, the contract gives none "
        "(it rejects or filters the row)"
    )
    changed = ViewMismatch(key, "ACCOUNT", "changed", "score", {"N": "1"}, {"N": "2"})
    assert "None" not in extra.text() and changed.text().endswith('score: contract "1", view "2" (changed)')


def test_a_failed_score_never_reads_100_percent() -> None:
    """One item lost in 20,000 (score 0.99995) printed 'FAILED, integrity 100.00%' (cutover and
    validate): the figure is rounded down now, everywhere a score is shown."""
    from dynamigrate.report._format import percent

    assert headline("failed", 0.99995, "counts + keys") == "FAILED, integrity 99.99% (counts + keys)"
    assert headline("passed", 1.0, "every item") == "PASSED, integrity 100.00% (every item)"
    assert (percent(0.995), percent(0.99999), percent(0.0)) == ("99.50%", "99.99%", "0.00%")
