"""validate/rejected_sample.py offline: which sampled rejected rows are looked up, and how an item found
at their key is judged (this run's marker: a difference; none or another run's: a warning)."""

from __future__ import annotations

from typing import Any

from dynamigrate.evaluate import EvalRow
from dynamigrate.validate.compare import key_string
from dynamigrate.validate.expected import ExpectedRow, _expected_row
from dynamigrate.validate.rejected_sample import check_rejected, loose_key
from dynamigrate.validate.results import TableValidation


class _Run:
    run_id = "20261201T000000Z-abcd"

    def __init__(self, rejected: list[dict[str, Any]]):
        self.rejected = rejected

    def read_lines(self, name: str) -> list[dict[str, Any]]:
        assert name == "rejected.jsonl"
        return self.rejected


class _Dyn:
    def __init__(self, items: list[dict[str, Any]], key_names: tuple[str, ...]):
        self.items = {key_string({k: it[k] for k in key_names}): it for it in items}
        self.asked: list[dict[str, Any]] = []

    def get_many(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        self.asked.extend(keys)
        return {key_string(k): self.items[key_string(k)] for k in keys if key_string(k) in self.items}


def _rej(pk: str, n: str, code: str = "bad_number") -> ExpectedRow:
    return ExpectedRow("E", (pk,), None, code, f"attribute 'x' (N): {pk}", {"PK": {"S": pk}, "SK": {"N": n}})


def test_loose_key_matches_the_encoders_partial_key_of_a_rejected_row() -> None:
    assert loose_key({"PK": {"S": "a"}, "SK": {"N": "12.5"}}) == loose_key(
        {"SK": {"S": "12.50"}, "PK": {"S": "a"}}
    )
    assert loose_key({"B": {"B": b"\x00\xff"}}) == loose_key({"B": {"B": "AP8="}})  # base64 in rejected.jsonl
    assert loose_key({"N": {"N": "0"}}) == loose_key({"N": {"S": "-0.00"}})
    assert loose_key({"PK": {"S": "a"}}) != loose_key({"PK": {"S": "b"}})
    assert loose_key({"PK": {"S": "1e3"}}) == loose_key({"PK": {"N": "1000"}})


def test_the_evaluators_key_reaches_validation() -> None:
    key = {"PK": {"S": "a"}}
    got = _expected_row("E", EvalRow(("a",), None, "attribute 'x' (N): bad", "bad_number", "E", key=key))
    assert (got.item, got.rejection, got.rejected_key) == (None, "bad_number", key)
    got = _expected_row("E", EvalRow(("a",), None, "key attribute 'PK' is NULL", "null_key", "E"))
    assert got.rejected_key is None


def test_items_at_rejected_rows_keys_judged_by_their_marker() -> None:
    run = _Run([{"table": "T", "key": {"PK": {"S": "by-run"}, "SK": {"S": "4.0"}}, "code": "bad_number"},
                {"table": "Other", "key": {"PK": {"S": "ours"}, "SK": {"N": "1"}}}])  # fmt: skip
    ours = {"_dm_marker": {"S": f"{run.run_id}:0123456789abcdef"}}
    items = [
        {"PK": {"S": "ours"}, "SK": {"N": "1"}, **ours},
        {"PK": {"S": "app"}, "SK": {"N": "2"}},
        {
            "PK": {"S": "earlier"},
            "SK": {"N": "3"},
            "_dm_marker": {"S": "20200101T000000Z-0000:0123456789abcdef"},
        },
        {"PK": {"S": "by-run"}, "SK": {"N": "4"}, **ours},
    ]
    dyn = _Dyn(items, ("PK", "SK"))
    keyless = ExpectedRow("E", ("k",), None, "null_key", "key attribute 'PK' is NULL")
    rows = [
        _rej("ours", "1"),
        _rej("app", "2"),
        _rej("earlier", "3"),
        _rej("by-run", "4"),
        _rej("none", "5"),
        keyless,
    ]
    r = TableValidation("T", "T", "v", "sample")
    check_rejected(rows, dyn=dyn, result=r, run=run, table="T", marker="_dm_marker", max_listed=10)  # type: ignore[arg-type]
    assert (r.sampled_rejected, r.sampled_rejected_unverifiable, r.sampled_rejected_by_run) == (6, 1, 1)
    assert (r.rejected_written, r.rejected_present_other) == (1, 2)
    assert [k["key"] for k in r.rejected_written_keys] == [{"PK": {"S": "ours"}, "SK": {"N": "1"}}]
    assert r.rejected_written_keys[0]["reason"] == "attribute 'x' (N): ours"
    assert {key_string(k) for k in dyn.asked} == {
        key_string(x.rejected_key or {}) for x in rows[:3] + rows[4:5]
    }
    # without a run directory nothing can be told to be this run's: a warning, never a failure
    r = TableValidation("T", "T", "v", "sample")
    check_rejected(rows, dyn=dyn, result=r, run=None, table="T", marker="_dm_marker", max_listed=10)  # type: ignore[arg-type]
    assert (r.rejected_written, r.rejected_present_other) == (0, 4)
