"""Sync mode's last step: migration-owned items whose source row vanished (``missing_source``).

In ``sync`` mode the keys the view produced are kept in an on-disk set
(:class:`~dynamigrate.etl.local_writers.SeenKeys`, ``seen/<T>.sqlite``). After the pass, the items that
carry the marker and whose key the pass did not produce are reported, and with ``--delete-missing``
only, deleted conditionally (only while their marker is unchanged).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from dynamigrate.etl.local_writers import SeenKeys, canonical_key

if TYPE_CHECKING:
    from dynamigrate.contract.model import Table
    from dynamigrate.etl.base import EtlContext, TableResult

log = logging.getLogger(__name__)

#: How many missing-source examples a result keeps.
MISSING_EXAMPLES = 20


def check_missing(ctx: EtlContext, table: Table, client: Any, seen: SeenKeys, result: TableResult) -> None:
    """Scan the table for migration-owned items the pass did not produce; count (and delete) them."""
    marker = ctx.options.marker_attribute
    assert marker
    names = {f"#k{i}": k for i, k in enumerate(table.key_names)}
    names["#m"] = marker
    kwargs: dict[str, Any] = {
        "TableName": table.name,
        "ProjectionExpression": ", ".join(names),
        "FilterExpression": "attribute_exists(#m)",
        "ExpressionAttributeNames": names,
    }
    missing = 0
    deleted = 0
    examples: list[dict[str, Any]] = []
    delete_if_marker = None
    if ctx.options.delete_missing:
        from dynamigrate.target.writer import delete_if_marker as _dim

        delete_if_marker = _dim
    for page in scan_pages(client, kwargs):
        keyed = []
        for item in page:
            key = {k: item[k] for k in table.key_names if k in item}
            keyed.append((canonical_key(key), key, item.get(marker, {}).get("S")))
        gone = seen.missing([k for k, _, _ in keyed])
        for text, key, mark in keyed:
            if text not in gone:
                continue
            missing += 1
            if len(examples) < MISSING_EXAMPLES:
                examples.append({"key": json.loads(text), "marker": mark})
            if delete_if_marker is None or mark is None:
                continue
            outcome = delete_if_marker(client, table.name, key, mark, marker_attribute=marker)
            if outcome:
                deleted += 1
                # rollback puts it back while still absent (docs/rollback.md): keep its image
                _record_deleted(ctx, table.name, key, outcome.old_item)
    result.missing_source = missing
    result.missing_examples = examples
    result.deleted_missing = deleted
    if missing:
        what = (
            f"{deleted} deleted (--delete-missing)"
            if ctx.options.delete_missing
            else "kept; rerun with --delete-missing to delete them"
        )
        log.warning(
            "table %s: %d migration-owned item(s) have no source row any more: %s",
            table.name,
            missing,
            what,
            extra={"fields": {"table": table.name, "missing_source": missing}},
        )
    ctx.run.event("missing_source", table=table.name, missing=missing, deleted=deleted, examples=examples[:5])


def _record_deleted(
    ctx: EtlContext, table: str, key: dict[str, Any], old_item: dict[str, Any] | None
) -> None:
    import time

    from dynamigrate.target.encode import key_for_report

    if not old_item:
        return
    record = {"key": key_for_report(key), "old": key_for_report(old_item), "deleted": True, "ts": time.time()}
    ctx.run.append(ctx.run.old_images_file(table), record)


def scan_pages(client: Any, kwargs: dict[str, Any]) -> Iterator[list[dict[str, Any]]]:
    """The pages of a Scan (``kwargs``), each retried by the usual policy."""
    from botocore.exceptions import ClientError

    from dynamigrate.target.retry import RetryPolicy, terminal_error

    policy = RetryPolicy()
    start: dict[str, Any] | None = None
    while True:
        args = dict(kwargs)
        if start:
            args["ExclusiveStartKey"] = start
        try:
            resp = policy.call(client.scan, what=f"Scan {kwargs['TableName']}", **args)
        except ClientError as exc:
            raise terminal_error(exc, table=kwargs["TableName"]) from None
        yield resp.get("Items", [])
        start = resp.get("LastEvaluatedKey")
        if not start:
            return
