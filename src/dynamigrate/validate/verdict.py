"""The verdict and score of one table, from its figures (pure).

* ``full``: score = items equal to the contract's / expected items (basis "every item").
* ``sample``: score = items present / expected × share of sampled items equal to the contract's
  (basis "counts + keys + N sampled items"; "keys" only when the load recorded its keys).
* ``counts``: no score. Counts that agree prove no value, so they are never shown as integrity.

A table **fails** on: base-table rows the load did not account for (or more rows than the base tables
hold), keys missing in DynamoDB, items differing from the contract, views that do not match the
contract, GSI entries missing or differing, an index missing. **Warnings**: extra items, rejected
rows, duplicate keys. A table whose validation could not run is **not validated** (no score).
"""

from __future__ import annotations

from dynamigrate.validate.results import TableValidation, basis_text


def decide(r: TableValidation, mode: str, *, keys: bool, sample: int) -> None:
    r.basis = basis_text(
        mode, keys=r.recorded_keys is not None or (mode == "full" and keys), sampled=r.sampled
    )
    if r.error:
        r.passed = False
        r.score = None
        return
    if r.values_error:
        r.basis = ("counts + keys" if r.recorded_keys is not None else "counts") + "; values not validated"
    shortfall = 0
    if r.load_rows is not None and r.load_rows != r.source_rows:
        if r.load_rows < r.source_rows:
            shortfall = r.source_rows - r.load_rows
            r.problems.append(
                f"the base tables hold {r.source_rows} source row(s), the load accounted for {r.load_rows}: "
                f"{shortfall} row(s) became neither an item nor a rejected row (the view drops rows the "
                "contract migrates, or rows were added since the load)"
            )
        else:
            r.problems.append(
                f"the load accounted for {r.load_rows} row(s), the base tables hold {r.source_rows}: the "
                "view gives more rows than the contract (a join or construction multiplies rows), or rows "
                "were deleted since the load"
            )
    for ev in r.entities.values():
        if ev.load_rows is not None and ev.load_rows != ev.source_rows:
            r.problems.append(
                f"entity {ev.entity}: {ev.source_table or 'its source table'} holds {ev.source_rows} row(s), "
                f"the load accounted for {ev.load_rows}"
            )
    present_known = r.missing is not None
    if present_known:
        r.present = r.expected - (r.missing or 0)
    if r.values_error:
        r.score = None
    elif mode == "full":
        r.exact = r.exact_compared
        r.score = (r.exact / r.expected) if r.expected else 1.0
    elif mode == "sample":
        present = r.expected - (r.missing or 0) - shortfall
        if r.missing is None and r.ddb_count is not None:
            present = min(present, r.ddb_count)
        migrated = _migrated_items(r)
        if migrated is not None:
            present = min(present, migrated)
        present = max(0, present)
        sampled_missing = r.sampled_missing
        # a sampled row the contract rejects whose key holds an item this run wrote: a wrong item
        looked = r.compared + sampled_missing + r.rejected_written
        frac = (r.exact_compared / looked) if looked else 1.0
        r.exact = round(present * frac)
        r.score = (present * frac / r.expected) if r.expected else 1.0
        if sampled_missing:
            r.problems.append(f"{sampled_missing} sampled item(s) missing in DynamoDB")
    else:
        r.score = None
    if r.missing:
        r.problems.append(
            f"{r.missing} "
            + (
                "item(s) the load wrote are missing in DynamoDB"
                if r.recorded_keys is not None
                else "expected item(s) missing in DynamoDB"
            )
        )
    if r.mismatched:
        r.problems.append(
            f"{r.mismatched} item(s) in DynamoDB differ from the contract ({r.differences_total} attribute "
            "difference(s))"
        )
    if r.rejected_written:
        r.problems.append(
            f"{r.rejected_written} sampled source row(s) the contract rejects have an item this run wrote "
            "in DynamoDB (the view and the encoder accepted what the contract rejects, or the row changed "
            "since the load); see rejected_written_keys"
        )
    if r.view_mismatched:
        copied = (
            f"; DynamoDB holds exactly the view's item for {r.ddb_as_view} of them (the load copied the view)"
            if r.ddb_as_view
            else ""
        )
        r.problems.append(
            f"the view does not match the contract for {r.view_mismatched} of {r.view_checked} item(s) looked "
            "up (a view generator or SQL dialect bug: the load copies what the view says; see view_mismatches)"
            + copied
        )
    gsi_missing = sum(g.missing for g in r.gsis)
    if gsi_missing:
        r.problems.append(f"{gsi_missing} sampled item(s) missing from a GSI")
    proj = sum(g.projection_mismatches for g in r.gsis)
    if proj:
        r.problems.append(f"{proj} GSI projection difference(s)")
    for p in r.gsi_problems:
        if p.kind == "index_missing":
            r.problems.append(f"the table has no index {p.index} (the contract defines it)")
    migrated = _migrated_items(r)
    if migrated is not None and migrated < r.expected and not r.missing:
        r.problems.append(
            f"DynamoDB holds {migrated} migrated item(s) (written by this run or left by an earlier one), "
            f"{r.expected} expected"
        )
    if r.missing is None and r.ddb_count is not None and r.ddb_count < r.expected:
        r.problems.append(f"DynamoDB holds {r.ddb_count} item(s), {r.expected} expected")
    if r.extra:
        r.warnings.append(
            f"{r.extra} DynamoDB item(s) have no source row"
            + (" the load recorded" if r.recorded_keys is not None else "")
            + f" ({r.extra_marked} with a migration marker, {r.extra_unmarked} without: the application's own "
            "writes?)"
        )
    if r.rejected_present_other:
        r.warnings.append(
            f"{r.rejected_present_other} sampled source row(s) the contract rejects have an item in "
            "DynamoDB this run did not write (no migration marker: the application's own writes?, or an "
            "earlier run's)"
        )
    if r.missing is None and r.ddb_count is not None and r.ddb_count > r.expected:
        r.warnings.append(f"DynamoDB holds {r.ddb_count - r.expected} item(s) more than expected")
    if r.rejected:
        by = ", ".join(f"{k} {v}" for k, v in sorted(r.rejected_by_code.items()))
        r.warnings.append(f"{r.rejected} source row(s) cannot become items ({by}); see rejected.jsonl")
    if r.duplicate_keys:
        r.warnings.append(
            f"{r.duplicate_keys} source row(s) produce a key another row already produces "
            "(only one item can exist per key)"
        )
    r.passed = not r.problems


def _migrated_items(r: TableValidation) -> int | None:
    """Items the migration accounts for when the keys come from the load's record: the recorded ones
    present plus those an earlier run wrote (None in other modes)."""
    if r.recorded_keys is None or r.ddb_count is None or r.extra is None:
        return None
    return r.ddb_count - r.extra
