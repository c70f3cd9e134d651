"""The DynamoDB side of a validation: describe, one parallel key scan, COUNT scan, BatchGetItem, GSI queries.

Every call goes through a :class:`~dynamigrate.target.retry.RetryPolicy` (the client may come without
SDK retries), and AWS errors are translated once (:func:`translate_aws`) into our errors with a hint.
The key scan and the item reads go through the writers' lean sender (:mod:`dynamigrate.target.lean`:
orjson, own SigV4, ~10x less client CPU than botocore per page) when the client allows one, else
through botocore.

The key scan's segments follow the table's size (:func:`scan_segments`, about :data:`SEGMENT_ITEMS`
items each): DynamoDB Local serves a segment's pages at a cost that grows with the segment (75,350
keys, 8 threads each time, load average 9-13: 8 segments 9.5-10.9 s, 40 segments 3.2-4.1 s, 400
segments 1.7-3.3 s; one thread: 40 segments 6.1 s, 400 segments 3.0 s), and on AWS a small segment
costs one request of a few milliseconds. At most :data:`SCAN_THREADS` segments are read at once.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from dynamigrate.errors import DynamigrateError, TargetError
from dynamigrate.validate.compare import key_string
from dynamigrate.validate.cpu import METER

BATCH_GET_MAX = 100

#: items per Scan segment the automatic choice aims at (one page each)
SEGMENT_ITEMS = 250
MIN_SEGMENTS = 4
#: AWS allows 1,000,000; 10,000 keeps a 500M-item table at ~20 pages of 1 MB per segment
MAX_SEGMENTS = 10_000
#: segments read at once (each thread holds at most one page; the queue at most 2 per thread)
SCAN_THREADS = 8


def scan_segments(expected_items: int | None) -> int:
    """Scan segments for a table of about ``expected_items`` items (unknown: :data:`MIN_SEGMENTS`)."""
    if not expected_items or expected_items <= 0:
        return MIN_SEGMENTS
    return max(MIN_SEGMENTS, min(MAX_SEGMENTS, -(-int(expected_items) // SEGMENT_ITEMS)))


#: One page of the key scan: (canonical key text, marker value or None) per item
KeyPage = list[tuple[str, str | None]]


class DynamoSide:
    def __init__(
        self,
        client: Any,
        ddb_table: str,
        key_names: Sequence[str],
        marker: str | None,
        segments: int | None = None,
    ):
        """``segments``: the key scan's segments; None chooses them from the expected item count."""
        from dynamigrate.target.lean import lean_sender
        from dynamigrate.target.retry import RetryPolicy

        self.client = client
        self.ddb_table = ddb_table
        self.key_names = tuple(key_names)
        self.marker = marker
        self.segments = max(1, segments) if segments else None
        self.retry = RetryPolicy(max_attempts=10)
        self.lean = lean_sender(client)
        #: segments the last key scan or COUNT scan used
        self.used_segments = 0

    def aws(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return self.retry.call(fn, what=f"{getattr(fn, '__name__', 'call')} {self.ddb_table}", **kwargs)

    def _send(self, operation: str, params: dict[str, Any]) -> Any:
        """Scan / BatchGetItem through the lean sender when it is usable, else botocore."""
        lean = self.lean
        if lean is not None and lean.usable:
            return self.retry.call(lean.call, operation, params, what=f"{operation} {self.ddb_table}")
        method = {"Scan": self.client.scan, "BatchGetItem": self.client.batch_get_item}[operation]
        return self.aws(method, **params)

    def _segments(self, expected_items: int | None) -> int:
        n = self.segments or scan_segments(expected_items)
        self.used_segments = n
        return n

    def close(self) -> None:
        if self.lean is not None:
            self.lean.close()

    def describe(self) -> dict[str, Any]:
        return dict(self.aws(self.client.describe_table, TableName=self.ddb_table)["Table"])

    # -- scans ----------------------------------------------------------------------------------
    def scan_keys(self, consume: Callable[[KeyPage], None], expected_items: int | None = None) -> int:
        """One parallel Scan (``TotalSegments``) of keys + marker; pages handed to ``consume`` in this
        thread through a small queue (bounded memory). Returns the item count."""
        names = {f"#k{i}": n for i, n in enumerate(self.key_names)}
        if self.marker:
            names["#m"] = self.marker
        projection = ", ".join(names)
        segments = self._segments(expected_items)
        threads = min(segments, SCAN_THREADS)
        pages: queue.Queue[Any] = queue.Queue(maxsize=2 * threads)
        todo = iter(range(segments))
        todo_lock = threading.Lock()
        stop = threading.Event()
        done = object()
        key_names, marker = self.key_names, self.marker

        def scan() -> None:
            try:
                with METER.measured():
                    _scan()
                pages.put(done)
            except BaseException as exc:  # handed to the consumer thread
                pages.put(exc)

        def _scan() -> None:
            while not stop.is_set():
                with todo_lock:
                    segment = next(todo, None)
                if segment is None:
                    break
                params: dict[str, Any] = {
                    "TableName": self.ddb_table,
                    "ProjectionExpression": projection,
                    "ExpressionAttributeNames": names,
                    "ConsistentRead": True,
                    "Segment": segment,
                    "TotalSegments": segments,
                }
                while not stop.is_set():
                    resp = self._send("Scan", params)
                    rows: KeyPage = []
                    for item in resp.get("Items", []):
                        key = {k: item[k] for k in key_names if k in item}
                        m = item.get(marker) if marker else None
                        rows.append((key_string(key), m.get("S") if isinstance(m, dict) else None))
                    pages.put(rows)
                    lek = resp.get("LastEvaluatedKey")
                    if not lek:
                        break
                    params["ExclusiveStartKey"] = lek

        workers = [threading.Thread(target=scan, daemon=True) for _ in range(threads)]
        for th in workers:
            th.start()
        finished = count = 0
        error: BaseException | None = None
        try:
            while finished < len(workers):
                got = pages.get()
                if got is done:
                    finished += 1
                elif isinstance(got, BaseException):
                    finished += 1
                    if error is None:
                        error = got
                        stop.set()  # the other threads stop after their current page
                elif error is None:
                    count += len(got)
                    consume(got)
        finally:
            stop.set()
            while any(th.is_alive() for th in workers):  # unblock producers waiting on a full queue
                with contextlib.suppress(queue.Empty):
                    pages.get(timeout=0.05)
        if error is not None:
            raise error
        return count

    def count_scan(self, expected_items: int | None = None) -> int:
        """Parallel ``Select=COUNT`` Scan: the item count without transferring items."""
        segments = self._segments(expected_items)

        def seg(segment: int) -> int:
            with METER.measured():
                return _seg(segment)

        def _seg(segment: int) -> int:
            n = 0
            params: dict[str, Any] = {
                "TableName": self.ddb_table,
                "Select": "COUNT",
                "Segment": segment,
                "TotalSegments": segments,
            }
            while True:
                resp = self._send("Scan", params)
                n += int(resp.get("Count", 0))
                lek = resp.get("LastEvaluatedKey")
                if not lek:
                    return n
                params["ExclusiveStartKey"] = lek

        with cf.ThreadPoolExecutor(min(segments, SCAN_THREADS)) as pool:
            return sum(pool.map(seg, range(segments)))

    # -- items ----------------------------------------------------------------------------------
    def batch_get(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Items by canonical key text (at most 100 distinct keys); strongly consistent;
        ``UnprocessedKeys`` retried with backoff."""
        found: dict[str, dict[str, Any]] = {}
        if not keys:
            return found
        request: dict[str, Any] = {self.ddb_table: {"Keys": keys, "ConsistentRead": True}}
        delay = 0.05
        for _attempt in range(30):
            resp = self._send("BatchGetItem", {"RequestItems": request})
            for item in resp.get("Responses", {}).get(self.ddb_table, []):
                key = {k: item[k] for k in self.key_names if k in item}
                found[key_string(key)] = item
            request = resp.get("UnprocessedKeys") or {}
            if not request:
                return found
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        raise TargetError(
            "BatchGetItem kept returning unprocessed keys",
            table=self.ddb_table,
            hint="the table is throttled: validate again off-peak or raise its read capacity",
        )

    def get_many(self, keys: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """:meth:`batch_get` over any number of keys (duplicates fetched once)."""
        unique = list({key_string(k): k for k in keys}.values())
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(unique), BATCH_GET_MAX):
            found.update(self.batch_get(unique[i : i + BATCH_GET_MAX]))
        return found

    def query_index(
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
                resp = self.aws(self.client.query, **args)
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


def translate_aws(exc: BaseException, table: str) -> DynamigrateError:
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
