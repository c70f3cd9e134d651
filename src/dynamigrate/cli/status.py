"""``dynamigrate status [RUN]``: a running or finished run's progress and outcome, from its state.

Without RUN: the latest run is shown; ``--list`` lists every run (newest last). Reads
nothing but the run directory (state.json, run.json, events.jsonl, validation.json, report files), so
it works while ``migrate`` is running in another terminal, and on a copy of the directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from dynamigrate.cli._common import add_run_argument, run_value
from dynamigrate.report.json_report import utc_seconds
from dynamigrate.runlock import is_live
from dynamigrate.runstate import RunDir, list_runs


def extra_status_sections(run: RunDir) -> list[str]:
    """Hook for other stages: text blocks appended to ``status`` output (e.g. Glue job runs).

    Returns [] here; a stage that has more to say replaces or wraps this function (the Glue engine
    does for job-run watching). Each block is printed as is, after the per-table section.
    """
    from dynamigrate.etl.glue import glue_status_lines  # live Glue job runs, [] when none
    from dynamigrate.replicate.status import replication_status_lines

    blocks = [glue_status_lines(run), replication_status_lines(run)]
    return ["\n".join(lines) for lines in blocks if lines]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "status",
        help="show a run's progress and outcome (the latest run by default; --list lists them)",
        description="Show a running or finished run's phase, per-table progress and outcome, and where its reports are.",
    )
    add_run_argument(p, "the run to show (default: the latest)", positional=True)
    p.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    p.add_argument("--config", help="config file (for migration.output_dir)")
    p.add_argument("--list", action="store_true", help="list every run instead of showing one")
    p.add_argument("--latest", action="store_true", help=argparse.SUPPRESS)  # the default now
    p.add_argument("--json", action="store_true", help="print the status as JSON")
    p.set_defaults(handler=run)

    r = subparsers.add_parser(
        "report",
        help="(re)write a run's report.json, report.md and report.html",
        description="Write the reports of a run from its directory (the latest run by default).",
    )
    add_run_argument(r, "the run to report on (default: the latest)", positional=True)
    r.add_argument("--output-dir", help="where runs live (default: migration.output_dir)")
    r.add_argument("--config", help="config file (for migration.output_dir)")
    r.set_defaults(handler=run_report)


def _output_dir(args: argparse.Namespace) -> str:
    if args.output_dir:
        return str(args.output_dir)
    if args.config:
        from dynamigrate.config import load_config

        return load_config(args.config).migration.output_dir
    from dynamigrate.config import MigrationSettings

    return MigrationSettings().output_dir


def _rejected(v: Any) -> int:
    if isinstance(v, dict):
        return sum(int(x or 0) for x in v.values())
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def _last_rates(run: RunDir) -> dict[str, dict[str, Any]]:
    """The last progress sample per table (rate, counters) from events.jsonl (read from its tail)."""
    path = run.file("events.jsonl")
    out: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return out
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 256 * 1024))
        tail = fh.read().decode("utf-8", errors="replace").splitlines()
    for line in tail:
        try:
            ev = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(ev, dict) and ev.get("event") == "progress" and ev.get("table"):
            out[str(ev["table"])] = ev
    return out


def run_status(run: RunDir) -> dict[str, Any]:
    """The status document of a run (what ``--json`` prints)."""
    meta = run.meta
    state = run.state()
    rates = _last_rates(run)
    validation = run.read_json("validation.json")
    status = state.get("status")
    # a run whose process is gone (SIGKILL, a crash, a reboot) never wrote its end: say so
    interrupted = status == "running" and not is_live(run.path)
    tables = []
    state_tables = dict(state.get("tables") or {})
    for name, ev in rates.items():  # a table being loaded is in state.json only once it ends
        if name not in state_tables:
            state_tables[name] = {"status": "running", **{k: ev.get(k) for k in _PROGRESS_FIELDS}}
    for name, t in state_tables.items():
        if interrupted and t.get("status") == "running":
            t = {**t, "status": "interrupted"}
        total = t.get("total")
        done = sum(int(t.get(k) or 0) for k in ("written", "skipped", "conflicts")) + _rejected(
            t.get("rejected")
        )
        read = int(t.get("read") or 0)
        sample = rates.get(name) or {}
        rate = sample.get("rate") if isinstance(sample.get("rate"), int | float) else None
        left = (int(total) - read) if isinstance(total, int) and total >= read else None
        tables.append(
            {
                "table": name,
                "status": t.get("status"),
                "read": read,
                "total": total,
                "progress": round(read / total, 4) if isinstance(total, int) and total else None,
                "written": int(t.get("written") or 0),
                "skipped": int(t.get("skipped") or 0),
                "conflicts": int(t.get("conflicts") or 0),
                "rejected": _rejected(t.get("rejected")),
                "retries": int(t.get("retries") or 0),
                "throttles": int(t.get("throttles") or 0),
                "done": done,
                "rate": rate,
                "eta_seconds": round(left / rate) if left and rate and t.get("status") == "running" else None,
                "error": t.get("error"),
            }
        )
    updated = utc_seconds(state.get("updated_at"))
    reports = {
        n: str(run.file(n)) for n in ("report.md", "report.html", "report.json") if run.file(n).exists()
    }
    return {
        "run_id": run.run_id,
        "run_dir": str(run.path),
        "status": "interrupted" if interrupted else status,
        "resume": f"dynamigrate migrate --config CONFIG --resume {run.run_id}" if interrupted else None,
        "phase": state.get("phase"),
        "created_at": meta.get("created_at"),
        "updated_at": state.get("updated_at"),
        "seconds_since_update": round(time.time() - updated) if updated else None,
        "engine": meta.get("engine"),
        "write_mode": meta.get("write_mode"),
        "phases": state.get("phases"),
        "tables": tables,
        "validation": (
            {
                k: validation.get(k)
                for k in ("mode", "passed", "status", "verdict", "score", "basis", "origin", "finished_at")
            }
            if validation
            else None
        ),
        "rollback": state.get("rollback"),
        "replication": run.read_json("replicate/state.json"),
        "errors": (state.get("summary") or {}).get("errors")
        if isinstance(state.get("summary"), dict)
        else None,
        "reports": reports,
        "extra": extra_status_sections(run),
    }


#: the counters a progress event carries (events.jsonl), as in state.json's table entries
_PROGRESS_FIELDS = ("read", "total", "written", "skipped", "conflicts", "rejected", "retries", "throttles")


def _bar(fraction: float | None, width: int = 20) -> str:
    if fraction is None:
        return " " * width
    n = max(0, min(width, round(fraction * width)))
    return "#" * n + "." * (width - n)


def rollback_line(r: dict[str, Any]) -> str:
    """The run's last rollback, every figure (items a sync --delete-missing had deleted, put back)."""
    return (
        f"rolled back {r.get('finished_at')}: deleted {r.get('deleted')}, restored {r.get('restored')}"
        + (f", put back {r['undeleted']} item(s) the run had deleted" if r.get("undeleted") else "")
        + f", left alone {r.get('left_alone')}"
    )


