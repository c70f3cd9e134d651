"""Preflight: verify the generated views and check their data before anything is written to DynamoDB.

Pure SQL over a DB-API connection (PyMySQL), no DynamoDB. For every contract table:

1. the view ``ddb_<table>_view`` exists and has exactly the contract's attribute columns (plus the
   helper columns ``_dm_entity`` / ``_dm_rowid``);
2. **one aggregate pass** over the view, grouped by ``_dm_entity``, computes every count at once with
   ``SUM(CASE WHEN ... THEN 1 ELSE 0 END)``: rows, NULL/empty table keys, empty GSI keys, N values
   that are not numbers (or have more than 38 significant digits), BOOL values that are not booleans,
   M/L values that are not JSON objects/arrays, and the estimated item size (over 400 KB: error, over
   300 KB: warning);
3. the row count of each entity in the view against its source table (a join that multiplied rows,
   or a filter that lost some);
4. **a second pass** ``GROUP BY pk, sk HAVING COUNT(*) > 1`` for duplicate keys (byte-exact
   comparison: a case-insensitive collation must not hide or invent duplicates), because duplicates
   would silently collapse into one DynamoDB item;
5. up to five example keys per finding, with ``LIMIT 5`` queries run only for checks that found
   something (so a clean table costs the two passes and nothing more).

Each :class:`Finding` names the check, table, entity, attribute, how many rows and example keys. A
finding of severity ``error`` would lose or corrupt data; :meth:`PreflightReport.failed` is true when
an error is not explicitly accepted (``accept`` holds check names or codes).

The conditions mirror the item encoder (:mod:`dynamigrate.target.encode`): what preflight counts as
an error is exactly what the encoder would reject, seen before the migration starts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dynamigrate.contract.model import ENTITY_COLUMN, HELPER_PREFIX, ROWID_COLUMN, Contract, Entity, Table
from dynamigrate.errors import SourceError
from dynamigrate.redact import redact
from dynamigrate.sqlgen.dialects import quote_ident
from dynamigrate.sqlgen.filters import filter_sql
from dynamigrate.target.encode import MARKER_VALUE_BUDGET, MAX_ITEM_BYTES

log = logging.getLogger(__name__)

LARGE_ITEM_BYTES = 300 * 1024
#: bytes added to every item estimate for the ownership marker ("_dm_marker" + "<run_id>:<16 hex>")
MARKER_BYTES = len("_dm_marker") + MARKER_VALUE_BUDGET
EXAMPLES = 5
#: connections preflight uses at once when it may open its own (MariaDB runs a query on one thread)
PARALLEL = 3

#: check name -> (code, severity, what it means)
CHECKS: dict[str, tuple[str, str, str]] = {
    "view_missing": ("P100", "error", "the view does not exist"),
    "view_columns": ("P101", "error", "the view's columns differ from the contract's attributes"),
    "view_unreadable": ("P102", "error", "reading the view fails (a table or column it uses is gone)"),
    "row_count": ("P110", "error", "an entity's row count in the view differs from its source table"),
    "key_missing": ("P120", "error", "NULL or empty table key (partition or sort key)"),
    "duplicate_key": ("P121", "error", "several rows share one (pk, sk): they would collapse into one item"),
    "key_too_long": ("P122", "error", "a table or GSI key longer than DynamoDB keeps (2048 / 1024 bytes)"),
    "gsi_key_empty": ("P130", "warning", "empty GSI key: the item is left out of that index"),
    "empty_set": ("P131", "warning", "an empty set (SS/NS/BS): DynamoDB has none, the attribute is absent"),
    "not_numeric": ("P140", "error", "an N attribute holds a value that is not a number"),
    "number_precision": ("P141", "error", "an N value has more than 38 significant digits"),
    "number_range": (
        "P144",
        "error",
        "an N value outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude)",
    ),
    "not_boolean": ("P142", "error", "a BOOL attribute holds a value that is not a boolean"),
    "invalid_json": ("P143", "error", "an M/L attribute holds invalid JSON or the wrong JSON kind"),
    "item_too_large": ("P150", "error", "estimated item size over DynamoDB's 400 KB limit"),
    "item_large": ("P151", "warning", "estimated item size over 300 KB"),
    "value_lost": ("P160", "error", "a transformation or date-math gives NULL for a non-NULL input"),
    "join_unmatched": ("P161", "warning", "a non-NULL join key matches no row: the attribute is absent"),
}

# numbers as the encoder accepts them (target/encode.py _NUMBER_RE), on the trimmed text
_NUMBER_REGEXP = r"'^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]+)?$'"
_BOOL_TEXT = "('0','1','true','false','t','f','yes','no','y','n','on','off')"


@dataclass
class Finding:
    check: str
    severity: str
    table: str
    entity: str | None
    attribute: str | None
    count: int
    examples: list[dict[str, Any]]
    message: str
    fix: str
    code: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "code": self.code,
            "severity": self.severity,
            "table": self.table,
            "entity": self.entity,
            "attribute": self.attribute,
            "count": self.count,
            "examples": self.examples,
            "message": self.message,
            "fix": self.fix,
        }


@dataclass
class TableStats:
    table: str
    view: str
    rows: int = 0
    entities: dict[str, dict[str, int | None]] = field(default_factory=dict)  # view_rows, source_rows
    max_item_bytes: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # per pass

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "view": self.view,
            "rows": self.rows,
            "entities": self.entities,
            "max_item_bytes_estimate": self.max_item_bytes,
            "seconds": {k: round(v, 4) for k, v in self.seconds.items()},
        }


def _is_accepted(f: Finding, accepted: set[str]) -> bool:
    """``--accept`` names a check by its name or its code."""
    return f.check in accepted or f.code in accepted


@dataclass
class PreflightReport:
    database: str
    findings: list[Finding] = field(default_factory=list)
    tables: list[TableStats] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)
    started: str = ""
    seconds: float = 0.0

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    def unaccepted(self, accept: Iterable[str] | None = None) -> list[Finding]:
        acc = set(self.accepted if accept is None else accept)
        return [f for f in self.errors if not _is_accepted(f, acc)]

    def failed(self, accept: Iterable[str] | None = None) -> bool:
        """True when an error finding (data loss or corruption) is not explicitly accepted."""
        return bool(self.unaccepted(accept))

    def find(self, check: str, table: str | None = None, attribute: str | None = None) -> list[Finding]:
        return [
            f
            for f in self.findings
            if f.check == check
            and (table is None or f.table == table)
            and (attribute is None or f.attribute == attribute)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "preflight",
            "database": self.database,
            "started": self.started,
            "seconds": round(self.seconds, 3),
            "ok": not self.failed(),
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "accepted": sorted(self.accepted),
            "unaccepted_errors": len(self.unaccepted()),
            "tables": [t.to_dict() for t in self.tables],
            "findings": [f.to_dict() for f in self.findings],
        }

    def write(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_name(p.name + ".tmp")
        text = json.dumps(self.to_dict(), indent=2, ensure_ascii=False, default=str)
        tmp.write_text(redact(text) + "\n", "utf-8")
        tmp.replace(p)
        return p

    def render_text(self) -> str:
        lines = [f"Preflight of database '{self.database}' ({self.seconds:.2f} s)"]
        for t in self.tables:
            ents = ", ".join(
                f"{e}: {v['view_rows']} rows (source {v['source_rows']}"
                + (f", {v['filtered_rows']} filtered" if v.get("filtered_rows") is not None else "")
                + ")"
                for e, v in t.entities.items()
            )
            lines.append(f"  {t.table} ({t.view}): {t.rows} rows; {ents}")
        if not self.findings:
            lines.append("No findings: every check passed.")
        for f in sorted(self.findings, key=lambda f: (f.severity != "error", f.table, f.check)):
            accepted = " (accepted)" if f.severity == "error" and not self.failed_for(f) else ""
            where = f.table + (f"/{f.entity}" if f.entity and f.entity != f.table else "")
            where += f".{f.attribute}" if f.attribute else ""
            lines.append(f"{f.severity.upper():7} {f.code} {f.check}{accepted}: {where}: {f.count} row(s)")
            lines.append(f"        {f.message}")
            for ex in f.examples:
                lines.append(
                    f"        e.g. {json.dumps(_short_example(ex), ensure_ascii=False, default=str)}"
                )
            lines.append(f"        fix: {f.fix}")
        n_unacc = len(self.unaccepted())
        verdict = "FAILED" if n_unacc else "OK"
        lines.append(
            f"{verdict}: {len(self.errors)} error(s) ({n_unacc} not accepted), {len(self.warnings)} warning(s)"
        )
        if n_unacc:
            checks = sorted({f.check for f in self.unaccepted()})
            lines.append(
                "  fix the data or the contract, or accept knowingly with --accept " + ",".join(checks)
            )
        return "\n".join(lines)

    def failed_for(self, f: Finding) -> bool:
        return f.severity == "error" and not _is_accepted(f, self.accepted)


# -- SQL helpers -------------------------------------------------------------------------------------


qi = quote_ident  # short: it is in every query below


@contextmanager
def _driver_errors(**where: Any) -> Iterator[None]:
    """Driver (PyMySQL) errors become a SourceError through the one translation at the boundary."""
    try:
        yield
    except Exception as exc:
        if type(exc).__module__.startswith("pymysql"):
            from dynamigrate.source.connect import translate_error

            raise translate_error(exc, **where) from exc
        raise


def _query(conn: Any, sql: str, args: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
    with _driver_errors(statement=sql), conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + raw.hex()
    if value is None or isinstance(value, int | str | float):
        return value
    return str(value)


@dataclass
class _Check:
    check: str
    attribute: str | None
    condition: str  # SQL boolean over the view's columns
    message: str
    fix: str


def _size_expr(table: Table, columns: set[str]) -> str:
    """Estimated DynamoDB item size of a view row, in bytes (names + values, marker included)."""
    types = table.attribute_types()
    parts = [str(MARKER_BYTES)]
    for name in table.attribute_names:
        if name not in columns:
            continue
        c = qi(name)
        n = len(name.encode("utf-8"))
        t = types[name]
        # LENGTH(NULL) is NULL: COALESCE gives 0 for an absent attribute, reading the column once
        if t == "N":
            parts.append(f"COALESCE(LENGTH({c}) DIV 2 + {n + 1}, 0)")
        elif t in ("BOOL", "NULL"):
            parts.append(f"COALESCE(LENGTH({c}) * 0 + {n + 1}, 0)")
        else:
            parts.append(f"COALESCE(LENGTH({c}) + {n}, 0)")
    return " + ".join(parts)


#: characters of an example value shown in the text output (the JSON report keeps them whole)
EXAMPLE_CHARS = 80


def _short_example(ex: Any) -> Any:
    """An example row with long texts cut for a terminal ('pppp…' + how long the value is)."""
    if not isinstance(ex, dict):
        return ex
    return {
        k: f"{v[:EXAMPLE_CHARS]}… ({len(v)} characters)"
        if isinstance(v, str) and len(v) > EXAMPLE_CHARS
        else v
        for k, v in ex.items()
    }


def _checks_for(table: Table, columns: set[str]) -> list[_Check]:
    types = table.attribute_types()
    checks: list[_Check] = []
    for key in table.key_names:
        if key not in columns:
            continue
        c = qi(key)
        checks.append(
            _Check(
                "key_missing",
                key,
                f"({c} IS NULL OR LENGTH({c}) = 0)",
                f"table key '{key}' is NULL or empty: DynamoDB cannot store these rows, they would be rejected",
                "fix the source data (or the join that produces the key), or build the key from a column "
                "that is always set",
            )
        )
    from dynamigrate.target.encode import PARTITION_KEY_BYTES, key_limits

    for key, limit in key_limits(table).items():
        if key not in columns or types.get(key) not in ("S", "B"):
            continue
        kind = "partition" if limit == PARTITION_KEY_BYTES else "sort"
        checks.append(
            _Check(
                "key_too_long",
                key,
                f"(LENGTH({qi(key)}) > {limit})",
                f"key '{key}' is longer than the {limit} bytes DynamoDB keeps for a {kind} key: these rows "
                "would be rejected",
                "build the key from a shorter value (an id, a hash of the text), or keep the long text in a "
                "non-key attribute",
            )
        )
    for key in table.index_key_names:
        if key not in columns or key in table.key_names:
            continue
        c = qi(key)
        checks.append(
            _Check(
                "gsi_key_empty",
                key,
                f"({c} IS NOT NULL AND LENGTH({c}) = 0)",
                f"GSI key '{key}' is an empty string: these items are left out of the index",
                "fine when intended (sparse index); otherwise make the key non-empty",
            )
        )
    for name in table.attribute_names:
        if name not in columns:
            continue
        c = qi(name)
        t = types[name]
        if t == "N":
            checks.append(
                _Check(
                    "not_numeric",
                    name,
                    f"({c} IS NOT NULL AND NOT (TRIM({c}) REGEXP {_NUMBER_REGEXP}))",
                    f"'{name}' is N but holds values that are not numbers: these rows would be rejected",
                    'clean the values, or make the attribute "type": "S"',
                )
            )
            digits = f"TRIM(BOTH '0' FROM REPLACE(REPLACE(REPLACE(SUBSTRING_INDEX(SUBSTRING_INDEX(TRIM({c}), 'e', 1), 'E', 1), '-', ''), '+', ''), '.', ''))"
            checks.append(
                _Check(
                    "number_precision",
                    name,
                    f"({c} IS NOT NULL AND TRIM({c}) REGEXP {_NUMBER_REGEXP} AND LENGTH({digits}) > 38)",
                    f"'{name}' holds numbers with more than 38 significant digits: DynamoDB cannot store "
                    "them exactly, these rows would be rejected",
                    'round the values in the view (e.g. a calculation), or make the attribute "type": "S"',
                )
            )
            # the encoder refuses these (target/encode.py _check_limits): a DOUBLE's 1e300, 1e-200
            mag = f"ABS(CAST(TRIM({c}) AS DOUBLE))"
            checks.append(
                _Check(
                    "number_range",
                    name,
                    f"({c} IS NOT NULL AND TRIM({c}) REGEXP {_NUMBER_REGEXP} AND {mag} <> 0 "
                    f"AND ({mag} >= 1e126 OR {mag} < 1e-130))",
                    f"'{name}' holds numbers outside DynamoDB's range (1E-130 to 9.99E+125 in magnitude): "
                    "these rows would be rejected",
                    'bring the values into range in the view (e.g. a case calculation), or make the attribute "type": "S"',
                )
            )
        elif t == "BOOL":
            checks.append(
                _Check(
                    "not_boolean",
                    name,
                    f"({c} IS NOT NULL AND NOT (LOWER(TRIM({c})) IN {_BOOL_TEXT} "
                    f"OR TRIM({c}) REGEXP {_NUMBER_REGEXP} OR HEX({c}) IN ('0', '1', '00', '01')))",
                    f"'{name}' is BOOL but holds values that are not booleans (0/1, true/false): these rows "
                    "would be rejected",
                    "map the values to 0/1 with a case calculation, or make the attribute S",
                )
            )
        elif t in ("SS", "NS", "BS"):
            # as the encoder reads set text (target/encode.py _set_members): '' or a JSON array of nothing
            checks.append(
                _Check(
                    "empty_set",
                    name,
                    f"({c} IS NOT NULL AND (TRIM({c}) = '' OR (LEFT(TRIM({c}), 1) = '[' AND JSON_VALID({c}) "
                    f"AND JSON_LENGTH({c}) = 0)))",
                    f"'{name}' is {t} and some rows have an empty set: DynamoDB cannot store an empty set, "
                    "these items will not have the attribute (counted in the run's report)",
                    "fine if readers treat a missing attribute as empty; otherwise make it an L (list) "
                    "attribute, which can be empty",
                )
            )
        elif t in ("M", "L"):
            kind = "OBJECT" if t == "M" else "ARRAY"
            checks.append(
                _Check(
                    "invalid_json",
                    name,
                    # JSON_DEPTH counts the innermost scalar: 32 is 31 levels of objects/arrays, all
                    # DynamoDB keeps in an attribute (MariaDB's JSON_VALID refuses deeper already)
                    f"({c} IS NOT NULL AND (CASE WHEN JSON_VALID({c}) THEN JSON_TYPE({c}) <> '{kind}' "
                    f"OR JSON_DEPTH({c}) > 32 ELSE 1 END))",
                    f"'{name}' is {t} but holds values that are not a JSON {kind.lower()} (or nest deeper "
                    "than DynamoDB's 32 levels): these rows would be rejected",
                    "fix the JSON in the source, or make the attribute S to keep the text as is",
                )
            )
    return checks


# -- the run -----------------------------------------------------------------------------------------


def run_preflight(
    conn: Any,
    database: str,
    contract: Contract,
    tables: Sequence[str] | None = None,
    accept: Iterable[str] = (),
    *,
    connect: Callable[[], Any] | None = None,
    parallel: int = PARALLEL,
) -> PreflightReport:
    """Check the views of ``contract`` (the ``tables`` named, or all) in ``database``.

    ``connect`` (a factory of connections to ``database``): the passes of every table run on up to
    ``parallel`` connections at once (:mod:`.preflight_parallel`); the report is the same."""
    t0 = time.monotonic()
    report = PreflightReport(
        database=database,
        accepted=set(accept),
        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
    schema = _schema(conn, database)
    selected = contract.select(list(tables) if tables else None)
    if connect is not None and parallel > 1:
        from dynamigrate.validate.preflight_parallel import check_tables

        for stats, findings in check_tables(connect, database, contract, selected, schema, parallel):
            report.tables.append(stats)
            report.findings.extend(findings)
    else:
        for table in selected:
            stats = TableStats(table=table.name, view=table.view_name)
            pass1, _ = _table_pass(conn, database, table, stats)
            findings = pass1
            if not _unreadable(findings):
                try:
                    findings = findings + _check_duplicates(conn, database, table, stats)
                except SourceError as exc:
                    findings = [*findings, _unreadable_finding(table, exc)]
            if schema is not None and not _unreadable(findings):
                findings.extend(_silent_nulls(conn, contract, table, schema))
            report.tables.append(stats)
            report.findings.extend(findings)
    report.seconds = time.monotonic() - t0
    log.info(
        "preflight: %d error(s), %d warning(s) in %.2f s",
        len(report.errors),
        len(report.warnings),
        report.seconds,
    )
    return report


def _unreadable(findings: list[Finding]) -> bool:
    return any(f.check in ("view_missing", "view_unreadable") for f in findings)


def _unreadable_finding(table: Table, exc: SourceError) -> Finding:
    # a view that cannot be read (e.g. a column it uses was dropped: error 1356) is a finding of its
    # table; the other tables are still checked
    return _finding(
        "view_unreadable",
        table,
        None,
        None,
        0,
        [],
        f"view {table.view_name} cannot be read: {exc.message}",
        exc.hint or "regenerate and re-apply the views, then run preflight again",
    )


def _table_pass(
    conn: Any, database: str, table: Table, stats: TableStats
) -> tuple[list[Finding], SourceError | None]:
    """The view's columns and the aggregate pass (everything but duplicates and silent NULLs)."""
    findings: list[Finding] = []
    try:
        _check_table(conn, database, table, stats, findings)
    except SourceError as exc:
        findings.append(_unreadable_finding(table, exc))
        return findings, exc
    return findings, None


