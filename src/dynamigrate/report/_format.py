"""Value formatting shared by the report renderers (Markdown, HTML) and the report builder.

One place, so that report.md, report.html and the problem texts of report.json print numbers,
percentages, durations and DynamoDB keys the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: what a missing value prints as
MISSING = "–"

#: columns of the per-entity table (report.md and report.html)
ENTITY_HEADERS = (
    "entity",
    "source table",
    "source rows",
    "rejected",
    "expected",
    "present",
    "missing",
    "differing",
)


def number(v: Any) -> str:
    """``1,234`` for ints, ``1,234.5`` for floats, ``–`` for ``None``, ``str(v)`` otherwise."""
    if v is None:
        return MISSING
    if isinstance(v, float):
        return f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def percent(v: Any) -> str:
    """``99.50%`` for ``0.995``, ``–`` for ``None``; rounded down (0.99995 is ``99.99%``, never ``100.00%``)."""
    from dynamigrate.validate.results import score_text

    return MISSING if v is None else score_text(float(v))


def human_duration(seconds: Any) -> str:
    """``< 1 s``, ``12.3 s``, ``4 min 05 s``, ``1 h 02 min``, ``2 d 3 h``; ``–`` when not a number."""
    if not isinstance(seconds, int | float):
        return MISSING
    if seconds < 1:
        return "< 1 s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    s = round(seconds)
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d} d {h} h"
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def key_text(key: Any) -> str:
    """``pk=USER#1, sk=ORDER#2`` for a DynamoDB key (typed ``{"S": ...}`` values or plain ones)."""
    if not isinstance(key, Mapping):
        return str(key)
    return ", ".join(
        f"{k}={next(iter(v.values())) if isinstance(v, Mapping) and v else v}" for k, v in key.items()
    )


def example_text(ex: Mapping[str, Any]) -> str:
    """An example of a problem: its key, or (rejected rows without a usable key) entity and rowid."""
    key = ex.get("key")
    if isinstance(key, Mapping) and key:
        text = key_text(key)
    else:
        text = (
            f"{ex.get('entity') or 'row'} _dm_rowid={ex.get('rowid')}"
            if ex.get("rowid") is not None
            else "row"
        )
    if ex.get("attribute"):
        text += f" · {ex['attribute']}"
    return text