def render_status(doc: dict[str, Any]) -> str:
    lines = [
        f"run {doc['run_id']}  ({doc['run_dir']})",
        f"  status {doc.get('status') or '?'}, phase {doc.get('phase') or '-'}; engine {doc.get('engine') or '-'}, "
        f"write mode {doc.get('write_mode') or '-'}",
        f"  created {doc.get('created_at') or '-'}, last update {doc.get('updated_at') or '-'}"
        + (f" ({doc['seconds_since_update']} s ago)" if doc.get("seconds_since_update") is not None else ""),
    ]
    if doc.get("resume"):
        lines.append(f"  no process holds this run any more (killed or crashed): resume with {doc['resume']}")
    phases = doc.get("phases") or {}
    if isinstance(phases, dict) and phases:
        lines.append(
            "  phases: "
            + ", ".join(f"{k} {v.get('status') if isinstance(v, dict) else v}" for k, v in phases.items())
        )
    if doc["tables"]:
        lines.append("  tables:")
        for t in doc["tables"]:
            pct = f"{t['progress']:.0%}" if t["progress"] is not None else ""
            total = f"/{t['total']}" if t["total"] is not None else ""  # not known yet: no '?'
            lines.append(
                f"    {t['table']:<24} {t.get('status') or '?':<9} [{_bar(t['progress'])}] {pct:>4} "
                f"read {t['read']}{total}  written {t['written']}  skipped {t['skipped']}  rejected {t['rejected']}"
                + (f"  conflicts {t['conflicts']}" if t["conflicts"] else "")
                + (
                    f"  retries {t['retries']}  throttled {t['throttles']}"
                    if t["retries"] or t["throttles"]
                    else ""
                )
                + (f"  {t['rate']:.0f}/s" if t["rate"] else "")
                + (f"  ETA {t['eta_seconds']} s" if t["eta_seconds"] else "")
            )
            if t.get("error"):
                lines.append(f"      error: {t['error']}")
    else:
        lines.append("  no table started yet")
    for block in doc.get("extra") or []:
        lines.append(str(block))
    v = doc.get("validation")
    if v:
        from dynamigrate.validate.results import headline

        score = v.get("score") if isinstance(v.get("score"), int | float) else None
        lines.append(f"  validation ({v.get('mode')}): {headline(v.get('verdict'), score, v.get('basis'))}")
    if doc.get("rollback"):
        r = doc["rollback"]
        lines.append(f"  {rollback_line(r)}")
    for e in doc.get("errors") or []:
        lines.append(f"  error: {str(e).splitlines()[0]}")
    if doc.get("reports"):
        lines.append("  reports: " + ", ".join(doc["reports"].values()))
    return "\n".join(lines)


