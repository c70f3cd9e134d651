"""Report rendering and the troubleshooting catalogue, from data only (no services)."""

from __future__ import annotations

from typing import Any

from dynamigrate.errors import McpError, SourceError, TargetError
from dynamigrate.report.html import render_html
from dynamigrate.report.markdown import render_markdown
from dynamigrate.troubleshoot import guidance_for, lookup, lookup_text


def _doc() -> dict[str, Any]:
    table = {
        "name": "Users",
        "status": "done",
        "source_rows": 100,
        "written": 97,
        "skipped": 1,
        "conflicts": 0,
        "rejected": 2,
        "rejected_by_reason": {"too_large": 1, "null_key": 1},
        "retries": 3,
        "throttles": 2,
        "duration_seconds": 2.0,
        "throughput_items_per_second": 48.5,
        "peak_items_per_second": 60.0,
        "throughput_series": [[0, 10.0], [1, 60.0], [2, 40.0]],
        "item_size": {
            "average_bytes": 100.0,
            "largest_bytes": 400000,
            "estimated_bytes": 90,
            "average_vs_estimate": 1.11,
        },
        "access_patterns": ["get user"],
        "gsis": ["GSI1"],
        "validation": {
            "passed": True,
            "score": 1.0,
            "expected": 98,
            "ddb_count": 98,
            "missing": 0,
            "extra": 0,
        },
        "entities": [{"entity": "USER", "source_rows": 100, "rejected": 2, "expected": 98, "present": 98}],
    }
    return {
        "schema": "dynamigrate.report/1",
        "run_id": "20260101T000000Z-abcd",
        "run_dir": "/tmp/x",
        "outcome": "succeeded with warnings",
        "engine": "local",
        "write_mode": "insert",
        "duration_seconds": 3725.0,
        "totals": {"written": 97, "rejected": 2},
        "validation": {
            "mode": "full",
            "passed": True,
            "verdict": "passed with warnings",
            "score": 1.0,
            "expected": 98,
        },
        "tables": [table],
        "problems": [
            {
                "severity": "warning",
                "table": "Users",
                "title": "1 row(s) rejected: too_large",
                "detail": "item is 500000 bytes",
                "cause": "c",
                "fix": "f",
                "examples": [{"entity": "USER", "key": None, "rowid": 7, "message": "m"}],
            }
        ],
        "next_steps": ["clean up: `dynamigrate cleanup X`"],
        "contract": {"sha256": "abc"},
    }


def test_markdown_sections_in_order() -> None:
    md = render_markdown(_doc())
    heads = ["## Summary", "## Tables", "## Problems and what to do", "## Next steps"]
    assert [md.index(h) for h in heads] == sorted(md.index(h) for h in heads)
    assert "SUCCEEDED WITH WARNINGS" in md and "1 h 02 min" in md
    assert "USER _dm_rowid=7" in md and "too_large 1" in md


def test_html_is_self_contained_with_charts() -> None:
    page = render_html(_doc())
    assert "<script" not in page and "https://" not in page
    assert (
        'id="chart-counts"' in page and 'class="bar bar-source" data-table="Users" data-value="100"' in page
    )
    assert 'class="series" data-table="Users" data-points="3"' in page
    assert 'data-reason="too_large"' in page and 'data-reason="null_key"' in page
    assert "1 h 02 min" in page


def test_html_escapes_names() -> None:
    doc = _doc()
    doc["tables"][0]["name"] = "<b>x</b>"
    page = render_html(doc)
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page


def test_catalogue_lookups() -> None:
    err = SourceError("Access denied for user 'x'@'h'", mysql_errno=1045)
    assert lookup(err) is not None and lookup(err).key == "mysql-1045"  # type: ignore[union-attr]
    wrapped = TargetError("write failed")
    wrapped.__cause__ = McpError("MCP server 'mysql' failed to start (FileNotFoundError)")
    assert lookup(wrapped).key == "mcp-missing"  # type: ignore[union-attr]
    assert lookup_text("key attribute 'PK' is NULL", ["null_key"]).key == "ddb-empty-key"  # type: ignore[union-attr]
    # without a mention of Glue the text is not taken for our Glue entry (the Glue engine adds its own
    # plain-text entries when it is imported, which may match)
    plain = lookup_text("Communications link failure")
    assert plain is None or plain.key != "glue-connection"
    assert lookup_text("Glue job run failed: Communications link failure").key == "glue-connection"  # type: ignore[union-attr]
    assert guidance_for(ValueError("nothing known")) is None


def test_every_headline_states_the_basis_and_counts_alone_show_no_integrity() -> None:
    doc = _doc()
    doc["validation"] |= {"basis": "counts only", "headline": "PASSED (counts only, no integrity score)"}
    doc["validation"]["score"] = None
    doc["tables"][0]["validation"] |= {"score": None, "basis": "counts only", "status": "passed"}
    md, page = render_markdown(doc), render_html(doc)
    for text in (md, page):
        assert "PASSED (counts only, no integrity score)" in text and "100.00%" not in text
    doc = _doc()
    doc["validation"] = {
        "mode": "sample",
        "status": "not validated",
        "verdict": "not validated",
        "score": None,
        "basis": "nothing validated",
        "headline": "NOT VALIDATED (nothing validated)",
        "origin": "validate",
    }
    doc["tables"][0]["validation"] = {"status": "not validated", "score": None, "error": "table not found"}
    md, page = render_markdown(doc), render_html(doc)
    assert "NOT VALIDATED (nothing validated)" in md and "validated later with `dynamigrate validate`" in md
    assert "NOT VALIDATED (nothing validated)" in page and '<span class="warn">not validated</span>' in page
    doc["validation"] = None
    assert "Validation: not validated (not run)" in render_markdown(doc)
    assert "NOT VALIDATED" in render_html(doc)