def _check_duplicates(conn: Any, database: str, table: Table, stats: TableStats | None) -> list[Finding]:
    """Pass 2: duplicate keys (nothing when the view lacks a key column: reported by pass 1)."""
    cols = _view_columns(conn, database, table.view_name)
    if cols is None:
        return []
    present = set(cols)
    columns = present & set(table.attribute_names)
    if any(k not in columns for k in table.key_names):
        return []
    entity_expr = qi(ENTITY_COLUMN) if ENTITY_COLUMN in present else _literal(table.entities[0].entity_type)
    t = time.monotonic()
    v = f"{qi(database)}.{qi(table.view_name)}"
    found = _duplicates(conn, v, table, entity_expr, ROWID_COLUMN in present)
    if stats is not None:
        stats.seconds["duplicates"] = time.monotonic() - t
    return found


def _schema(conn: Any, database: str) -> Any:
    """The live schema for the silent-NULL probes (None, logged, when it cannot be read)."""
    from dynamigrate.errors import DynamigrateError
    from dynamigrate.source.introspect import introspect

    try:
        with _driver_errors(database=database):
            return introspect(conn, database)
    except DynamigrateError as exc:
        log.warning("preflight: cannot read the schema of %s, silent NULLs not counted: %s", database, exc)
        return None