def list_status(output_dir: str) -> list[dict[str, Any]]:
    out = []
    for p in list_runs(output_dir):
        r = RunDir(p)
        state = r.state()
        v = r.read_json("validation.json") or {}
        out.append(
            {
                "run_id": r.run_id,
                "created_at": r.meta.get("created_at"),
                "status": state.get("status"),
                "phase": state.get("phase"),
                "tables": len(state.get("tables") or {}),
                "validation": v.get("verdict"),
            }
        )
    return out


def run(args: argparse.Namespace) -> int:
    output_dir = _output_dir(args)
    run_name = run_value(args)
    if args.list and not run_name:
        runs = list_status(output_dir)
        if args.json:
            print(json.dumps(runs, indent=2))
        else:
            print(f"{len(runs)} run(s) in {Path(output_dir).resolve()} (oldest first):")
            for r in runs:
                print(
                    f"  {r['run_id']}  {r.get('status') or '?':<12} phase {r.get('phase') or '-':<10} "
                    f"tables {r['tables']}  validation {r.get('validation') or '-'}"
                )
            print("show one with `dynamigrate status RUN`")
        return 0
    run_dir = RunDir.find(output_dir, run_name)
    doc = run_status(run_dir)
    if args.json:
        print(json.dumps(doc, indent=2, default=str))
    elif sys.stdout.isatty():  # a terminal: sized to it
        from dynamigrate.cli._status_view import render_status_rich
        from dynamigrate.cli._summary import stdout_console

        stdout_console().print(render_status_rich(doc))
    else:
        print(render_status(doc))
    return 0


def run_report(args: argparse.Namespace) -> int:
    from dynamigrate.report import write_reports

    run_dir = RunDir.find(_output_dir(args), run_value(args))
    for kind, path in write_reports(run_dir).items():
        print(f"{kind:<9} {path}")
    return 0
