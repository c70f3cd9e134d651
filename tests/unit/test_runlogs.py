"""After a resume the written-keys log and rejected.jsonl say the final state (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

from dynamigrate.runlogs import compact_logs
from dynamigrate.runstate import read_jsonl


def _write(path: Path, lines: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))


def test_repeated_lines_and_rejections_of_rows_written_later_are_dropped(tmp_path: Path) -> None:
    k = [{"PK": {"S": f"U#{i}"}} for i in range(5)]
    _write(
        tmp_path / "written" / "Users.jsonl",
        # keys 0-2 written before the kill, the redone chunk wrote 2 again, then 3 (fixed since) and 4
        [
            *({"key": k[i], "marker": "a"} for i in (0, 1, 2)),
            *({"key": k[i], "marker": "b"} for i in (2, 3, 4)),
        ],
    )
    bad_row = {"id": 9, "name": "x" * 3}
    _write(
        tmp_path / "rejected.jsonl",
        [
            {
                "table": "Users",
                "entity": "USER",
                "key": k[3],
                "code": "too_big",
                "row": {"id": 3},
            },  # written later
            {"table": "Users", "entity": "USER", "key": None, "code": "null_key", "row": bad_row},
            {"table": "Users", "entity": "USER", "key": None, "code": "null_key", "row": bad_row},  # the redo
            {
                "table": "Orders",
                "entity": "ORDER",
                "key": k[3],
                "code": "too_big",
                "row": {"id": 3},
            },  # other table
        ],
    )
    removed = compact_logs(tmp_path, ["Users", "Orders"])
    written = list(read_jsonl(tmp_path / "written" / "Users.jsonl"))
    assert [w["key"] for w in written] == [k[0], k[1], k[2], k[3], k[4]]
    assert [w["marker"] for w in written] == ["a", "a", "b", "b", "b"]  # the last marker of each key
    rejected = list(read_jsonl(tmp_path / "rejected.jsonl"))
    assert [(r["table"], r["code"]) for r in rejected] == [("Users", "null_key"), ("Orders", "too_big")]
    assert removed == {"written/Users.jsonl": 1, "rejected.jsonl": 2}
    assert compact_logs(tmp_path, ["Users", "Orders"]) == {}  # idempotent
