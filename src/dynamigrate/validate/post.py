"""Post-migration validation: prove that DynamoDB holds what the CONTRACT says, not what the views say.

``validate_run(cfg, contract, run, tables, mode, sample)`` is the last phase of ``migrate`` and the
body of ``dynamigrate validate``. The expectation never comes from the generated views read by the
ETL's own reader: row counts come from ``COUNT(*)`` of the base tables (:mod:`.basecount`), items
from the reference evaluator of the contract (:mod:`.expected`). Per table (docs/validation.md):

* ``counts`` (``--counts-only``): base-table counts against the rows the load accounted for and a
  ``Select=COUNT`` scan. Basis "counts only": no integrity score.
* ``sample`` (the default after ``migrate``, 1,000 rows per table): counts; the key set the load
  recorded (``written/<T>.jsonl``) against ONE DynamoDB key scan (missing, extra); keys and values
  of a random sample of source rows computed by the evaluator. Basis "counts + keys + N sampled items".
* ``full``: every source row through the evaluator; its keys against one key scan, every item
  compared. Basis "every item".

Items that differ from the contract (or are missing) have their view row read too: where the view
agrees with DynamoDB and not with the contract, the finding is reported apart as "the view does not
match the contract" (a generator or dialect bug). A table that cannot be validated (unreachable
table, no such view) is "not validated", never failed.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import random
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.errors import DynamigrateError
from dynamigrate.evaluate import EvaluationUnsupported
from dynamigrate.runstate import JsonlWriter, RunDir, read_jsonl, safe_name
from dynamigrate.validate.basecount import count_entities
from dynamigrate.validate.compare import json_safe, json_text_attributes, key_string
from dynamigrate.validate.dynamo import BATCH_GET_MAX, DynamoSide, translate_aws
from dynamigrate.validate.expected import ExpectedFactory, ExpectedItems, ExpectedRow, allocate
from dynamigrate.validate.gsi import Sampled, check_gsis
from dynamigrate.validate.keyset import KeySetStore
from dynamigrate.validate.rejected_sample import check_rejected
from dynamigrate.validate.results import (
    Difference,
    EntityValidation,
    TableValidation,
    ValidationReport,
)
from dynamigrate.validate.session import DEFAULT_SAMPLE, MODES, ValidationSession
from dynamigrate.validate.values import SUSPECTS_MAX, SUSPECTS_MAX_SAMPLE, ValueComparer
from dynamigrate.validate.viewcheck import open_lookup
from dynamigrate.validate.viewfull import ViewDigests

__all__ = [
    "DEFAULT_SAMPLE",
    "MODES",
    "Difference",
    "TableValidation",
    "ValidationReport",
    "iter_differences",
    "validate_run",
]

log = logging.getLogger(__name__)


def validate_run(
    cfg: Config,
    contract: Contract,
    run: RunDir | None,
    tables: Sequence[str | Table] | None = None,
    mode: str = "sample",
    sample: int | None = None,
    *,
    gsi_sample: int = 50,
    keysets: bool = True,
    segments: int | None = None,
    workers: int = 4,
    max_listed: int = 100,
    client: Any = None,
    table_names: Mapping[str, str] | None = None,
    database: str | None = None,
    seed: int | None = None,
    expected_factory: ExpectedFactory | None = None,
    origin: str = "migrate",
) -> ValidationReport:
    """Validate ``tables`` (all of the contract's when empty) and write ``validation.json`` to ``run``.

    ``mode``: ``counts``, ``sample`` (``sample`` rows per table, default 1,000) or ``full``.
    ``keysets=False`` skips the key scan (counts mode with a COUNT scan). ``segments``: the key scan's
    segments (None: from the table's size, :func:`~dynamigrate.validate.dynamo.scan_segments`).
    ``table_names`` maps contract table names to physical DynamoDB names when they differ. Never raises
    for what it finds; a table that cannot be read is reported as not validated, with its error.
    ``migrate`` validates each table right after its load instead (:class:`.session.ValidationSession`).
    """
    session = ValidationSession(
        cfg,
        contract,
        run,
        mode,
        sample,
        gsi_sample=gsi_sample,
        keysets=keysets,
        segments=segments,
        workers=workers,
        max_listed=max_listed,
        client=client,
        table_names=table_names,
        database=database,
        seed=seed,
        expected_factory=expected_factory,
        origin=origin,
    )
    selected: list[Table] = [t if isinstance(t, Table) else contract.table(t) for t in tables or ()]
    if not selected:
        selected = list(contract.select(list(cfg.migration.tables) or None))
    for table in selected:
        session.submit(table)
    return session.finish()


def _report_key(key: Mapping[str, Any]) -> Mapping[str, Any]:
    """A key as the run's logs hold it (binary as base64 text) back in low-level form."""
    import base64

    if all(not (isinstance(v, Mapping) and "B" in v) for v in key.values()):
        return key  # no binary value: already low-level
    out: dict[str, Any] = {}
    for name, value in key.items():
        if isinstance(value, Mapping) and isinstance(value.get("B"), str):
            out[name] = {"B": base64.b64decode(value["B"])}
        else:
            out[name] = value
    return out


def _read_records(path: Path) -> Any:
    """:func:`~dynamigrate.runstate.read_jsonl` with orjson (a load's key record has a line per item):
    a torn last line (a killed writer) is skipped the same way."""
    from dynamigrate.target.wire import orjson

    if orjson is None:
        yield from read_jsonl(path)
        return
    if not path.exists():
        return
    loads = orjson.loads
    with open(path, "rb") as fh:
        for line in fh:
            if not line.endswith(b"\n"):
                break  # torn write at the end
            if line.strip():
                yield loads(line)


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
        contract: Contract,
        table: Table,
        client: Any,
        *,
        run: RunDir | None,
        mode: str,
        sample: int,
        gsi_sample: int,
        keysets: bool,
        segments: int | None,
        workers: int,
        max_listed: int,
        ddb_table: str,
        database: str,
        rng: random.Random,
        run_rejected: dict[str, dict[str, int]],
        expected_factory: ExpectedFactory,
        check_views: bool = True,
        work_dir: str = "validation",
    ):
        self.cfg = cfg
        self.work_dir = work_dir  # in the run directory: key sets and differences
        self.contract = contract
        self.table = table
        self.run_dir = run
        self.mode = mode
        self.sample = sample
        self.gsi_sample = gsi_sample
        self.keysets = keysets
        self.workers = max(1, workers)
        self.max_listed = max_listed
        self.ddb_table = ddb_table
        self.database = database
        self.rng = rng
        self.run_rejected = run_rejected
        self.expected_factory = expected_factory
        self.check_views = check_views
        self.json_text = {e.entity_type: json_text_attributes(e) for e in table.entities}
        self.marker = cfg.migration.marker_attribute
        self.dyn = DynamoSide(client, ddb_table, table.key_names, self.marker, segments)
        ignore = {self.marker}
        version = cfg.migration.version_attribute
        if version and version not in table.attribute_names:
            ignore.add(version)
        self.ignore = frozenset(a for a in ignore if a)
        # what prepare() left for run(): the key set with the load's record, the evaluated sample
        self._prepared = False
        self._described: dict[str, Any] | None = None
        self._prep_error: Exception | None = None
        self._prep_seconds = 0.0
        self._store: KeySetStore | None = None
        self._recorded: bool | None = None
        self._sample_rows: list[tuple[ExpectedRow, str]] = []
        self._values_exc: EvaluationUnsupported | None = None
        self.result = TableValidation(
            table=table.name,
            ddb_table=ddb_table,
            view=table.view_name,
            mode=mode,
            estimated_item_size_bytes=table.estimated_item_size_bytes,
        )

    # -- orchestration --------------------------------------------------------------------------
    def prepare(self) -> None:
        """The source side of a sample validation, without one DynamoDB request: counts from the base
        tables, the load's key record into the key set, the sampled rows computed by the evaluator.
        ``migrate`` runs it while the next table loads (DynamoDB Local serves a scan and a load one
        after the other: a key scan beside a load slows the load 10-40x); :meth:`run` does the rest.
        Other modes: nothing (``run`` does everything)."""
        if self.mode != "sample" or self._prepared:
            return
        self._prepared = True
        t0 = time.monotonic()
        expected: ExpectedItems | None = None
        try:
            self._described = self.dyn.describe()  # one control-plane call: the table exists
            self._base_counts()
            self._load_figures()
            if self.keysets:
                self._store = KeySetStore(self._work_path(".keys.sqlite"))
                self._recorded = self._recorded_keys(self._store)
            try:
                expected = self.expected_factory(self.cfg, self.contract, self.table, self.database)
                self._sample_rows = self._sample_source(expected)
            except EvaluationUnsupported as exc:
                self._values_exc = exc
        except Exception as exc:  # reported by run(), like any failure of the table
            self._prep_error = exc
        finally:
            if expected is not None:
                expected.close()
            self._prep_seconds = time.monotonic() - t0

    def discard(self) -> None:
        """Drop what :meth:`prepare` kept (a validation cancelled before :meth:`run`)."""
        if self._store is not None:
            self._store.close()
            self._store = None
        self.dyn.close()

    def run(self) -> TableValidation:
        t0 = time.monotonic()
        r = self.result
        self.prepare()
        store: KeySetStore | None = self._store
        diff_writer: JsonlWriter | None = None
        expected: ExpectedItems | None = None
        try:
            if self._prep_error is not None:
                raise self._prep_error
            described = self._described if self._described is not None else self.dyn.describe()
            if not self._prepared:
                self._base_counts()
                self._load_figures()
            if self.run_dir is not None and self.mode != "counts":
                path = self._work_path(".differences.jsonl")
                path.unlink(missing_ok=True)  # the last validation's differences only
                diff_writer = JsonlWriter(path)
            if self.mode == "counts" or not self.keysets:
                r.ddb_count = self.dyn.count_scan(r.expected or None)
            elif store is None:
                store = KeySetStore(self._work_path(".keys.sqlite"))
            comparer = ValueComparer(
                self.dyn,
                r,
                self.ignore,
                self.max_listed,
                diff_writer,
                count_missing=self.mode == "sample",
                json_text=self.json_text,
                max_suspects=SUSPECTS_MAX if self.mode == "full" else SUSPECTS_MAX_SAMPLE,
                ambiguous_keys=self._run_duplicate_keys(),
            )
            gsi_rows: list[Sampled] = []
            if self.mode == "sample":
                self._load_keys(store)
            if self.mode != "counts":
                try:
                    if self._values_exc is not None:
                        raise self._values_exc
                    if self.mode == "full":
                        expected = self.expected_factory(self.cfg, self.contract, self.table, self.database)
                        gsi_rows = self._full(expected, comparer, store)
                    else:
                        gsi_rows = self._sampled(comparer)
                except EvaluationUnsupported as exc:
                    store = self._values_not_validated(exc, store)
                self._judge_views(comparer)
                if comparer.not_compared_duplicates:
                    r.warnings.append(
                        f"{comparer.not_compared_duplicates} evaluated row(s) not compared: their key is "
                        "produced by several source rows (duplicates/ in the run directory), the item is "
                        "the first such row's"
                    )
            check_gsis(self.dyn, self.table, gsi_rows, described, r, self.ignore, self.max_listed)
        except Exception as exc:  # report any failure of one table, keep going
            self._not_validated(exc)
        finally:
            if store is not None:
                store.close()
            if diff_writer is not None:
                diff_writer.close()
            if expected is not None:
                expected.close()
            self.dyn.close()
        self._verdict()
        r.seconds = round(time.monotonic() - t0 + self._prep_seconds, 3)
        return r

    def _not_validated(self, exc: BaseException) -> None:
        from dynamigrate.troubleshoot import lookup

        r = self.result
        err = exc if isinstance(exc, DynamigrateError) else translate_aws(exc, self.ddb_table)
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
        log.debug("validation of %s could not run", self.table.name, exc_info=True)

    def _work_path(self, suffix: str) -> Path:
        base = self.run_dir.path / self.work_dir if self.run_dir else Path(tempfile.gettempdir())
        return base / f"{safe_name(self.ddb_table)}{suffix}"

    # -- counts ---------------------------------------------------------------------------------
    def _base_counts(self) -> None:
        """Source rows per entity from COUNT(*) of the base tables; rejected rows as the run recorded
        them (the full mode replaces them with the evaluator's)."""
        from dynamigrate.source.connect import connect

        r = self.result
        conn = connect(self.cfg.mysql, self.database)
        try:
            counts = count_entities(conn, self.table)
        finally:
            conn.close()
        for entity in self.table.entities:
            c = counts[entity.entity_type]
            ev = r.entities.setdefault(entity.entity_type, EntityValidation(entity.entity_type))
            ev.source_table = c.source_table
            ev.source_rows, ev.filtered = c.rows, c.filtered
            by = dict(self.run_rejected.get(entity.entity_type, {}))
            for code, n in self.run_rejected.get("", {}).items() if len(self.table.entities) == 1 else ():
                by[code] = by.get(code, 0) + n
            ev.rejected_by_code, ev.rejected = by, sum(by.values())
            ev.expected = ev.source_rows - ev.rejected
        self._sum_entities()
        run_total = sum(sum(by.values()) for by in self.run_rejected.values())
        r.run_rejected = run_total if self.run_dir is not None else None

    def _sum_entities(self) -> None:
        r = self.result
        evs = list(r.entities.values())
        r.source_rows = sum(e.source_rows for e in evs)
        r.filtered = sum(e.filtered for e in evs)
        r.rejected = sum(e.rejected for e in evs)
        r.rejected_by_code = {}
        for e in evs:
            for code, n in e.rejected_by_code.items():
                r.rejected_by_code[code] = r.rejected_by_code.get(code, 0) + n
        r.expected = sum(e.expected for e in evs) - r.duplicate_keys

    def _load_figures(self) -> None:
        """Rows the load accounted for, per table and entity (the engine's equation: written + skipped
        + conflicts + rejected; ``unchanged`` is counted in skipped), from the run state."""
        if self.run_dir is None or self._replicated():
            return
        st = (self.run_dir.state().get("tables") or {}).get(self.table.name) or {}
        if not st or st.get("status") not in ("done", "failed", "interrupted"):
            return
        self.result.load_rows = _accounted(st)
        for entity, counters in (st.get("entities") or {}).items():
            ev = self.result.entities.get(entity)
            if ev is not None and isinstance(counters, Mapping):
                ev.load_rows = _accounted(counters)

    # -- keys -----------------------------------------------------------------------------------
    def _scan_into(self, store: KeySetStore) -> None:
        expected = store.source_count() or self.result.expected or None
        self.result.ddb_count = self.dyn.scan_keys(store.add_target, expected_items=expected)
        store.commit()

    def _replicated(self) -> bool:
        """Has ``replicate`` applied row changes to this run's tables since the load? Then the load's
        figures and key record describe an older source: counts and keys come from the base tables
        and DynamoDB alone (an item replicate deleted is no missing item, a row inserted no surplus)."""
        from dynamigrate.replicate.position import CHECKPOINT_FILE

        return self.run_dir is not None and self.run_dir.file(CHECKPOINT_FILE).exists()

    def _recorded_keys(self, store: KeySetStore) -> bool:
        """The keys the load recorded (written/<T>.jsonl) into the key set; False when there are none."""
        if self.run_dir is None or self._replicated():
            return False
        name = self.run_dir.written_file(self.ddb_table)
        st = (self.run_dir.state().get("tables") or {}).get(self.table.name) or {}
        if not self.run_dir.file(name).exists() and st.get("status") != "done":
            return False  # no load recorded here (a run directory of `validate` alone)
        batch: list[str] = []
        for line in _read_records(self.run_dir.file(name)):
            key = line.get("key")
            if isinstance(key, Mapping):
                batch.append(key_string(_report_key(key)))
            if len(batch) >= 5000:
                store.add_recorded(batch)
                batch = []
        store.add_recorded(batch)
        store.commit()
        return True

    def _key_figures(self, store: KeySetStore, *, from_load: bool) -> None:
        r = self.result
        r.missing = store.missing_count()
        r.missing_keys = [
            {"key": k, "entity": e, "source_key": _source_key(sk)}
            for k, e, sk in store.missing(self.max_listed)
        ]
        run_id = self.run_dir.run_id if self.run_dir else None
        marked, unmarked, ours = store.extra_counts(run_id)
        if from_load and run_id is not None:
            # items an earlier run wrote (skipped or unchanged by this one) are expected, not extra
            r.recorded_keys = store.source_count()
            r.extra_earlier = marked - ours
            r.extra, r.extra_marked, r.extra_unmarked = ours + unmarked, ours, unmarked
            extra = store.extra(self.max_listed, except_other_runs=run_id)
            r.extra_keys = [{"key": k, "marker": m} for k, m in extra]
            return
        r.extra, r.extra_marked, r.extra_unmarked = marked + unmarked, marked, unmarked
        r.extra_keys = [{"key": k, "marker": m} for k, m in store.extra(self.max_listed)]
        if from_load:
            r.recorded_keys = store.source_count()
            return
        r.duplicate_keys = store.duplicate_rows()
        for entity, fig in store.per_entity().items():
            ev = r.entities.setdefault(entity, EntityValidation(entity))
            ev.present = fig["present"]
            ev.missing = fig["keys"] - fig["present"]
            ev.duplicates = fig["duplicates"]

    # -- full -----------------------------------------------------------------------------------
    def _full(
        self, expected: ExpectedItems, comparer: ValueComparer, store: KeySetStore | None
    ) -> list[Sampled]:
        """Every source row through the evaluator: keys into the key set, items compared in batches."""
        from dynamigrate.target.encode import item_size

        r = self.result
        views = self._open_view_digests(store)
        gsi_res = _Reservoir(self.gsi_sample if self.table.gsis else 0, self.rng)
        sizes = ok_rows = 0
        pending: set[cf.Future[Any]] = set()
        batch: list[Sampled] = []
        with cf.ThreadPoolExecutor(self.workers) as pool:
            for entity in self.table.entities:
                ev = r.entities[entity.entity_type]
                ev.rejected, ev.rejected_by_code, rows = 0, {}, 0
                for chunk in expected.chunks(entity):
                    keys: list[tuple[str, str | None, Any]] = []
                    against_view: list[tuple[str, dict[str, Any], dict[str, Any], str]] = []
                    for row in chunk:
                        rows += 1
                        if row.rejection is not None or row.item is None:
                            code = row.rejection or "rejected"
                            ev.rejected += 1
                            ev.rejected_by_code[code] = ev.rejected_by_code.get(code, 0) + 1
                            continue
                        key = row.key(self.table.key_names)
                        ks = key_string(key)
                        keys.append((ks, entity.entity_type, _source_key_text(row.source_key)))
                        against_view.append((ks, key, row.item, entity.entity_type))
                        size = item_size(row.item)
                        sizes, ok_rows = sizes + size, ok_rows + 1
                        if r.item_size_max is None or size > r.item_size_max:
                            r.item_size_max, r.item_size_max_key = size, json_safe(key)
                        gsi_res.offer((key, row.item, entity.entity_type))
                        batch.append((key, row.item, entity.entity_type))
                        if len(batch) >= BATCH_GET_MAX:
                            pending.add(pool.submit(comparer.compare, batch))
                            batch = []
                            pending = _drain(pending, 2 * self.workers)
                    if store is not None and keys:
                        store.add_source(keys)
                    if views is not None:
                        views.check(against_view)
                if rows != ev.source_rows:
                    r.problems.append(
                        f"entity {entity.entity_type}: the evaluator read {rows} row(s), COUNT(*) of "
                        f"{entity.source_table} gives {ev.source_rows} (the source changed meanwhile?)"
                    )
                ev.expected = ev.source_rows - ev.rejected
            if batch:
                pending.add(pool.submit(comparer.compare, batch))
            _drain(pending, 0)
        r.item_size_avg = round(sizes / ok_rows, 1) if ok_rows else None
        if store is not None:
            store.commit()
            self._scan_into(store)
            self._key_figures(store, from_load=False)
        if views is not None:
            views.record(r, self.max_listed)
        self._sum_entities()
        self._compare_run_rejected()
        return gsi_res.items

    def _open_view_digests(self, store: KeySetStore | None) -> ViewDigests | None:
        """The whole view in the key set (full mode), or None (no key set, or no view: a warning)."""
        if store is None or not self.check_views:
            return None
        views = ViewDigests(self.cfg, self.table, self.database, store, self.ignore, self.json_text)
        try:
            views.load()
        except DynamigrateError as exc:
            self.result.warnings.append(
                f"the view {self.table.view_name} could not be read, so it was not compared with the "
                f"contract ({str(exc).splitlines()[0]}); DynamoDB was"
            )
            return None
        return views

    def _compare_run_rejected(self) -> None:
        r = self.result
        if r.run_rejected is not None and r.run_rejected != r.rejected and r.load_rows is not None:
            r.warnings.append(
                f"the run rejected {r.run_rejected} row(s), the contract rejects {r.rejected} now "
                "(the source changed since the run, or the view rejects rows the contract does not)"
            )

    # -- sample ---------------------------------------------------------------------------------
    def _load_keys(self, store: KeySetStore | None) -> None:
        """The load's recorded keys against one key scan (a COUNT scan when there is no record)."""
        recorded = self._recorded if self._recorded is not None and store is self._store else None
        if recorded is None and store is not None:
            recorded = self._recorded_keys(store)
        if store is not None and recorded:
            self._scan_into(store)
            self._key_figures(store, from_load=True)
            self._load_duplicates()
        elif store is not None:
            self.result.ddb_count = self.dyn.count_scan(self.result.expected or None)

    def _run_duplicate_keys(self) -> frozenset[str]:
        """Keys the load found produced by several source rows (``duplicates/<T>.jsonl``)."""
        if self.run_dir is None:
            return frozenset()
        path = self.run_dir.file(f"duplicates/{safe_name(self.table.name)}.jsonl")
        if not path.exists():
            return frozenset()
        return frozenset(
            key_string(rec["key"]) for rec in read_jsonl(path) if isinstance(rec.get("key"), dict)
        )

    def _load_duplicates(self) -> None:
        """Rows the load skipped because an earlier row produced their key (etl/pass_keys.py): the
        written-keys record holds one line per key, so these rows are expected as no item of their own."""
        if self.run_dir is None:
            return
        st = (self.run_dir.state().get("tables") or {}).get(self.table.name) or {}
        dups = (st.get("extra") or {}).get("duplicate_keys") or {}
        n = int(dups.get("skipped") or 0) if isinstance(dups, Mapping) else 0
        if n:
            self.result.duplicate_keys = n
            self._sum_entities()

    def _values_not_validated(self, exc: BaseException, store: KeySetStore | None) -> KeySetStore | None:
        """The evaluator cannot compute this table: counts and keys still stand, values are not
        validated. In full mode the keys come from the load's record instead (a fresh key set)."""
        r = self.result
        r.values_error = str(exc).splitlines()[0]
        log.warning("values of %s not validated: %s", self.table.name, r.values_error)
        if self.mode != "full":
            return store
        self._base_counts()  # the evaluator's rejected figures are gone with it
        if store is not None:
            store.close()
            store = KeySetStore(self._work_path(".keys.sqlite"))
        self._load_keys(store)
        return store

    def _sample_source(self, expected: ExpectedItems) -> list[tuple[ExpectedRow, str]]:
        """N random source rows of the table, computed by the evaluator (entities in proportion)."""
        sizes = {e.entity_type: self.result.entities[e.entity_type].source_rows for e in self.table.entities}
        quota = allocate(sizes, self.sample, self.rng)
        seed = self.rng.randrange(2**31)
        return [
            (row, entity.entity_type)
            for entity in self.table.entities
            for row in expected.sample(entity, quota.get(entity.entity_type, 0), seed)
        ]

    def _sampled(self, comparer: ValueComparer) -> list[Sampled]:
        """The sampled rows (:meth:`_sample_source`, run by :meth:`prepare`) compared with DynamoDB."""
        r = self.result
        rows: list[Sampled] = []
        rejected: list[ExpectedRow] = []
        for row, entity_type in self._sample_rows:
            r.sampled += 1
            if row.item is not None and row.rejection is None:
                rows.append((row.key(self.table.key_names), row.item, entity_type))
            else:
                rejected.append(row)
        check_rejected(
            rejected,
            dyn=self.dyn,
            result=r,
            run=self.run_dir,
            table=self.table.name,
            marker=self.marker,
            max_listed=self.max_listed,
            diff_writer=comparer.diff_writer,
        )
        batches = [rows[i : i + BATCH_GET_MAX] for i in range(0, len(rows), BATCH_GET_MAX)]
        with cf.ThreadPoolExecutor(min(self.workers, max(1, len(batches)))) as pool:
            for f in [pool.submit(comparer.compare, b) for b in batches]:
                f.result()  # a worker's failure surfaces here
        r.sampled_missing = len(comparer.sampled_missing)
        seen = {k["key"] and key_string(_report_key(k["key"])) for k in r.missing_keys}
        for key, _item, entity_type in comparer.sampled_missing:
            if key_string(key) not in seen and len(r.missing_keys) < self.max_listed:
                r.missing_keys.append({"key": json_safe(key), "entity": entity_type, "sampled": True})
        if not self.table.gsis:
            return []
        return self.rng.sample(rows, min(len(rows), self.gsi_sample))  # every entity, not the first

    def _judge_views(self, comparer: ValueComparer) -> None:
        """Read the suspects' view rows (after a whole-view comparison: only to mark the differences)."""
        if not comparer.suspects:
            return
        whole_view = self.result.view_checked > 0 and self.mode == "full"
        try:
            with open_lookup(self.cfg, self.table, self.database, self.ignore) as lookup:
                comparer.judge_views(lookup, count=not whole_view)
        except DynamigrateError as exc:
            self.result.warnings.append(
                f"the view {self.table.view_name} could not be read to tell the view's differences from "
                f"DynamoDB's ({str(exc).splitlines()[0]})"
            )

    # -- verdict --------------------------------------------------------------------------------
    def _verdict(self) -> None:
        from dynamigrate.validate.verdict import decide

        decide(self.result, self.mode, keys=self.keysets, sample=self.sample)


def _accounted(counters: Mapping[str, Any]) -> int:
    rejected = counters.get("rejected") or 0
    rej = sum(int(v) for v in rejected.values()) if isinstance(rejected, Mapping) else int(rejected)
    return sum(int(counters.get(k) or 0) for k in ("written", "skipped", "conflicts")) + rej


def _drain(pending: set[cf.Future[Any]], keep: int) -> set[cf.Future[Any]]:
    while len(pending) > keep:
        done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
        for f in done:
            f.result()  # re-raise a worker's failure
    return pending


def _source_key_text(source_key: Any) -> str | None:
    if source_key is None:
        return None
    return json.dumps(json_safe(source_key) if isinstance(source_key, dict) else source_key, default=str)


def _source_key(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def iter_differences(run: RunDir, table: str) -> Any:
    """Every difference recorded for ``table`` by the last sample/full validation of ``run``."""
    return run.read_lines(f"validation/{safe_name(table)}.differences.jsonl")  # ddb table name
