"""Post-migration validation: prove that DynamoDB holds what the views say it should.

``validate_run(cfg, contract, run, tables, mode, sample)`` is the last phase of ``migrate`` and the
body of ``dynamigrate validate``. Per table (docs/validation.md explains the approach in full):

1. **Source pass** (always): the table's view is streamed entity by entity (the same reader and the
   same :class:`~dynamigrate.target.encode.ItemEncoder` as the ETL), every row is encoded; rejected
   rows are counted by reason (they are *expected* to be absent), the keys of the others go to an
   on-disk key set (SQLite, :mod:`.keyset`) with their entity; item sizes are measured; two reservoir
   samples are kept (value sample, GSI sample).
2. **Target pass**: a parallel Scan (``TotalSegments``) of the table's keys (and marker) into the same
   key set — or, with ``keysets=False``, a parallel ``Select=COUNT`` Scan that only counts.
3. **Key sets** by SQL: keys missing in DynamoDB (with their entity), and DynamoDB items with no
   source row, reported apart and split into items that carry a migration marker (their source row
   vanished) and items without (the application's own writes). Per-entity figures come from the key
   set: DynamoDB items carry no entity type, so an item counts for the entity of the source row that
   produces its key.
4. **Values**: ``full`` compares every item (chunks of 100 keys, ``BatchGetItem``, a few in flight:
   bounded memory); ``sample`` compares N uniformly random source rows; ``counts`` compares none.
   Every difference is listed with key, attribute, expected and actual value.
5. **GSIs**: for a sample of source rows, each index of the table is queried by the row's index key
   values (filtered to the row's table key); the item must be there with the projected attributes of
   the table item. Rows whose index keys are absent/empty are expected *not* to be indexed.
6. **Score** = exact items / expected items; the verdict fails on missing items, differing values,
   missing GSI entries or a table that cannot be read. Extra items, rejected rows and duplicate
   source keys are warnings.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import queue
import random
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.errors import DynamigrateError, TargetError
from dynamigrate.runstate import JsonlWriter, RunDir, safe_name, utcnow
from dynamigrate.validate.compare import (
    canonical_value,
    compare_items,
    json_safe,
    key_string,
    plain_key,
    projected_names,
    short_text,
)
from dynamigrate.validate.keyset import KeySetStore

log = logging.getLogger(__name__)

MODES = ("counts", "sample", "full")
BATCH_GET_MAX = 100


# -- results ----------------------------------------------------------------------------------------


@dataclass
class Difference:
    """One attribute of one item that is not what the source row encodes to."""

    key: dict[str, Any]  # low-level key, JSON-safe
    attribute: str
    kind: str  # missing_attribute | unexpected_attribute | changed
    expected: Any  # low-level value (JSON-safe) or None
    actual: Any
    entity: str | None = None

    def text(self) -> str:
        return (
            f"{plain_key(self.key)} {self.attribute}: expected {short_text(self.expected)}, "
            f"actual {short_text(self.actual)} ({self.kind})"
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
    source_rows: int = 0
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    expected: int = 0  # distinct keys of non-rejected rows
    duplicates: int = 0
    present: int = 0
    missing: int = 0
    compared: int = 0
    exact: int = 0
    mismatched: int = 0


@dataclass
class TableValidation:
    table: str
    ddb_table: str
    view: str
    mode: str
    source_rows: int = 0
    rejected: int = 0
    rejected_by_code: dict[str, int] = field(default_factory=dict)
    run_rejected: int | None = None  # rejected rows the run recorded (rejected.jsonl), for comparison
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
    compared: int = 0
    exact_compared: int = 0
    mismatched: int = 0
    differences_total: int = 0
    differences: list[Difference] = field(default_factory=list)
    gsis: list[GsiResult] = field(default_factory=list)
    gsi_problems: list[GsiProblem] = field(default_factory=list)
    item_size_avg: float | None = None
    item_size_max: int | None = None
    item_size_max_key: dict[str, Any] | None = None
    estimated_item_size_bytes: float | None = None
    entities: dict[str, EntityValidation] = field(default_factory=dict)
    exact: int | None = None
    score: float | None = None
    score_basis: str = ""
    passed: bool = False
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    error: dict[str, Any] | None = None
    seconds: float = 0.0

    @property
    def gsi_missing(self) -> int:
        return sum(g.missing for g in self.gsis)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["gsi_missing"] = self.gsi_missing
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

    @property
    def passed(self) -> bool:
        return bool(self.tables) and all(t.passed for t in self.tables)

    @property
    def verdict(self) -> str:
        if not self.passed:
            return "failed"
        if any(t.warnings for t in self.tables):
            return "passed with warnings"
        return "passed"

    @property
    def expected(self) -> int:
        return sum(t.expected for t in self.tables)

    @property
    def score(self) -> float | None:
        """Overall integrity: exact items / expected items over all tables (weighted)."""
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
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3),
            "passed": self.passed,
            "verdict": self.verdict,
            "score": self.score,
            "expected": self.expected,
            "tables": [t.to_dict() for t in self.tables],
        }

    def render_text(self, max_listed: int = 10) -> str:
        """The result for people: verdict, per-table figures, then what is wrong."""
        lines = [
            f"validation ({self.mode}"
            + (f", sample {self.sample}" if self.mode == "sample" else "")
            + f"): {self.verdict.upper()}"
            + (f", integrity {self.score:.2%}" if self.score is not None else "")
        ]
        for t in self.tables:
            score = f"{t.score:.2%}" if t.score is not None else "n/a"
            lines.append(
                f"  {t.table}: {'ok' if t.passed else 'FAILED'}  score {score} ({t.score_basis})  "
                f"source {t.source_rows} - rejected {t.rejected} = expected {t.expected}; "
                f"DynamoDB {t.ddb_count if t.ddb_count is not None else '?'}"
                + (f", missing {t.missing}" if t.missing is not None else "")
                + (f", extra {t.extra}" if t.extra is not None else "")
                + (f", compared {t.compared}, differing {t.mismatched}" if t.compared else "")
            )
            if t.error:
                lines.append(f"    error: {t.error.get('message')}")
            for p in t.problems:
                lines.append(f"    problem: {p}")
            for w in t.warnings:
                lines.append(f"    warning: {w}")
            for k in t.missing_keys[:max_listed]:
                lines.append(f"    missing: {plain_key(k['key'])} ({k.get('entity')})")
            for k in t.extra_keys[:max_listed]:
                lines.append(
                    f"    extra: {plain_key(k['key'])}" + (" (migration marker)" if k.get("marker") else "")
                )
            for d in t.differences[:max_listed]:
                lines.append(f"    differs: {d.text()}")
            for g in t.gsi_problems[:max_listed]:
                lines.append(f"    gsi: {g.text()}")
        return "\n".join(lines)


# -- entry point ------------------------------------------------------------------------------------


def validate_run(
    cfg: Config,
    contract: Contract,
    run: RunDir | None,
    tables: Sequence[str | Table] | None = None,
    mode: str = "counts",
    sample: int | None = None,
    *,
    gsi_sample: int = 50,
    keysets: bool = True,
    segments: int = 4,
    workers: int = 4,
    max_listed: int = 100,
    client: Any = None,
    table_names: Mapping[str, str] | None = None,
    database: str | None = None,
    seed: int | None = None,
) -> ValidationReport:
    """Validate ``tables`` (all of the contract's when empty) and write ``validation.json`` to ``run``.

    ``mode``: ``counts`` (counts and key sets), ``sample`` (plus ``sample`` random rows compared
    value by value) or ``full`` (every item compared). ``table_names`` maps contract table names to
    physical DynamoDB names when they differ. Never raises for what it finds; a table that cannot be
    read is reported as failed with its error.
    """
    if mode not in MODES:
        raise DynamigrateError(f"unknown validation mode '{mode}'", hint=f"use one of {', '.join(MODES)}")
    if mode == "sample" and not sample:
        sample = 100
    selected: list[Table] = []
    for t in tables or ():
        selected.append(t if isinstance(t, Table) else contract.table(t))
    if not selected:
        selected = list(contract.select(list(cfg.migration.tables) or None))
    if client is None:
        from dynamigrate.target.client import dynamodb_client

        client = dynamodb_client(cfg.aws, max_pool_connections=max(segments, workers) + 4, sdk_attempts=5)
    report = ValidationReport(
        run_id=run.run_id if run else None,
        mode=mode,
        sample=sample if mode == "sample" else None,
        gsi_sample=gsi_sample,
        started_at=utcnow(),
    )
    t0 = time.monotonic()
    rng = random.Random(seed)
    run_rejected = _run_rejected_counts(run)
    if run is not None:
        run.update_state(phase="validate")
        run.event("phase", phase="validate", status="started", mode=mode)
    for table in selected:
        v = TableValidator(
            cfg,
            table,
            client,
            run=run,
            mode=mode,
            sample=sample or 0,
            gsi_sample=gsi_sample,
            keysets=keysets,
            segments=segments,
            workers=workers,
            max_listed=max_listed,
            ddb_table=(table_names or {}).get(table.name, table.name),
            database=database or cfg.mysql.database,
            rng=rng,
        )
        tv = v.run()
        if table.name in run_rejected:
            tv.run_rejected = run_rejected[table.name]
            if tv.run_rejected != tv.rejected:
                tv.warnings.append(
                    f"the run rejected {tv.run_rejected} row(s), the source now gives {tv.rejected} "
                    "rejected row(s): the source changed since the run"
                )
        report.tables.append(tv)
        log.info("validated %s: %s, score %s", table.name, "ok" if tv.passed else "FAILED", _pct(tv.score))
    report.finished_at = utcnow()
    report.seconds = time.monotonic() - t0
    if run is not None:
        run.write_json("validation.json", report.to_dict())
        run.update_state(
            validation={
                "passed": report.passed,
                "verdict": report.verdict,
                "score": report.score,
                "mode": mode,
            }
        )
        run.event("phase", phase="validate", status="finished", passed=report.passed, score=report.score)
    return report


def _pct(score: float | None) -> str:
    return "n/a" if score is None else f"{score:.2%}"


def _run_rejected_counts(run: RunDir | None) -> dict[str, int]:
    """Distinct rejected rows per table (a resumed run may have rejected a row twice)."""
    import json

    seen: dict[str, set[str]] = {}
    if run is None:
        return {}
    for line in run.read_lines("rejected.jsonl"):
        row = line.get("row") if isinstance(line.get("row"), dict) else {}
        rowid = row.get("_dm_rowid") if row else None
        ident = (
            f"{line.get('entity')}#{rowid}"
            if rowid is not None
            else json.dumps([line.get("key"), line.get("message"), row], sort_keys=True, default=str)
        )
        seen.setdefault(str(line.get("table")), set()).add(ident)
    return {t: len(v) for t, v in seen.items()}


# -- one table --------------------------------------------------------------------------------------


class _Reservoir:
    """Uniform random sample of fixed size over a stream (Vitter's algorithm R)."""

    def __init__(self, size: int, rng: random.Random):
        self.size = max(0, size)
        self.rng = rng
        self.seen = 0
        self.items: list[Any] = []

    def offer(self, item: Any) -> None:
        if self.size == 0:
            return
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
        else:
            j = self.rng.randrange(self.seen)
            if j < self.size:
                self.items[j] = item


class TableValidator:
    def __init__(
        self,
        cfg: Config,
        table: Table,
        client: Any,
        *,
        run: RunDir | None,
        mode: str,
        sample: int,
        gsi_sample: int,
        keysets: bool,
        segments: int,
        workers: int,
        max_listed: int,
        ddb_table: str,
        database: str,
        rng: random.Random,
    ):
        from dynamigrate.target.encode import ItemEncoder

        self.cfg = cfg
        self.table = table
        self.client = client
        self.run_dir = run
        self.mode = mode
        self.sample = sample
        self.gsi_sample = gsi_sample
        self.keysets = keysets
        self.segments = max(1, segments)
        self.workers = max(1, workers)
        self.max_listed = max_listed
        self.ddb_table = ddb_table
        self.database = database
        self.rng = rng
        self.marker = cfg.migration.marker_attribute
        self.encoder = ItemEncoder(table, self.marker)
        ignore = {self.marker}
        version = cfg.migration.version_attribute
        if version and version not in table.attribute_names:
            ignore.add(version)
        self.ignore = frozenset(a for a in ignore if a)
        self.result = TableValidation(
            table=table.name,
            ddb_table=ddb_table,
            view=table.view_name,
            mode=mode,
            estimated_item_size_bytes=table.estimated_item_size_bytes,
        )
        self._lock = threading.Lock()
        self._diff_writer: JsonlWriter | None = None
        from dynamigrate.target.retry import RetryPolicy

        # the client may come without SDK retries (the pipeline's): throttles are retried here
        self.retry = RetryPolicy(max_attempts=10)

    def _aws(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return self.retry.call(fn, what=f"{getattr(fn, '__name__', 'call')} {self.ddb_table}", **kwargs)

    # -- orchestration --------------------------------------------------------------------------
    def run(self) -> TableValidation:
        t0 = time.monotonic()
        r = self.result
        store: KeySetStore | None = None
        try:
            described = self._describe()
            if self.keysets:
                store = KeySetStore(self._work_path(".keys.sqlite"))
            if self.run_dir is not None and self.mode != "counts":
                path = self._work_path(".differences.jsonl")
                path.unlink(missing_ok=True)  # the last validation's differences only
                self._diff_writer = JsonlWriter(path)
            samples = self._source_pass(store)
            if store is not None:
                self._target_key_pass(store)
                self._keyset_figures(store)
            else:
                r.ddb_count = self._count_scan()
            if self.mode == "sample":
                self._compare_encoded(samples[0])
            self._check_gsis(samples[1], described)
        except Exception as exc:  # report any failure of one table, keep going
            from dynamigrate.troubleshoot import lookup

            err = exc if isinstance(exc, DynamigrateError) else _translate_aws(exc, self.ddb_table)
            r.error = err.to_dict()
            g = lookup(exc)
            if g:
                r.error["hint"] = r.error.get("hint") or g.fix
                r.error["guidance"] = g.key
            log.warning(
                "validation of %s could not run: %s%s",
                self.table.name,
                r.error.get("message"),
                f" (troubleshooting: {g})" if g else "",
            )
            log.debug("validation of %s failed", self.table.name, exc_info=True)
        finally:
            if store is not None:
                store.close()
            if self._diff_writer is not None:
                self._diff_writer.close()
        self._verdict()
        r.seconds = round(time.monotonic() - t0, 3)
        return r

    def _work_path(self, suffix: str) -> Path:
        base = self.run_dir.path / "validation" if self.run_dir else Path(tempfile.gettempdir())
        return base / f"{safe_name(self.ddb_table)}{suffix}"

    def _describe(self) -> dict[str, Any]:
        return dict(self._aws(self.client.describe_table, TableName=self.ddb_table)["Table"])

    # -- source pass ----------------------------------------------------------------------------
    def _keep_bytes(self) -> list[str]:
        return [n for n, t in self.table.attribute_types().items() if t in ("B", "BS", "BOOL")]

    def _source_pass(self, store: KeySetStore | None) -> tuple[list[Any], list[Any]]:
        from dynamigrate.source.reader import ViewReader

        r = self.result
        value_res = _Reservoir(self.sample if self.mode == "sample" else 0, self.rng)
        gsi_res = _Reservoir(self.gsi_sample if self.table.gsis else 0, self.rng)
        sizes = 0
        entities = r.entities
        pool = cf.ThreadPoolExecutor(self.workers) if self.mode == "full" else None
        pending: set[cf.Future[Any]] = set()
        batch: list[Any] = []
        try:
            with ViewReader(
                self.cfg.mysql, self.table.view_name, database=self.database, keep_bytes=self._keep_bytes()
            ) as reader:
                for entity in self.table.entities:
                    ev = entities.setdefault(entity.entity_type, EntityValidation(entity.entity_type))
                    for chunk in reader.iter_entity(entity.entity_type):
                        keys: list[tuple[str, str | None, Any]] = []
                        for row in chunk.rows:
                            e = self.encoder.encode(row)
                            ev.source_rows += 1
                            r.source_rows += 1
                            if e.rejected:
                                code = e.reject_code or "rejected"
                                ev.rejected += 1
                                ev.rejected_by_code[code] = ev.rejected_by_code.get(code, 0) + 1
                                r.rejected += 1
                                r.rejected_by_code[code] = r.rejected_by_code.get(code, 0) + 1
                                continue
                            keys.append((key_string(e.key), entity.entity_type, e.rowid))
                            sizes += e.size
                            if r.item_size_max is None or e.size > r.item_size_max:
                                r.item_size_max = e.size
                                r.item_size_max_key = json_safe(e.key)
                            value_res.offer((e.key, e.item, entity.entity_type))
                            gsi_res.offer((e.key, e.item, entity.entity_type))
                            if pool is not None:
                                batch.append((e.key, e.item, entity.entity_type))
                                if len(batch) >= BATCH_GET_MAX:
                                    pending.add(pool.submit(self._compare_batch, batch))
                                    batch = []
                                    pending = self._drain(pending, 2 * self.workers)
                        if store is not None and keys:
                            store.add_source(keys)
                if pool is not None and batch:
                    pending.add(pool.submit(self._compare_batch, batch))
                self._drain(pending, 0)
        finally:
            if pool is not None:
                pool.shutdown(wait=True)
        if store is not None:
            store.commit()
        ok_rows = r.source_rows - r.rejected
        r.item_size_avg = round(sizes / ok_rows, 1) if ok_rows else None
        if store is None:
            r.expected = ok_rows
            for ev in entities.values():
                ev.expected = ev.source_rows - ev.rejected
        return value_res.items, gsi_res.items

    def _drain(self, pending: set[cf.Future[Any]], keep: int) -> set[cf.Future[Any]]:
        while len(pending) > keep:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for f in done:
                f.result()  # re-raise a worker's failure
        return pending

    # -- target pass ----------------------------------------------------------------------------
    def _target_key_pass(self, store: KeySetStore) -> None:
        """Parallel Scan of keys + marker into the key set (pages handed over through a small queue)."""
        names = {f"#k{i}": n for i, n in enumerate(self.table.key_names)}
        if self.marker:
            names["#m"] = self.marker
        projection = ", ".join(names)
        key_names = self.table.key_names
        pages: queue.Queue[Any] = queue.Queue(maxsize=2 * self.segments)
        done = object()

        def scan(segment: int) -> None:
            try:
                kwargs: dict[str, Any] = {
                    "TableName": self.ddb_table,
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                    "ConsistentRead": True,
                    "Segment": segment,
                    "TotalSegments": self.segments,
                }
                while True:
                    resp = self._aws(self.client.scan, **kwargs)
                    rows = []
                    for item in resp.get("Items", []):
                        key = {k: item[k] for k in key_names if k in item}
                        m = item.get(self.marker) if self.marker else None
                        rows.append((key_string(key), m.get("S") if isinstance(m, dict) else None))
                    pages.put(rows)
                    lek = resp.get("LastEvaluatedKey")
                    if not lek:
                        break
                    kwargs["ExclusiveStartKey"] = lek
                pages.put(done)
            except BaseException as exc:  # handed to the consumer thread
                pages.put(exc)

        threads = [threading.Thread(target=scan, args=(s,), daemon=True) for s in range(self.segments)]
        for th in threads:
            th.start()
        finished = 0
        count = 0
        error: BaseException | None = None
        while finished < len(threads):
            got = pages.get()
            if got is done:
                finished += 1
            elif isinstance(got, BaseException):
                finished += 1
                error = error or got
            else:
                count += len(got)
                store.add_target(got)
        for th in threads:
            th.join()
        if error is not None:
            raise error
        store.commit()
        self.result.ddb_count = count

    def _count_scan(self) -> int:
        """Parallel ``Select=COUNT`` Scan (TotalSegments): the item count without transferring items."""

        def seg(segment: int) -> int:
            n = 0
            kwargs: dict[str, Any] = {
                "TableName": self.ddb_table,
                "Select": "COUNT",
                "Segment": segment,
                "TotalSegments": self.segments,
            }
            while True:
                resp = self._aws(self.client.scan, **kwargs)
                n += int(resp.get("Count", 0))
                lek = resp.get("LastEvaluatedKey")
                if not lek:
                    return n
                kwargs["ExclusiveStartKey"] = lek

        with cf.ThreadPoolExecutor(self.segments) as pool:
            return sum(pool.map(seg, range(self.segments)))

    def _keyset_figures(self, store: KeySetStore) -> None:
        r = self.result
        r.expected = store.source_count()
        r.duplicate_keys = store.duplicate_rows()
        r.missing = store.missing_count()
        r.present = r.expected - r.missing
        marked, unmarked = store.extra_counts()
        r.extra, r.extra_marked, r.extra_unmarked = marked + unmarked, marked, unmarked
        r.missing_keys = [
            {"key": k, "entity": e, "rowid": rid} for k, e, rid in store.missing(self.max_listed)
        ]
        r.extra_keys = [{"key": k, "marker": m} for k, m in store.extra(self.max_listed)]
        for entity, fig in store.per_entity().items():
            ev = r.entities.setdefault(entity, EntityValidation(entity))
            ev.expected = fig["keys"]
            ev.present = fig["present"]
            ev.missing = fig["keys"] - fig["present"]
            ev.duplicates = fig["duplicates"]

    # -- values ---------------------------------------------------------------------------------
    def _batch_get(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Items by canonical key text; strongly consistent; UnprocessedKeys retried with backoff."""
        found: dict[str, dict[str, Any]] = {}
        request: dict[str, Any] = {self.ddb_table: {"Keys": keys, "ConsistentRead": True}}
        delay = 0.05
        for _attempt in range(30):
            resp = self._aws(self.client.batch_get_item, RequestItems=request)
            for item in resp.get("Responses", {}).get(self.ddb_table, []):
                key = {k: item[k] for k in self.table.key_names if k in item}
                found[key_string(key)] = item
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise TargetError(
            "BatchGetItem kept returning unprocessed keys",
            table=self.ddb_table,
            hint="the table is throttled",
        )

    def _compare_batch(self, batch: list[tuple[dict[str, Any], dict[str, Any], str]]) -> None:
        # BatchGetItem refuses duplicate keys in one request: duplicates are compared once
        unique: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {}
        for key, item, entity in batch:
            unique.setdefault(key_string(key), (key, item, entity))
        actual = self._batch_get([v[0] for v in unique.values()])
        compared = exact = 0
        diffs: list[Difference] = []
        per_entity: dict[str, tuple[int, int]] = {}
        for ks, (key, item, entity) in unique.items():
            got = actual.get(ks)
            if got is None:
                continue  # missing items are counted by the key sets
            compared += 1
            found = compare_items(item, got, self.ignore)
            c, x = per_entity.get(entity, (0, 0))
            per_entity[entity] = (c + 1, x + (0 if found else 1))
            if not found:
                exact += 1
            jkey = json_safe(key)
            for d in found:
                diffs.append(
                    Difference(jkey, d.attribute, d.kind, json_safe(d.expected), json_safe(d.actual), entity)
                )
        with self._lock:
            r = self.result
            r.compared += compared
            r.exact_compared += exact
            r.mismatched += compared - exact
            r.differences_total += len(diffs)
            room = self.max_listed - len(r.differences)
            if room > 0:
                r.differences.extend(diffs[:room])
            if self._diff_writer is not None and diffs:
                self._diff_writer.write_many([asdict(d) for d in diffs])
            for entity, (c, x) in per_entity.items():
                ev = r.entities.setdefault(entity, EntityValidation(entity))
                ev.compared += c
                ev.exact += x
                ev.mismatched += c - x

    def _compare_encoded(self, rows: list[tuple[dict[str, Any], dict[str, Any], str]]) -> None:
        for i in range(0, len(rows), BATCH_GET_MAX):
            self._compare_batch(rows[i : i + BATCH_GET_MAX])

    # -- GSIs -----------------------------------------------------------------------------------
    def _check_gsis(
        self, rows: list[tuple[dict[str, Any], dict[str, Any], str]], described: dict[str, Any]
    ) -> None:
        r = self.result
        if not self.table.gsis:
            return
        actual_gsis = {g["IndexName"]: g for g in described.get("GlobalSecondaryIndexes") or []}
        table_items: dict[str, dict[str, Any] | None] = {}
        if rows:
            for i in range(0, len(rows), BATCH_GET_MAX):
                part = rows[i : i + BATCH_GET_MAX]
                got = self._batch_get(list({key_string(k): k for k, _, _ in part}.values()))
                for k, _, _ in part:
                    table_items[key_string(k)] = got.get(key_string(k))
        for gsi in self.table.gsis:
            desc = actual_gsis.get(gsi.index_name)
            if desc is None:
                r.gsis.append(GsiResult(gsi.index_name, gsi.projection))
                r.gsi_problems.append(GsiProblem(gsi.index_name, {}, {}, "index_missing"))
                continue
            index_keys = [k["AttributeName"] for k in desc["KeySchema"]]
            projection = desc.get("Projection") or {"ProjectionType": "ALL"}
            res = GsiResult(gsi.index_name, projection.get("ProjectionType", "ALL"))
            r.gsis.append(res)
            for key, item, _entity in rows:
                if table_items.get(key_string(key)) is None:
                    continue  # the item itself is missing: reported by the key sets, not here
                if any(item.get(k) is None for k in index_keys):
                    res.not_indexed += 1
                    continue
                res.checked += 1
                ikey = {k: item[k] for k in index_keys}
                entry = self._query_index(gsi.index_name, ikey, key)
                if entry is None:
                    res.missing += 1
                    if len(r.gsi_problems) < self.max_listed:
                        r.gsi_problems.append(
                            GsiProblem(gsi.index_name, json_safe(key), json_safe(ikey), "missing_entry")
                        )
                    continue
                res.found += 1
                table_item = table_items.get(key_string(key)) or {}
                names = projected_names(projection, [*self.table.key_names, *index_keys], table_item)
                for name in names:
                    if name in self.ignore and name not in entry and name not in table_item:
                        continue
                    a, b = table_item.get(name), entry.get(name)
                    if (a is None) != (b is None) or (
                        a is not None and b is not None and canonical_value(a) != canonical_value(b)
                    ):
                        res.projection_mismatches += 1
                        if len(r.gsi_problems) < self.max_listed:
                            r.gsi_problems.append(
                                GsiProblem(
                                    gsi.index_name,
                                    json_safe(key),
                                    json_safe(ikey),
                                    "projection_mismatch",
                                    name,
                                    json_safe(a),
                                    json_safe(b),
                                )
                            )

    def _query_index(
        self, index: str, ikey: dict[str, Any], key: dict[str, Any], retries: int = 2
    ) -> dict[str, Any] | None:
        """The index entry for the item with table key ``key`` under index key ``ikey`` (or None).

        GSIs are eventually consistent: a miss is checked again after a short pause before it counts.
        """
        names: dict[str, str] = {}
        values: dict[str, Any] = {}
        conds = []
        for i, (k, v) in enumerate(ikey.items()):
            names[f"#i{i}"] = k
            values[f":i{i}"] = v
            conds.append(f"#i{i} = :i{i}")
        filters = []
        for i, (k, v) in enumerate(key.items()):
            if k in ikey:
                continue  # already constrained by the key condition
            names[f"#t{i}"] = k
            values[f":t{i}"] = v
            filters.append(f"#t{i} = :t{i}")
        kwargs: dict[str, Any] = {
            "TableName": self.ddb_table,
            "IndexName": index,
            "KeyConditionExpression": " AND ".join(conds),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
        want = key_string(key)
        for attempt in range(retries + 1):
            args = dict(kwargs)
            while True:
                resp = self._aws(self.client.query, **args)
                for it in resp.get("Items", []):
                    if key_string({k: it[k] for k in key if k in it}) == want:
                        return dict(it)
                lek = resp.get("LastEvaluatedKey")
                if not lek:
                    break
                args["ExclusiveStartKey"] = lek
            if attempt < retries:
                time.sleep(0.5 * (attempt + 1))
        return None

    # -- verdict --------------------------------------------------------------------------------
    def _verdict(self) -> None:
        r = self.result
        if r.error:
            r.passed = False
            r.problems.append(f"cannot validate: {r.error.get('message')}")
            return
        if r.missing is not None:
            r.present = r.expected - r.missing
        if self.mode == "full" and r.present is not None:
            r.exact = r.exact_compared
            r.score = (r.exact / r.expected) if r.expected else 1.0
            r.score_basis = "every item compared"
        elif self.mode == "sample" and r.present is not None:
            frac = (r.exact_compared / r.compared) if r.compared else 1.0
            r.exact = round(r.present * frac)
            r.score = (r.present * frac / r.expected) if r.expected else 1.0
            r.score_basis = f"keys, values estimated from {r.compared} sampled item(s)"
        elif r.present is not None:
            r.exact = r.present
            r.score = (r.present / r.expected) if r.expected else 1.0
            r.score_basis = "keys only (values not compared)"
        else:
            count = r.ddb_count or 0
            r.score = min(count, r.expected) / r.expected if r.expected else 1.0
            r.score_basis = "counts only"
        if r.missing:
            r.problems.append(f"{r.missing} expected item(s) missing in DynamoDB")
        if r.mismatched:
            r.problems.append(
                f"{r.mismatched} item(s) differ from their source row ({r.differences_total} attribute difference(s))"
            )
        gsi_missing = sum(g.missing for g in r.gsis)
        if gsi_missing:
            r.problems.append(f"{gsi_missing} sampled item(s) missing from a GSI")
        proj = sum(g.projection_mismatches for g in r.gsis)
        if proj:
            r.problems.append(f"{proj} GSI projection difference(s)")
        for p in r.gsi_problems:
            if p.kind == "index_missing":
                r.problems.append(f"the table has no index {p.index} (the contract defines it)")
        if r.missing is None and r.ddb_count is not None and r.ddb_count < r.expected:
            r.problems.append(f"DynamoDB holds {r.ddb_count} item(s), {r.expected} expected")
        if r.extra:
            r.warnings.append(
                f"{r.extra} DynamoDB item(s) have no source row ({r.extra_marked} with a migration marker: "
                f"their source row is gone; {r.extra_unmarked} without: the application's own writes?)"
            )
        if r.missing is None and r.ddb_count is not None and r.ddb_count > r.expected:
            r.warnings.append(f"DynamoDB holds {r.ddb_count - r.expected} item(s) more than expected")
        if r.rejected:
            by = ", ".join(f"{k} {v}" for k, v in sorted(r.rejected_by_code.items()))
            r.warnings.append(f"{r.rejected} source row(s) cannot become items ({by}); see rejected.jsonl")
        if r.duplicate_keys:
            r.warnings.append(
                f"{r.duplicate_keys} source row(s) produce a key another row already produces "
                "(only one item can exist per key)"
            )
        r.passed = not r.problems


def _translate_aws(exc: BaseException, table: str) -> DynamigrateError:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        err = response.get("Error") or {}
        code = str(err.get("Code") or "")
        msg = str(err.get("Message") or exc)
        if code == "ResourceNotFoundException":
            return TargetError(
                f"DynamoDB table {table} not found: {msg}",
                table=table,
                hint="check the table name, aws.region and the endpoint (or migrate first)",
            )
        return TargetError(f"DynamoDB {code}: {msg}", table=table)
    if isinstance(exc, DynamigrateError):
        return exc
    return TargetError(f"{type(exc).__name__}: {exc}", table=table)


def iter_differences(run: RunDir, table: str) -> Iterable[dict[str, Any]]:
    """Every difference recorded for ``table`` by the last sample/full validation of ``run``."""
    return run.read_lines(f"validation/{safe_name(table)}.differences.jsonl")  # ddb table name


ClientFactory = Callable[[], Any]
