"""The run's logs made true to its final state after a resume.

A resumed run redoes the work after its last checkpoint (at most one chunk per table), so the
append-only logs can hold the same line twice: a rejection logged before the kill and again by the
redo, a written key logged twice. And a row rejected in an earlier attempt may be written by a later
one (the source row was fixed between the attempts): its rejection no longer describes the run.
:func:`compact_logs` rewrites, after a resumed run:

* ``written/<T>.jsonl``: one line per key, the last one (its marker is the one in DynamoDB);
* ``rejected.jsonl``: one line per rejected row (same table, entity, key, code and row), the last one,
  and none for a key that ``written/<T>.jsonl`` holds.

Each file is replaced atomically (a kill during the rewrite leaves the old file or the new one).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from dynamigrate.runstate import read_jsonl, safe_name

log = logging.getLogger(__name__)


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _rewrite(path: Path, lines: list[dict[str, Any]]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.compact")
    with open(tmp, "w", encoding="utf-8") as fh:
        for obj in lines:
            fh.write(json.dumps(obj, ensure_ascii=False, default=str, separators=(",", ":")) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _last_per(lines: list[dict[str, Any]], ident: Any) -> list[dict[str, Any]]:
    """The last line of each identity, in the order of those last lines."""
    last: dict[str, int] = {}
    for i, obj in enumerate(lines):
        last[ident(obj)] = i
    keep = sorted(last.values())
    return [lines[i] for i in keep]


def compact_logs(run_path: str | Path, tables: Iterable[str]) -> dict[str, int]:
    """Rewrite the written-keys logs of ``tables`` and rejected.jsonl as described above; returns the
    number of lines removed per file (only files that changed)."""
    base = Path(run_path)
    removed: dict[str, int] = {}
    written_keys: dict[str, set[str]] = {}
    for table in tables:
        path = base / "written" / f"{safe_name(table)}.jsonl"
        if not path.exists():
            continue
        lines = list(read_jsonl(path))
        kept = _last_per(lines, lambda o: _canon(o.get("key")))
        written_keys[table] = {_canon(o.get("key")) for o in kept}
        if len(kept) != len(lines):
            _rewrite(path, kept)
            removed[str(path.relative_to(base))] = len(lines) - len(kept)
    rejected = base / "rejected.jsonl"
    if rejected.exists():
        lines = list(read_jsonl(rejected))
        unique = _last_per(
            lines,
            lambda o: _canon([o.get("table"), o.get("entity"), o.get("key"), o.get("code"), o.get("row")]),
        )
        kept = [
            o
            for o in unique
            if o.get("key") is None
            or _canon(o.get("key")) not in written_keys.get(str(o.get("table")), set())
        ]
        if len(kept) != len(lines):
            _rewrite(rejected, kept)
            removed["rejected.jsonl"] = len(lines) - len(kept)
    if removed:
        log.info("run logs made true to the final state: removed %s", removed)
    return removed
