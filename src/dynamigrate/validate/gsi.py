"""GSI entries of a sample of items: each index (as DescribeTable reports it) is queried by the item's
index key values; the entry must be there with the index's projected attributes equal to the table
item's. Items with absent/empty index keys are expected *not* to be indexed (sparse index)."""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

from dynamigrate.contract.model import Table
from dynamigrate.validate.compare import canonical_value, json_safe, key_string, projected_names
from dynamigrate.validate.dynamo import DynamoSide
from dynamigrate.validate.results import GsiProblem, GsiResult, TableValidation

#: GSI queries in flight per index
QUERY_THREADS = 8

#: (low-level key, expected low-level item, entity) of one sampled item
Sampled = tuple[dict[str, Any], dict[str, Any], str]


def check_gsis(
    dyn: DynamoSide,
    table: Table,
    rows: list[Sampled],
    described: dict[str, Any],
    r: TableValidation,
    ignore: frozenset[str],
    max_listed: int,
) -> None:
    if not table.gsis:
        return
    actual_gsis = {g["IndexName"]: g for g in described.get("GlobalSecondaryIndexes") or []}
    table_items = dyn.get_many([k for k, _, _ in rows]) if rows else {}
    for gsi in table.gsis:
        desc = actual_gsis.get(gsi.index_name)
        if desc is None:
            r.gsis.append(GsiResult(gsi.index_name, gsi.projection))
            r.gsi_problems.append(GsiProblem(gsi.index_name, {}, {}, "index_missing"))
            continue
        index_keys = [k["AttributeName"] for k in desc["KeySchema"]]
        projection = desc.get("Projection") or {"ProjectionType": "ALL"}
        res = GsiResult(gsi.index_name, projection.get("ProjectionType", "ALL"))
        r.gsis.append(res)
        checks: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = []
        for key, item, _entity in rows:
            table_item = table_items.get(key_string(key))
            if table_item is None:
                continue  # the item itself is missing: reported by the key sets, not here
            if any(item.get(k) is None for k in index_keys):
                res.not_indexed += 1
                continue
            checks.append((key, {k: item[k] for k in index_keys}, table_item))
        # one Query per sampled item, QUERY_THREADS at a time (a miss waits and asks again)
        with cf.ThreadPoolExecutor(max(1, min(QUERY_THREADS, len(checks)))) as pool:
            name = gsi.index_name
            entries = list(pool.map(lambda c, name=name: dyn.query_index(name, c[1], c[0]), checks))
        for (key, ikey, table_item), entry in zip(checks, entries, strict=True):
            res.checked += 1
            if entry is None:
                res.missing += 1
                if len(r.gsi_problems) < max_listed:
                    r.gsi_problems.append(
                        GsiProblem(gsi.index_name, json_safe(key), json_safe(ikey), "missing_entry")
                    )
                continue
            res.found += 1
            names = projected_names(projection, [*table.key_names, *index_keys], table_item)
            for name in names:
                if name in ignore and name not in entry and name not in table_item:
                    continue
                a, b = table_item.get(name), entry.get(name)
                if (a is None) != (b is None) or (
                    a is not None and b is not None and canonical_value(a) != canonical_value(b)
                ):
                    res.projection_mismatches += 1
                    if len(r.gsi_problems) < max_listed:
                        r.gsi_problems.append(
                            GsiProblem(
                                gsi.index_name,
                                json_safe(key),
                                json_safe(ikey),
                                "projection_mismatch",
                                name,
                                json_safe(a),
                                json_safe(b),
                            )
                        )
