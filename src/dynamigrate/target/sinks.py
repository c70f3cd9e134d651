"""Where a writer's outcomes go: per-batch counts (:class:`BatchResult`) and the sinks.

:class:`WriteSink` is the protocol :class:`~dynamigrate.target.writer.TableWriter` reports every item's
outcome to: :class:`RunDirSink` appends them to the run directory (``written/<T>.jsonl``,
``old_images/<T>.jsonl``, ``rejected.jsonl``, ``conflicts.jsonl``) and keeps counters,
:class:`MemorySink` keeps them in memory (tests, small tools), :class:`NullSink` drops them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Protocol

from dynamigrate.target.encode import Encoded, Item, key_for_report, row_for_report

#: what was sent again -> its counter (BatchResult field and RunDirSink counter)
RETRY_COUNTERS = {"batch": "retried_batches", "transaction": "transaction_retries"}


@dataclass
class BatchResult:
    written: int = 0
    skipped: int = 0
    conflicts: int = 0
    rejected: int = 0
    unchanged: int = 0
    retries: int = 0
    throttles: int = 0
    retried_batches: int = 0  # BatchWriteItem calls sent again (unprocessed items, throttling)
    transaction_retries: int = 0  # TransactWriteItems sent again (cancelled, throttled)
    omitted_gsi_keys: int = 0

    def add(self, other: BatchResult) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


class WriteSink(Protocol):
    def on_written(self, key: Item, marker: str | None) -> None: ...
    def on_skipped(self, key: Item, reason: str) -> None: ...
    def on_conflict(self, key: Item, reason: str) -> None: ...
    def on_rejected(
        self, encoded_or_key: Encoded | Item, reason: str, code: str, message: str | None
    ) -> None: ...
    def on_old_image(self, key: Item, old_item: Item) -> None: ...
    def on_retry(self, kind: str, what: str = "") -> None: ...


class NullSink:
    def on_written(self, key: Item, marker: str | None) -> None:
        pass

    def on_skipped(self, key: Item, reason: str) -> None:
        pass

    def on_conflict(self, key: Item, reason: str) -> None:
        pass

    def on_rejected(
        self, encoded_or_key: Encoded | Item, reason: str, code: str, message: str | None
    ) -> None:
        pass

    def on_old_image(self, key: Item, old_item: Item) -> None:
        pass

    def on_retry(self, kind: str, what: str = "") -> None:
        pass


class MemorySink:
    """Keeps every outcome in lists (tests, small tools). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.written: list[tuple[Item, str | None]] = []
        self.skipped: list[tuple[Item, str]] = []
        self.conflicts: list[tuple[Item, str]] = []
        self.rejected: list[dict[str, Any]] = []
        self.old_images: list[tuple[Item, Item]] = []
        self.retries: dict[str, int] = {}

    def on_written(self, key: Item, marker: str | None) -> None:
        with self._lock:
            self.written.append((key, marker))

    def on_skipped(self, key: Item, reason: str) -> None:
        with self._lock:
            self.skipped.append((key, reason))

    def on_conflict(self, key: Item, reason: str) -> None:
        with self._lock:
            self.conflicts.append((key, reason))

    def on_rejected(
        self, encoded_or_key: Encoded | Item, reason: str, code: str, message: str | None
    ) -> None:
        key = encoded_or_key.key if isinstance(encoded_or_key, Encoded) else encoded_or_key
        with self._lock:
            self.rejected.append({"key": key, "reason": reason, "code": code, "message": message})

    def on_old_image(self, key: Item, old_item: Item) -> None:
        with self._lock:
            self.old_images.append((key, old_item))

    def on_retry(self, kind: str, what: str = "") -> None:
        with self._lock:
            self.retries[kind] = self.retries.get(kind, 0) + 1


class RunDirSink:
    """Appends outcomes to the run directory and keeps counters (thread-safe).

    * ``written/<T>.jsonl``: ``{"key": <low-level key>, "marker": "..."}`` (rollback)
    * ``old_images/<T>.jsonl``: ``{"key": ..., "old": <low-level item>, "ts": ...}``
    * ``rejected.jsonl``: ``{"table", "entity", "key", "reason", "code", "message", "row"}``
    * ``conflicts.jsonl``: ``{"table", "key", "reason"}``
    * ``skipped`` reasons are only counted (``counters["skipped:<reason>"]``), not logged per item.

    Binary values in keys/items are written as base64 strings (JSON-safe); see
    :func:`dynamigrate.target.encode.key_for_report`.
    """

    def __init__(self, run: Any, table: str):
        self.run = run
        self.table = table
        self._lock = threading.Lock()
        self.counters: dict[str, int] = {}
        self._written = run.written_file(table)
        self._old = run.old_images_file(table)
        self._pending: list[dict[str, Any]] = []

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + n

    def on_written(self, key: Item, marker: str | None) -> None:
        # buffered: one append per batch, not one flushed line per item under a lock every writer
        # thread shares (that lock serialised the writers); TableWriter.write_batch flushes before it
        # returns, so the records of a batch are durable before a checkpoint can move past it
        with self._lock:
            self._pending.append({"key": key_for_report(key), "marker": marker})
            self.counters["written"] = self.counters.get("written", 0) + 1

    def flush(self) -> None:
        """Append the buffered written-item records to ``written/<T>.jsonl``."""
        with self._lock:
            pending, self._pending = self._pending, []
        if not pending:
            return
        writer = getattr(self.run, "writer", None)
        if callable(writer):
            writer(self._written).write_many(pending)
        else:  # a stand-in for a RunDir (a Spark task's buffer)
            for record in pending:
                self.run.append(self._written, record)

    def on_skipped(self, key: Item, reason: str) -> None:
        self._count("skipped")
        self._count(f"skipped:{reason}")

    def on_conflict(self, key: Item, reason: str) -> None:
        self.run.append(
            "conflicts.jsonl", {"table": self.table, "key": key_for_report(key), "reason": reason}
        )
        self._count("conflicts")

    def on_rejected(
        self, encoded_or_key: Encoded | Item, reason: str, code: str, message: str | None
    ) -> None:
        if isinstance(encoded_or_key, Encoded):
            entity, key, row = encoded_or_key.entity, encoded_or_key.key, encoded_or_key.row
        else:
            entity, key, row = None, encoded_or_key, None
        self.run.append(
            "rejected.jsonl",
            {
                "table": self.table,
                "entity": entity,
                "key": key_for_report(key),
                "reason": reason,
                "code": code,
                "message": message,
                "row": row_for_report(row),
            },
        )
        self._count("rejected")
        self._count(f"rejected:{code}")

    def on_old_image(self, key: Item, old_item: Item) -> None:
        import time

        self.run.append(
            self._old, {"key": key_for_report(key), "old": key_for_report(old_item), "ts": time.time()}
        )
        self._count("old_images")

    def on_retry(self, kind: str, what: str = "") -> None:
        self._count("retries")
        if kind == "throttle":
            self._count("throttles")
        if what in RETRY_COUNTERS:
            self._count(RETRY_COUNTERS[what])
