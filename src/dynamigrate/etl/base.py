"""What every ETL engine shares: the engine interface, the registry, counters and the run context.

An engine moves the rows of one contract table's view into its DynamoDB table::

    engine = get_engine("local")          # or "spark", "glue" (registered by their modules)
    result = engine.run_table(ctx, table) # -> TableResult

Engines are looked up by name; a module registers its engine with :func:`register_engine` when it is
imported, and :func:`get_engine` imports ``dynamigrate.etl.<name>`` on first use, so a new engine is a
new module and nothing else changes.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from dynamigrate.errors import ConfigError

if TYPE_CHECKING:
    from dynamigrate.config import Config
    from dynamigrate.contract.model import Contract, Table
    from dynamigrate.etl.progress import ProgressReporter
    from dynamigrate.runstate import RunDir
    from dynamigrate.source.schema import SchemaInfo

log = logging.getLogger(__name__)

WRITE_MODES = ("insert", "sync", "newer", "overwrite")
TABLE_STATUSES = ("pending", "running", "done", "failed", "interrupted", "skipped")


#: the retry counters of a table (RunDirSink counters of the same names, cumulative across resumes)
RETRY_NAMES = ("retries", "throttles", "retried_batches", "transaction_retries")


@dataclass
class TableResult:
    """Counters of one table's load. Cumulative across a resumed run (restored from the checkpoint)."""

    table: str
    engine: str = "local"
    status: str = "pending"
    total: int | None = None  # rows expected (view count), for ETA and reports
    read: int = 0
    written: int = 0
    skipped: int = 0  # already there / not newer / not ours to touch (mode dependent)
    unchanged: int = 0  # sync: the item already holds exactly this content (no write)
    conflicts: int = 0  # condition failed on an item the migration does not own
    rejected: dict[str, int] = field(default_factory=dict)  # by reject code
    retries: int = 0  # every request sent again (the writer's counters), of which:
    throttles: int = 0  # ... because DynamoDB throttled
    retried_batches: int = 0  # ... BatchWriteItem calls (unprocessed items, throttling)
    transaction_retries: int = 0  # ... TransactWriteItems calls (cancelled, throttled)
    omitted_gsi_keys: int = 0
    bytes: int = 0
    duration: float = 0.0
    started: str | None = None
    finished: str | None = None
    chunks: int = 0
    #: per set attribute (SS/NS/BS): rows whose set was empty, so the attribute is absent from the item
    empty_sets: dict[str, int] = field(default_factory=dict)
    missing_source: int = 0  # migration-owned items whose source row vanished (sync)
    missing_examples: list[dict[str, Any]] = field(default_factory=list)
    deleted_missing: int = 0
    resumed_from: dict[str, Any] | None = None
    redone: int = 0  # rows read again after a resume (work between the last checkpoint and the stop)
    #: per entity: read / written / skipped / unchanged / conflicts / rejected (etl/accounting.py)
    entities: dict[str, dict[str, int]] = field(default_factory=dict)
    #: the equation "source rows = written + skipped + unchanged + conflicts + rejected + filtered",
    #: per table and entity (:meth:`dynamigrate.etl.accounting.TableAccount.to_dict`)
    accounting: dict[str, Any] | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    @property
    def done_rows(self) -> int:
        """Rows fully handled (written, skipped, conflicting or rejected)."""
        return self.written + self.skipped + self.unchanged + self.conflicts + self.rejected_total

    def retry_text(self) -> str | None:
        """``retries 12: 5 throttled, 3 batch(es) and 4 transaction(s) sent again`` (None: no retry)."""
        if not self.retries:
            return None
        parts = [f"{self.throttles:,} throttled"]
        if self.retried_batches:
            parts.append(f"{self.retried_batches:,} batch(es) sent again")
        if self.transaction_retries:
            parts.append(f"{self.transaction_retries:,} transaction(s) sent again")
        return f"retries {self.retries:,}: " + ", ".join(parts)

    def add_rejected(self, code: str, n: int = 1) -> None:
        self.rejected[code] = self.rejected.get(code, 0) + n

    def counters(self) -> dict[str, Any]:
        """The counters a checkpoint keeps (so that a resumed run reports whole-table figures)."""
        return {
            "read": self.read,
            "written": self.written,
            "skipped": self.skipped,
            "unchanged": self.unchanged,
            "conflicts": self.conflicts,
            "rejected": dict(self.rejected),
            **{name: getattr(self, name) for name in RETRY_NAMES},
            "omitted_gsi_keys": self.omitted_gsi_keys,
            "bytes": self.bytes,
            "chunks": self.chunks,
            "empty_sets": dict(self.empty_sets),
            "entities": {e: dict(c) for e, c in self.entities.items()},
        }

    def restore(self, counters: Mapping[str, Any]) -> None:
        for name in ("read", "written", "skipped", "unchanged", "conflicts", *RETRY_NAMES):
            setattr(self, name, int(counters.get(name, 0) or 0))
        self.omitted_gsi_keys = int(counters.get("omitted_gsi_keys", 0) or 0)
        self.bytes = int(counters.get("bytes", 0) or 0)
        self.chunks = int(counters.get("chunks", 0) or 0)
        self.rejected = {str(k): int(v) for k, v in (counters.get("rejected") or {}).items()}
        self.empty_sets = {str(k): int(v) for k, v in (counters.get("empty_sets") or {}).items()}
        self.entities = {
            str(e): {str(k): int(v) for k, v in c.items()}
            for e, c in (counters.get("entities") or {}).items()
        }

    def count_entity(self, entity: str, **outcomes: int) -> None:
        """Add to one entity's counters (the accounting equation is checked per entity)."""
        from dynamigrate.etl.accounting import ENTITY_COUNTERS

        counters = self.entities.setdefault(entity, dict.fromkeys(ENTITY_COUNTERS, 0))
        for name, n in outcomes.items():
            counters[name] = counters.get(name, 0) + int(n)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["rejected_total"] = self.rejected_total
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TableResult:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def duplicates_run_file(table: str) -> str:
    """The run file listing a table's repeated keys (each once), whichever engine loaded it."""
    from dynamigrate.runstate import safe_name

    return f"duplicates/{safe_name(table)}.jsonl"


