"""One validation of a run, table by table, in a background thread: each table is validated as soon
as it is handed over, so ``migrate`` validates a table while the next one loads.

``validate_run`` (the ``validate`` command and a migrate without overlap) hands every table over at
once and waits; ``migrate`` hands each table over when its load is done
(:func:`dynamigrate.pipeline._phase_etl`) and waits after the last one. Either way the tables are
validated one after another in the order they were handed over, with one random generator, so a
seeded validation draws the same sample whichever way it ran.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from dynamigrate.config import Config
from dynamigrate.contract.model import Contract, Table
from dynamigrate.errors import DynamigrateError
from dynamigrate.runstate import RunDir, utcnow
from dynamigrate.validate.cpu import METER
from dynamigrate.validate.expected import ExpectedFactory, open_expected
from dynamigrate.validate.results import TableValidation, ValidationReport

if TYPE_CHECKING:
    from dynamigrate.validate.post import TableValidator

log = logging.getLogger(__name__)
T = TypeVar("T")

MODES = ("counts", "sample", "full")
DEFAULT_SAMPLE = 1000


class ValidationSession:
    """Validate tables of ``run`` in a background thread; :meth:`finish` writes ``validation.json``.

    Keyword options are :func:`~dynamigrate.validate.post.validate_run`'s. ``live=True``: the run is
    still loading other tables, so its rejected rows are read per table when that table's turn comes
    (its load is over by then), not once at the start.
    """

    def __init__(
        self,
        cfg: Config,
        contract: Contract,
        run: RunDir | None,
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
        live: bool = False,
    ):
        from dynamigrate.validate.dynamo import SCAN_THREADS

        if mode not in MODES:
            raise DynamigrateError(f"unknown validation mode '{mode}'", hint=f"use one of {', '.join(MODES)}")
        if mode == "sample" and not sample:
            sample = DEFAULT_SAMPLE
        self._client = client  # made on first use, in the validation's thread (~0.8 s for botocore)
        self._pool_connections = max(SCAN_THREADS, workers) + 4
        self.cfg, self.contract, self.run = cfg, contract, run
        self.mode, self.sample = mode, sample
        self.options: dict[str, Any] = {
            "gsi_sample": gsi_sample,
            "keysets": keysets,
            "segments": segments,
            "workers": workers,
            "max_listed": max_listed,
        }
        self.table_names = dict(table_names or {})
        self.database = database or cfg.mysql.database
        self.expected_factory = expected_factory or open_expected
        self.live = live
        self.report = ValidationReport(
            run_id=run.run_id if run else None,
            mode=mode,
            sample=sample if mode == "sample" else None,
            gsi_sample=gsi_sample,
            started_at=utcnow(),
            origin=origin,
        )
        # where it is recorded in the run: cutover's go/no-go validation beside the migration's, never over
        # it (validation.json is the load's proof, or a later `dynamigrate validate`)
        self.record = "cutover_validation" if origin == "cutover" else "validation"
        self.rng = random.Random(seed)
        self._t0 = time.monotonic()
        self._rejected: dict[str, dict[str, dict[str, int]]] | None = None
        self._pool = cf.ThreadPoolExecutor(1, thread_name_prefix="validate")
        self._futures: list[cf.Future[TableValidator]] = []
        self._lock = threading.Lock()
        #: seconds spent validating (the sum over tables), whether or not a load ran meanwhile
        self.busy_seconds = 0.0

    def submit(self, table: Table) -> None:
        """Validate ``table`` after the tables handed over before it: its source side now, in the
        background thread, its DynamoDB side in :meth:`finish` (live: once no load runs)."""
        if not self._futures and self.run is not None:
            self.run.event("phase", phase="validate", status="started", mode=self.mode, table=table.name)
        # one generator per table, drawn in hand-over order: the same sample whatever the schedule
        rng = random.Random(self.rng.randrange(2**63))
        # the source side in the background thread, the DynamoDB side in finish(): the next table's
        # source side overlaps this table's DynamoDB side (and, live, a load)
        self._futures.append(self._pool.submit(self._prepare, table, rng))

    @property
    def submitted(self) -> int:
        return len(self._futures)

    def pending(self) -> int:
        """Tables handed over whose work in the background has not finished yet."""
        return sum(1 for f in self._futures if not f.done())

    def _run_rejected(self, table: Table) -> dict[str, dict[str, int]]:
        if self.live:
            return run_rejected_counts(self.run, table.name).get(table.name, {})
        if self._rejected is None:
            self._rejected = run_rejected_counts(self.run)
        return self._rejected.get(table.name, {})

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                from dynamigrate.target.client import dynamodb_client

                self._client = dynamodb_client(
                    self.cfg.aws, max_pool_connections=self._pool_connections, sdk_attempts=5
                )
            return self._client

    def _validator(self, table: Table, rng: random.Random) -> TableValidator:
        from dynamigrate.validate.post import TableValidator

        return TableValidator(
            self.cfg,
            self.contract,
            table,
            self.client,
            run=self.run,
            mode=self.mode,
            sample=self.sample or 0,
            ddb_table=self.table_names.get(table.name, table.name),
            database=self.database,
            rng=rng,
            run_rejected=self._run_rejected(table),
            expected_factory=self.expected_factory,
            work_dir=self.record,
            **self.options,
        )

    def _timed(self, fn: Callable[[], T]) -> T:
        t0 = time.monotonic()
        try:
            with METER.measured():
                return fn()
        finally:
            with self._lock:
                self.busy_seconds += time.monotonic() - t0

    def _prepare(self, table: Table, rng: random.Random) -> TableValidator:
        v = self._validator(table, rng)
        self._timed(v.prepare)
        return v

    def _complete(self, v: TableValidator) -> TableValidation:
        tv = self._timed(v.run)
        log.info("validated %s: %s (%s)", v.table.name, tv.status, tv.basis)
        return tv

    def cancel(self) -> None:
        """Validate no further table (the one under way finishes); nothing is written."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        for f in self._futures:  # prepared tables hold a key set on disk
            if f.done() and not f.cancelled() and f.exception() is None:
                f.result().discard()

    def finish(self) -> ValidationReport:
        """Wait for every table handed over; the report, also written to ``validation.json``
        (``cutover_validation.json`` for cutover's)."""
        report = self.report
        try:
            # live: the DynamoDB side of each prepared table, one after the other, now the load is
            # over; the background thread meanwhile prepares the tables after it
            report.tables = []
            for f in self._futures:
                report.tables.append(self._complete(f.result()))
        finally:
            self._pool.shutdown(wait=True)
        report.finished_at = utcnow()
        report.seconds = time.monotonic() - self._t0
        run = self.run
        if run is not None:
            run.write_json(f"{self.record}.json", report.to_dict())
            # the run's own status, phase and times stay as the run left them: a later validation is
            # recorded beside them, never over them
            recorded: dict[str, Any] = {
                self.record: {
                    "passed": report.passed,
                    "status": report.status,
                    "verdict": report.verdict,
                    "score": report.score,
                    "basis": report.basis,
                    "mode": self.mode,
                    "finished_at": report.finished_at,
                }
            }
            run.update_state(**recorded)
            run.event(
                "phase",
                phase="validate" if self.record == "validation" else self.record,
                status="finished",
                verdict=report.verdict,
                score=report.score,
            )
        return report


def run_rejected_counts(run: RunDir | None, table: str | None = None) -> dict[str, dict[str, dict[str, int]]]:
    """table -> entity -> reject code -> distinct rejected rows (a resumed run may reject a row twice);
    ``table``: that table's lines only."""
    seen: dict[tuple[str, str, str], set[str]] = {}
    if run is None:
        return {}
    for line in run.read_lines("rejected.jsonl"):
        if table is not None and str(line.get("table")) != table:
            continue
        row = line.get("row") if isinstance(line.get("row"), dict) else {}
        rowid = row.get("_dm_rowid") if row else None
        ident = (
            f"#{rowid}"
            if rowid is not None
            else json.dumps([line.get("key"), line.get("message"), row], sort_keys=True, default=str)
        )
        where = (str(line.get("table")), str(line.get("entity") or ""), str(line.get("code") or "rejected"))
        seen.setdefault(where, set()).add(ident)
    out: dict[str, dict[str, dict[str, int]]] = {}
    for (tname, entity, code), idents in seen.items():
        out.setdefault(tname, {}).setdefault(entity, {})[code] = len(idents)
    return out
