"""report.html: one self-contained page (inline CSS and SVG, no script, no network) with the charts a
person would rather look at than read: source vs target counts per table, throughput over time,
rejected rows by reason. Rendered from the report.json document only.

Chart elements carry classes and data attributes (``rect.bar-source[data-table]``,
``polyline.series[data-table]``, ``rect.bar-rejected[data-reason]``) so tests can check the DOM.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import Any

from dynamigrate.report._format import ENTITY_HEADERS, example_text, human_duration
from dynamigrate.report._format import number as _n
from dynamigrate.report._format import percent as _pct
from dynamigrate.validate.results import NOT_VALIDATED

PALETTE = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed", "#0891b2", "#db2777", "#65a30d")

CSS = """
*{box-sizing:border-box}
body{font:14px/1.5 -apple-system,"Segoe UI",Roboto,"DejaVu Sans",Helvetica,Arial,sans-serif;color:#1f2937;
 background:#f3f4f6;margin:0;padding:24px}
main{max-width:1180px;margin:0 auto}
h1{font-size:24px;margin:0 0 4px}
h2{font-size:18px;margin:28px 0 10px;border-bottom:2px solid #e5e7eb;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
.sub{color:#6b7280;margin:0 0 16px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px}
.card{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .label{color:#6b7280;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:650;margin-top:2px}
.outcome-succeeded{border-left:6px solid #16a34a}
.outcome-succeeded-with-warnings{border-left:6px solid #f59e0b}
.outcome-failed{border-left:6px solid #dc2626}
.outcome-running{border-left:6px solid #2563eb}
.panel{background:#fff;border-radius:10px;padding:16px;box-shadow:0 1px 2px rgba(0,0,0,.08);margin-bottom:14px}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:14px}
.charts .wide{grid-column:1 / span 2}
svg.chart{width:100%;height:auto;display:block}
svg text{font-family:inherit;fill:#374151}
.axis{stroke:#9ca3af;stroke-width:1}
.grid{stroke:#e5e7eb;stroke-width:1}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{background:#f9fafb;font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#16a34a;font-weight:600}.bad{color:#dc2626;font-weight:600}.warn{color:#b45309;font-weight:600}
.problem{border-left:4px solid #9ca3af;padding:8px 12px;margin:8px 0;background:#fafafa;border-radius:4px}
.problem.error{border-color:#dc2626}.problem.warning{border-color:#f59e0b}.problem.info{border-color:#2563eb}
.problem .fix{margin-top:4px}
code{background:#f3f4f6;padding:1px 4px;border-radius:3px;font-size:12px}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12px;margin:4px 0 0}
.legend span::before{content:"";display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;
 background:var(--c)}
.empty{color:#6b7280;font-style:italic;padding:30px 0;text-align:center}
footer{color:#6b7280;font-size:12px;margin-top:24px}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _ticks(vmax: float, n: int = 5, integer: bool = False) -> list[float]:
    if integer and 1 <= vmax < n:
        n = int(vmax)  # counts: no 0.25 rows
    return [vmax * i / n for i in range(n + 1)]


def _fmt_tick(v: float) -> str:
    if v >= 1_000_000:
        return f"{v / 1_000_000:.3g}M"
    if v >= 1000:
        return f"{v / 1000:.3g}k"
    return f"{v:.3g}"


def _short(text: str, n: int = 18) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# -- charts ---------------------------------------------------------------------------------------


def counts_chart(tables: list[dict[str, Any]]) -> str:
    """Grouped bars per table: source rows, expected (minus rejected), written, items in DynamoDB."""
    series = [
        ("source", "source rows", "#94a3b8"),
        ("expected", "expected items", "#2563eb"),
        ("written", "written by the run", "#16a34a"),
        ("target", "items in DynamoDB", "#f59e0b"),
    ]
    data = []
    for t in tables:
        tv = t.get("validation") or {}
        data.append(
            (
                t["name"],
                {
                    "source": t.get("source_rows"),
                    "expected": tv.get("expected"),
                    "written": t.get("written"),
                    "target": tv.get("ddb_count"),
                },
            )
        )
    if not data:
        return '<div class="empty">no tables</div>'
    w, h, left, right, top, bottom = 560, 300, 56, 12, 16, 64
    vmax = _nice_max(
        max([float(v) for _, d in data for v in d.values() if isinstance(v, int | float)] or [1])
    )
    plot_w, plot_h = w - left - right, h - top - bottom
    group_w = plot_w / len(data)
    bar_w = min(26.0, group_w * 0.8 / len(series))
    parts = [
        f'<svg class="chart" id="chart-counts" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="source rows versus DynamoDB items per table" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in _ticks(vmax, integer=True):
        y = top + plot_h - plot_h * tick / vmax
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt_tick(tick)}</text>'
        )
    parts.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{w - right}" y2="{top + plot_h}"/>')
    for gi, (name, vals) in enumerate(data):
        gx = left + gi * group_w + (group_w - bar_w * len(series)) / 2
        for si, (sk, label, color) in enumerate(series):
            v = vals.get(sk)
            if not isinstance(v, int | float):
                continue
            bh = plot_h * float(v) / vmax
            x = gx + si * bar_w
            y = top + plot_h - bh
            parts.append(
                f'<rect class="bar bar-{sk}" data-table="{_e(name)}" data-value="{v}" x="{x:.1f}" y="{y:.1f}" '
                f'width="{bar_w - 2:.1f}" height="{max(bh, 0.5):.1f}" rx="2" fill="{color}">'
                f"<title>{_e(name)}: {_e(label)} {_n(v)}</title></rect>"
            )
        cx = left + gi * group_w + group_w / 2
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="12">{_e(_short(name))}</text>'
        )
    ly = h - 18
    lx: float = left
    for _sk, label, color in series:
        parts.append(f'<rect x="{lx}" y="{ly - 9}" width="10" height="10" rx="2" fill="{color}"/>')
        parts.append(f'<text x="{lx + 14}" y="{ly}" font-size="11">{_e(label)}</text>')
        lx += 18 + 6.5 * len(label) + 12
    parts.append("</svg>")
    return "".join(parts)


def throughput_chart(tables: list[dict[str, Any]]) -> str:
    """Items per second over time, one line per table (events.jsonl progress samples)."""
    lines = [(t["name"], t.get("throughput_series") or []) for t in tables]
    lines = [(n, s) for n, s in lines if s]
    if not lines:
        return '<div class="empty" id="chart-throughput">no progress samples recorded</div>'
    w, h, left, right, top, bottom = 1120, 280, 60, 16, 14, 46
    tmax = _nice_max(max(p[0] for _, s in lines for p in s) or 1.0)
    vmax = _nice_max(max(p[1] for _, s in lines for p in s) or 1.0)
    plot_w, plot_h = w - left - right, h - top - bottom
    parts = [
        f'<svg class="chart" id="chart-throughput" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="throughput over time" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in _ticks(vmax, 4):
        y = top + plot_h - plot_h * tick / vmax
        parts.append(f'<line class="grid" x1="{left}" y1="{y:.1f}" x2="{w - right}" y2="{y:.1f}"/>')
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_fmt_tick(tick)}</text>'
        )
    for tick in _ticks(tmax, 8):
        x = left + plot_w * tick / tmax
        parts.append(
            f'<line class="axis" x1="{x:.1f}" y1="{top + plot_h}" x2="{x:.1f}" y2="{top + plot_h + 4}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + plot_h + 17}" text-anchor="middle" font-size="11">{_fmt_tick(tick)} s</text>'
        )
    parts.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{w - right}" y2="{top + plot_h}"/>')
    parts.append(
        f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="11" transform="rotate(-90 14 {top + plot_h / 2:.0f})" '
        f'text-anchor="middle">items/s</text>'
    )
    legend = []
    for i, (name, s) in enumerate(lines):
        color = PALETTE[i % len(PALETTE)]
        pts = " ".join(
            f"{left + plot_w * p[0] / tmax:.1f},{top + plot_h - plot_h * p[1] / vmax:.1f}" for p in s
        )
        if len(s) <= 40:  # sparse samples (short tables): show every sample
            for pt in pts.split(" "):
                cx_text, cy_text = pt.split(",")
                parts.append(f'<circle cx="{cx_text}" cy="{cy_text}" r="3" fill="{color}"/>')
        parts.append(
            f'<polyline class="series" data-table="{_e(name)}" data-points="{len(s)}" points="{pts}" fill="none" '
            f'stroke="{color}" stroke-width="2" stroke-linejoin="round"><title>{_e(name)}</title></polyline>'
        )
        legend.append(f'<span style="--c:{color}">{_e(name)}</span>')
    parts.append("</svg>")
    return "".join(parts) + '<div class="legend">' + "".join(legend) + "</div>"


def rejected_chart(tables: list[dict[str, Any]]) -> str:
    """Horizontal bars: rejected rows by reason (all tables), stacked per table."""
    reasons: dict[str, dict[str, int]] = {}
    for t in tables:
        for code, n in (t.get("rejected_by_reason") or {}).items():
            reasons.setdefault(code, {})[t["name"]] = reasons.setdefault(code, {}).get(t["name"], 0) + int(
                n or 0
            )
    reasons = {k: v for k, v in reasons.items() if sum(v.values())}
    if not reasons:
        return '<div class="empty" id="chart-rejected">no rejected rows</div>'
    order = sorted(reasons, key=lambda k: -sum(reasons[k].values()))
    names = [t["name"] for t in tables]
    w, left, right, row_h, top = 560, 120, 50, 30, 10
    h = top + row_h * len(order) + 40
    vmax = _nice_max(max(sum(v.values()) for v in reasons.values()))
    plot_w = w - left - right
    parts = [
        f'<svg class="chart" id="chart-rejected" viewBox="0 0 {w} {h}" role="img" '
        f'aria-label="rejected rows by reason" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in _ticks(vmax, 4, integer=True):
        x = left + plot_w * tick / vmax
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + row_h * len(order)}"/>'
        )
        parts.append(
            f'<text x="{x:.1f}" y="{top + row_h * len(order) + 14}" text-anchor="middle" font-size="11">{_fmt_tick(tick)}</text>'
        )
    for i, code in enumerate(order):
        y = top + i * row_h + 5
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" font-size="12">{_e(_short(code, 16))}</text>'
        )
        x = float(left)
        for name in names:
            n = reasons[code].get(name, 0)
            if not n:
                continue
            bw = plot_w * n / vmax
            color = PALETTE[names.index(name) % len(PALETTE)]
            parts.append(
                f'<rect class="bar bar-rejected" data-reason="{_e(code)}" data-table="{_e(name)}" data-value="{n}" '
                f'x="{x:.1f}" y="{y}" width="{max(bw, 1):.1f}" height="{row_h - 10}" rx="2" fill="{color}">'
                f"<title>{_e(name)}: {n} row(s) rejected ({_e(code)})</title></rect>"
            )
            x += bw
        parts.append(
            f'<text x="{x + 6:.1f}" y="{y + 14}" font-size="12">{sum(reasons[code].values()):,}</text>'
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span style="--c:{PALETTE[i % len(PALETTE)]}">{_e(n)}</span>'
        for i, n in enumerate(names)
        if any(reasons[c].get(n) for c in order)
    )
    return "".join(parts) + '<div class="legend">' + legend + "</div>"


# -- page -----------------------------------------------------------------------------------------


def render_html(doc: dict[str, Any]) -> str:
    v = doc.get("validation") or {}
    tot = doc.get("totals") or {}
    tables = doc.get("tables") or []
    outcome = str(doc.get("outcome") or "unknown")
    oc_class = "outcome-" + outcome.replace(" ", "-")
    dur = doc.get("duration_seconds")
    cards = [
        ("outcome", outcome.upper(), oc_class),
        (
            "integrity score",
            f"{_pct(v.get('score'))} ({v.get('basis')})" if v and v.get("score") is not None else "no score",
            "",
        ),
        ("validation", str(v.get("verdict") or "not validated").upper() if v else "NOT VALIDATED", ""),
        ("items written", _n(tot.get("written")), ""),
        ("rows rejected", _n(tot.get("rejected")), ""),
        ("throttled", _n(tot.get("throttles")), ""),
        ("duration", human_duration(dur), ""),
    ]
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>dynamigrate report {_e(doc['run_id'])}</title>",
        f"<style>{CSS}</style></head><body><main>",
        f'<h1>Migration report</h1><p class="sub">run <code>{_e(doc["run_id"])}</code> · engine '
        f"{_e(doc.get('engine') or '–')} · write mode {_e(doc.get('write_mode') or '–')} · started "
        f"{_e(doc.get('started_at') or '–')} · finished {_e(doc.get('finished_at') or '–')}</p>",
        '<section id="summary"><div class="cards">',
    ]
    for label, value, cls in cards:
        out.append(
            f'<div class="card {cls}"><div class="label">{_e(label)}</div><div class="value">{_e(value)}</div></div>'
        )
    out.append("</div>")
    if v:
        verdict = str(v.get("verdict") or "")
        cls = (
            "ok"
            if verdict == "passed"
            else ("warn" if "warning" in verdict or verdict == NOT_VALIDATED else "bad")
        )
        out.append(
            f'<p class="headline">Validation: <span class="{cls}">{_e(v.get("headline") or verdict)}</span>; '
            f"{_n(v.get('expected'))} expected item(s)"
            + (
                " (validated later with <code>dynamigrate validate</code>)"
                if v.get("origin") == "validate"
                else ""
            )
            + ".</p>"
        )
    else:
        out.append('<p class="headline">Validation: <span class="warn">NOT VALIDATED</span>.</p>')
    out.append("</section>")

    out.append('<h2>Charts</h2><section class="charts">')
    out.append(f'<div class="panel"><h3>Source vs target per table</h3>{counts_chart(tables)}</div>')
    out.append(f'<div class="panel"><h3>Rejected rows by reason</h3>{rejected_chart(tables)}</div>')
    out.append(
        f'<div class="panel wide"><h3>Throughput over time (items/s)</h3>{throughput_chart(tables)}</div>'
    )
    out.append("</section>")

    out.append('<h2>Tables</h2><section id="tables" class="panel"><table><thead><tr>')
    heads = [
        "table",
        "status",
        "source rows",
        "written",
        "skipped",
        "rejected",
        "retries",
        "throttled",
        "items/s",
        "avg item B",
        "max item B",
        "estimate B",
        "score",
        "valid",
    ]
    out.append("".join(f'<th class="{"num" if i > 1 else ""}">{_e(h)}</th>' for i, h in enumerate(heads)))
    out.append("</tr></thead><tbody>")
    for t in tables:
        tv = t.get("validation") or {}
        size = t.get("item_size") or {}
        vstatus = str(tv.get("status") or ("passed" if tv.get("passed") else "failed")) if tv else ""
        valid = {
            "passed": '<span class="ok">✔</span>',
            "failed": '<span class="bad">✘</span>',
            "not validated": '<span class="warn">not validated</span>',
        }.get(vstatus, "–")
        cells = [
            _e(t["name"]),
            _e(t.get("status")),
            *(
                f'<span class="num">{_n(x)}</span>'
                for x in (
                    t.get("source_rows"),
                    t.get("written"),
                    t.get("skipped"),
                    t.get("rejected"),
                    t.get("retries"),
                    t.get("throttles"),
                    t.get("throughput_items_per_second"),
                    size.get("average_bytes"),
                    size.get("largest_bytes"),
                    size.get("estimated_bytes"),
                )
            ),
            f"{_pct(tv.get('score'))} ({_e(tv.get('basis'))})" if tv and tv.get("score") is not None else "–",
            valid,
        ]
        out.append(
            f'<tr data-table="{_e(t["name"])}">'
            + "".join(f'<td class="{"num" if i > 1 else ""}">{c}</td>' for i, c in enumerate(cells))
            + "</tr>"
        )
    out.append("</tbody></table>")
    for t in tables:
        if t.get("entities"):
            out.append(f"<h3>{_e(t['name'])} by entity</h3><table><thead><tr>")
            out.append(
                "".join(
                    f'<th class="{"num" if i > 1 else ""}">{h}</th>' for i, h in enumerate(ENTITY_HEADERS)
                )
            )
            out.append("</tr></thead><tbody>")
            for e in t["entities"]:
                vals = [
                    e.get(k)
                    for k in ("source_rows", "rejected", "expected", "present", "missing", "mismatched")
                ]
                out.append(
                    f"<tr><td>{_e(e['entity'])}</td><td>{_e(e.get('source_table') or '–')}</td>"
                    + "".join(f'<td class="num">{_n(x)}</td>' for x in vals)
                    + "</tr>"
                )
            out.append("</tbody></table>")
        acc = t.get("accounting") or {}
        if acc:  # source rows = written + skipped + conflicts + rejected + filtered (etl/accounting.py)
            bad = acc.get("status") == "mismatch"
            out.append(
                f'<p class="{"problem error" if bad else ""}"><b>{_e(t["name"])}</b> accounting'
                f"{' (DOES NOT ADD UP)' if bad else ''}: {_e(acc.get('equation'))}</p>"
            )
            for e in acc.get("entities") or []:
                out.append(
                    f"<p>&nbsp;&nbsp;{_e(e.get('entity'))} ({_e(e.get('source_table'))}): {_e(e.get('equation'))}</p>"
                )
        if t.get("access_patterns"):
            out.append(
                f"<p><b>{_e(t['name'])}</b> satisfies: "
                + "; ".join(_e(a) for a in t["access_patterns"])
                + "</p>"
            )
    out.append("</section>")

    out.append('<h2>Problems and what to do</h2><section id="problems">')
    problems = doc.get("problems") or []
    if not problems:
        out.append('<p class="ok">No problems found.</p>')
    for p in problems:
        where = f" — {_e(p['table'])}" if p.get("table") else ""
        out.append(f'<div class="problem {_e(p["severity"])}"><b>{_e(p["title"])}</b>{where}')
        if p.get("detail"):
            out.append(f"<div>{_e(p['detail'])}</div>")
        if p.get("cause"):
            out.append(f"<div><i>Cause:</i> {_e(p['cause'])}</div>")
        if p.get("fix"):
            out.append(f'<div class="fix"><i>What to do:</i> {_e(p["fix"])}</div>')
        examples = [ex for ex in (p.get("examples") or [])[:3] if isinstance(ex, Mapping)]
        if examples:
            out.append(
                "<div>e.g. " + "; ".join(f"<code>{_e(example_text(ex))}</code>" for ex in examples) + "</div>"
            )
        out.append("</div>")
    out.append("</section>")
    notes = doc.get("notes") or {}
    warnings, readings = notes.get("contract_warnings") or [], notes.get("interpretations") or []
    if warnings or readings:
        out.append('<h2>Contract warnings and interpretations</h2><section id="notes" class="panel"><ul>')
        for w in warnings:
            fix = f" <i>Fix:</i> {_e(w['fix'])}" if w.get("fix") else ""
            out.append(
                f"<li>⚠️ {_e(w.get('code') or '')} <code>{_e(w.get('path'))}</code>: {_e(w.get('message'))}{fix}</li>"
            )
        for n in readings:
            out.append(
                f"<li>{_e(n.get('table'))} (<code>{_e(n.get('view'))}</code>): {_e(n.get('note'))}</li>"
            )
        out.append("</ul></section>")
    out.append('<h2>Next steps</h2><section id="next-steps" class="panel"><ol>')
    out += [f"<li>{_e(s)}</li>" for s in doc.get("next_steps") or []]
    out.append("</ol></section>")
    out.append(
        f"<footer>Generated {_e(doc.get('generated_at'))} by dynamigrate from report.json · contract sha256 "
        f"<code>{_e((doc.get('contract') or {}).get('sha256') or '–')}</code></footer>"
    )
    out.append("</main></body></html>")
    return "\n".join(out)
