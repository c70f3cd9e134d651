"""Conditional writers: put encoded items into one DynamoDB table under one of four promises.

Public API (the local engine and the Spark job use exactly this)::

    opts = WriterOptions(mode=WriteMode.INSERT, run_id=run.run_id, concurrency=16, strategy="put")
    writer = TableWriter(client, "Users", contract_table, opts, RunDirSink(run, "Users"))
    result = writer.write_batch(encoded_list)     # blocking, thread-safe, internally concurrent
    writer.close()

    result.written / skipped / conflicts / rejected / unchanged / retries / throttles

Modes (every written item carries the marker ``<marker_attribute> = "<run_id>:<fingerprint>"``
unless ``marker_attribute`` is None):

``insert`` (default)
    PutItem with ``attribute_not_exists(<pk>)``. An item that exists (written by anyone) is never
    touched; it is counted as skipped (reason ``exists``).
``sync``
    Make the table equal to the view without clobbering anyone else's write. Per batch: BatchGetItem
    (consistent) of the keys, then per item: absent -> put with ``attribute_not_exists(<pk>)``; present
    with our marker and unchanged since (content fingerprint == marker fingerprint): same new content ->
    ``unchanged`` (no write), new content -> put with ``#m = :marker_read`` (ReturnValues ALL_OLD -> old
    image kept for rollback); present without marker or changed since our write -> conflict (left
    alone, reported). A condition failing at write time (raced with the application) -> conflict.
    Needs markers.
``newer``
    Put with ``attribute_not_exists(<pk>) OR #v < :v`` on ``version_attribute``: replaces only an
    older version (AWS DMS-like). Rows without the version attribute are rejected
    (``missing_version``). Items not replaced are skipped (``not_newer``). Old images are kept.
``overwrite``
    Unconditional BatchWriteItem, 25 per request, UnprocessedItems re-queued with backoff. Old images
    only with ``keep_old_images`` (then PutItem with ALL_OLD, slower).

Strategies for the conditional modes: ``put`` (default: a pool of ``concurrency`` threads, one
PutItem per item) or ``transact`` (TransactWriteItems of up to 100 conditional puts; on
TransactionCanceledException the per-item CancellationReasons are read: items whose condition failed
are dropped (skipped / conflict), the rest retried; a transaction refused as a whole
(ValidationException) is retried item by item to isolate the bad item). Transactions cost 2 WCU per
KB per item instead of 1; see docs/writing.md for measurements.

Lost answers: when a condition fails because the item already holds exactly what this run writes
(same marker, same content: our own earlier attempt succeeded but its answer was lost, or a resumed
batch), the item counts as written, in every mode.

Errors: throttling / 5xx / connection errors are retried by :class:`RetryPolicy` (bounded
exponential backoff with full jitter, counted); when retries are exhausted
:class:`~dynamigrate.errors.TransientTargetError` is raised (nothing is lost silently: the run
stops and can resume). Errors about the table, the endpoint or the credentials (ResourceNotFound,
AccessDenied, a key schema that does not match: :func:`~dynamigrate.target.retry.is_table_error`)
raise a :class:`TargetError` that fails the table, never a rejected row. Other terminal errors for an
item (ValidationException...) make that row rejected, with DynamoDB's message.

Outcomes go to a sink (:class:`~dynamigrate.target.sinks.WriteSink` protocol, :mod:`.sinks`):
:class:`RunDirSink` appends them to the run directory, :class:`MemorySink` keeps them in memory
(tests). The single-item operations on marked items (rollback, ``--delete-missing``, marker removal)
are in :mod:`.single_item`.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, cast

from dynamigrate.contract.model import Table
from dynamigrate.errors import ConfigError, TransientTargetError
from dynamigrate.target.encode import Encoded, Item, fingerprint, marker_value, parse_marker
from dynamigrate.target.lean import lean_sender
from dynamigrate.target.retry import (
    THROTTLE_CODES,
    TRANSIENT_CODES,
    RetryPolicy,
    classify,
    error_code,
    error_message,
    is_table_error,
    is_table_reason,
    table_error,
    table_reason_error,
    terminal_error,
)
from dynamigrate.target.single_item import DeleteOutcome, delete_if_marker, remove_marker_if_unchanged
from dynamigrate.target.sinks import (
    RETRY_COUNTERS,
    BatchResult,
    MemorySink,
    NullSink,
    RunDirSink,
    WriteSink,
)

__all__ = [
    "BATCH_GET_MAX",
    "BATCH_WRITE_MAX",
    "RETRY_COUNTERS",
    "STRATEGIES",
    "TRANSACT_MAX",
    "TRANSACT_MAX_BYTES",
    "BatchResult",
    "DeleteOutcome",
    "MemorySink",
    "NullSink",
    "RunDirSink",
    "TableWriter",
    "WriteMode",
    "WriteSink",
    "WriterOptions",
    "delete_if_marker",
    "remove_marker_if_unchanged",
]

log = logging.getLogger(__name__)

BATCH_WRITE_MAX = 25
BATCH_GET_MAX = 100
TRANSACT_MAX = 100
TRANSACT_MAX_BYTES = 4_000_000


class WriteMode(enum.StrEnum):
    INSERT = "insert"
    SYNC = "sync"
    NEWER = "newer"
    OVERWRITE = "overwrite"


STRATEGIES = ("put", "transact")


@dataclass(frozen=True)
class WriterOptions:
    mode: WriteMode | str = WriteMode.INSERT
    run_id: str = "run"
    marker_attribute: str | None = "_dm_marker"
    version_attribute: str | None = None
    concurrency: int = 16
    strategy: str = "put"
    max_attempts: int = 10
    base_delay: float = 0.05
    max_delay: float = 5.0
    delete_missing: bool = False
    keep_old_images: bool = False
    transact_size: int = TRANSACT_MAX
    seed: int | None = None

    def validated(self) -> WriterOptions:
        """The options with ``mode`` as a WriteMode; ConfigError for impossible combinations."""
        try:
            mode = WriteMode(str(self.mode))
        except ValueError:
            raise ConfigError(
                f"unknown write mode '{self.mode}'", hint="use insert, sync, newer or overwrite"
            ) from None
        if self.strategy not in STRATEGIES:
            raise ConfigError(f"unknown write strategy '{self.strategy}'", hint="use put or transact")
        if mode is WriteMode.SYNC and not self.marker_attribute:
            raise ConfigError(
                "sync mode needs markers (it only rewrites items the migration wrote and nobody changed)",
                hint="drop --no-marker, or use insert/newer/overwrite",
            )
        if mode is WriteMode.NEWER and not self.version_attribute:
            raise ConfigError("newer mode needs a version attribute", hint="pass --version-attribute NAME")
        if not 1 <= self.transact_size <= TRANSACT_MAX:
            raise ConfigError(
                f"transact_size must be 1..{TRANSACT_MAX}, not {self.transact_size}",
                hint=f"DynamoDB takes at most {TRANSACT_MAX} items per transaction",
            )
        if self.concurrency < 1:
            raise ConfigError(
                f"concurrency must be >= 1, not {self.concurrency}", hint="e.g. 16 concurrent writes"
            )
        return dataclasses.replace(self, mode=mode)


# -- internals -------------------------------------------------------------------------------------


class _Tally:
    """Per-write_batch counters (several write_batch calls may run at once)."""

    def __init__(self, sink: WriteSink):
        self.result = BatchResult()
        self._lock = threading.Lock()
        self._sink = sink

    def inc(self, name: str, n: int = 1) -> None:
        with self._lock:
            setattr(self.result, name, getattr(self.result, name) + n)

    def on_retry(self, kind: str, code: str = "", what: str = "") -> None:
        """One request sent again; ``what``: ``batch`` (BatchWriteItem) or ``transaction``
        (TransactWriteItems) counts it also under :data:`RETRY_COUNTERS`. ``code`` is what
        :meth:`RetryPolicy.call` passes; the policy's own stats count the codes."""
        self.inc("retries")
        if kind == "throttle":
            self.inc("throttles")
        if what in RETRY_COUNTERS:
            self.inc(RETRY_COUNTERS[what])
        self._sink.on_retry(kind, what)


