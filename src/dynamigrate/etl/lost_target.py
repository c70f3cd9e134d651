"""Resume only onto a target that still holds what the checkpoints say was written.

A checkpoint says "everything up to key K is in DynamoDB". That stops being true when the table was
deleted (and created again, empty, by the tables phase of the resumed run), or when the endpoint lost
its data (DynamoDB Local in memory restarted). Resuming after K would then report a complete table
that holds only what came after K. Before a resumed table continues, a sample of the keys this run
recorded as written (``written/<T>.jsonl``, spread over the whole file) is read back with consistent
BatchGetItem; when more than :data:`LOST_FRACTION` of them are gone, the table is reloaded from its
start instead (writes are conditional and idempotent, so a reload is always safe).
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: how many written keys are read back at most
SAMPLE_KEYS = 200
#: more than this fraction of the sampled keys missing: the target lost its data
LOST_FRACTION = 0.1


@dataclass(frozen=True)
class TargetCheck:
    checked: int
    missing: int

    @property
    def lost(self) -> bool:
        return self.checked > 0 and self.missing > self.checked * LOST_FRACTION

    def describe(self) -> str:
        return f"{self.missing} of {self.checked} sampled items this run wrote are no longer in the table"


def _low_level(key: dict[str, Any]) -> dict[str, Any]:
    """A key as written/<T>.jsonl keeps it (binary as base64 text) back in the low-level form."""
    out: dict[str, Any] = {}
    for name, av in key.items():
        ((t, v),) = av.items()
        out[name] = {"B": base64.b64decode(v)} if t == "B" else {t: v}
    return out


def sample_written_keys(path: Path, limit: int = SAMPLE_KEYS) -> list[dict[str, Any]]:
    """Up to ``limit`` distinct keys spread evenly over the written-keys log (two passes, bounded memory)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        total = sum(1 for _ in fh)
    if total == 0:
        return []
    step = max(1, total // limit)
    keys: dict[str, dict[str, Any]] = {}
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            if i % step or not line.strip():
                continue
            try:
                key = json.loads(line)["key"]
            except (ValueError, KeyError, TypeError):
                continue  # a torn last line of a killed run
            keys[json.dumps(key, sort_keys=True)] = key
            if len(keys) >= limit:
                break
    return [_low_level(k) for k in keys.values()]


def check_target(client: Any, table: str, written_log: Path) -> TargetCheck:
    """Read back a sample of the keys written so far; how many are gone."""
    from botocore.exceptions import ClientError

    from dynamigrate.target.retry import RetryPolicy, table_error, unprocessed_keys_error

    keys = sample_written_keys(written_log)
    if not keys:
        return TargetCheck(0, 0)
    policy = RetryPolicy()
    found = 0
    for i in range(0, len(keys), 100):
        request: dict[str, Any] = {table: {"Keys": keys[i : i + 100], "ConsistentRead": True}}
        attempt = 1
        while request:
            try:
                resp = policy.call(
                    client.batch_get_item, RequestItems=request, what=f"BatchGetItem on {table}"
                )
            except ClientError as exc:
                raise table_error(exc, table=table) from None
            found += len(resp.get("Responses", {}).get(table, []))
            request = resp.get("UnprocessedKeys") or {}
            if request:
                if attempt >= policy.max_attempts:  # a cap, like every other retry
                    raise unprocessed_keys_error(table, request, attempt)
                policy.backoff(attempt, "throttle", "UnprocessedKeys")
                attempt += 1
    return TargetCheck(len(keys), len(keys) - found)
