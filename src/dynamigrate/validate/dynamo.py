"""The DynamoDB side of a validation: describe, one parallel key scan, COUNT scan, BatchGetItem, GSI queries.

Every call goes through a :class:`~dynamigrate.target.retry.RetryPolicy` (the client may come without
SDK retries), and AWS errors are translated once (:func:`translate_aws`) into our errors with a hint.
"""

from __future__ import annotations

import concurrent.futures as cf
import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from dynamigrate.errors import DynamigrateError, TargetError
from dynamigrate.validate.compare import key_string

BATCH_GET_MAX = 100

#: One page of the key scan: (canonical key text, marker value or None) per item
KeyPage = list[tuple[str, str | None]]


class DynamoSide:
    def __init__(
        self, client: Any, ddb_table: str, key_names: Sequence[str], marker: str | None, segments: int = 4
    ):
        from dynamigrate.target.retry import RetryPolicy

        self.client = client
        self.ddb_table = ddb_table
        self.key_names = tuple(key_names)
        self.marker = marker
        self.segments = max(1, segments)
        self.retry = RetryPolicy(max_attempts=10)

    def aws(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        return self.retry.call(fn, what=f"{getattr(fn, '__name__', 'call')} {self.ddb_table}", **kwargs)

    def describe(self) -> dict[str, Any]:
        return dict(self.aws(self.client.describe_table, TableName=self.ddb_table)["Table"])

    # -- scans ----------------------------------------------------------------------------------
    def scan_keys(self, consume: Callable[[KeyPage], None]) -> int:
        """One parallel Scan (``TotalSegments``) of keys + marker; pages handed to ``consume`` in this
        thread through a small queue (bounded memory). Returns the item count."""
        names = {f"#k{i}": n for i, n in enumerate(self.key_names)}
        if self.marker:
            names["#m"] = self.marker
        projection = ", ".join(names)
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
                    resp = self.aws(self.client.scan, **kwargs)
                    rows: KeyPage = []
                    for item in resp.get("Items", []):
                        key = {k: item[k] for k in self.key_names if k in item}
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
        finished = count = 0
        error: BaseException | None = None
        while finished < len(threads):
            got = pages.get()
            if got is done:
                finished += 1
            elif isinstance(got, BaseException):
                finished += 1
                error = error or got
            elif error is None:
                count += len(got)
                consume(got)
        for th in threads:
            th.join()
        if error is not None:
            raise error
        return count

    def count_scan(self) -> int:
        """Parallel ``Select=COUNT`` Scan: the item count without transferring items."""

        def seg(segment: int) -> int:
            n = 0
            kwargs: dict[str, Any] = {
                "TableName": self.ddb_table,
                "Select": "COUNT",
                "Segment": segment,
                "TotalSegments": self.segments,
            }
            while True:
                resp = self.aws(self.client.scan, **kwargs)
                n += int(resp.get("Count", 0))
                lek = resp.get("LastEvaluatedKey")
                if not lek:
                    return n
                kwargs["ExclusiveStartKey"] = lek

        with cf.ThreadPoolExecutor(self.segments) as pool:
            return sum(pool.map(seg, range(self.segments)))

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
            resp = self.aws(self.client.batch_get_item, RequestItems=request)
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
