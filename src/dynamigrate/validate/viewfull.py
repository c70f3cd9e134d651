"""``--full``: the whole view against the contract, item by item, through the key set.

Every view row is read and encoded exactly as the ETL does, and its key and item digest
(:func:`~dynamigrate.validate.compare.item_digest`) go into the key set (table ``vw``). As the
evaluator streams the contract's items, each chunk's digests are compared with the view's: an item
the view lacks or computes differently is a view that does not match the contract, whatever DynamoDB
holds. View rows whose key the contract never produces are found by SQL at the end. The first
``SUSPECTS_MAX`` items are looked up again to name the attribute (:mod:`.viewcheck`).

So ``--full`` is a differential test of the real views on the real data, in every full validation:
it finds a view that is wrong where DynamoDB is right (a view changed or regenerated after the load),
which the suspects of the DynamoDB comparison alone cannot show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dynamigrate.config import Config
from dynamigrate.contract.model import Table
from dynamigrate.validate.compare import item_digest, json_safe
from dynamigrate.validate.keyset import KeySetStore
from dynamigrate.validate.results import TableValidation, ViewMismatch
from dynamigrate.validate.values import SUSPECTS_MAX
from dynamigrate.validate.viewcheck import Suspect, open_lookup


class ViewDigests:
    def __init__(
        self,
        cfg: Config,
        table: Table,
        database: str,
        store: KeySetStore,
        ignore: frozenset[str],
        json_text: Mapping[str, frozenset[str]],
    ):
        self.cfg = cfg
        self.table = table
        self.database = database
        self.store = store
        self.ignore = ignore
        self.json_text = dict(json_text)
        self.rows = 0  # view rows read
        self.rejected = 0  # view rows the encoder rejects (no key to compare by)
        self.checked = 0  # contract items compared with the view
        self.mismatched = 0  # contract items the view lacks or computes differently
        self.suspects: list[Suspect] = []

    def load(self) -> None:
        """Read the whole view (the ETL's reader and encoder) into the key set."""
        from dynamigrate.source.reader import ViewReader
        from dynamigrate.target.encode import ItemEncoder
        from dynamigrate.validate.compare import key_string

        keep = [n for n, t in self.table.attribute_types().items() if t in ("B", "BS", "BOOL")]
        encoder = ItemEncoder(self.table, self.cfg.migration.marker_attribute)
        with ViewReader(
            self.cfg.mysql, self.table.view_name, database=self.database, keep_bytes=keep
        ) as reader:
            entities = [e.entity_type for e in self.table.entities] if reader.has_entity else [None]
            for entity in entities:
                for chunk in reader.iter_entity(entity):
                    batch = []
                    for row in chunk.rows:
                        self.rows += 1
                        enc = encoder.encode(row)
                        if enc.rejected or enc.item is None:
                            self.rejected += 1
                            continue
                        name = enc.entity or entity or ""
                        digest = item_digest(enc.item, self.ignore, self.json_text.get(str(name), ()))
                        batch.append((key_string(enc.key), name or None, digest))
                    self.store.add_view(batch)
        self.store.commit()

    def check(self, items: list[tuple[str, dict[str, Any], dict[str, Any], str]]) -> None:
        """Compare a chunk of the contract's items ``(key text, key, item, entity)`` with the view's."""
        if not items:
            return
        have = self.store.view_digests([ks for ks, _, _, _ in items])
        for ks, key, item, entity in items:
            self.checked += 1
            if have.get(ks) == item_digest(item, self.ignore, self.json_text.get(entity, ())):
                continue
            self.mismatched += 1
            if len(self.suspects) < SUSPECTS_MAX:
                self.suspects.append(Suspect(entity, key, item, None))

    def extra(self, limit: int) -> tuple[int, list[tuple[dict[str, Any], str | None]]]:
        """View rows the contract does not produce: (count, first ``limit`` keys with their entity)."""
        count = self.store.view_extra_count()
        return count, [(json_safe(k), e) for k, e in self.store.view_extra(limit)] if count else []

    def record(self, r: TableValidation, max_listed: int) -> None:
        """Into the table's result: items compared, view mismatches (extra view rows included), and the
        first suspects looked up again by key to name the attribute."""
        extra, extra_keys = self.extra(max_listed)
        r.view_checked = self.checked + extra
        r.view_mismatched = self.mismatched + extra
        for key, entity in extra_keys:
            r.view_mismatches.append(ViewMismatch(key, entity, "unexpected_row"))
        if not self.suspects:
            return
        with open_lookup(self.cfg, self.table, self.database, self.ignore) as lookup:
            verdicts = lookup.judge(self.suspects)
        for v in verdicts:
            if not v.mismatches:
                r.view_mismatched -= 1  # the digests differed on a spelling the comparison accepts
                continue
            room = max_listed - len(r.view_mismatches)
            if room > 0:
                r.view_mismatches.extend(v.mismatches[:room])
