"""Replication figures for ``dynamigrate status`` (from ``replicate/state.json`` only: no server)."""

from __future__ import annotations

import time
from typing import Any

from dynamigrate.runstate import RunDir


def replication_state(run: RunDir) -> dict[str, Any] | None:
    state = run.read_json("replicate/state.json")
    return state if isinstance(state, dict) else None


def replication_status_lines(run: RunDir) -> list[str]:
    s = replication_state(run)
    if not s:
        return []
    from dynamigrate.report.json_report import utc_seconds

    updated = s.get("updated_at")
    stamp = utc_seconds(updated)
    age = f" ({round(time.time() - stamp)} s ago)" if stamp is not None else ""
    lag = s.get("lag_seconds")
    rate = s.get("rows_per_second")
    lines = [
        f"  replication: {s.get('status')}, at {s.get('position')} (head at start {s.get('head_at_start')}), "
        f"lag {'-' if lag is None else f'{lag:.1f} s'} at the last update {updated or '-'}{age}",
        f"    {s.get('events', 0)} row events, {s.get('rows', 0)} row changes in {s.get('windows', 0)} windows"
        + (f", {rate} rows/s" if rate else "")
        + f"; items written {s.get('written', 0)}, unchanged {s.get('unchanged', 0)}, "
        f"deleted {s.get('deleted', 0)}, rejected {s.get('rejected', 0)}",
        f"    conflicts {s.get('conflicts', 0)}"
        + (
            " (replicate/conflicts.jsonl: items changed by someone else, left alone)"
            if s.get("conflicts")
            else ""
        ),
    ]
    return lines
