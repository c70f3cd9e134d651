"""The end-of-run summary of ``migrate`` on a terminal: a rich table sized to the terminal's width.

Pipes and CI get ``RunSummary.render_text()`` (plain lines) and ``--json`` the summary document; this
is only the terminal's rendering of the same figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from dynamigrate.pipeline import RunSummary


def stdout_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


def render_summary(summary: RunSummary) -> RenderableType:
    """Run header, phases, the per-table figures (optional columns only when any table has a non-zero
    value), reports, errors and the resume command."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = []
    status_style = "green" if summary.ok else "bold red"
    head = Text()
    head.append(f"run {summary.run_id}: ")
    head.append(summary.status.upper(), style=status_style)
    head.append(f"  engine {summary.engine}, write mode {summary.write_mode}, {summary.duration:.1f}s")
    parts.append(head)
    parts.append(Text(f"run directory: {summary.run_dir}"))
    if summary.phases:
        phases = Table(box=None, padding=(0, 1), pad_edge=False, show_header=False)
        phases.add_column("phase", no_wrap=True)
        phases.add_column("status", no_wrap=True)
        phases.add_column("detail", overflow="fold")
        for name, info in summary.phases.items():
            phases.add_row(name, str(info.get("status", "?")), str(info.get("detail") or ""))
        parts.append(phases)
    if summary.tables:
        parts.append(Text(""))
        parts.append(_tables_table(summary))
        rejected_tables = [t for t in summary.tables if t.rejected]
        for t in rejected_tables:
            reasons = ", ".join(f"{code} {n:,}" for code, n in sorted(t.rejected.items()))
            parts.append(Text(f"{t.table}: rejected by reason: {reasons}", style="yellow"))
        for t in summary.tables:
            if t.retry_text():
                parts.append(Text(f"{t.table}: {t.retry_text()}", style="yellow" if t.throttles else ""))
            if t.missing_source:
                parts.append(
                    Text(
                        f"{t.table}: {t.missing_source:,} migration-owned item(s) without a source row, "
                        f"{t.deleted_missing:,} deleted"
                    )
                )
            if t.error:
                parts.append(Text(f"{t.table}: error: {t.error.splitlines()[0]}", style="red"))
        if summary.totals()["rejected"] and summary.run_dir:
            parts.append(Text(f"rejected rows: {Path(summary.run_dir) / 'rejected.jsonl'}"))
    for name, path in summary.reports.items():
        parts.append(Text(f"{name}: {path}"))
    for err in summary.errors:
        parts.append(Text(f"error: {err}", style="red"))
    resume = summary.resume_command()
    if resume:
        parts.append(Text(f"resume with: {resume}"))
    return Group(*parts)


def _tables_table(summary: RunSummary) -> Any:
    from rich.table import Table

    always = ["read", "written", "rejected"]
    optional = ["skipped", "unchanged", "conflicts", "retries"]
    shown = always + [c for c in optional if any(_count(t, c) for t in summary.tables)]
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold", show_footer=True)
    table.add_column("table", "total", overflow="fold", min_width=5)
    table.add_column("status", no_wrap=True)
    for col in shown:
        total = sum(_count(t, col) for t in summary.tables)
        table.add_column(col, f"{total:,}", justify="right", no_wrap=True)
    table.add_column("rows/s", justify="right", no_wrap=True)
    for t in summary.tables:
        rate = t.read / t.duration if t.duration > 0 else 0.0
        values = [f"{_count(t, col):,}" for col in shown]
        style = "" if t.status == "done" else "red"
        table.add_row(t.table, t.status, *values, f"{rate:,.0f}", style=style)
    return table


def _count(t: Any, column: str) -> int:
    return int(t.rejected_total) if column == "rejected" else int(getattr(t, column, 0) or 0)


def render_plan(plan: dict[str, Any]) -> RenderableType:
    """The dry run's plan: settings, one row per table (rows, key, GSIs, entities), notes."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    head = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_header=False)
    head.add_column("what", no_wrap=True)
    head.add_column("value", overflow="fold")
    head.add_row("contract", f"{plan.get('contract')} (sha256 {str(plan.get('contract_sha256'))[:12]})")
    head.add_row("source", str(plan.get("source")))
    head.add_row("target", str(plan.get("target")))
    head.add_row(
        "engine",
        f"{plan.get('engine')}, write mode {plan.get('write_mode')}"
        f"{' --delete-missing' if plan.get('delete_missing') else ''}, marker "
        f"{plan.get('marker_attribute') or 'none'}",
    )
    if plan.get("version_attribute"):
        head.add_row("version", str(plan["version_attribute"]))
    head.add_row("phases", " -> ".join(plan.get("phases", [])))
    tables = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
    tables.add_column("table", overflow="fold")
    tables.add_column("rows", justify="right", no_wrap=True)
    tables.add_column("key", overflow="fold")
    tables.add_column("GSIs", overflow="fold")
    tables.add_column("entities", overflow="fold")
    for t in plan.get("tables", []):
        rows = t.get("rows")
        tables.add_row(
            t["table"],
            f"{rows:,}" if isinstance(rows, int) else "?",
            "/".join(t["key"]),
            ", ".join(t.get("gsis") or []) or "-",
            ", ".join(t["entities"]),
        )
    parts: list[RenderableType] = [
        Text("migration plan (dry run: nothing is created or written)", style="bold"),
        head,
        Text(""),
        tables,
    ]
    if any(t.get("rows") is None for t in plan.get("tables", [])):
        parts.append(Text("rows ?: the source could not be reached"))
    for note in plan.get("notes", []):
        parts.append(Text(f"note: {note}"))
    return Group(*parts)
