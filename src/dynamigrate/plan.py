"""Load plan: per table, rows, average item size, write units, duration and cost estimates.

Pure estimate (:func:`estimate_table`) apart from the two queries that feed it (:func:`measure_table`:
``COUNT(*)`` on the view and a sample of rows encoded with the real item encoder).

Write units (DynamoDB rules): one write request unit (WRU) per started KB of the item, per write;
a transactional write costs twice; every GSI the item appears in (its key attributes present) costs
another write sized by what the index projects (ALL: the item; KEYS_ONLY/INCLUDE: keys plus the
included attributes, estimated). The marker attribute the migration adds is counted.

Prices are configurable (config ``plan.price_per_million_wru``, ``plan.price_per_wcu_hour``). The
defaults are the public on-demand / provisioned prices for **us-east-1, standard table class, since
2024-11-01** (the 50 % on-demand cut): 0.625 USD per million WRU, 0.00065 USD per WCU-hour. Before
that date on-demand writes cost 1.25 USD per million WRU. Other regions differ: set your region's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dynamigrate.contract.model import Table

DEFAULT_PRICE_PER_MILLION_WRU = 0.625
DEFAULT_PRICE_PER_WCU_HOUR = 0.00065
PRICE_SOURCE = "us-east-1, standard table class, AWS public prices effective 2024-11-01"
#: A new on-demand table absorbs up to 4,000 write units per second before it scales further.
ON_DEMAND_NEW_TABLE_WRU_PER_S = 4000
MARKER_BYTES = 12 + 40  # "_dm_marker" name + "<run id>:<16 hex>"


@dataclass(frozen=True)
class Prices:
    per_million_wru: float = DEFAULT_PRICE_PER_MILLION_WRU
    per_wcu_hour: float = DEFAULT_PRICE_PER_WCU_HOUR
    source: str = PRICE_SOURCE

    @classmethod
    def from_config(cls, raw: Mapping[str, Any] | None) -> Prices:
        plan = dict((raw or {}).get("plan") or {})
        return cls(
            per_million_wru=float(plan.get("price_per_million_wru", DEFAULT_PRICE_PER_MILLION_WRU)),
            per_wcu_hour=float(plan.get("price_per_wcu_hour", DEFAULT_PRICE_PER_WCU_HOUR)),
            source=str(
                plan.get("price_source", PRICE_SOURCE if "price_per_million_wru" not in plan else "config")
            ),
        )


@dataclass
class TablePlan:
    table: str
    view: str
    rows: int
    sampled: int
    avg_item_bytes: float
    max_item_bytes: int
    rejected_in_sample: int
    wru_per_item: float  # table write, averaged over the sample
    gsi_wru_per_item: float  # GSI writes, averaged
    total_wru: int
    capacity_wru_per_s: float
    seconds: float
    on_demand_usd: float
    provisioned_usd: float  # the same load at capacity_wru_per_s provisioned for its duration
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _wru(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _low_level_size(name: str, value: Mapping[str, Any]) -> int:
    from dynamigrate.target.encode import item_size

    return int(item_size({name: dict(value)}))


def item_write_units(table: Table, item: Mapping[str, Any], size: int, transact: bool) -> tuple[int, int]:
    """(table WRU, GSI WRU) of writing ``item`` (low-level) of ``size`` bytes (marker included)."""
    factor = 2 if transact else 1
    base = _wru(size) * factor
    gsi = 0
    for index in table.gsis:
        if not all(k in item for k in index.key_names):
            continue  # sparse index: the item is not in it
        if index.projection == "ALL":
            gsi += _wru(size)
        else:
            keep = set(table.key_names) | set(index.key_names) | set(index.projected_attributes)
            projected = sum(_low_level_size(k, v) for k, v in item.items() if k in keep)
            gsi += _wru(projected)
    return base, gsi


def estimate_table(
    table: Table,
    rows: int,
    sample: Iterable[Any],
    *,
    transact: bool = False,
    capacity_wru_per_s: float = ON_DEMAND_NEW_TABLE_WRU_PER_S,
    prices: Prices | None = None,
    marker: bool = True,
) -> TablePlan:
    """Estimate from ``rows`` and a sample of :class:`~dynamigrate.target.encode.Encoded` (pure)."""
    prices = prices or Prices()
    sizes: list[int] = []
    base_units: list[int] = []
    gsi_units: list[int] = []
    rejected = 0
    n = 0
    for enc in sample:
        n += 1
        if enc.reject_code is not None or enc.item is None:
            rejected += 1
            continue
        size = int(enc.size) + (MARKER_BYTES if marker else 0)
        b, g = item_write_units(table, enc.item, size, transact)
        sizes.append(size)
        base_units.append(b)
        gsi_units.append(g)
    notes: list[str] = []
    if not sizes:
        notes.append("no encodable row in the sample: sizes unknown, 1 KB assumed")
        sizes, base_units, gsi_units = [1024], [2 if transact else 1], [len(table.gsis)]
    avg_size = sum(sizes) / len(sizes)
    avg_base = sum(base_units) / len(base_units)
    avg_gsi = sum(gsi_units) / len(gsi_units)
    good_rows = rows * (1 - rejected / n) if n else rows
    total = math.ceil(good_rows * (avg_base + avg_gsi))
    capacity = max(1.0, float(capacity_wru_per_s))
    seconds = total / capacity
    on_demand = total / 1_000_000 * prices.per_million_wru
    provisioned = capacity * max(1.0, seconds / 3600) * prices.per_wcu_hour  # billed per started hour
    if rejected:
        notes.append(f"{rejected} of {n} sampled rows would be rejected")
    if transact:
        notes.append("transactional writes: 2 WRU per KB")
    return TablePlan(
        table=table.name,
        view=table.view_name,
        rows=rows,
        sampled=n,
        avg_item_bytes=round(avg_size, 1),
        max_item_bytes=max(sizes),
        rejected_in_sample=rejected,
        wru_per_item=round(avg_base, 3),
        gsi_wru_per_item=round(avg_gsi, 3),
        total_wru=total,
        capacity_wru_per_s=capacity,
        seconds=round(seconds, 1),
        on_demand_usd=round(on_demand, 4),
        provisioned_usd=round(provisioned, 4),
        notes=notes,
    )


def measure_table(conn: Any, table: Table, sample_rows: int = 200) -> tuple[int, list[Any]]:
    """(row count of the view, encoded sample of its first ``sample_rows`` rows). ``conn``: pymysql."""
    from dynamigrate.target.encode import ItemEncoder

    view = "`" + table.view_name.replace("`", "``") + "`"
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {view}")
        (count,) = cur.fetchone()
    with conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {view} LIMIT {int(sample_rows)}")
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    encoder = ItemEncoder(table)
    return int(count), [encoder.encode(r) for r in rows]


def format_plan(plans: list[TablePlan], prices: Prices) -> str:
    head = (
        f"{'table':<20} {'rows':>10} {'avg item':>9} {'WRU/item':>8} {'GSI WRU':>8} "
        f"{'total WRU':>11} {'capacity':>9} {'duration':>9} {'on-demand $':>11}"
    )
    lines = [head, "-" * len(head)]
    for p in plans:
        lines.append(
            f"{p.table:<20} {p.rows:>10,} {p.avg_item_bytes:>8.0f}B {p.wru_per_item:>8.2f} {p.gsi_wru_per_item:>8.2f} "
            f"{p.total_wru:>11,} {p.capacity_wru_per_s:>8.0f}/s {_duration(p.seconds):>9} {p.on_demand_usd:>11.4f}"
        )
        lines += [f"    note: {n}" for n in p.notes]
    total = sum(p.on_demand_usd for p in plans)
    lines.append(
        f"total on-demand write cost: {total:.4f} USD at {prices.per_million_wru} USD per million WRU ({prices.source})"
    )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