def _silent_nulls(conn: Any, contract: Contract, table: Table, schema: Any) -> list[Finding]:
    """value_lost / join_unmatched findings of a table (validate/silent_nulls.py)."""
    from dynamigrate.errors import DynamigrateError
    from dynamigrate.validate.silent_nulls import silent_null_findings

    try:
        return silent_null_findings(conn, contract, table, schema)
    except DynamigrateError as exc:
        # never silent: the count could not be made, and that is an error of the table
        return [
            _finding(
                "view_unreadable",
                table,
                None,
                None,
                0,
                [],
                f"counting silent NULLs of {table.name} failed: {exc}",
                "regenerate the views from this contract and run preflight again",
            )
        ]


def _finding(
    check: str,
    table: Table,
    entity: str | None,
    attribute: str | None,
    count: int,
    examples: list[dict[str, Any]],
    message: str,
    fix: str,
) -> Finding:
    code, severity, _ = CHECKS[check]
    return Finding(check, severity, table.name, entity, attribute, count, examples, message, fix, code)


def _view_columns(conn: Any, database: str, view: str) -> list[str] | None:
    rows = _query(
        conn,
        "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s "
        "ORDER BY ORDINAL_POSITION",
        (database, view),
    )
    if rows:
        return [str(r[0]) for r in rows]
    exists = _query(
        conn,
        "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
        (database, view),
    )
    if not (exists and exists[0][0]):
        return None
    # information_schema shows no columns for a view it cannot resolve: reading it says why
    with conn.cursor() as cur:
        with _driver_errors(view=view):
            cur.execute(f"SELECT * FROM {qi(database)}.{qi(view)} LIMIT 0")
        return [str(d[0]) for d in cur.description or ()]


