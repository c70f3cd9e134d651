"""Values: DynamoDB items against the contract's items (from the evaluator), attribute by attribute.

Batches of up to 100 expected items are fetched with ``BatchGetItem`` (strongly consistent) and
compared after canonicalisation (:mod:`.compare`). Items that differ, or are missing, become
*suspects* (at most ``SUSPECTS_MAX`` per table): their view rows are then read to tell a DynamoDB
difference from a view that does not match the contract (:mod:`.viewcheck`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any

from dynamigrate.runstate import JsonlWriter
from dynamigrate.validate.compare import canonical_value, compare_items, json_safe, key_string
from dynamigrate.validate.cpu import METER
from dynamigrate.validate.dynamo import DynamoSide
from dynamigrate.validate.results import Difference, EntityValidation, TableValidation
from dynamigrate.validate.viewcheck import Suspect, ViewLookup

#: items whose view row is looked up, per table (differences beyond it stay unclassified): each batch
#: of keys (viewcheck.LOOKUP_BATCH) costs one evaluation of the view, so the default mode, which runs
#: after every migration, looks up fewer than --full
SUSPECTS_MAX = 1000
SUSPECTS_MAX_SAMPLE = 200

#: (low-level key, expected item, entity)
Expected = tuple[dict[str, Any], dict[str, Any], str]


class ValueComparer:
    """Thread-safe: batches may be compared by several workers at once."""

    def __init__(
        self,
        dyn: DynamoSide,
        result: TableValidation,
        ignore: frozenset[str],
        max_listed: int,
        diff_writer: JsonlWriter | None = None,
        *,
        count_missing: bool = False,
        json_text: Mapping[str, frozenset[str]] | None = None,
        max_suspects: int = SUSPECTS_MAX,
        ambiguous_keys: frozenset[str] = frozenset(),
    ):
        self.dyn = dyn
        self.r = result
        self.ignore = ignore
        self.max_listed = max_listed
        self.diff_writer = diff_writer
        #: sample mode: a sampled item missing in DynamoDB is counted here (no key set covers it)
        self.count_missing = count_missing
        self.json_text = dict(json_text or {})
        self.max_suspects = max_suspects
        #: keys (``key_string``) that several source rows produce (the load's ``duplicates/<T>.jsonl``):
        #: the item is the first such row's, so one row's evaluation cannot judge it; not compared
        self.ambiguous_keys = ambiguous_keys
        self.not_compared_duplicates = 0
        self.sampled_missing: list[Expected] = []
        self.suspects: list[Suspect] = []
        self._diffs_by_key: dict[str, list[Difference]] = {}
        self._lock = threading.Lock()

    def compare(self, batch: list[Expected]) -> None:
        with METER.measured():
            self._compare(batch)

    def _compare(self, batch: list[Expected]) -> None:
        unique: dict[str, Expected] = {}
        skipped = 0
        for key, item, entity in batch:
            ks = key_string(key)
            if ks in self.ambiguous_keys:
                skipped += 1
                continue
            unique.setdefault(ks, (key, item, entity))  # BatchGetItem refuses duplicates
        if skipped:
            with self._lock:
                self.not_compared_duplicates += skipped
        actual = self.dyn.get_many([v[0] for v in unique.values()])
        compared = exact = 0
        diffs: list[tuple[str, Difference]] = []
        suspects: list[Suspect] = []
        missing: list[Expected] = []
        per_entity: dict[str, tuple[int, int]] = {}
        for ks, (key, item, entity) in unique.items():
            got = actual.get(ks)
            if got is None:
                missing.append((key, item, entity))
                suspects.append(Suspect(entity, key, item, None))
                continue
            compared += 1
            found = compare_items(item, got, self.ignore, self.json_text.get(entity, ()))
            c, x = per_entity.get(entity, (0, 0))
            per_entity[entity] = (c + 1, x + (0 if found else 1))
            if not found:
                exact += 1
                continue
            suspects.append(Suspect(entity, key, item, got))
            jkey = json_safe(key)
            for a in found:
                diffs.append(
                    (
                        ks,
                        Difference(
                            jkey, a.attribute, a.kind, json_safe(a.expected), json_safe(a.actual), entity
                        ),
                    )
                )
        with self._lock:
            r = self.r
            r.compared += compared
            r.exact_compared += exact
            r.mismatched += compared - exact
            r.differences_total += len(diffs)
            room = self.max_listed - len(r.differences)
            if room > 0:
                for ks, d in diffs[:room]:
                    r.differences.append(d)
                    self._diffs_by_key.setdefault(ks, []).append(d)
            if self.diff_writer is not None and diffs:
                self.diff_writer.write_many([asdict(d) for _, d in diffs])
            room = self.max_suspects - len(self.suspects)
            if room > 0:
                self.suspects.extend(suspects[:room])
            if self.count_missing:
                self.sampled_missing.extend(missing)
            for entity, (c, x) in per_entity.items():
                ev = r.entities.setdefault(entity, EntityValidation(entity))
                ev.compared += c
                ev.exact += x
                ev.mismatched += c - x

    def judge_views(self, lookup: ViewLookup, *, count: bool = True) -> None:
        """Look up the suspects' view rows: record where the view does not match the contract, and
        mark each listed DynamoDB difference with whether the view holds the same value.
        ``count=False``: the whole view was compared already (:mod:`.viewfull`); only mark."""
        if not self.suspects:
            return
        r = self.r
        verdicts = lookup.judge(self.suspects)
        if count:
            r.view_checked += len(self.suspects)
        for s, v in zip(self.suspects, verdicts, strict=True):
            if v.mismatches and count:
                r.view_mismatched += 1
                room = self.max_listed - len(r.view_mismatches)
                if room > 0:
                    r.view_mismatches.extend(v.mismatches[:room])
            if v.mismatches and _as_view(s, v.view_item, self.ignore, self.json_text.get(s.entity, ())):
                r.ddb_as_view += 1
            listed = self._diffs_by_key.get(key_string(s.key), [])
            if s.actual is None or not listed:
                continue
            for d in listed:
                # the view holds what DynamoDB holds: the load copied the view faithfully
                if v.view_item is None:
                    d.view_agrees = False
                    continue
                a, b = s.actual.get(d.attribute), v.view_item.get(d.attribute)
                d.view_agrees = (a is None and b is None) or (
                    a is not None and b is not None and canonical_value(a) == canonical_value(b)
                )


def _as_view(
    s: Suspect, view_item: dict[str, Any] | None, ignore: frozenset[str], json_text: Iterable[str]
) -> bool:
    """DynamoDB holds exactly what the view computes for this item (nothing, when the view has no
    item): the load copied the view faithfully, the difference is the view's."""
    if s.actual is None or view_item is None:
        return s.actual is None and view_item is None
    return not compare_items(view_item, s.actual, ignore, json_text)