@dataclass
class _Op:
    """One conditional put: the encoded row, the item to send and what a failed condition means."""

    encoded: Encoded
    item: Item
    marker: str | None
    condition: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    return_old: bool = False
    on_condition_failed: str = "skip"  # skip | conflict
    condition_reason: str = "exists"
    read_image: Item | None = None  # sync: the image read before the write (old image for transact)
    # a later row of this batch with the key of an earlier one (a duplicate key, e.g. a table without a
    # primary key): finding the earlier row's identical item is not "our own write" but a lost row
    repeat: bool = False


def _chunks(seq: Sequence[Any], n: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _key_id(key: Item) -> tuple[Any, ...]:
    """A hashable identity of a low-level key (key attribute types are fixed per table)."""
    return tuple(next(iter(v.values())) for _, v in sorted(key.items()))


class TableWriter:
    """Writes encoded items to one table. Thread-safe; owns a thread pool (call :meth:`close`)."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        contract_table: Table,
        options: WriterOptions,
        sink: WriteSink | None = None,
    ):
        self.client = client
        self.table_name = table_name
        self.table = contract_table
        self.options = options.validated()
        self.mode = WriteMode(self.options.mode)
        self.sink: WriteSink = sink or NullSink()
        self.policy = RetryPolicy(
            self.options.max_attempts, self.options.base_delay, self.options.max_delay, seed=self.options.seed
        )
        self._pool = ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix=f"dm-write-{table_name}"
        )
        self._key_names = contract_table.key_names
        self._marker = self.options.marker_attribute
        # the writes and reads without botocore's per-call machinery (~0.1 ms instead of ~0.9 ms of
        # Python per call; target/lean.py); None when the client is not one it can stand in for
        self._lean = lean_sender(client)
        self._api: Any = client

    # -- lifecycle ---------------------------------------------------------------------------------
    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._lean is not None:
            self._lean.close()

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- entry point -------------------------------------------------------------------------------
    def write_batch(self, encoded: Sequence[Encoded]) -> BatchResult:
        """Write a batch; returns its counts. Raises TransientTargetError when retries are exhausted."""
        tally = _Tally(self.sink)
        # fault injection hooks botocore's before-send: with it attached, every call goes through botocore
        lean = self._lean
        self._api = lean if lean is not None and lean.usable else self.client
        ready: list[Encoded] = []
        for e in encoded:
            if e.omitted_gsi_keys:
                tally.inc("omitted_gsi_keys", len(e.omitted_gsi_keys))
            if e.rejected or e.item is None:
                self._reject(tally, e, e.reject_reason or "rejected", e.reject_code or "rejected", None)
                continue
            if self.mode is WriteMode.NEWER and self.options.version_attribute not in e.item:
                self._reject(
                    tally,
                    e,
                    f"version attribute '{self.options.version_attribute}' is absent (NULL) in the row",
                    "missing_version",
                    None,
                )
                continue
            ready.append(e)
        # the same key twice in one batch: write in rounds so that later rows act after earlier ones
        try:
            for n, round_items in enumerate(self._rounds(ready)):
                self._write_round(round_items, tally, repeat=n > 0)
        finally:
            flush = getattr(self.sink, "flush", None)
            if callable(flush):
                flush()
        return tally.result

    def _rounds(self, items: list[Encoded]) -> list[list[Encoded]]:
        rounds: list[list[Encoded]] = []
        seen: dict[tuple[Any, ...], int] = {}
        for e in items:
            kid = _key_id(e.key)
            n = seen.get(kid, 0)
            seen[kid] = n + 1
            while len(rounds) <= n:
                rounds.append([])
            rounds[n].append(e)
        return rounds

    def _write_round(self, items: list[Encoded], tally: _Tally, repeat: bool = False) -> None:
        if not items:
            return
        if self.mode is WriteMode.OVERWRITE:
            if self.options.keep_old_images:
                self._run_puts([self._op_overwrite(e) for e in items], tally)
            else:
                self._run_batch_writes(items, tally)
            return
        if self.mode is WriteMode.INSERT:
            ops = [self._op_insert(e) for e in items]
        elif self.mode is WriteMode.NEWER:
            ops = [self._op_newer(e) for e in items]
            if self.options.strategy == "transact":
                # TransactWriteItems cannot return old images: read them first (consistent)
                images = self._read_images([e.key for e in items], tally)
                for op in ops:
                    op.read_image = images.get(_key_id(op.encoded.key))
        else:
            ops = self._plan_sync(items, tally)
        if not ops:
            return
        for op in ops:
            op.repeat = repeat
        if self.options.strategy == "transact":
            self._run_transacts(ops, tally)
        else:
            self._run_puts(ops, tally)

    # -- building operations -------------------------------------------------------------------------
    def _with_marker(self, e: Encoded) -> tuple[Item, str | None]:
        assert e.item is not None
        if not self._marker:
            return e.item, None
        assert e.fingerprint is not None
        m = marker_value(self.options.run_id, e.fingerprint)
        return {**e.item, self._marker: {"S": m}}, m

    def _op_insert(self, e: Encoded) -> _Op:
        item, m = self._with_marker(e)
        return _Op(
            e,
            item,
            m,
            condition="attribute_not_exists(#pk)",
            names={"#pk": self.table.pk},
            on_condition_failed="skip",
            condition_reason="exists",
        )

    def _op_overwrite(self, e: Encoded) -> _Op:
        item, m = self._with_marker(e)
        return _Op(e, item, m, return_old=True)

    def _op_newer(self, e: Encoded) -> _Op:
        item, m = self._with_marker(e)
        assert e.item is not None and self.options.version_attribute
        return _Op(
            e,
            item,
            m,
            condition="attribute_not_exists(#pk) OR #v < :v",
            names={"#pk": self.table.pk, "#v": self.options.version_attribute},
            values={":v": e.item[self.options.version_attribute]},
            return_old=True,
            on_condition_failed="skip",
            condition_reason="not_newer",
        )

    def _plan_sync(self, items: list[Encoded], tally: _Tally) -> list[_Op]:
        assert self._marker
        images = self._read_images([e.key for e in items], tally)
        ops: list[_Op] = []
        for e in items:
            current = images.get(_key_id(e.key))
            item, m = self._with_marker(e)
            if current is None:
                ops.append(
                    _Op(
                        e,
                        item,
                        m,
                        condition="attribute_not_exists(#pk)",
                        names={"#pk": self.table.pk},
                        on_condition_failed="conflict",
                        condition_reason="created_concurrently",
                    )
                )
                continue
            verdict = self.sync_verdict(current, e.fingerprint or "")
            if verdict == "unchanged":
                tally.inc("unchanged")
                tally.inc("skipped")
                self.sink.on_skipped(e.key, "unchanged")
            elif verdict == "update":
                ops.append(
                    _Op(
                        e,
                        item,
                        m,
                        condition="#m = :m",
                        names={"#m": self._marker},
                        values={":m": current[self._marker]},
                        return_old=True,
                        on_condition_failed="conflict",
                        condition_reason="changed_concurrently",
                        read_image=current,
                    )
                )
            else:
                self._conflict(tally, e.key, verdict)
        return ops

    def sync_verdict(self, current: Item, new_fp: str) -> str:
        """What sync does with an existing item: 'unchanged' | 'update' | a conflict reason."""
        assert self._marker
        parsed = parse_marker(current.get(self._marker))
        if parsed is None:
            return "not_written_by_migration"
        content_fp = fingerprint(current, self._marker)
        if content_fp != parsed[1]:
            return "changed_since_migration_wrote_it"
        if content_fp == new_fp:
            return "unchanged"
        return "update"

    # -- outcomes ----------------------------------------------------------------------------------
    def _reject(self, tally: _Tally, e: Encoded | Item, reason: str, code: str, message: str | None) -> None:
        tally.inc("rejected")
        self.sink.on_rejected(e, reason, code, message)

    def _conflict(self, tally: _Tally, key: Item, reason: str) -> None:
        tally.inc("conflicts")
        self.sink.on_conflict(key, reason)

    def _written(self, tally: _Tally, op: _Op, old: Item | None) -> None:
        tally.inc("written")
        self.sink.on_written(op.encoded.key, op.marker)
        if old:
            self.sink.on_old_image(op.encoded.key, old)
            if self.mode is WriteMode.SYNC and self._marker and op.read_image is not None:
                # the condition only sees the marker: an application that rewrote the whole item
                # keeping our marker between our read and our write is detected here, after the fact
                parsed = parse_marker(old.get(self._marker))
                if parsed is None or fingerprint(old, self._marker) != parsed[1]:
                    self._conflict(tally, op.encoded.key, "overwrote_concurrent_change (old image kept)")

    def _condition_failed(self, tally: _Tally, op: _Op, existing: Item | None) -> None:
        if op.repeat and op.on_condition_failed == "skip":
            # the earlier row of this batch with this key was written: this one is left out, counted
            tally.inc("skipped")
            self.sink.on_skipped(op.encoded.key, "duplicate_key")
            return
        if (
            existing is not None
            and op.marker is not None
            and self._marker
            and existing.get(self._marker) == {"S": op.marker}
            and fingerprint(existing, self._marker) == op.encoded.fingerprint
        ):
            # the item already is exactly what this run writes: our own earlier attempt succeeded
            # but its answer was lost (timeout, 500 after the write), or a resumed batch
            self._written(tally, op, op.read_image if op.return_old else None)
            return
        if op.on_condition_failed == "conflict":
            self._conflict(tally, op.encoded.key, op.condition_reason)
            return
        tally.inc("skipped")
        self.sink.on_skipped(op.encoded.key, op.condition_reason)

    # -- reads ---------------------------------------------------------------------------------------
    def _read_images(self, keys: list[Item], tally: _Tally) -> dict[tuple[Any, ...], Item]:
        """Consistent BatchGetItem of ``keys`` (100 per request, concurrent, UnprocessedKeys re-queued)."""
        from botocore.exceptions import ClientError

        out: dict[tuple[Any, ...], Item] = {}
        lock = threading.Lock()

        def fetch(chunk: Sequence[Item]) -> None:
            pending: list[Item] = list(chunk)
            attempt = 1
            while pending:
                try:
                    resp = self.policy.call(
                        self._api.batch_get_item,
                        RequestItems={self.table_name: {"Keys": pending, "ConsistentRead": True}},
                        what=f"BatchGetItem on {self.table_name}",
                        on_retry=tally.on_retry,
                    )
                except ClientError as exc:
                    if is_table_error(exc):
                        raise table_error(exc, table=self.table_name) from None
                    raise terminal_error(exc, table=self.table_name) from None
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    key = {k: item[k] for k in self._key_names}
                    with lock:
                        out[_key_id(key)] = item
                unprocessed = resp.get("UnprocessedKeys", {}).get(self.table_name, {}).get("Keys", [])
                pending = list(unprocessed)
                if pending:
                    if attempt >= self.policy.max_attempts:
                        raise TransientTargetError(
                            f"BatchGetItem on {self.table_name}: {len(pending)} keys still unprocessed "
                            f"after {attempt} attempts",
                            hint="DynamoDB is throttling reads; raise capacity or lower --concurrency",
                        )
                    tally.on_retry("throttle")
                    self.policy.backoff(attempt, "throttle", "UnprocessedKeys")
                    attempt += 1

        self._run_all([functools.partial(fetch, c) for c in _chunks(keys, BATCH_GET_MAX)])
        return out

    # -- execution: PutItem pool ---------------------------------------------------------------------
    def _run_all(self, tasks: list[Callable[[], None]]) -> None:
        if len(tasks) == 1:
            tasks[0]()
            return
        futures: list[Future[None]] = [self._pool.submit(t) for t in tasks]
        first: BaseException | None = None
        for f in futures:
            exc = f.exception()
            if exc is not None and first is None:
                first = exc
        if first is not None:
            raise first

    def _run_puts(self, ops: list[_Op], tally: _Tally) -> None:
        # group ops so that each pool task handles a few items (less scheduling overhead)
        per_task = max(1, min(8, len(ops) // (self.options.concurrency * 2) or 1))
        self._run_all([functools.partial(self._put_group, g, tally) for g in _chunks(ops, per_task)])

    def _put_group(self, ops: Sequence[_Op], tally: _Tally) -> None:
        for op in ops:
            self._put_one(op, tally)

    def _put_request(self, op: _Op) -> dict[str, Any]:
        """The conditional Put of ``op``: PutItem's arguments, and a TransactWriteItems ``Put``."""
        put: dict[str, Any] = {"TableName": self.table_name, "Item": op.item}
        if op.condition:
            put["ConditionExpression"] = op.condition
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        if op.names:
            put["ExpressionAttributeNames"] = op.names
        if op.values:
            put["ExpressionAttributeValues"] = op.values
        return put

    def _put_one(self, op: _Op, tally: _Tally) -> None:
        from botocore.exceptions import ClientError

        kwargs = self._put_request(op)
        if op.return_old:
            kwargs["ReturnValues"] = "ALL_OLD"
        try:
            resp = self.policy.call(
                self._api.put_item, what=f"PutItem on {self.table_name}", on_retry=tally.on_retry, **kwargs
            )
        except ClientError as exc:
            kind = classify(exc)
            if kind == "condition":
                self._condition_failed(tally, op, cast("Item | None", exc.response.get("Item")))
                return
            if is_table_error(exc):  # the table, the endpoint or the credentials: never a rejected row
                raise table_error(exc, table=self.table_name) from None
            self._reject(
                tally,
                op.encoded,
                f"DynamoDB refused the item ({error_code(exc)})",
                "write_failed",
                error_message(exc),
            )
            return
        self._written(tally, op, resp.get("Attributes") or None)

    # -- execution: transactions -----------------------------------------------------------------------
    def _run_transacts(self, ops: list[_Op], tally: _Tally) -> None:
        groups: list[list[_Op]] = []
        current: list[_Op] = []
        size = 0
        for op in ops:
            op_size = op.encoded.size + 200
            if current and (
                len(current) >= self.options.transact_size or size + op_size > TRANSACT_MAX_BYTES
            ):
                groups.append(current)
                current, size = [], 0
            current.append(op)
            size += op_size
        if current:
            groups.append(current)
        self._run_all([functools.partial(self._transact, g, tally) for g in groups])

    def _transact_item(self, op: _Op) -> dict[str, Any]:
        return {"Put": self._put_request(op)}

    def _transact(self, ops: list[_Op], tally: _Tally) -> None:
        from botocore.exceptions import ClientError

        pending = list(ops)
        attempt = 1
        while pending:
            try:
                self._api.transact_write_items(TransactItems=[self._transact_item(op) for op in pending])
            except ClientError as exc:
                kind = classify(exc)
                if kind == "cancelled":
                    reasons = exc.response.get("CancellationReasons") or []
                    if len(reasons) != len(pending):
                        # no per-item reasons: isolate item by item (sequentially: we are in a pool thread)
                        for op in pending:
                            self._put_one(op, tally)
                        return
                    retry: list[_Op] = []
                    retry_kind: str | None = None
                    for op, reason in zip(pending, reasons, strict=True):
                        code = str(reason.get("Code") or "None")
                        if code == "None":
                            retry.append(op)  # innocent bystander of another item's failure
                        elif code == "ConditionalCheckFailed":
                            self._condition_failed(tally, op, cast("Item | None", reason.get("Item")))
                        elif code in THROTTLE_CODES or code in TRANSIENT_CODES:
                            retry.append(op)
                            retry_kind = "throttle" if code in THROTTLE_CODES else "transient"
                        elif is_table_reason(code, str(reason.get("Message") or "")):
                            raise table_reason_error(
                                code, str(reason.get("Message") or code), table=self.table_name
                            ) from None
                        else:
                            self._reject(
                                tally,
                                op.encoded,
                                f"DynamoDB refused the item ({code})",
                                "write_failed",
                                str(reason.get("Message") or code),
                            )
                    if retry and len(retry) == len(pending) and retry_kind is None:
                        # every reason "None": nothing was resolved, so this round is a plain retry of
                        # the whole transaction (capped, backed off, counted), not a free loop
                        retry_kind = "transient"
                    pending = retry
                    if pending and retry_kind:
                        if attempt >= self.policy.max_attempts:
                            raise self.policy.give_up(
                                exc, f"TransactWriteItems on {self.table_name}", attempt
                            ) from exc
                        tally.on_retry(retry_kind, what="transaction")
                        self.policy.backoff(attempt, retry_kind, "TransactionCanceled")
                        attempt += 1
                    continue
                if kind in ("throttle", "transient"):
                    if attempt >= self.policy.max_attempts:
                        raise self.policy.give_up(
                            exc, f"TransactWriteItems on {self.table_name}", attempt
                        ) from exc
                    code = error_code(exc) or type(exc).__name__
                    tally.on_retry(kind, what="transaction")
                    self.policy.backoff(attempt, kind, code)
                    attempt += 1
                    continue
                # refused as a whole (e.g. ValidationException for one item): isolate item by item
                log.debug("transaction refused (%s); retrying item by item", error_code(exc))
                for op in pending:
                    self._put_one(op, tally)
                return
            except Exception as exc:
                if classify(exc) != "transient":
                    raise
                if attempt >= self.policy.max_attempts:
                    raise self.policy.give_up(
                        exc, f"TransactWriteItems on {self.table_name}", attempt
                    ) from exc
                tally.on_retry("transient", what="transaction")
                self.policy.backoff(attempt, "transient", type(exc).__name__)
                attempt += 1
                continue
            for op in pending:
                self._written(tally, op, op.read_image if op.return_old else None)
            pending = []

    # -- execution: BatchWriteItem (overwrite) ---------------------------------------------------------
    def _run_batch_writes(self, items: list[Encoded], tally: _Tally) -> None:
        self._run_all(
            [functools.partial(self._batch_write, list(c), tally) for c in _chunks(items, BATCH_WRITE_MAX)]
        )

    def _batch_write(self, items: list[Encoded], tally: _Tally) -> None:
        from botocore.exceptions import ClientError

        by_id: dict[tuple[Any, ...], tuple[Encoded, Item, str | None]] = {}
        for e in items:
            item, m = self._with_marker(e)
            by_id[_key_id(e.key)] = (e, item, m)
        pending = [{"PutRequest": {"Item": by_id[k][1]}} for k in by_id]
        attempt = 1
        while pending:
            try:
                resp = self.policy.call(
                    self._api.batch_write_item,
                    RequestItems={self.table_name: pending},
                    what=f"BatchWriteItem on {self.table_name}",
                    on_retry=functools.partial(tally.on_retry, what="batch"),
                )
            except ClientError:
                # a terminal error refuses the whole batch: put item by item to find the bad one(s)
                ops = []
                for req in pending:
                    item = req["PutRequest"]["Item"]
                    e, _, m = by_id[_key_id({k: item[k] for k in self._key_names})]
                    ops.append(_Op(e, item, m))
                for op in ops:
                    self._put_one(op, tally)
                return
            unprocessed = resp.get("UnprocessedItems", {}).get(self.table_name, [])
            done_ids = {
                _key_id({k: r["PutRequest"]["Item"][k] for k in self._key_names}) for r in unprocessed
            }
            for req in pending:
                item = req["PutRequest"]["Item"]
                kid = _key_id({k: item[k] for k in self._key_names})
                if kid not in done_ids:
                    e, _, m = by_id[kid]
                    tally.inc("written")
                    self.sink.on_written(e.key, m)
            pending = list(unprocessed)
            if pending:
                if attempt >= self.policy.max_attempts:
                    raise TransientTargetError(
                        f"BatchWriteItem on {self.table_name}: {len(pending)} items still unprocessed "
                        f"after {attempt} attempts",
                        hint="DynamoDB is throttling writes; raise capacity or lower --concurrency; "
                        "the run can be resumed",
                        code="DM520",
                    )
                tally.on_retry("throttle", what="batch")
                self.policy.backoff(attempt, "throttle", "UnprocessedItems")
                attempt += 1