def _check_table(conn: Any, database: str, table: Table, stats: TableStats, findings: list[Finding]) -> None:
    view = table.view_name
    v = f"{qi(database)}.{qi(view)}"

    cols = _view_columns(conn, database, view)
    if cols is None:
        findings.append(
            _finding(
                "view_missing",
                table,
                None,
                None,
                0,
                [],
                f"view {view} does not exist in database '{database}'",
                "create the views first: dynamigrate views generate, then views apply",
            )
        )
        return
    expected = list(table.attribute_names)
    present = set(cols)
    missing = [a for a in expected if a not in present]
    extra = [c for c in cols if c not in expected and not c.startswith(HELPER_PREFIX)]
    if missing or extra or ENTITY_COLUMN not in present:
        parts = []
        if missing:
            parts.append(f"missing attribute column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(extra)}")
        if ENTITY_COLUMN not in present:
            parts.append(f"no helper column {ENTITY_COLUMN}")
        findings.append(
            _finding(
                "view_columns",
                table,
                None,
                None,
                len(missing) + len(extra),
                [],
                f"view {view} does not match the contract: {'; '.join(parts)}",
                "the view is stale or was written by hand: regenerate and re-apply the views from this contract",
            )
        )
    columns = present & set(expected)
    entity_expr = qi(ENTITY_COLUMN) if ENTITY_COLUMN in present else _literal(table.entities[0].entity_type)
    has_rowid = ROWID_COLUMN in present

    # -- pass 1: one aggregate over the view, grouped by entity --------------------------------------
    checks = _checks_for(table, columns)
    size = _size_expr(table, columns)
    select = [f"{entity_expr} AS _dm_e", "COUNT(*)"]
    select += [f"SUM(CASE WHEN {ch.condition} THEN 1 ELSE 0 END)" for ch in checks]
    # the size expression reads every column (a 50 KB text is copied each time it is referenced in
    # a merged view), so the pass computes it once per row, for MAX only; counting the large items
    # costs an extra pass, run only when the largest item is large
    select.append(f"MAX({size})")
    sql = f"SELECT {', '.join(select)} FROM {v} GROUP BY _dm_e"
    t = time.monotonic()
    rows = _query(conn, sql)
    stats.seconds["aggregate"] = time.monotonic() - t
    size_counts: dict[str, tuple[int, int]] = {}
    if any(int(r[-1] or 0) > LARGE_ITEM_BYTES for r in rows):
        t = time.monotonic()
        for r in _query(
            conn,
            f"SELECT _dm_e, SUM(CASE WHEN s > {MAX_ITEM_BYTES} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN s > {LARGE_ITEM_BYTES} AND s <= {MAX_ITEM_BYTES} THEN 1 ELSE 0 END) "
            f"FROM (SELECT {entity_expr} AS _dm_e, ({size}) AS s FROM {v}) d GROUP BY _dm_e",
        ):
            size_counts[str(_plain(r[0]))] = (int(r[1] or 0), int(r[2] or 0))
        stats.seconds["item_sizes"] = time.monotonic() - t
    by_entity: dict[str, tuple[Any, ...]] = {str(_plain(r[0])): r for r in rows}

    key_cols = [k for k in table.key_names if k in columns]

    def examples(condition: str, entity: str, order: str = "") -> list[dict[str, Any]]:
        sel = [qi(k) for k in key_cols] + ([qi(ROWID_COLUMN)] if has_rowid else [])
        if not sel:
            return []
        names = key_cols + ([ROWID_COLUMN] if has_rowid else [])
        order_by = order or (qi(ROWID_COLUMN) if has_rowid else ", ".join(qi(k) for k in key_cols))
        rows = _query(
            conn,
            f"SELECT {', '.join(sel)} FROM {v} WHERE {entity_expr} = %s AND {condition} "
            f"ORDER BY {order_by} LIMIT {EXAMPLES}",
            (entity,),
        )
        # _dm_rowid is NULL where the source key is not one integer (VARCHAR, composite, keyless): the
        # item key already identifies the row, a null field would only be noise
        return [
            {
                n: _plain(val)
                for n, val in zip(names, r, strict=True)
                if not (n == ROWID_COLUMN and val is None)
            }
            for r in rows
        ]

    t = time.monotonic()
    for entity in table.entities:
        row = by_entity.get(entity.entity_type)
        ent = entity.entity_type
        view_rows = int(row[1]) if row else 0
        stats.rows += view_rows
        source_rows, filtered = _source_count(conn, database, entity)
        stats.entities[ent] = {"view_rows": view_rows, "source_rows": source_rows}
        if entity.filter is not None:
            # the rows the entity's filter leaves out are not in the view: compared apart
            stats.entities[ent]["filtered_rows"] = filtered
            if source_rows is not None and filtered is not None:
                source_rows -= filtered
        entity_label = ent if table.multi_entity else None
        if source_rows is not None and source_rows != view_rows:
            more = view_rows > source_rows
            findings.append(
                _finding(
                    "row_count",
                    table,
                    entity_label,
                    None,
                    abs(view_rows - source_rows),
                    [],
                    f"{'entity ' + ent if table.multi_entity else 'the view'} has {view_rows} row(s) but "
                    f"source table '{entity.source_table}' has {source_rows}"
                    + (" that its filter keeps" if entity.filter is not None else "")
                    + ": "
                    + (
                        "a join multiplied rows (a to-many join in a to-one attribute)"
                        if more
                        else "rows were lost (an inner join or a filter in the view)"
                    ),
                    "use json-construction or aggregate for to-many relations; every join of a to-one "
                    "attribute must match at most one row (join on the target's primary key)"
                    if more
                    else "regenerate the views (joins must be LEFT JOINs); check the view's WHERE clause",
                )
            )
        if row is None:
            continue
        for i, ch in enumerate(checks):
            count = int(row[2 + i] or 0)
            if count == 0:
                continue
            attr = entity.attribute(ch.attribute) if ch.attribute else None
            if ch.attribute and attr is None and ch.check != "key_missing":
                continue  # the entity does not produce this attribute: its column is NULL here
            findings.append(
                _finding(
                    ch.check,
                    table,
                    entity_label,
                    ch.attribute,
                    count,
                    examples(ch.condition, ent),
                    ch.message,
                    ch.fix,
                )
            )
        too_large, large = size_counts.get(ent, (0, 0))
        max_size = int(row[-1] or 0)
        stats.max_item_bytes = max(stats.max_item_bytes, max_size)
        for check, count, cond in (
            ("item_too_large", too_large, f"({size}) > {MAX_ITEM_BYTES}"),
            ("item_large", large, f"({size}) > {LARGE_ITEM_BYTES} AND ({size}) <= {MAX_ITEM_BYTES}"),
        ):
            if not count:
                continue
            limit = "DynamoDB's 400 KB limit" if check == "item_too_large" else "300 KB"
            findings.append(
                _finding(
                    check,
                    table,
                    entity_label,
                    None,
                    count,
                    examples(cond, ent),
                    f"{count} item(s) are estimated over {limit} (largest about {max_size} bytes)"
                    + (": they would be rejected" if check == "item_too_large" else ""),
                    "move large values out of the item (S3 with a pointer attribute), shorten them, or "
                    "split the item",
                )
            )
    stats.seconds["examples_and_counts"] = time.monotonic() - t
    # pass 2 (duplicate keys): _check_duplicates, run beside this pass when connections allow