def note_duplicates(result: TableResult, skipped: int, examples: list[Any]) -> None:
    """Rows skipped as duplicate keys, in the result (``extra.duplicate_keys``: the report's and
    validation's figure) and logged once; the same for every engine."""
    if not skipped:
        result.extra.pop("duplicate_keys", None)
        return
    name = duplicates_run_file(result.table)
    result.extra["duplicate_keys"] = {"skipped": skipped, "examples": examples, "file": name}
    log.warning(
        "table %s: %d source row(s) produce the DynamoDB key of an earlier row: skipped (duplicate_key), "
        "one item per key; the keys are in %s. Make the key unique in the contract (e.g. add a column "
        "to the sort key) or deduplicate the source.",
        result.table,
        skipped,
        name,
        extra={"fields": {"table": result.table, "duplicate_keys": skipped}},
    )


@dataclass(frozen=True)
class EtlOptions:
    """How to load (the CLI flags / config ``migration.*`` resolved)."""

    write_mode: str = "insert"
    version_attribute: str | None = None
    marker_attribute: str | None = "_dm_marker"
    concurrency: int = 16  # concurrent requests per table (PutItem strategy)
    #: concurrent TransactWriteItems (100 items each) per table; None: ``concurrency``. DynamoDB Local
    #: slows down with more than ~8 concurrent transactions (lock contention, see docs/etl.md)
    transact_concurrency: int | None = 8
    #: concurrent BatchWriteItem requests (25 items each) of the fresh-table insert path
    batch_concurrency: int = 8
    strategy: str | None = None  # writer's choice when None (put | transact | batch)
    chunk_rows: int = 1000
    inflight_chunks: int = 2  # chunks being written at the same time (hides the tail of each)
    queue_chunks: int = 2  # encoded chunks waiting for the writer (bounds memory)
    #: writer processes of the local engine (None: chosen from the strategy and the endpoint,
    #: dynamigrate.etl.local_workers.choose_workers); the Glue engine's NumberOfWorkers with --engine glue
    workers: int | None = None
    delete_missing: bool = False
    check_missing: bool = True  # sync: report migration-owned items whose source row vanished
    resume: bool = False
    dry_run: bool = False


@dataclass
class EtlContext:
    """Everything an engine needs; built by :func:`dynamigrate.pipeline.migrate`."""

    config: Config
    contract: Contract
    run: RunDir
    options: EtlOptions
    progress: ProgressReporter | None = None
    client_factory: Callable[[], Any] | None = None  # -> boto3 DynamoDB client
    schema: SchemaInfo | None = None
    database: str | None = None
    #: False when ``client_factory`` was handed in by the caller (tests inject faults): another process
    #: cannot rebuild it, so the local engine loads with one process
    portable_client: bool = True

    def client(self) -> Any:
        if self.client_factory is None:
            from dynamigrate.target.client import dynamodb_client

            return dynamodb_client(
                self.config.aws,
                max_pool_connections=max(32, self.options.concurrency * 2),
                parameter_validation=False,  # items come from the encoder (docs/etl.md)
            )
        return self.client_factory()

    @property
    def run_id(self) -> str:
        return self.run.run_id


@runtime_checkable
class Engine(Protocol):
    name: str

    def run_table(self, ctx: EtlContext, table: Table) -> TableResult: ...


_ENGINES: dict[str, Callable[[], Engine]] = {}
BUILTIN_ENGINES = ("local", "spark", "glue")


def register_engine(name: str, factory: Callable[[], Engine]) -> None:
    """Make an engine available by name (``factory`` builds a fresh engine)."""
    _ENGINES[name] = factory


def engine_names() -> list[str]:
    return sorted(set(_ENGINES) | set(BUILTIN_ENGINES))


def get_engine(name: str) -> Engine:
    """The engine registered under ``name``, importing ``dynamigrate.etl.<name>`` if needed."""
    if name not in _ENGINES:
        try:
            importlib.import_module(f"dynamigrate.etl.{name}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("dynamigrate.etl"):
                raise ConfigError(
                    f"unknown engine '{name}'",
                    hint=f"choose one of: {', '.join(engine_names())} (--engine / migration.engine)",
                ) from None
            raise
    factory = _ENGINES.get(name)
    if factory is None:
        raise ConfigError(
            f"engine '{name}' is not available",
            hint=f"choose one of: {', '.join(sorted(_ENGINES) or ['local'])}",
        )
    return factory()


def utc_iso(ts: float | None = None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts if ts is not None else time.time()))
