"""Remove the migration's marker attribute after cut-over, only from items nobody changed.

For every item carrying the marker (a Scan filtered on ``attribute_exists(marker)``) the content
fingerprint (everything but the marker) is recomputed: if it equals the fingerprint in the marker, the
item is exactly as the migration wrote it and the marker is removed with a conditional
``UpdateItem REMOVE #m`` (``#m = :marker``, so a write racing with us keeps its marker). Items changed
since the migration wrote them keep their marker and are counted as ``changed`` (someone should look
at them before the marker goes: sync and rollback rely on it).

Once the markers are gone, later ``sync`` runs treat every item as someone else's and precise rollback
is no longer possible; run this only after cut-over.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.target.encode import Item, fingerprint, parse_marker
from dynamigrate.target.retry import RetryPolicy
from dynamigrate.target.writer import remove_marker_if_unchanged

log = logging.getLogger(__name__)


@dataclass
class MarkerRemoval:
    table: str
    scanned: int = 0
    removed: int = 0
    changed: int = 0
    raced: int = 0
    skipped_other_runs: int = 0
    would_remove: int = 0
    changed_keys: list[Item] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "scanned": self.scanned,
            "removed": self.removed,
            "would_remove": self.would_remove,
            "changed": self.changed,
            "raced": self.raced,
            "skipped_other_runs": self.skipped_other_runs,
        }


def scan_marked(
    client: Any, table_name: str, marker_attribute: str, policy: RetryPolicy | None = None
) -> Iterator[Item]:
    """Every item of ``table_name`` carrying the marker attribute (consistent, paginated scan)."""
    policy = policy or RetryPolicy()
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "FilterExpression": "attribute_exists(#m)",
        "ExpressionAttributeNames": {"#m": marker_attribute},
        "ConsistentRead": True,
    }
    while True:
        resp = policy.call(client.scan, what=f"Scan {table_name}", **kwargs)
        yield from resp.get("Items", [])
        last = resp.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def remove_markers(
    client: Any,
    table_name: str,
    key_names: tuple[str, ...] | list[str],
    marker_attribute: str = "_dm_marker",
    run: str | None = None,
    dry_run: bool = False,
    concurrency: int = 8,
    keep_changed_keys: int = 100,
) -> MarkerRemoval:
    """Remove markers from unchanged items of ``table_name`` (only markers of ``run`` when given)."""
    policy = RetryPolicy()
    out = MarkerRemoval(table=table_name)
    lock = threading.Lock()

    def remove(key: Item, marker: str) -> None:
        outcome = remove_marker_if_unchanged(client, table_name, key, marker, marker_attribute, policy)
        with lock:
            if outcome == "removed":
                out.removed += 1
            else:
                out.raced += 1

    workers = max(1, concurrency)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # a bounded number of removals in flight: a table of millions of items must not queue a
        # future per item while the scan runs ahead
        pending: set[Future[None]] = set()
        for item in scan_marked(client, table_name, marker_attribute, policy):
            out.scanned += 1
            parsed = parse_marker(item.get(marker_attribute))
            if parsed is None:
                out.changed += 1
                continue
            if run is not None and parsed[0] != run:
                out.skipped_other_runs += 1
                continue
            key = {k: item[k] for k in key_names}
            if fingerprint(item, marker_attribute) != parsed[1]:
                out.changed += 1
                if len(out.changed_keys) < keep_changed_keys:
                    out.changed_keys.append(key)
                continue
            if dry_run:
                out.would_remove += 1
                continue
            if len(pending) >= workers * 4:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    f.result()
            pending.add(pool.submit(remove, key, item[marker_attribute]["S"]))
        for f in pending:
            f.result()
    log.info("markers on %s: %s", table_name, out.as_dict())
    return out