def _literal(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _source_count(conn: Any, database: str, entity: Entity) -> tuple[int | None, int | None]:
    """(rows of the entity's source table, rows its filter leaves out: None without a filter)."""
    source_table = entity.source_table
    cond = filter_sql(entity)
    select = "COUNT(*)" + (f", SUM(CASE WHEN {cond} THEN 1 ELSE 0 END)" if cond else "")
    try:
        rows = _query(conn, f"SELECT {select} FROM {qi(database)}.{qi(source_table)}")
    except SourceError as exc:  # the source table is gone: report the count as unknown, keep checking
        log.warning("cannot count rows of %s.%s: %s", database, source_table, exc)
        return None, None
    total = int(rows[0][0])
    # a NULL condition filters the row like a false one (WHERE): filtered = all - kept
    return total, (total - int(rows[0][1] or 0)) if cond else None


def _group_expr(table: Table, key: str) -> str:
    # DynamoDB compares keys byte-exactly (numbers by value): never through the column's collation
    if table.attribute_type(key) == "N":
        return f"CAST({qi(key)} AS DECIMAL(65,30))"
    return f"CAST({qi(key)} AS BINARY)"


def _duplicates(conn: Any, v: str, table: Table, entity_expr: str, has_rowid: bool) -> list[Finding]:
    keys = list(table.key_names)
    groups = ", ".join(_group_expr(table, k) for k in keys)
    # rows with a NULL/empty key (or a non-numeric N key) are reported by their own checks; here they
    # would only group together into false duplicates
    valid = " AND ".join(
        f"{qi(k)} IS NOT NULL AND LENGTH({qi(k)}) > 0"
        + (f" AND TRIM({qi(k)}) REGEXP {_NUMBER_REGEXP}" if table.attribute_type(k) == "N" else "")
        for k in keys
    )
    rows = _query(
        conn,
        f"SELECT COUNT(*), COALESCE(SUM(c), 0) FROM (SELECT COUNT(*) AS c FROM {v} WHERE {valid} "
        f"GROUP BY {groups} HAVING COUNT(*) > 1) d",
    )
    n_keys, n_rows = int(rows[0][0] or 0), int(rows[0][1] or 0)
    if not n_keys:
        return []
    sel = [f"MIN({qi(k)})" for k in keys] + [
        "COUNT(*)",
        f"GROUP_CONCAT(DISTINCT {entity_expr} ORDER BY {entity_expr} SEPARATOR ',')",
    ]
    if has_rowid:
        sel.append(f"GROUP_CONCAT({qi(ROWID_COLUMN)} ORDER BY {qi(ROWID_COLUMN)} SEPARATOR ',')")
    ex_rows = _query(
        conn,
        f"SELECT {', '.join(sel)} FROM {v} WHERE {valid} GROUP BY {groups} HAVING COUNT(*) > 1 "
        f"ORDER BY {groups} LIMIT {EXAMPLES}",
    )
    examples = []
    entities: set[str] = set()
    for r in ex_rows:
        ex: dict[str, Any] = {k: _plain(r[i]) for i, k in enumerate(keys)}
        ex["rows"] = int(r[len(keys)])
        ents = str(_plain(r[len(keys) + 1]) or "")
        entities.update(e for e in ents.split(",") if e)
        if table.multi_entity:
            ex[ENTITY_COLUMN] = ents
        rowids = [int(x) if x.lstrip("-").isdigit() else x for x in str(_plain(r[-1]) or "").split(",") if x]
        if has_rowid and rowids:
            ex["rowids"] = rowids
        examples.append(ex)
    entity = None
    if table.multi_entity and len(entities) == 1:
        entity = next(iter(entities))
    lost = n_rows - n_keys
    return [
        _finding(
            "duplicate_key",
            table,
            entity,
            ", ".join(keys),
            n_rows,
            examples,
            f"{n_rows} row(s) share {n_keys} key value(s) ({', '.join(keys)}): DynamoDB would keep one item "
            f"per key and silently lose {lost} row(s)",
            'make the key unique: add the row\'s id to the sort key (e.g. "ORDER#{created_at}#{id}"), or '
            "use json-construction for to-many relations that multiply rows",
        )
    ]


def check_names() -> list[str]:
    """Every check name (for --accept)."""
    return sorted(CHECKS)


def is_helper(column: str) -> bool:
    return column.startswith(HELPER_PREFIX)
