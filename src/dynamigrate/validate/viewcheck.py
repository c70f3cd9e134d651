"""Does the generated view say what the contract says, for the items where DynamoDB and the contract differ?

When an item in DynamoDB differs from the evaluator's item (or is missing), two causes are possible:
DynamoDB changed after the load (or the load lost a write), or the view itself computed the wrong
item and the load faithfully copied it (a view generator or SQL dialect bug). The view row with the
item's key, read and encoded exactly as the ETL does, tells them apart. Only suspects are looked up
(bounded), in batches of keys: ``WHERE (pk, sk) IN ((..), ..)``.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from dynamigrate.contract.model import ENTITY_COLUMN, Table
from dynamigrate.sqlgen.dialects import quote_ident
from dynamigrate.validate.compare import compare_items, json_safe, json_text_attributes, key_string
from dynamigrate.validate.results import ViewMismatch

LOOKUP_BATCH = 500


@dataclass
class Suspect:
    """An item whose DynamoDB copy differs from the contract's (``actual`` None: missing)."""

    entity: str
    key: dict[str, Any]
    expected: dict[str, Any]
    actual: dict[str, Any] | None


@dataclass
class ViewVerdict:
    """What the view row for one suspect says."""

    mismatches: list[ViewMismatch]  # the view against the contract (empty: the view agrees)
    view_item: dict[str, Any] | None  # the view's item (None: no row, or a rejected row)


def _param(value: dict[str, Any]) -> Any:
    ((t, x),) = value.items()
    if t == "B":
        return x if isinstance(x, bytes | bytearray) else base64.b64decode(x)
    return x


class ViewLookup:
    """Reads view rows by item key through the ETL's own reader connection and encoder."""

    def __init__(self, reader: Any, table: Table, encoder: Any, ignore: frozenset[str]):
        self.reader = reader
        self.table = table
        self.encoder = encoder
        self.ignore = ignore
        self.json_text = {e.entity_type: json_text_attributes(e) for e in table.entities}

    def rows_for(self, entity: str, keys: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Encoded view rows of ``entity`` with these item keys, by canonical key text."""
        names = self.table.key_names
        found: dict[str, Any] = {}
        unique = list({key_string(k): k for k in keys}.values())
        for i in range(0, len(unique), LOOKUP_BATCH):
            part = unique[i : i + LOOKUP_BATCH]
            cols = ", ".join(quote_ident(n) for n in names)
            one = "(" + ", ".join(["%s"] * len(names)) + ")"
            params: list[Any] = []
            for k in part:
                params.extend(_param(k[n]) if n in k else None for n in names)
            where = f"({cols}) IN ({', '.join([one] * len(part))})"
            if self.reader.has_entity:
                where += f" AND {quote_ident(ENTITY_COLUMN)} = %s"
                params.append(entity)
            sql = f"SELECT * FROM {quote_ident(self.table.view_name)} WHERE {where}"
            # the reader's own statement path: same connection settings and value decoding as the ETL
            for rows in self.reader._stream(sql, tuple(params)):
                for row in rows:
                    enc = self.encoder.encode(row)
                    found[key_string(enc.key)] = enc
        return found

    def judge(self, suspects: Sequence[Suspect]) -> list[ViewVerdict]:
        """One verdict per suspect, in order."""
        by_entity: dict[str, list[Suspect]] = {}
        for s in suspects:
            by_entity.setdefault(s.entity, []).append(s)
        rows: dict[tuple[str, str], Any] = {}
        for entity, group in by_entity.items():
            for ks, enc in self.rows_for(entity, [s.key for s in group]).items():
                rows[(entity, ks)] = enc
        out: list[ViewVerdict] = []
        for s in suspects:
            enc = rows.get((s.entity, key_string(s.key)))
            jkey = json_safe(s.key)
            if enc is None:
                out.append(ViewVerdict([ViewMismatch(jkey, s.entity, "missing_row")], None))
                continue
            if enc.rejected:
                reason = enc.reject_reason or enc.reject_code
                out.append(ViewVerdict([ViewMismatch(jkey, s.entity, "rejected_row", view=reason)], None))
                continue
            diffs = compare_items(s.expected, enc.item or {}, self.ignore, self.json_text.get(s.entity, ()))
            out.append(
                ViewVerdict(
                    [
                        ViewMismatch(
                            jkey, s.entity, d.kind, d.attribute, json_safe(d.expected), json_safe(d.actual)
                        )
                        for d in diffs
                    ],
                    enc.item,
                )
            )
        return out


@contextmanager
def open_lookup(cfg: Any, table: Table, database: str, ignore: frozenset[str]) -> Iterator[ViewLookup]:
    """A :class:`ViewLookup` on its own reader connection (the ETL's settings and value decoding)."""
    from dynamigrate.source.reader import ViewReader
    from dynamigrate.target.encode import ItemEncoder

    keep = [n for n, t in table.attribute_types().items() if t in ("B", "BS", "BOOL")]
    with ViewReader(cfg.mysql, table.view_name, database=database, keep_bytes=keep) as reader:
        yield ViewLookup(reader, table, ItemEncoder(table, cfg.migration.marker_attribute), ignore)
