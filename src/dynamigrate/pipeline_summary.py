"""What `dynamigrate migrate` is asked (:class:`MigrateOptions`) and what it answers
(:class:`RunSummary`: phases, tables, exit code, the resume command), and the plan's text."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamigrate.etl.base import RETRY_NAMES, TableResult

PHASES = ("contract", "views", "preflight", "tables", "etl", "validate", "report")


@dataclass
class MigrateOptions:
    """What the CLI flags say (``None``: take the config's value)."""

    contract_path: str | None = None
    tables: tuple[str, ...] = ()
    engine: str | None = None
    write_mode: str | None = None
    version_attribute: str | None = None
    no_marker: bool = False
    delete_missing: bool = False
    concurrency: int | None = None
    strategy: str | None = None
    chunk_rows: int | None = None
    inflight_chunks: int | None = None
    #: local engine: writer processes (None: chosen per table); glue: the job's NumberOfWorkers
    workers: int | None = None
    via: str = "auto"
    allow_fallback: bool = False
    dry_run: bool = False
    resume: str | bool | None = None  # True: the latest run; a str: that run id / path
    force: bool = False  # take over a run locked on another host; run beside a live run on the same tables
    output_dir: str | None = None
    skip_views: bool = False
    skip_preflight: bool = False
    skip_validation: bool = False
    accept: tuple[str, ...] = ()
    progress_mode: str | None = None  # tty | plain | json | quiet (None: chosen from the terminal)
    progress_interval: float = 10.0


@dataclass
class RunSummary:
    run_id: str | None
    run_dir: str | None
    status: str  # ok | failed | dry-run | interrupted
    engine: str
    write_mode: str
    tables: list[TableResult] = field(default_factory=list)
    phases: dict[str, dict[str, Any]] = field(default_factory=dict)
    plan: dict[str, Any] | None = None
    validation: Any = None
    reports: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    started: str | None = None
    finished: str | None = None
    duration: float = 0.0
    config_path: str | None = None  # the config file the run was started with (for the resume command)
    # the preflight checks that stopped the run: a plain resume fails the same way until the rows are fixed
    # or the checks accepted, so the resume command says so
    resume_accept: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "dry-run")

    def resume_command(self) -> str | None:
        """The command that resumes this run, when something is left to resume (a table that did not
        finish, or a run that stopped before its tables), else None."""
        if self.status not in ("failed", "interrupted") or not self.run_id:
            return None
        if self.tables and all(t.status == "done" for t in self.tables):
            return None  # every table loaded: what failed (validation, reports) is not resumed
        config = f"--config {shlex.quote(self.config_path)} " if self.config_path else ""
        command = f"dynamigrate migrate {config}--resume {self.run_id}"
        if self.resume_accept:
            command += (
                f"  (once the source rows are fixed; to accept knowingly add --accept "
                f"{','.join(self.resume_accept)})"
            )
        return command

    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def totals(self) -> dict[str, int]:
        keys = ("read", "written", "skipped", "conflicts", *RETRY_NAMES, "missing_source")
        out = {k: sum(int(getattr(t, k)) for t in self.tables) for k in keys}
        out["rejected"] = sum(t.rejected_total for t in self.tables)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_dir": self.run_dir,
            "status": self.status,
            "engine": self.engine,
            "write_mode": self.write_mode,
            "started": self.started,
            "finished": self.finished,
            "duration": round(self.duration, 3),
            "phases": self.phases,
            "tables": [t.to_dict() for t in self.tables],
            "totals": self.totals(),
            "plan": self.plan,
            "reports": self.reports,
            "errors": self.errors,
        }

    def render_text(self) -> str:
        if self.plan is not None and self.status == "dry-run":
            return render_plan(self.plan)
        lines = [
            f"run {self.run_id}: {self.status.upper()}  engine={self.engine}  write mode={self.write_mode}  "
            f"{self.duration:.1f}s",
            f"  run directory: {self.run_dir}",
        ]
        for name, info in self.phases.items():
            detail = f"  {info.get('detail')}" if info.get("detail") else ""
            lines.append(f"  phase {name:<10} {info.get('status', '?'):<8}{detail}")
        if self.tables:
            header = f"  {'table':<24}{'status':<12}{'read':>9}{'written':>9}{'skipped':>9}{'conflict':>9}{'rejected':>9}{'retries':>9}{'rows/s':>9}"
            lines += ["", header]
            for t in self.tables:
                rate = t.read / t.duration if t.duration > 0 else 0.0
                lines.append(
                    f"  {t.table:<24}{t.status:<12}{t.read:>9}{t.written:>9}{t.skipped:>9}{t.conflicts:>9}"
                    f"{t.rejected_total:>9}{t.retries:>9}{rate:>9.0f}"
                )
                if t.rejected:
                    lines.append(f"  {'':<24}rejected by reason: {json.dumps(t.rejected)}")
                if t.retry_text():
                    lines.append(f"  {'':<24}{t.retry_text()}")
                if t.missing_source:
                    lines.append(
                        f"  {'':<24}{t.missing_source} migration-owned item(s) without a source row, "
                        f"{t.deleted_missing} deleted"
                    )
                if t.error:
                    lines.append(f"  {'':<24}error: {t.error.splitlines()[0]}")
            tot = self.totals()
            lines.append(
                f"  {'total':<24}{'':<12}{tot['read']:>9}{tot['written']:>9}{tot['skipped']:>9}"
                f"{tot['conflicts']:>9}{tot['rejected']:>9}{tot['retries']:>9}"
            )
            if tot["rejected"] and self.run_dir:
                lines.append(f"  rejected rows: {Path(self.run_dir) / 'rejected.jsonl'}")
        for name, path in self.reports.items():
            lines.append(f"  {name}: {path}")
        for err in self.errors:
            lines.append(f"  error: {err}")
        resume = self.resume_command()
        if resume:
            lines.append(f"  resume with: {resume}")
        return "\n".join(lines)


def render_plan(plan: dict[str, Any]) -> str:
    lines = [
        "migration plan (dry run: nothing is created or written)",
        f"  contract:   {plan.get('contract')} (sha256 {str(plan.get('contract_sha256'))[:12]})",
        f"  source:     {plan.get('source')}",
        f"  target:     {plan.get('target')}",
        f"  engine:     {plan.get('engine')}   write mode: {plan.get('write_mode')}"
        f"{' --delete-missing' if plan.get('delete_missing') else ''}   marker: "
        f"{plan.get('marker_attribute') or 'none'}",
        f"  phases:     {' -> '.join(plan.get('phases', []))}",
    ]
    if plan.get("version_attribute"):
        lines.append(f"  version attribute: {plan['version_attribute']}")
    lines.append("  tables:")
    for t in plan.get("tables", []):
        rows = t.get("rows")
        rows_text = f"{rows} rows" if rows is not None else "rows unknown (source not reachable)"
        if rows is not None and t.get("filtered"):
            rows_text = f"{rows} rows kept ({t.get('source_rows')} source rows, {t['filtered']} filtered out)"
        gsis = f", GSIs {', '.join(t['gsis'])}" if t.get("gsis") else ""
        lines.append(
            f"    {t['table']:<24} view {t['view']:<32} {rows_text}; key {'/'.join(t['key'])}{gsis}; "
            f"entities {', '.join(t['entities'])}"
        )
        if t.get("reads"):
            lines.append(f"      read: {'; '.join(f'{e} {how}' for e, how in t['reads'].items())}")
    for note in plan.get("notes", []):
        lines.append(f"  note: {note}")
    return "\n".join(lines)
