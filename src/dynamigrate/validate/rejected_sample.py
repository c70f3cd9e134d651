"""Sampled source rows the contract rejects: does DynamoDB hold an item THIS run wrote for their key?

A row the contract rejects (a value invalid for its type, an item over 400 KB...) has no item. When
the views and the encoder accept it anyway, the load writes an item the contract forbids: silent wrong
data that comparing the sampled *items* never sees (a rejected row has none). The evaluator keeps the
table key of a row rejected by a non-key attribute (``ExpectedRow.rejected_key``); this module looks
those keys up with ``BatchGetItem`` and judges what it finds:

* the run recorded the row as rejected too (a key in ``rejected.jsonl``): the expected case, not
  looked up (an item there is another row's);
* an item carrying this run's marker: the run wrote an item for a row the contract rejects, a
  **difference** (listed with its key and the reason, counted in the score);
* an item without a marker, or with an earlier run's: not this run's write (the application's own, or
  left by an earlier run), a **warning**, as extra items are;
* a row rejected by its key itself (NULL, empty, too long): no item can have that key; counted as
  ``sampled_rejected_unverifiable``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dynamigrate.runstate import JsonlWriter, RunDir
from dynamigrate.target.encode import parse_marker
from dynamigrate.validate.compare import json_safe, key_string
from dynamigrate.validate.dynamo import DynamoSide
from dynamigrate.validate.expected import ExpectedRow
from dynamigrate.validate.results import TableValidation

#: the kind of the difference records written to ``validation/<T>.differences.jsonl``
KIND = "rejected_row_written"


def loose_key(key: Mapping[str, Any]) -> str:
    """A key's values as text, whatever their type tag: the encoder's key of a rejected row may hold a
    key attribute it had not converted yet as ``{"S": <raw text>}`` (an N key as ``{"S": "12.50"}``)
    and binary as base64 text (``rejected.jsonl``)."""
    out: dict[str, str] = {}
    for name, value in key.items():
        raw = next(iter(value.values()), None) if isinstance(value, Mapping) and value else value
        if isinstance(raw, bytes | bytearray):
            text = base64.b64encode(bytes(raw)).decode("ascii")
        else:
            text = str(raw)
            try:
                number = Decimal(text)
            except (InvalidOperation, ValueError):
                number = None
            if number is not None and number.is_finite():
                text = format(number.normalize(), "f") if number else "0"
        out[name] = text
    return json.dumps(out, sort_keys=True, ensure_ascii=False)


def run_rejected_keys(run: RunDir | None, table: str, wanted: Iterable[str]) -> set[str]:
    """The :func:`loose_key` texts among ``wanted`` that ``rejected.jsonl`` records for ``table``."""
    want = set(wanted)
    found: set[str] = set()
    if run is None or not want:
        return found
    for line in run.read_lines("rejected.jsonl"):
        key = line.get("key")
        if str(line.get("table")) == table and isinstance(key, Mapping) and key:
            text = loose_key(key)
            if text in want:
                found.add(text)
    return found


def check_rejected(
    rows: Iterable[ExpectedRow],
    *,
    dyn: DynamoSide,
    result: TableValidation,
    run: RunDir | None,
    table: str,
    marker: str | None,
    max_listed: int,
    diff_writer: JsonlWriter | None = None,
) -> None:
    """Look up the keys of the sampled rows the contract rejects; record what :mod:`this module
    <dynamigrate.validate.rejected_sample>` describes into ``result``."""
    r = result
    keyed: list[ExpectedRow] = []
    for row in rows:
        r.sampled_rejected += 1
        if row.rejected_key:
            keyed.append(row)
        else:
            r.sampled_rejected_unverifiable += 1
    if not keyed:
        return
    recorded = run_rejected_keys(run, table, (loose_key(row.rejected_key or {}) for row in keyed))
    lookup = [row for row in keyed if loose_key(row.rejected_key or {}) not in recorded]
    r.sampled_rejected_by_run += len(keyed) - len(lookup)
    if not lookup:
        return
    found = dyn.get_many([row.rejected_key or {} for row in lookup])
    run_id = run.run_id if run is not None else None
    seen: set[str] = set()
    records: list[dict[str, Any]] = []
    for row in lookup:
        key = row.rejected_key or {}
        ks = key_string(key)
        item = found.get(ks)
        if item is None or ks in seen:
            continue
        seen.add(ks)
        parsed = parse_marker(item.get(marker)) if marker else None
        if run_id is None or parsed is None or parsed[0] != run_id:
            r.rejected_present_other += 1
            continue
        r.rejected_written += 1
        record = {
            "key": json_safe(key),
            "attribute": None,
            "kind": KIND,
            "expected": None,  # the contract: no item
            "actual": item.get(marker) if marker else None,
            "entity": row.entity,
            "code": row.rejection,
            "reason": row.rejection_text or row.rejection,
        }
        records.append(record)
        if len(r.rejected_written_keys) < max_listed:
            r.rejected_written_keys.append(record)
    if diff_writer is not None and records:
        diff_writer.write_many(records)
