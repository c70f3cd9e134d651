"""``dynamigrate status`` on a terminal: the run's status document as rich text sized to the terminal
(80 columns fit). Pipes get ``render_status`` (plain lines) and ``--json`` the document itself."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import RenderableType


def _duration(seconds: Any) -> str:
    from dynamigrate.etl.progress import format_duration

    return format_duration(float(seconds)) if isinstance(seconds, int | float) else "--:--"


def render_status_rich(doc: dict[str, Any]) -> RenderableType:
    from rich.console import Group
    from rich.progress_bar import ProgressBar
    from rich.table import Table
    from rich.text import Text

    parts: list[RenderableType] = [
        Text(f"run {doc['run_id']}", style="bold"),
        Text(f"directory {doc['run_dir']}"),
        Text(
            f"status {doc.get('status') or '?'}, phase {doc.get('phase') or '-'}; engine "
            f"{doc.get('engine') or '-'}, write mode {doc.get('write_mode') or '-'}"
        ),
    ]
    updated = f"last update {doc.get('updated_at') or '-'}"
    if doc.get("seconds_since_update") is not None:
        updated += f" ({doc['seconds_since_update']} s ago)"
    parts.append(Text(updated))
    phases = doc.get("phases") or {}
    if isinstance(phases, dict) and phases:
        parts.append(
            Text(
                "phases: "
                + ", ".join(f"{k} {v.get('status') if isinstance(v, dict) else v}" for k, v in phases.items())
            )
        )
    tables = doc.get("tables") or []
    if tables:
        optional = [c for c in ("skipped", "conflicts", "retries") if any(t.get(c) for t in tables)]
        grid = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, header_style="bold")
        grid.add_column("table", overflow="ellipsis", no_wrap=True, max_width=24)
        grid.add_column("status", no_wrap=True)
        grid.add_column("progress", width=12, no_wrap=True)
        grid.add_column("", justify="right", no_wrap=True)
        for col in ["written", "rejected", *optional]:
            grid.add_column(col, justify="right", no_wrap=True)
        grid.add_column("rows/s", justify="right", no_wrap=True)
        grid.add_column("ETA", justify="right", no_wrap=True)
        for t in tables:
            total, read = t.get("total"), int(t.get("read") or 0)
            running = t.get("status") == "running"
            if isinstance(total, int) and total:
                bar: Any = ProgressBar(total=total, completed=min(read, total), width=12)
                pct = f"{min(100, int(100 * read / total))}%"
            else:  # total not known (yet): how far it got, no percentage
                bar = ProgressBar(total=None if running else 1, completed=0 if running else 1, width=12)
                pct = ""
            rate = t.get("rate")
            eta = _duration(t.get("eta_seconds")) if running else str(t.get("status") or "?")
            grid.add_row(
                t["table"],
                str(t.get("status") or "?"),
                bar,
                pct,
                *(f"{int(t.get(c) or 0):,}" for c in ["written", "rejected", *optional]),
                f"{rate:,.0f}" if isinstance(rate, int | float) else "-",
                eta,
            )
        parts.append(grid)
        for t in tables:
            if t.get("error"):
                parts.append(Text(f"{t['table']}: error: {t['error']}", style="red"))
    else:
        parts.append(Text("no table started yet"))
    for block in doc.get("extra") or []:
        parts.append(Text(str(block)))
    v = doc.get("validation")
    if v:
        from dynamigrate.validate.results import headline

        score = v.get("score") if isinstance(v.get("score"), int | float) else None
        parts.append(
            Text(f"validation ({v.get('mode')}): {headline(v.get('verdict'), score, v.get('basis'))}")
        )
    r = doc.get("rollback")
    if r:
        from dynamigrate.cli.status import rollback_line

        parts.append(Text(rollback_line(r)))
    for e in doc.get("errors") or []:
        parts.append(Text(f"error: {str(e).splitlines()[0]}", style="red"))
    for name, path in (doc.get("reports") or {}).items():
        parts.append(Text(f"{name}: {path}"))
    return Group(*parts)
