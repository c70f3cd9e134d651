"""report.json: the machine-readable record of a run (schema in docs/report-schema.md).

:func:`build_report` gathers everything the run directory knows (run.json, state.json, manifest.json,
events.jsonl, rejected.jsonl, validation.json) plus the contract, into one document. The Markdown and
HTML reports are rendered from this document only, so the three always agree.
"""

from __future__ import annotations

import calendar
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dynamigrate.config import mask_secrets
from dynamigrate.report._format import key_text
from dynamigrate.runstate import RunDir, utcnow
from dynamigrate.troubleshoot import CATALOGUE, Guidance, lookup_text
from dynamigrate.validate.results import NOT_VALIDATED, headline

SCHEMA = "dynamigrate.report/1"
#: examples kept per rejection reason
EXAMPLES_PER_REASON = 5
#: at most this many throughput samples per table in report.json (evenly thinned)
MAX_SERIES_POINTS = 300


def utc_seconds(text: Any) -> float | None:
    """Seconds since the epoch for our ISO-8601 UTC stamps (``2025-01-01T10:00:00Z``)."""
    if not isinstance(text, str) or not text:
        return None
    stamp = text.rstrip("Z").split(".")[0].replace(" ", "T")
    try:
        return float(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%S")))
    except ValueError:
        return None


def _int(v: Any) -> int:
    try:
        return int(v or 0)
    except (TypeError, ValueError):
        return 0


def load_contract_for(run: RunDir, contract: Any = None) -> Any:
    """The contract of a run: given, else the file run.json names (None when unavailable)."""
    if contract is not None:
        return contract
    meta = run.meta
    path = meta.get("contract_path") or meta.get("contract_file") or meta.get("contract")
    if isinstance(path, str) and Path(path).is_file():
        try:
            from dynamigrate.contract.load import load_contract

            return load_contract(path)
        except Exception:  # a report must not fail because the contract moved or broke
            return None
    return None


def _validation_dict(run: RunDir, validation: Any) -> dict[str, Any] | None:
    if validation is None:
        return run.read_json("validation.json")
    if isinstance(validation, Mapping):
        return dict(validation)
    to_dict = getattr(validation, "to_dict", None)
    return to_dict() if callable(to_dict) else None


def _series(run: RunDir) -> tuple[dict[str, list[list[float]]], float | None]:
    """Throughput over time per table from events.jsonl progress samples: [[seconds, items/s], ...]."""
    raw: dict[str, list[tuple[float, float, int]]] = {}
    t0: float | None = None
    for ev in run.read_lines("events.jsonl"):
        if ev.get("event") != "progress" or "table" not in ev:
            continue
        ts = ev.get("ts")
        if not isinstance(ts, int | float):
            continue
        t0 = ts if t0 is None else min(t0, ts)
        rate = ev.get("rate")
        raw.setdefault(str(ev["table"]), []).append(
            (float(ts), float(rate) if isinstance(rate, int | float) else -1.0, _int(ev.get("written")))
        )
    out: dict[str, list[list[float]]] = {}
    for table, points in raw.items():
        points.sort()
        series: list[list[float]] = []
        prev: tuple[float, float, int] | None = None
        for ts, rate, written in points:
            if rate < 0:  # no rate in the sample: derive it from the written counter
                rate = (written - prev[2]) / (ts - prev[0]) if prev and ts > prev[0] else 0.0
            series.append([round(ts - (t0 or ts), 3), round(max(rate, 0.0), 2)])
            prev = (ts, rate, written)
        if len(series) > MAX_SERIES_POINTS:
            step = len(series) / MAX_SERIES_POINTS
            series = [series[int(i * step)] for i in range(MAX_SERIES_POINTS)] + [series[-1]]
        out[table] = series
    return out, t0


def _rejections(run: RunDir) -> dict[str, dict[str, Any]]:
    """table -> {by_reason: {code: n}, by_entity: {entity: {code: n}}, examples: {code: [...]}}"""
    out: dict[str, dict[str, Any]] = {}
    for line in run.read_lines("rejected.jsonl"):
        table = str(line.get("table"))
        code = str(line.get("code") or "rejected")
        entity = str(line.get("entity") or "")
        t = out.setdefault(table, {"by_reason": {}, "by_entity": {}, "examples": {}})
        t["by_reason"][code] = t["by_reason"].get(code, 0) + 1
        e = t["by_entity"].setdefault(entity, {})
        e[code] = e.get(code, 0) + 1
        ex = t["examples"].setdefault(code, [])
        if len(ex) < EXAMPLES_PER_REASON:
            ex.append(
                {
                    "entity": line.get("entity"),
                    "key": line.get("key"),
                    "message": line.get("message") or line.get("reason"),
                    "rowid": (line.get("row") or {}).get("_dm_rowid")
                    if isinstance(line.get("row"), dict)
                    else None,
                }
            )
    return out


def _guidance(text: str, codes: list[str] = ()) -> Guidance | None:  # type: ignore[assignment]
    return lookup_text(text, codes)


def _problem(
    severity: str,
    table: str | None,
    title: str,
    detail: str,
    guide: Guidance | None = None,
    *,
    count: int | None = None,
    fix: str | None = None,
    examples: list[Any] | None = None,
) -> dict[str, Any]:
    return {
        "severity": severity,
        "table": table,
        "title": title,
        "detail": detail,
        "count": count,
        "cause": guide.cause if guide else None,
        "fix": fix or (guide.fix if guide else None),
        "guidance": guide.key if guide else None,
        "examples": examples or [],
    }


def build_report(run: RunDir, validation: Any = None, contract: Any = None) -> dict[str, Any]:
    meta: dict[str, Any] = run.meta or {}
    state: dict[str, Any] = run.state() or {}
    manifest: dict[str, Any] = run.manifest() or {}
    summary: dict[str, Any] = state["summary"] if isinstance(state.get("summary"), dict) else {}
    vdict = _validation_dict(run, validation)
    contract = load_contract_for(run, contract)
    series, t0 = _series(run)
    rejections = _rejections(run)

    started = meta.get("started") or meta.get("created_at") or summary.get("started")
    finished = summary.get("finished") or state.get("finished_at")
    status = str(state.get("status") or "unknown")
    if not finished and status not in ("running", "created"):
        finished = state.get("updated_at")
    if (
        vdict
        and vdict.get("origin", "migrate") == "migrate"  # a later `validate` leaves the run's times alone
        and vdict.get("finished_at")
        and (not finished or (utc_seconds(vdict["finished_at"]) or 0) > (utc_seconds(finished) or 0))
    ):
        finished = vdict["finished_at"]
    duration = summary.get("duration")
    if not isinstance(duration, int | float):
        a, b = utc_seconds(started), utc_seconds(finished)
        duration = (b - a) if a is not None and b is not None else None

    vtables = {t["table"]: t for t in (vdict or {}).get("tables", [])}
    state_tables: dict[str, Any] = dict(state.get("tables") or {})
    names: list[str] = list(state_tables)
    for n in list(meta.get("tables") or []) + list(vtables) + list(rejections):
        if n not in names:
            names.append(n)

    ctables = {t.name: t for t in contract.tables} if contract is not None else {}
    tables: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for name in names:
        st = state_tables.get(name) or {}
        vt = vtables.get(name)
        rj = rejections.get(name, {"by_reason": {}, "by_entity": {}, "examples": {}})
        ct = ctables.get(name)
        raw_rejected = st.get("rejected")
        rejected_by = dict(raw_rejected) if isinstance(raw_rejected, Mapping) else dict(rj["by_reason"])
        if not rejected_by and vt and not st:
            rejected_by = dict(vt.get("rejected_by_code") or {})
        written = _int(st.get("written"))
        seconds = st.get("duration")
        seconds = float(seconds) if isinstance(seconds, int | float) else None
        pts = series.get(name, [])
        view_rows = st.get("read")
        # source rows from the base tables (validation's COUNT(*)), never from the view, when known
        source_rows = vt.get("source_rows") if vt and vt.get("source_rows") is not None else None
        if source_rows is None:
            source_rows = st.get("total") if st.get("total") is not None else view_rows
        size_avg = vt.get("item_size_avg") if vt else None
        size_max = vt.get("item_size_max") if vt else None
        if size_avg is None and written and _int(st.get("bytes")):
            size_avg = round(_int(st.get("bytes")) / written, 1)
        estimate = (ct.estimated_item_size_bytes if ct else None) or (
            vt.get("estimated_item_size_bytes") if vt else None
        )
        entities: list[dict[str, Any]] = []
        entity_names: list[str] = [e.entity_type for e in ct.entities] if ct else []
        for e in list((vt or {}).get("entities", {})) + list(rj["by_entity"]):
            if e and e not in entity_names:
                entity_names.append(e)
        for e in entity_names:
            ve = ((vt or {}).get("entities") or {}).get(e) or {}
            by = rj["by_entity"].get(e) or ve.get("rejected_by_code") or {}
            entities.append(
                {
                    "entity": e,
                    "source_table": next((x.source_table for x in ct.entities if x.entity_type == e), None)
                    if ct
                    else None,
                    "source_rows": ve.get("source_rows"),
                    "rejected": sum(by.values()) if by else _int(ve.get("rejected")),
                    "rejected_by_reason": by,
                    "expected": ve.get("expected"),
                    "present": ve.get("present"),
                    "missing": ve.get("missing"),
                    "compared": ve.get("compared"),
                    "mismatched": ve.get("mismatched"),
                }
            )
        tv = None
        if vt:
            tv = {
                "passed": vt.get("passed"),
                "status": _vstatus(vt),
                "score": vt.get("score"),
                "basis": vt.get("basis") or vt.get("score_basis"),
                "score_basis": vt.get("basis") or vt.get("score_basis"),
                "source_rows": vt.get("source_rows"),
                "filtered": vt.get("filtered"),
                "load_rows": vt.get("load_rows"),
                "recorded_keys": vt.get("recorded_keys"),
                "sampled": vt.get("sampled"),
                "view_mismatched": vt.get("view_mismatched"),
                "view_checked": vt.get("view_checked"),
                "error": (vt.get("error") or {}).get("message"),
                "expected": vt.get("expected"),
                "ddb_count": vt.get("ddb_count"),
                "present": vt.get("present"),
                "missing": vt.get("missing"),
                "extra": vt.get("extra"),
                "extra_marked": vt.get("extra_marked"),
                "extra_unmarked": vt.get("extra_unmarked"),
                "compared": vt.get("compared"),
                "mismatched": vt.get("mismatched"),
                "differences": vt.get("differences_total"),
                "gsi_missing": vt.get("gsi_missing"),
                "problems": vt.get("problems") or [],
                "warnings": vt.get("warnings") or [],
            }
        table_doc = {
            "name": name,
            "status": st.get("status") or ("validated" if vt else "unknown"),
            "engine": st.get("engine") or meta.get("engine"),
            "source_rows": source_rows,
            "view_rows": view_rows,
            "read": st.get("read"),
            "written": written if st else None,
            "skipped": _int(st.get("skipped")) if st else None,
            "conflicts": _int(st.get("conflicts")) if st else None,
            "rejected": sum(_int(v) for v in rejected_by.values()),
            "rejected_by_reason": rejected_by,
            "retries": _int(st.get("retries")) if st else None,
            "throttles": _int(st.get("throttles")) if st else None,
            "retried_batches": _int(st.get("retried_batches")) if st else None,
            "transaction_retries": _int(st.get("transaction_retries")) if st else None,
            "omitted_gsi_keys": st.get("omitted_gsi_keys"),
            # rows skipped because an earlier row of the pass produced their key (etl/pass_keys.py)
            "duplicate_keys": (st.get("extra") or {}).get("duplicate_keys") if st else None,
            # local engine: writer processes and why that many (etl/local_workers.py choose_workers)
            "workers": (st.get("extra") or {}).get("workers") if st else None,
            # per set attribute: rows whose set was empty, so the item has no such attribute
            "empty_sets": dict(st.get("empty_sets") or {}) if st else {},
            "duration_seconds": seconds,
            "throughput_items_per_second": round(written / seconds, 1) if seconds and written else None,
            "peak_items_per_second": max((p[1] for p in pts), default=None) or None,
            "throughput_series": pts,
            "item_size": {
                "average_bytes": size_avg,
                "largest_bytes": size_max,
                "largest_key": vt.get("item_size_max_key") if vt else None,
                "estimated_bytes": estimate,
                "average_vs_estimate": round(size_avg / estimate, 2) if size_avg and estimate else None,
            },
            # source rows = written + skipped + unchanged + conflicts + rejected + filtered (etl/accounting.py)
            "accounting": st.get("accounting"),
            "access_patterns": list(ct.satisfies) if ct else [],
            "gsis": [g.index_name for g in ct.gsis]
            if ct
            else [x.get("index") for x in (vt or {}).get("gsis", [])],
            "validation": tv,
            "entities": entities,
            # the load's error only: a validation that could not run is "not validated" (tv["error"])
            "error": st.get("error"),
        }
        tables.append(table_doc)
        problems.extend(_table_problems(name, table_doc, rj, vt))

    for err in summary.get("errors") or []:
        if not any(p["detail"] == err for p in problems):
            problems.append(
                _problem("error", None, "the run reported an error", str(err), _guidance(str(err)))
            )

    totals = {
        k: sum(_int(t.get(k)) for t in tables)
        for k in (
            "source_rows",
            "written",
            "skipped",
            "conflicts",
            "rejected",
            "retries",
            "throttles",
            "retried_batches",
            "transaction_retries",
        )
    }
    vsummary = None
    if vdict:
        basis = vdict.get("basis") or _legacy_basis(vdict)
        vsummary = {
            "mode": vdict.get("mode"),
            "sample": vdict.get("sample"),
            "passed": vdict.get("passed"),
            "status": _vstatus(vdict),
            "verdict": vdict.get("verdict"),
            "score": vdict.get("score"),
            "basis": basis,
            "headline": headline(vdict.get("verdict"), vdict.get("score"), basis),
            "origin": vdict.get("origin", "migrate"),
            "expected": vdict.get("expected"),
            "started_at": vdict.get("started_at"),
            "finished_at": vdict.get("finished_at"),
            "seconds": vdict.get("seconds"),
        }
    outcome = _outcome(status, tables, vsummary, problems)
    return {
        "schema": SCHEMA,
        "run_id": run.run_id,
        "run_dir": str(run.path),
        "generated_at": utcnow(),
        "status": status,
        "phase": state.get("phase"),
        "outcome": outcome,
        "started_at": started,
        "finished_at": finished,
        "duration_seconds": round(float(duration), 3) if isinstance(duration, int | float) else None,
        "engine": meta.get("engine"),
        "write_mode": meta.get("write_mode"),
        "marker_attribute": meta.get("marker_attribute"),
        "contract": {
            "path": meta.get("contract_path"),
            "sha256": meta.get("contract_sha256") or (contract.sha256 if contract is not None else None),
            "tables": [t.name for t in contract.tables] if contract is not None else None,
        },
        "config": mask_secrets(meta.get("config") or {}),
        "totals": totals,
        "tables": tables,
        "validation": vsummary,
        "problems": problems,
        "notes": _notes(run),
        "next_steps": _next_steps(run, outcome, tables, vsummary, manifest),
        "manifest": {
            k: len(manifest.get(k) or []) for k in ("views", "tables", "glue_jobs", "s3_objects", "other")
        },
        "series_started_at": t0,
    }


def _notes(run: RunDir) -> dict[str, list[dict[str, Any]]]:
    """The contract's warnings and the view generator's interpretations the run recorded (notes.json)."""
    from dynamigrate.notes import NOTES_FILE

    raw = run.read_json(NOTES_FILE) or {}
    return {
        key: [x for x in raw.get(key) or [] if isinstance(x, dict)]
        for key in ("contract_warnings", "interpretations")
    }


def _table_problems(
    name: str, t: dict[str, Any], rj: dict[str, Any], vt: dict[str, Any] | None
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if t.get("error"):
        out.append(_problem("error", name, "the table failed", str(t["error"]), _guidance(str(t["error"]))))
    for code, n in sorted((t.get("rejected_by_reason") or {}).items(), key=lambda kv: -_int(kv[1])):
        examples = rj["examples"].get(code, [])
        text = " ".join(str(e.get("message") or "") for e in examples[:1])
        out.append(
            _problem(
                "warning",
                name,
                f"{n} row(s) rejected: {code}",
                text or f"rows rejected with reason {code}",
                _guidance(text or code, [code]),
                count=_int(n),
                examples=examples,
            )
        )
    dups = t.get("duplicate_keys") or {}
    if _int(dups.get("skipped")):
        out.append(
            _problem(
                "warning",
                name,
                f"{dups['skipped']} row(s) skipped: duplicate_key",
                "source rows produce the DynamoDB key of an earlier row: the first one is the item, the "
                f"later ones are skipped; the keys are listed in {dups.get('file')}",
                _guidance("duplicate_key", ["duplicate_key"]),
                count=_int(dups["skipped"]),
                fix="make the key unique in the contract (e.g. add a column to the sort key) or "
                "deduplicate the source rows",
                examples=[{"key": k} for k in dups.get("examples") or []],
            )
        )
    for attr, n in sorted((t.get("empty_sets") or {}).items()):
        out.append(
            _problem(
                "warning",
                name,
                f"{n} item(s) without '{attr}': empty set",
                f"'{attr}' is a set and the row's set was empty; DynamoDB cannot store an empty set, so "
                "the attribute is absent from these items",
                count=_int(n),
                fix=f"fine if readers treat a missing '{attr}' as empty; otherwise make it an L (list) "
                "attribute, which can be empty",
            )
        )
    if _int(t.get("throttles")):
        out.append(
            _problem(
                "warning",
                name,
                f"{t['throttles']} throttled request(s)",
                "DynamoDB throttled writes; the writer retried them",
                CATALOGUE.get("ddb-throttling"),
                count=_int(t["throttles"]),
            )
        )
    if _int(t.get("conflicts")):
        out.append(
            _problem(
                "warning",
                name,
                f"{t['conflicts']} item(s) left alone (conflicts)",
                "items with these keys already existed and are not the migration's (see conflicts.jsonl)",
                None,
                count=_int(t["conflicts"]),
                fix="check conflicts.jsonl: if the application owns these items keep them; otherwise "
                "run again with --write-mode overwrite (old images are kept for rollback)",
            )
        )
    first_validation = len(out)
    if vt:
        if _int(vt.get("missing")):
            out.append(
                _problem(
                    "error",
                    name,
                    f"{vt['missing']} item(s) missing in DynamoDB",
                    "source rows whose item is not in the table: "
                    + ", ".join(_keytext(k.get("key")) for k in (vt.get("missing_keys") or [])[:3]),
                    None,
                    count=_int(vt["missing"]),
                    fix="run the migration again with --resume (or in sync mode): missing items are written, "
                    "existing ones skipped; if the items were deleted on purpose, ignore",
                    examples=(vt.get("missing_keys") or [])[:EXAMPLES_PER_REASON],
                )
            )
        if _int(vt.get("mismatched")):
            out.append(
                _problem(
                    "error",
                    name,
                    f"{vt['mismatched']} item(s) differ from the contract",
                    "; ".join(
                        f"{_keytext(d.get('key'))} {d.get('attribute')}"
                        for d in (vt.get("differences") or [])[:3]
                    ),
                    None,
                    count=_int(vt["mismatched"]),
                    fix="if the application changed these items after the load that is expected; otherwise "
                    "run a sync migration (--write-mode sync) to bring them up to date and validate again",
                    examples=(vt.get("differences") or [])[:EXAMPLES_PER_REASON],
                )
            )
        if _int(vt.get("gsi_missing")):
            out.append(
                _problem(
                    "error",
                    name,
                    f"{vt['gsi_missing']} sampled item(s) missing from a GSI",
                    "; ".join(
                        f"{p.get('index')} {_keytext(p.get('key'))}"
                        for p in (vt.get("gsi_problems") or [])[:3]
                    ),
                    None,
                    count=_int(vt["gsi_missing"]),
                    fix="check the items' index key attributes (absent, or of another type than the index "
                    "defines); GSIs are eventually consistent, so validate again after a minute",
                    examples=(vt.get("gsi_problems") or [])[:EXAMPLES_PER_REASON],
                )
            )
        if _int(vt.get("extra")):
            out.append(
                _problem(
                    "info",
                    name,
                    f"{vt['extra']} DynamoDB item(s) without a source row",
                    f"{_int(vt.get('extra_marked'))} carry a migration marker (their source row was deleted "
                    f"since), {_int(vt.get('extra_unmarked'))} do not (the application's own writes?)",
                    None,
                    count=_int(vt["extra"]),
                    fix="nothing to do for the application's own items; items whose source row is gone are "
                    "removed by a sync run with --delete-missing",
                    examples=(vt.get("extra_keys") or [])[:EXAMPLES_PER_REASON],
                )
            )
        if _int(vt.get("view_mismatched")):
            out.append(
                _problem(
                    "error",
                    name,
                    f"the view does not match the contract for {vt['view_mismatched']} item(s)",
                    "the view computes another item than the contract defines, and the load copied it "
                    "(a view generator or SQL dialect bug): "
                    + "; ".join(
                        f"{_keytext(m.get('key'))} {m.get('attribute') or m.get('kind')}"
                        for m in (vt.get("view_mismatches") or [])[:3]
                    ),
                    None,
                    count=_int(vt["view_mismatched"]),
                    fix="report the contract and the view (views.sql) as a bug; fix the view by hand or "
                    "regenerate it, then migrate again in sync mode (--write-mode sync) and validate",
                    examples=(vt.get("view_mismatches") or [])[:EXAMPLES_PER_REASON],
                )
            )
        err = vt.get("error")
        if err:
            msg = str(err.get("message"))
            out.append(
                _problem(
                    "warning",
                    name,
                    "not validated: the validation could not run",
                    msg,
                    _guidance(msg),
                    fix=err.get("hint"),
                )
            )
    for p in out[first_validation:]:
        p["from"] = "validation"
    return out


def _keytext(key: Any) -> str:
    return "{" + key_text(key) + "}" if isinstance(key, Mapping) else str(key)


def _vstatus(v: Mapping[str, Any]) -> str:
    """passed | failed | not validated (validation.json files without a status: from passed/error)."""
    if v.get("status"):
        return str(v["status"])
    if v.get("error"):
        return NOT_VALIDATED
    return "passed" if v.get("passed") else "failed"


def _legacy_basis(v: Mapping[str, Any]) -> str:
    bases = {str(t.get("score_basis")) for t in v.get("tables") or [] if t.get("score_basis")}
    return bases.pop() if len(bases) == 1 else ("per table" if bases else "unknown")


def _outcome(
    status: str, tables: list[dict[str, Any]], v: dict[str, Any] | None, problems: list[dict[str, Any]]
) -> str:
    finished_tables = bool(tables) and all(
        t.get("status") in ("done", "failed", "validated", "skipped") for t in tables
    )
    if status in ("created", "running") and not v and not finished_tables:
        return "running"
    failed = status in ("failed", "interrupted") or any(
        t.get("status") == "failed" or t.get("error") for t in tables
    )
    if v and v.get("origin") == "migrate" and v.get("status") == "failed":
        failed = True  # the run's own validation found differences (a later `validate` reports beside it)
    if failed:
        return "failed"
    if v and v.get("origin") == "validate":
        problems = [p for p in problems if p.get("from") != "validation"]  # reported beside the run
    if any(p["severity"] in ("warning", "error") for p in problems):
        return "succeeded with warnings"
    return "succeeded"


def _next_steps(
    run: RunDir,
    outcome: str,
    tables: list[dict[str, Any]],
    v: dict[str, Any] | None,
    manifest: dict[str, Any],
) -> list[str]:
    rid = run.run_id
    steps: list[str] = []
    if outcome == "failed":
        steps.append(
            f"Fix the problems above, then resume: `dynamigrate migrate --resume {rid}`; to undo what this "
            f"run wrote: `dynamigrate rollback {rid} --dry-run`, then without --dry-run."
        )
    if not v:
        steps.append(f"Prove the result: `dynamigrate validate --run {rid} --full`.")
    elif v.get("mode") != "full":
        steps.append(f"For a complete proof compare every item: `dynamigrate validate --run {rid} --full`.")
    created = [k for k in ("views", "glue_jobs", "s3_objects") if manifest.get(k)]
    if created:
        steps.append(
            f"Clean up what the run created ({', '.join(created)}): `dynamigrate cleanup {rid}` "
            "(tables are kept unless you add --drop-tables)."
        )
    steps.append(
        "Monitor the tables after the switch: CloudWatch ThrottledRequests, ConsumedWrite/ReadCapacityUnits "
        "and SystemErrors per table and GSI; enable point-in-time recovery before production traffic."
    )
    steps.append(
        "Keep the run directory until the cut-over is final: rollback needs written/ and old_images/; "
        "then remove the migration markers from unchanged items with `dynamigrate markers remove`."
    )
    return steps
