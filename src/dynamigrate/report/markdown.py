"""report.md: the run for people. Summary first, then per table, then problems with what to do, then
the next steps. Rendered from the report.json document only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynamigrate.report._format import ENTITY_HEADERS, example_text
from dynamigrate.report._format import human_duration as _dur
from dynamigrate.report._format import key_text as _key
from dynamigrate.report._format import number as _n
from dynamigrate.report._format import percent as _pct


def _cell(v: Any) -> str:
    return str(v).replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(c) for c in r) + " |" for r in rows]
    return out


def _valid_mark(tv: dict[str, Any] | None) -> str:
    if not tv:
        return "–"
    status = tv.get("status") or ("passed" if tv.get("passed") else "failed")
    return {"passed": "✅", "failed": "❌"}.get(str(status), "not validated")


def render_markdown(doc: dict[str, Any]) -> str:
    v = doc.get("validation") or {}
    tot = doc.get("totals") or {}
    lines = [f"# Migration report — run {doc['run_id']}", ""]
    # -- summary --------------------------------------------------------------------------------
    outcome = str(doc.get("outcome") or "unknown")
    icon = {"succeeded": "✅", "succeeded with warnings": "⚠️", "failed": "❌", "running": "⏳"}.get(
        outcome, ""
    )
    lines += ["## Summary", "", f"**Outcome: {icon} {outcome.upper()}**", ""]
    if v:
        lines.append(
            f"- Validation: **{v.get('headline') or v.get('verdict')}**; {_n(v.get('expected'))} expected "
            f"item(s)"
            + (" (validated later with `dynamigrate validate`)" if v.get("origin") == "validate" else "")
        )
    else:
        lines.append("- Validation: not validated (not run)")
    lines += [
        f"- Source rows {_n(tot.get('source_rows'))}, written {_n(tot.get('written'))}, skipped "
        f"{_n(tot.get('skipped'))}, rejected {_n(tot.get('rejected'))}, conflicts {_n(tot.get('conflicts'))}; "
        f"retries {_n(tot.get('retries'))} (throttled {_n(tot.get('throttles'))}, batches "
        f"{_n(tot.get('retried_batches'))}, transactions {_n(tot.get('transaction_retries'))})",
        f"- Started {doc.get('started_at') or '–'}, finished {doc.get('finished_at') or '–'}, duration "
        f"{_dur(doc.get('duration_seconds'))}",
        f"- Engine {doc.get('engine') or '–'}, write mode {doc.get('write_mode') or '–'}, contract sha256 "
        f"`{(doc.get('contract') or {}).get('sha256') or '–'}`",
        f"- Run directory `{doc.get('run_dir')}`",
        "",
    ]
    if doc.get("tables"):
        rows = []
        for t in doc["tables"]:
            tv = t.get("validation") or {}
            rows.append(
                [
                    t["name"],
                    t.get("status"),
                    _n(t.get("source_rows")),
                    _n(t.get("written")),
                    _n(t.get("rejected")),
                    _n(tv.get("ddb_count")),
                    f"{_pct(tv.get('score'))} ({tv.get('basis')})"
                    if tv and tv.get("score") is not None
                    else "–",
                    _valid_mark(tv),
                ]
            )
        lines += _table(
            ["table", "status", "source rows", "written", "rejected", "in DynamoDB", "score", "valid"], rows
        )
        lines.append("")

    # -- per table ------------------------------------------------------------------------------
    lines += ["## Tables", ""]
    for t in doc.get("tables") or []:
        lines += [f"### {t['name']}", ""]
        size = t.get("item_size") or {}
        lines += [
            f"- Status **{t.get('status')}**; source rows {_n(t.get('source_rows'))}, written {_n(t.get('written'))}, "
            f"skipped by condition {_n(t.get('skipped'))}, conflicts {_n(t.get('conflicts'))}, rejected "
            f"{_n(t.get('rejected'))}",
            f"- Retries {_n(t.get('retries'))} (throttled {_n(t.get('throttles'))}, batches sent again "
            f"{_n(t.get('retried_batches'))}, transactions sent again {_n(t.get('transaction_retries'))}); duration "
            f"{_dur(t.get('duration_seconds'))}, throughput {_n(t.get('throughput_items_per_second'))} items/s "
            f"(peak {_n(t.get('peak_items_per_second'))})"
            + (
                f"; {t['workers']['count']} writer process(es): {t['workers']['why']}"
                if isinstance(t.get("workers"), dict)
                else ""
            ),
            f"- Item size: average {_n(size.get('average_bytes'))} B, largest {_n(size.get('largest_bytes'))} B"
            + (f" ({_key(size.get('largest_key'))})" if size.get("largest_key") else "")
            + f"; contract estimate {_n(size.get('estimated_bytes'))} B"
            + (
                f" (actual/estimate {size['average_vs_estimate']}×)"
                if size.get("average_vs_estimate")
                else ""
            ),
        ]
        acc = t.get("accounting") or {}
        if acc:
            mark = "" if acc.get("status") != "mismatch" else "**DOES NOT ADD UP**: "
            lines.append(
                f"- Accounting: {mark}{acc.get('equation')} ({(acc.get('table') or {}).get('basis')})"
            )
            for e in acc.get("entities") or []:
                lines.append(f"  - {e.get('entity')} ({e.get('source_table')}): {e.get('equation')}")
        if t.get("rejected_by_reason"):
            lines.append(
                "- Rejected by reason: "
                + ", ".join(f"{k} {_n(n)}" for k, n in sorted(t["rejected_by_reason"].items()))
            )
        if t.get("access_patterns"):
            lines.append("- Access patterns it satisfies: " + "; ".join(t["access_patterns"]))
        if t.get("gsis"):
            lines.append("- GSIs: " + ", ".join(str(g) for g in t["gsis"]))
        tv = t.get("validation")
        if tv:
            status = str(tv.get("status") or ("passed" if tv.get("passed") else "failed"))
            lines.append(
                f"- Validation: {status if status == 'passed' else '**' + status.upper() + '**'}, "
                + (f"score {_pct(tv.get('score'))} " if tv.get("score") is not None else "no score ")
                + f"({tv.get('basis')}); expected {_n(tv.get('expected'))}, in DynamoDB {_n(tv.get('ddb_count'))}, "
                f"missing {_n(tv.get('missing'))}, extra {_n(tv.get('extra'))}, compared {_n(tv.get('compared'))}, "
                f"differing {_n(tv.get('mismatched'))}, missing from GSIs {_n(tv.get('gsi_missing'))}"
                + (
                    f"; the view does not match the contract for {_n(tv.get('view_mismatched'))} of "
                    f"{_n(tv.get('view_checked'))} item(s) looked up"
                    if tv.get("view_checked")
                    else ""
                )
                + (f"; not validated: {tv.get('error')}" if tv.get("error") else "")
            )
        if t.get("entities"):
            lines.append("")
            lines += _table(
                list(ENTITY_HEADERS),
                [
                    [
                        e["entity"],
                        e.get("source_table") or "–",
                        _n(e.get("source_rows")),
                        _n(e.get("rejected")),
                        _n(e.get("expected")),
                        _n(e.get("present")),
                        _n(e.get("missing")),
                        _n(e.get("mismatched")),
                    ]
                    for e in t["entities"]
                ],
            )
        lines.append("")

    # -- problems -------------------------------------------------------------------------------
    lines += ["## Problems and what to do", ""]
    problems = doc.get("problems") or []
    if not problems:
        lines += ["No problems found.", ""]
    for p in problems:
        sev = {"error": "❌", "warning": "⚠️", "info": "ℹ️"}.get(p["severity"], "")
        where = f" — {p['table']}" if p.get("table") else ""
        lines.append(f"### {sev} {p['title']}{where}")
        lines.append("")
        if p.get("detail"):
            lines.append(f"{p['detail']}")
            lines.append("")
        if p.get("cause"):
            lines.append(f"- **Cause:** {p['cause']}")
        if p.get("fix"):
            lines.append(f"- **What to do:** {p['fix']}")
        for ex in (p.get("examples") or [])[:3]:
            if isinstance(ex, Mapping):
                extra = ex.get("message") or ex.get("kind") or ""
                lines.append(f"- e.g. `{example_text(ex)}` {extra}".rstrip())
        lines.append("")

    # -- contract warnings and interpretations ----------------------------------------------------
    notes = doc.get("notes") or {}
    warnings, readings = notes.get("contract_warnings") or [], notes.get("interpretations") or []
    if warnings or readings:
        lines += ["## Contract warnings and interpretations", ""]
        for w in warnings:
            fix = f" Fix: {w['fix']}" if w.get("fix") else ""
            lines.append(
                f"- ⚠️ {w.get('code') or ''} `{w.get('path')}`: {_cell(w.get('message'))}{_cell(fix)}"
            )
        for n in readings:
            lines.append(f"- {n.get('table')} (`{n.get('view')}`): {_cell(n.get('note'))}")
        lines.append("")

    # -- next steps -----------------------------------------------------------------------------
    lines += ["## Next steps", ""]
    lines += [f"{i}. {s}" for i, s in enumerate(doc.get("next_steps") or [], 1)]
    lines += ["", f"_Generated {doc.get('generated_at')} by dynamigrate; figures from `report.json`._", ""]
    return "\n".join(lines)
