"""`replicate` after `markers remove`: every recomputed item was a conflict 'changed by someone else',
when nobody changed anything: the markers were gone. The summary says so now."""

from __future__ import annotations

from dynamigrate.replicate.apply import ApplyStats
from dynamigrate.replicate.stream import ReplicateSummary


def _summary(reason: str) -> str:
    stats = ApplyStats(rows=1, items_recomputed=3, conflicts=3)
    stats.conflict_keys = [{"table": "T", "key": {"id": str(i)}, "reason": reason} for i in range(3)]
    return ReplicateSummary("r1", "f:1", "checkpoint", "f:2", "f:2", stats=stats).render_text()


def test_conflicts_without_marker_explain_markers_remove() -> None:
    text = _summary("not_written_by_migration")
    assert "conflicts (items changed by someone else, left alone): 3" in text
    assert "their markers were removed (`dynamigrate markers remove`, after cut-over)" in text


def test_conflicts_with_a_changed_item_have_no_marker_hint() -> None:
    assert "markers remove" not in _summary("changed_since_migration_wrote_it")
