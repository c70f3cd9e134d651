"""Load plan estimates (pure): write units per item, GSIs, transactions, cost, configurable prices."""

from __future__ import annotations

from dynamigrate.contract.load import parse_contract
from dynamigrate.plan import Prices, estimate_table, format_plan, item_write_units
from dynamigrate.target.encode import ItemEncoder


def _table():  # type: ignore[no-untyped-def]
    contract, problems = parse_contract(
        {
            "tables": [
                {
                    "table": "Orders",
                    "type": "single-entity",
                    "source_table": "orders",
                    "pk": "PK",
                    "gsis": [{"index_name": "G1", "pk": "GPK", "projection": "ALL"}],
                    "attributes": [
                        {"name": "PK", "type": "S", "source_table": "orders", "source_column": "id"},
                        {"name": "GPK", "type": "S", "source_table": "orders", "source_column": "user_id"},
                        {"name": "body", "type": "S", "source_table": "orders", "source_column": "body"},
                    ],
                }
            ]
        }
    )
    assert contract is not None, problems
    return contract.tables[0]


def test_units_count_size_gsi_and_transactions() -> None:
    t = _table()
    enc = ItemEncoder(t).encode({"PK": "o1", "GPK": "u1", "body": "x" * 1500, "_dm_entity": "orders"})
    assert item_write_units(t, enc.item, enc.size, transact=False) == (2, 2)
    assert item_write_units(t, enc.item, enc.size, transact=True) == (4, 2)
    sparse = ItemEncoder(t).encode({"PK": "o2", "GPK": None, "body": "y", "_dm_entity": "orders"})
    assert item_write_units(t, sparse.item, sparse.size, transact=False) == (1, 0)  # not in the index


def test_estimate_scales_sample_to_rows_and_prices_are_configurable() -> None:
    t = _table()
    enc = ItemEncoder(t)
    sample = [enc.encode({"PK": f"o{i}", "GPK": "u", "body": "b", "_dm_entity": "orders"}) for i in range(10)]
    plan = estimate_table(t, 1_000_000, sample, capacity_wru_per_s=4000)
    assert plan.total_wru == 2_000_000  # 1 table WRU + 1 GSI WRU per item
    assert plan.seconds == 500.0
    assert plan.on_demand_usd == 1.25  # 2 million WRU at 0.625 USD per million
    dear = estimate_table(
        t, 1_000_000, sample, prices=Prices.from_config({"plan": {"price_per_million_wru": 1.25}})
    )
    assert dear.on_demand_usd == 2.5
    text = format_plan([plan], Prices())
    assert "Orders" in text and "2,000,000" in text and "2024-11-01" in text


def test_rejected_sample_rows_are_reported() -> None:
    t = _table()
    enc = ItemEncoder(t)
    sample = [
        enc.encode({"PK": None, "GPK": "u", "body": "b", "_dm_entity": "orders"}),
        enc.encode({"PK": "a", "_dm_entity": "orders"}),
    ]
    plan = estimate_table(t, 100, sample)
    assert plan.rejected_in_sample == 1 and plan.total_wru == 50
    assert any("rejected" in n for n in plan.notes)
