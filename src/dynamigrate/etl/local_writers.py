"""The local engine's helpers on the DynamoDB side: the on-disk set of produced keys (sync's
missing-source detection) and the BatchWriteItem writer for tables this run created.

Split from :mod:`dynamigrate.etl.local` (which re-exports these names).
"""

from __future__ import annotations

import base64
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dynamigrate.contract.model import Table


def _binary_as_base64(obj: Any) -> Any:
    """``json.dumps`` fallback of :func:`canonical_key`: binary key values as base64 text."""
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(obj)).decode("ascii")
    raise TypeError(type(obj).__name__)


def canonical_key(key: dict[str, Any]) -> str:
    """A stable text form of a low-level key (binary as base64), for the seen-keys set."""
    # called once per item: the fallback is a module-level function, not a closure built per call
    return json.dumps(key, sort_keys=True, separators=(",", ":"), default=_binary_as_base64)


class SeenKeys:
    """An on-disk set of item keys (SQLite), for bounded-memory missing-source detection."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS seen (k TEXT PRIMARY KEY) WITHOUT ROWID")
        self.db.commit()

    def add_many(self, keys: list[str]) -> None:
        if keys:
            self.db.executemany("INSERT OR IGNORE INTO seen (k) VALUES (?)", [(k,) for k in keys])
        self.db.commit()

    def missing(self, keys: list[str]) -> set[str]:
        """The keys of ``keys`` not in the set."""
        found: set[str] = set()
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            marks = ",".join("?" * len(part))
            found.update(r[0] for r in self.db.execute(f"SELECT k FROM seen WHERE k IN ({marks})", part))
        return {k for k in keys if k not in found}

    def __len__(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM seen").fetchone()[0])

    def close(self) -> None:
        self.db.close()


class FreshTableWriter:
    """``insert`` into a table this run created, with BatchWriteItem instead of conditional writes.

    Conditional writes (PutItem, TransactWriteItems) keep the insert promise "never touch an existing
    item" atomically, but DynamoDB Local serves them at about half the rate of BatchWriteItem
    (docs/etl.md). A table this run created has no other writer, so:

    * first pass over the table (no checkpoint yet): the table holds nothing this load could collide
      with, so the items are written with BatchWriteItem directly (the target's overwrite writer: 25
      per request, UnprocessedItems re-sent, a refused request replayed item by item). The same key
      twice in one chunk keeps the first; across chunks (duplicate keys, which preflight reports as an
      error) the last would win.
    * resumed table (a checkpoint exists; maybe days later): which keys exist is read first
      (consistent BatchGetItem, 100 keys per request) and only absent items are written. Items found
      are counted as the conditional writer counts them: this run's marker for the same content ->
      written (a redone chunk), anything else -> skipped, untouched.

    An item created by someone else in this run's table while it loads could be replaced (on a resume:
    only in the milliseconds between the read and the write). ``--strategy put|transact`` gives strictly
    conditional writes instead.
    """

    def __init__(
        self,
        client: Any,
        table: Table,
        run_id: str,
        marker_attribute: str | None,
        strict: Any,
        blind: Any,
        sink: Any,
        check_existing: bool = True,
    ):
        self.check_existing = check_existing
        self.client = client
        self.table = table
        self.run_id = run_id
        self.marker = marker_attribute
        self.strict = strict
        self.blind = blind
        self.sink = sink
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix=f"dm-bget-{table.name}")

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.strict.close()
        self.blind.close()

    def write_batch(self, encoded: list[Any]) -> Any:
        from dynamigrate.target.encode import marker_value
        from dynamigrate.target.writer import BatchResult

        result = BatchResult()
        unique: dict[str, Any] = {}
        for e in encoded:
            k = canonical_key(e.key)
            if k in unique:  # the same key twice: insert keeps the first
                result.skipped += 1
                self.sink.on_skipped(e.key, "exists")
            else:
                unique[k] = e
        if self.check_existing:
            existing, retries = self._existing(list(unique.values()))
        else:
            existing, retries = {}, 0
        result.retries += retries
        absent = []
        for k, e in unique.items():
            found = existing.get(k)
            if found is None:
                absent.append(e)
                continue
            mine = marker_value(self.run_id, e.fingerprint) if self.marker else None
            if mine is not None and self.marker and found.get(self.marker) == {"S": mine}:
                result.written += 1  # our own write of this content (a redone chunk after a resume)
                self.sink.on_written(e.key, mine)
            else:
                result.skipped += 1
                self.sink.on_skipped(e.key, "exists")
        if absent:
            result.add(self.blind.write_batch(absent))  # flushes the sink
        else:
            self.sink.flush()
        return result

    def _existing(self, items: list[Any]) -> tuple[dict[str, dict[str, Any]], int]:
        from botocore.exceptions import ClientError

        from dynamigrate.target.retry import RetryPolicy, terminal_error, unprocessed_keys_error

        names = {f"#k{i}": k for i, k in enumerate(self.table.key_names)}
        if self.marker:
            names["#m"] = self.marker
        policy = RetryPolicy()
        retries = [0]

        def on_retry(kind: str, code: str) -> None:
            retries[0] += 1
            self.sink.on_retry(kind)  # the table's counters (report, summary)

        def fetch(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            request: dict[str, Any] = {
                self.table.name: {
                    "Keys": keys,
                    "ConsistentRead": True,
                    "ProjectionExpression": ", ".join(names),
                    "ExpressionAttributeNames": names,
                }
            }
            attempt = 1
            while request:
                try:
                    resp = policy.call(
                        self.client.batch_get_item,
                        RequestItems=request,
                        what=f"BatchGetItem on {self.table.name}",
                        on_retry=on_retry,
                    )
                except ClientError as exc:
                    raise terminal_error(exc, table=self.table.name) from None
                found.extend(resp.get("Responses", {}).get(self.table.name, []))
                request = resp.get("UnprocessedKeys") or {}
                if request:
                    if attempt >= policy.max_attempts:  # a cap, like every other retry
                        raise unprocessed_keys_error(self.table.name, request, attempt)
                    on_retry("throttle", "UnprocessedKeys")
                    policy.backoff(attempt, "throttle", "UnprocessedKeys")
                    attempt += 1
            return found

        groups = [[e.key for e in items[i : i + 100]] for i in range(0, len(items), 100)]
        out: dict[str, dict[str, Any]] = {}
        for found in self._pool.map(fetch, groups):
            for item in found:
                key = {k: item[k] for k in self.table.key_names if k in item}
                out[canonical_key(key)] = item
        return out, retries[0]
