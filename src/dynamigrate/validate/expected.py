"""The expected items, from the reference evaluator (:mod:`dynamigrate.evaluate`), never from the views.

The evaluator computes each item from the base tables exactly as the contract format defines it and
shares no code with the SQL generator; this module only adapts its rows (``EvalRow``) to what
validation needs: the entity, the item's table key, the item, or the reason the row is rejected.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from dynamigrate.contract.model import Contract, Entity, Table


@dataclass
class ExpectedRow:
    entity: str
    source_key: Any
    item: dict[str, Any] | None  # low-level DynamoDB JSON, no marker
    rejection: str | None  # reject code (item None)
    rejection_text: str | None = None
    #: a rejected row's table key when the contract computes it (a non-key attribute rejects the row);
    #: None for a row whose key itself fails (no item can have it) and for items (see :meth:`key`)
    rejected_key: dict[str, Any] | None = None

    def key(self, key_names: Iterable[str]) -> dict[str, Any]:
        item = self.item or {}
        return {k: item[k] for k in key_names if k in item}


def _expected_row(entity: str, row: Any) -> ExpectedRow:
    """An ``EvalRow`` (source_key, item, rejection text, code) as validation sees it."""
    if row.rejection is not None or row.item is None:
        code = row.code or "rejected"
        key = getattr(row, "key", None)
        return ExpectedRow(
            entity, row.source_key, None, code, row.rejection or code, dict(key) if key else None
        )
    return ExpectedRow(entity, row.source_key, dict(row.item), None)


class ExpectedItems:
    """The evaluator of one table, seen by validation."""

    def __init__(self, evaluator: Any, table: Table):
        self.evaluator = evaluator
        self.table = table

    def chunks(self, entity: Entity, chunk_rows: int = 1000) -> Iterator[list[ExpectedRow]]:
        """Every source row of ``entity`` (its filter applied), in chunks of at most ``chunk_rows``."""
        batch: list[ExpectedRow] = []
        for got in self.evaluator.iter_items(entity, chunk_rows):
            rows = got if isinstance(got, list | tuple) else [got]
            batch.extend(_expected_row(entity.entity_type, r) for r in rows)
            if len(batch) >= chunk_rows:
                yield batch
                batch = []
        if batch:
            yield batch

    def sample(self, entity: Entity, n: int, seed: int) -> list[ExpectedRow]:
        """``n`` uniformly random source rows of ``entity`` (all of them when it has fewer)."""
        if n <= 0:
            return []
        rows = self.evaluator.sample(entity, n, seed)
        return [_expected_row(entity.entity_type, r) for r in rows]

    def close(self) -> None:
        close = getattr(self.evaluator, "close", None)
        if callable(close):
            close()


def allocate(sizes: dict[str, int], n: int, rng: random.Random) -> dict[str, int]:
    """Split a sample of ``n`` rows over entities in proportion to their row counts (largest
    remainder, ties broken at random); every row when the entities hold ``n`` rows or fewer."""
    total = sum(sizes.values())
    if total <= n:
        return dict(sizes)
    exact = {e: n * s / total for e, s in sizes.items()}
    out = {e: int(x) for e, x in exact.items()}
    left = n - sum(out.values())
    order = sorted(sizes, key=lambda e: (-(exact[e] - out[e]), rng.random()))
    for e in order[:left]:
        out[e] += 1
    return out


def open_expected(cfg: Any, contract: Contract, table: Table, database: str) -> ExpectedItems:
    """The reference evaluator for ``table``, on plain connections to the source database."""
    from dynamigrate.evaluate import Evaluator
    from dynamigrate.source.connect import connect

    def conn_factory() -> Any:
        return connect(cfg.mysql, database)

    return ExpectedItems(Evaluator(conn_factory, contract, table), table)


ExpectedFactory = Callable[[Any, Contract, Table, str], ExpectedItems]
