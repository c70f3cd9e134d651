"""What a validation found: per item, per table, per run (plain data, JSON-able, rendered for people).

Every score carries its **basis**, the evidence it rests on: ``counts only`` (no score: counts alone
prove no integrity), ``counts + keys + N sampled items`` (the default after ``migrate``), ``every
item`` (``--full``). A table whose validation could not run is ``not validated``: neither passed nor
failed, and never a failed migration.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from dynamigrate.validate.compare import plain_key, short_text

#: Table and run statuses of a validation
PASSED = "passed"
FAILED = "failed"
NOT_VALIDATED = "not validated"

#: The basis of a score, by mode (``sample`` is completed by :func:`basis_text`)
BASIS_COUNTS = "counts only"
BASIS_FULL = "every item"


def basis_text(mode: str, *, keys: bool, sampled: int | None = None) -> str:
    """The evidence a score rests on, in words people read in every report."""
    if mode == "full":
        return BASIS_FULL
    if mode == "counts":
        return BASIS_COUNTS
    parts = ["counts"]
    if keys:
        parts.append("keys")
    parts.append(f"{sampled or 0:,} sampled item{'' if sampled == 1 else 's'}")
    return " + ".join(parts)


@dataclass
class Difference:
    """One attribute of one DynamoDB item that is not what the contract computes for its source row.

    ``view_agrees``: the view row for this key says what DynamoDB holds (True: the difference comes
    from the view, see :class:`ViewMismatch`), says what the contract says (False: DynamoDB changed or
    the load lost it), or was not looked at (None).
    """

    key: dict[str, Any]  # low-level key, JSON-safe
    attribute: str
    kind: str  # missing_attribute | unexpected_attribute | changed
    expected: Any  # low-level value (JSON-safe) or None
    actual: Any
    entity: str | None = None
    view_agrees: bool | None = None

    def text(self) -> str:
        return (
            f"{plain_key(self.key)} {self.attribute}: expected {short_text(self.expected)}, "
            f"actual {short_text(self.actual)} ({self.kind})"
        )


@dataclass
class ViewMismatch:
    """The generated view disagrees with the contract (as computed by the evaluator) for one item.

    ``kind``: ``missing_row`` (the contract gives an item, the view has no row with its key),
    ``unexpected_row`` (the view has a row whose key the contract does not give),
    ``rejected_row`` (the view's row cannot become an item: ``view`` holds the reason), or an
    attribute difference (``changed``, ``missing_attribute``, ``unexpected_attribute``) with the
    contract's and the view's value in low-level form.
    """

    key: dict[str, Any]
    entity: str | None
    kind: str
    attribute: str | None = None
    contract: Any = None
    view: Any = None

    def text(self) -> str:
        where = f"{plain_key(self.key)} ({self.entity})"
        if self.kind == "missing_row":
            return f"{where}: the view has no row for this item, the contract gives one"
        if self.kind == "rejected_row":
            return f"{where}: the view's row is rejected ({self.view}), the contract gives an item"
        if self.kind == "unexpected_row":
            return (
                f"{where}: the view gives this item, the contract gives none (it rejects or filters the row)"
            )
        return (
            f"{where} {self.attribute}: contract {short_text(self.contract)}, view {short_text(self.view)} "
            f"({self.kind})"
        )


@dataclass
class GsiProblem:
    index: str
    key: dict[str, Any]  # the item's table key
    index_key: dict[str, Any]  # the index key values queried
    kind: str  # missing_entry | projection_mismatch | index_missing
    attribute: str | None = None
    expected: Any = None
    actual: Any = None

    def text(self) -> str:
        if self.kind == "missing_entry":
            return f"{self.index}: item {plain_key(self.key)} not found under {plain_key(self.index_key)}"
        if self.kind == "index_missing":
            return f"{self.index}: the table has no such index"
        return (
            f"{self.index}: item {plain_key(self.key)} attribute {self.attribute}: index has "
            f"{short_text(self.actual)}, table has {short_text(self.expected)}"
        )


@dataclass
class GsiResult:
    index: str
    projection: str
    checked: int = 0  # sampled items that should be in the index
    found: int = 0
    missing: int = 0
    projection_mismatches: int = 0
    not_indexed: int = 0  # sampled items with absent/empty index keys (expected absent)


@dataclass
class EntityValidation:
    entity: str
    source_table: str | None = None
    source_rows: int = 0  # COUNT(*) of the base table (filter applied)
    filtered: int = 0  # rows the entity's filter excludes
    load_rows: int | None = None  # rows the load accounted for (run state, per entity)
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    expected: int = 0
    duplicates: int = 0
    present: int | None = None
    missing: int | None = None
    compared: int = 0
    exact: int = 0
    mismatched: int = 0


@dataclass
class TableValidation:
    table: str
    ddb_table: str
    view: str
    mode: str
    basis: str = ""
    source_rows: int = 0  # from the base tables, never from the view
    filtered: int = 0
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    run_rejected: int | None = None  # rejected rows the run recorded (rejected.jsonl)
    load_rows: int | None = None  # rows the load accounted for (written + skipped + ... + rejected)
    recorded_keys: int | None = None  # distinct keys the load recorded (written/<T>.jsonl)
    duplicate_keys: int = 0
    expected: int = 0
    ddb_count: int | None = None
    present: int | None = None
    missing: int | None = None
    missing_keys: list[dict[str, Any]] = field(default_factory=list)
    extra: int | None = None
    extra_marked: int | None = None
    extra_unmarked: int | None = None
    extra_keys: list[dict[str, Any]] = field(default_factory=list)
    extra_earlier: int | None = None  # items an earlier run wrote that this run left as they were
    sampled: int = 0  # source rows drawn for the value sample
    sampled_missing: int = 0  # sampled items with no DynamoDB item
    sampled_rejected: int = 0  # sampled source rows the contract rejects (validate/rejected_sample.py)
    sampled_rejected_unverifiable: int = 0  # ... rejected by their key: no key to look up
    sampled_rejected_by_run: int = 0  # ... the run recorded as rejected too (rejected.jsonl): expected
    rejected_written: int = 0  # ... with an item THIS run wrote at their key: a difference
    rejected_written_keys: list[dict[str, Any]] = field(default_factory=list)
    rejected_present_other: int = 0  # ... with an item the run did not write (no/another marker)
    compared: int = 0
    exact_compared: int = 0
    mismatched: int = 0
    differences_total: int = 0
    differences: list[Difference] = field(default_factory=list)
    view_mismatched: int = 0  # items whose view row disagrees with the contract
    view_mismatches: list[ViewMismatch] = field(default_factory=list)
    view_checked: int = 0  # items whose view row was compared with the contract
    ddb_as_view: int = 0  # differing/missing items whose DynamoDB state is exactly the view's
    gsis: list[GsiResult] = field(default_factory=list)
    gsi_problems: list[GsiProblem] = field(default_factory=list)
    item_size_avg: float | None = None
    item_size_max: int | None = None
    item_size_max_key: dict[str, Any] | None = None
    estimated_item_size_bytes: float | None = None
    entities: dict[str, EntityValidation] = field(default_factory=dict)
    exact: int | None = None
    score: float | None = None
    passed: bool = False
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    #: the evaluator cannot compute this table: counts and keys stand, values are not validated
    values_error: str | None = None
    seconds: float = 0.0

    @property
    def status(self) -> str:
        if self.error is not None:
            return NOT_VALIDATED
        if not self.passed:
            return FAILED
        return NOT_VALIDATED if self.values_error else PASSED

    @property
    def score_basis(self) -> str:
        return self.basis

    @property
    def gsi_missing(self) -> int:
        return sum(g.missing for g in self.gsis)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gsi_missing"] = self.gsi_missing
        d["status"] = self.status
        d["score_basis"] = self.basis
        return d


@dataclass
class ValidationReport:
    run_id: str | None
    mode: str
    sample: int | None
    gsi_sample: int
    started_at: str
    finished_at: str | None = None
    seconds: float = 0.0
    tables: list[TableValidation] = field(default_factory=list)
    #: who ran it: "migrate" (the run's own last phase) or "validate" (later; never changes the run's outcome)
    origin: str = "migrate"

    @property
    def passed(self) -> bool:
        return bool(self.tables) and all(t.status == PASSED for t in self.tables)

    @property
    def validated(self) -> bool:
        """Every table was validated (none could not run)."""
        return bool(self.tables) and all(t.status != NOT_VALIDATED for t in self.tables)

    @property
    def status(self) -> str:
        if any(t.status == FAILED for t in self.tables):
            return FAILED
        if not self.validated:
            return NOT_VALIDATED
        return PASSED

    @property
    def verdict(self) -> str:
        status = self.status
        if status == PASSED and any(t.warnings for t in self.tables):
            return "passed with warnings"
        return status

    @property
    def basis(self) -> str:
        """The evidence of the overall score (the tables' common basis, or each table's)."""
        bases = list(dict.fromkeys(t.basis for t in self.tables if t.error is None))
        if not bases:
            return "nothing validated"
        return bases[0] if len(bases) == 1 else "per table: " + "; ".join(bases)

    @property
    def expected(self) -> int:
        return sum(t.expected for t in self.tables)

    @property
    def score(self) -> float | None:
        """Overall integrity (exact items / expected items, weighted over the scored tables); None when
        nothing was scored (counts only, or no table could be validated)."""
        scored = [t for t in self.tables if t.score is not None]
        if not scored:
            return None
        total = sum(t.expected for t in scored)
        if total == 0:
            return 1.0 if all(t.score == 1.0 for t in scored) else 0.0
        return sum((t.score or 0.0) * t.expected for t in scored) / total

    def table(self, name: str) -> TableValidation:
        for t in self.tables:
            if t.table == name or t.ddb_table == name:
                return t
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "mode": self.mode,
            "sample": self.sample,
            "gsi_sample": self.gsi_sample,
            "basis": self.basis,
            "headline": self.headline(),
            "origin": self.origin,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "status": self.status,
            "verdict": self.verdict,
            "score": self.score,
            "expected": self.expected,
            "tables": [t.to_dict() for t in self.tables],
        }

    def headline(self) -> str:
        """One line: verdict, score and its basis ("counts only" never shows a score)."""
        return headline(self.verdict, self.score, self.basis)

    def render_text(self, max_listed: int = 10) -> str:
        """The result for people: verdict, per-table figures, then what is wrong."""
        lines = [f"validation ({self.mode}): {self.headline()}"]
        for t in self.tables:
            lines.extend(_table_lines(t, max_listed))
        return "\n".join(lines)


def score_text(score: float) -> str:
    """``99.99%`` for 0.99995: rounded down, never up, so a table that lost one item in 20,000 never
    reads ``100.00%``."""
    hundredths = math.floor(round(float(score) * 10000, 6))
    return f"{hundredths / 100:.2f}%"


def headline(verdict: str | None, score: float | None, basis: str | None) -> str:
    """``PASSED, integrity 100.00% (counts + keys + 1,000 sampled items)``; never a score without
    its basis, never an integrity figure from counts alone."""
    text = str(verdict or NOT_VALIDATED).upper()
    if score is not None and basis and basis != BASIS_COUNTS:
        text += f", integrity {score_text(score)} ({basis})"
    elif basis:
        text += f" ({basis}{', no integrity score' if basis == BASIS_COUNTS else ''})"
    return text


def _table_lines(t: TableValidation, max_listed: int) -> list[str]:
    label = {PASSED: "ok", FAILED: "FAILED", NOT_VALIDATED: "NOT VALIDATED"}[t.status]
    score = f"score {score_text(t.score)}" if t.score is not None else "no score"
    dups = f" - duplicate keys {t.duplicate_keys}" if t.duplicate_keys else ""
    figures = f"source {t.source_rows} - rejected {t.rejected}{dups} = expected {t.expected}"
    if t.filtered:
        figures = (
            f"source {t.source_rows} (+{t.filtered} filtered out) - rejected {t.rejected}{dups} "
            f"= expected {t.expected}"
        )
    lines = [
        f"  {t.table}: {label}  {score} ({t.basis})  {figures}; "
        f"DynamoDB {t.ddb_count if t.ddb_count is not None else '?'}"
        + (f", load {t.load_rows} rows" if t.load_rows is not None else "")
        + (f", missing {t.missing}" if t.missing is not None else "")
        + (f", extra {t.extra}" if t.extra is not None else "")
        + (f", left as an earlier run wrote them {t.extra_earlier}" if t.extra_earlier else "")
        + (f", compared {t.compared}, differing {t.mismatched}" if t.compared else "")
        + (
            f"; view: {t.view_mismatched} of {t.view_checked} not as the contract says"
            if t.view_checked
            else ""
        )
    ]
    if t.values_error:
        lines.append(f"    values not validated: {t.values_error}")
    if t.error:
        lines.append(f"    not validated: {t.error.get('message')}")
        if t.error.get("hint"):
            lines.append(f"    hint: {t.error.get('hint')}")
    for p in t.problems:
        lines.append(f"    problem: {p}")
    for w in t.warnings:
        lines.append(f"    warning: {w}")
    for k in t.missing_keys[:max_listed]:
        lines.append(f"    missing: {plain_key(k['key'])} ({k.get('entity') or 'entity unknown'})")
    for k in t.extra_keys[:max_listed]:
        lines.append(f"    extra: {plain_key(k['key'])}" + (" (migration marker)" if k.get("marker") else ""))
    for d in t.differences[:max_listed]:
        lines.append(f"    differs: {d.text()}")
    for k in t.rejected_written_keys[:max_listed]:
        lines.append(
            f"    differs: {plain_key(k['key'])}: the contract rejects this row ({k.get('reason')}), but "
            "DynamoDB holds an item this run wrote for its key"
        )
    for m in t.view_mismatches[:max_listed]:
        lines.append(f"    view does not match the contract: {m.text()}")
    for g in t.gsi_problems[:max_listed]:
        lines.append(f"    gsi: {g.text()}")
    return lines
