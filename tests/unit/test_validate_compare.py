"""Pure parts of validation and rollback: canonical comparison, key text, reservoir, key sets."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from dynamigrate.validate.compare import (
    CHANGED,
    MISSING_ATTRIBUTE,
    UNEXPECTED_ATTRIBUTE,
    _json_default,
    canonical_value,
    compare_items,
    item_digest,
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


_key_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_key_value = st.one_of(
    st.builds(lambda s: {"S": s}, _key_text),
    st.builds(lambda n: {"N": str(n)}, st.decimals(allow_nan=False, allow_infinity=False, places=3)),
    st.builds(lambda b: {"B": b}, st.binary(max_size=8)),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_key_text, _key_value, min_size=1, max_size=3))
def test_key_string_is_the_json_dumps_text(key: dict[str, dict[str, object]]) -> None:
    """The fast (orjson) key text is byte for byte the json.dumps text, so a key compares equal
    whichever path wrote it: control characters, non-BMP text, binary, names in code-point order."""
    canon = {k: canonical_value(v) for k, v in key.items()}
    slow = json.dumps(canon, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)
    assert key_string(key) == slow


def test_key_string_falls_back_for_what_orjson_refuses() -> None:
    # a lone surrogate (orjson refuses it) still gets a text, the one json.dumps writes (raw)
    assert key_string({"PK": {"S": "a\ud800"}}) == '{"PK":{"S":"a\ud800"}}'


_item_value = st.recursive(
    _key_value
    | st.builds(lambda b: {"BOOL": b}, st.booleans())
    | st.builds(lambda xs: {"SS": xs}, st.lists(_key_text, min_size=1, max_size=3))
    | st.builds(lambda xs: {"NS": [str(x) for x in xs]}, st.lists(st.integers(), min_size=1, max_size=3)),
    lambda inner: (
        st.builds(lambda xs: {"L": xs}, st.lists(inner, max_size=3))
        | st.builds(lambda m: {"M": m}, st.dictionaries(_key_text, inner, max_size=3))
    ),
    max_leaves=8,
)


def _slow_digest(item: dict[str, Any]) -> str:
    canon = {k: canonical_value(v) for k, v in item.items()}
    text = json.dumps(canon, sort_keys=True, separators=(",", ":"), default=_json_default, ensure_ascii=False)
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_key_text, _item_value, min_size=1, max_size=4))
def test_item_digest_is_the_digest_of_the_json_dumps_text(item: dict[str, Any]) -> None:
    """item_digest writes its text with orjson (the key text's writer): the digest is the one of the
    json.dumps text, nested maps, lists, sets, numbers, binary and non-BMP text included."""
    assert item_digest(item) == _slow_digest(item)


def test_item_digest_is_equal_exactly_for_equal_canonical_items() -> None:
    item = {"PK": {"S": "a\U0001f600"}, "n": {"N": "1.50"}, "s": {"SS": ["b", "a"]}}
    assert item_digest(item) == item_digest(
        {"s": {"SS": ["a", "b"]}, "n": {"N": "1.5"}, "PK": {"S": "a\U0001f600"}}
    )
    assert item_digest(item) != item_digest({**item, "n": {"N": "1.51"}})
    assert item_digest(item) == item_digest({**item, "_dm": {"S": "run"}}, ignore=["_dm"])


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
