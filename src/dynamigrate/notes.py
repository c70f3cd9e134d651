"""What a run noticed about its contract before any data moved: the contract's warnings and the
interpretations the view generator made of ambiguous parts.

On screen they are brief: warnings grouped by cause (one line per check code, however many places
it fired) at WARNING, interpretations one line each at INFO (``-v``), once per run. In full they go
to the run directory (``notes.json``) and from there into the reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dynamigrate.contract.problems import Problem
    from dynamigrate.runstate import RunDir

NOTES_FILE = "notes.json"


def group_warnings(problems: Iterable[Problem], *, where: str | None = None) -> list[str]:
    """One line per cause (check code): its first occurrence in full, then how many more places and
    which. ``where`` names the file that lists every occurrence."""
    groups: dict[str, list[Problem]] = {}
    for p in problems:
        groups.setdefault(p.code or p.message, []).append(p)
    lines = []
    for code, items in groups.items():
        first = items[0]
        text = first.message + (f" (fix: {first.fix})" if first.fix else "")
        if len(items) == 1:
            lines.append(f"{code + ' ' if first.code else ''}{first.path}: {text}")
            continue
        paths = list(dict.fromkeys(p.path for p in items))
        at = ", ".join(paths[:4]) + (", ..." if len(paths) > 4 else "")
        lines.append(
            f"{code} x{len(items)} (one shown; at {at}{f'; all in {where}' if where else ''}): {text}"
        )
    return lines


def record_notes(
    run: RunDir,
    *,
    warnings: Iterable[Problem] | None = None,
    interpretations: Iterable[dict[str, Any]] | None = None,
) -> None:
    """Add the contract warnings and/or the interpretations (``{"table", "view", "note"}``) to the
    run's ``notes.json`` (what is given replaces what was recorded of that kind)."""
    doc: dict[str, Any] = run.read_json(NOTES_FILE) or {}
    if warnings is not None:
        doc["contract_warnings"] = [p.to_dict() for p in warnings]
    if interpretations is not None:
        doc["interpretations"] = list(interpretations)
    run.write_json(NOTES_FILE, doc)
