"""Run records -> report.json (machines), report.md (people), report.html (charts).

``write_reports(run, validation)`` is called by ``migrate`` after validation, by ``dynamigrate
validate`` and by ``dynamigrate report``; it can be called any time, on a running or finished run.
The schema of report.json is documented in docs/report-schema.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dynamigrate.redact import redact
from dynamigrate.report.html import render_html
from dynamigrate.report.json_report import SCHEMA, build_report
from dynamigrate.report.markdown import render_markdown
from dynamigrate.runstate import RunDir, write_json_atomic

__all__ = ["SCHEMA", "build_report", "render_html", "render_markdown", "write_reports"]


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(redact(text), encoding="utf-8")
    tmp.replace(path)


def write_reports(run: RunDir, validation: Any = None, contract: Any = None) -> dict[str, Path]:
    """Write report.json, report.md and report.html into the run directory; returns their paths.

    ``validation`` is a :class:`~dynamigrate.validate.post.ValidationReport`, its dict, or None (then
    the run's validation.json is used when there is one).
    """
    doc = build_report(run, validation, contract)
    paths = {
        "json": run.file("report.json"),
        "markdown": run.file("report.md"),
        "html": run.file("report.html"),
    }
    write_json_atomic(paths["json"], json.loads(json.dumps(doc, default=str)))
    _write_text(paths["markdown"], render_markdown(doc))
    _write_text(paths["html"], render_html(doc))
    return paths
