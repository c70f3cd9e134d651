"""Pure parts of validation and rollback: canonical comparison, key text, reservoir, key sets."""

from __future__ import annotations

import random
from pathlib import Path

from dynamigrate.validate.compare import (
    CHANGED,
    MISSING_ATTRIBUTE,
    UNEXPECTED_ATTRIBUTE,
    canonical_value,
    compare_items,
    key_string,
    plain_key,
    projected_names,
)
from dynamigrate.validate.keyset import KeySetStore
from dynamigrate.validate.post import _Reservoir


def test_numbers_and_sets_compare_canonically() -> None:
    assert canonical_value({"N": "1.50"}) == canonical_value({"N": "1.5"})
    assert canonical_value({"NS": ["2", "1.0"]}) == canonical_value({"NS": ["1", "2"]})
    assert canonical_value({"SS": ["b", "a"]}) == {"SS": ["a", "b"]}
    assert canonical_value({"M": {"x": {"L": [{"N": "007"}]}}}) == {"M": {"x": {"L": [{"N": "7"}]}}}
    assert canonical_value({"B": bytearray(b"\x01")}) == {"B": b"\x01"}


def test_compare_items_lists_each_attribute() -> None:
    expected = {"PK": {"S": "a"}, "n": {"N": "1.50"}, "s": {"S": "x"}, "gone": {"S": "y"}}
    actual = {
        "PK": {"S": "a"},
        "n": {"N": "1.5"},
        "s": {"S": "z"},
        "new": {"BOOL": True},
        "_dm_marker": {"S": "r:f"},
    }
    diffs = compare_items(expected, actual, ignore={"_dm_marker"})
    assert [(d.attribute, d.kind) for d in diffs] == [
        ("gone", MISSING_ATTRIBUTE),
        ("new", UNEXPECTED_ATTRIBUTE),
        ("s", CHANGED),
    ]
    assert diffs[2].expected == {"S": "x"} and diffs[2].actual == {"S": "z"}
    assert compare_items(expected, dict(expected)) == []


def test_key_string_is_canonical() -> None:
    assert key_string({"SK": {"N": "1.0"}, "PK": {"S": "a"}}) == key_string(
        {"PK": {"S": "a"}, "SK": {"N": "1"}}
    )
    assert key_string({"PK": {"B": b"\x00"}}) == '{"PK":{"B":"AA=="}}'
    assert plain_key({"PK": {"S": "a"}, "SK": {"N": "2"}}) == {"PK": "a", "SK": "2"}


def test_projected_names() -> None:
    item = {"PK": 1, "SK": 1, "G": 1, "a": 1, "b": 1}
    assert projected_names({"ProjectionType": "ALL"}, ["PK", "SK", "G"], item) == ["G", "PK", "SK", "a", "b"]
    assert projected_names({"ProjectionType": "KEYS_ONLY"}, ["PK", "SK", "G"], item) == ["G", "PK", "SK"]
    inc = {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["b", "zz"]}
    assert projected_names(inc, ["PK", "SK", "G"], item) == ["G", "PK", "SK", "b"]


def test_reservoir_is_uniform_and_bounded() -> None:
    counts = [0] * 20
    for seed in range(2000):
        r = _Reservoir(5, random.Random(seed))
        for i in range(20):
            r.offer(i)
        assert len(r.items) == 5
        for i in r.items:
            counts[i] += 1
    # each element is kept with probability 5/20: 500 of 2000 on average
    assert all(380 < c < 620 for c in counts), counts


def test_keyset_differences(tmp_path: Path) -> None:
    store = KeySetStore(tmp_path / "k.sqlite")
    k = [key_string({"PK": {"S": s}}) for s in ("a", "b", "c", "d")]
    store.add_source([(k[0], "USER", 1), (k[1], "USER", 2), (k[2], "ORDER", 3), (k[2], "ORDER", 4)])
    store.add_target([(k[0], "r:1"), (k[2], None), (k[3], None)])
    store.commit()
    assert store.source_count() == 3 and store.target_count() == 3 and store.duplicate_rows() == 1
    assert store.missing_count() == 1
    assert [m[0] for m in store.missing()] == [{"PK": {"S": "b"}}]
    assert store.extra_counts() == (0, 1, 0)
    store.add_target(
        [(key_string({"PK": {"S": "e"}}), "run1:ab"), (key_string({"PK": {"S": "f"}}), "run2:cd")]
    )
    assert store.extra_counts("run1") == (2, 1, 1)
    assert store.per_entity() == {
        "USER": {"keys": 2, "present": 1, "duplicates": 0},
        "ORDER": {"keys": 1, "present": 1, "duplicates": 1},
    }
    store.close()
    assert not (tmp_path / "k.sqlite").exists()
